//! A result file as JSON has it. The layout keeps what `pagelab check --format json` always
//! wrote (`kernel`, `machine` with `arch` and `libc`, `totals`, `lessons`) and what
//! `pagelab exercise --format json` wrote (`done`, `total`, `exercises`), so readers of
//! either keep working; everything else is added beside it. Which parts may appear together
//! is checked here, once, so the rest of pagelab sees only [`ResultFile`]'s shapes.

use super::{
    Broken, Checked, Checks, ExerciseResult, FORMAT, LessonsDigest, Libc, Machine, Privileges,
    ResultFile, Run,
};
use crate::check::{Counts, LessonReport};
use crate::kernel::KernelProbe;
use serde::{Deserialize, Serialize};

#[derive(Serialize, Deserialize)]
pub struct Wire {
    /// Absent from files written before it had a number; they also lack a digest.
    #[serde(default)]
    format: u32,
    /// The version of the pagelab that wrote it, for a person comparing files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pagelab: Option<String>,
    #[serde(default)]
    lessons_digest: Option<LessonsDigest>,
    machine: WireMachine,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kernel: Option<KernelProbe>,
    /// Written for readers of the JSON; recounted from the claims when read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    totals: Option<Counts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lessons: Option<Vec<LessonReport>>,
    /// Exercises done (or skipped: nothing left to do on this kernel) and listed, as
    /// `exercise --format json` always said; recounted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    done: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    total: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exercises: Option<Vec<ExerciseResult>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    setup_errors: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    broken: Option<Broken>,
}

#[derive(Serialize, Deserialize)]
struct WireMachine {
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "name")]
    label: Option<String>,
    arch: String,
    libc: Libc,
    /// Absent where nothing ran (a broken configuration).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    privileges: Option<Privileges>,
}

impl From<ResultFile> for Wire {
    fn from(file: ResultFile) -> Wire {
        let mut wire = Wire {
            format: FORMAT,
            pagelab: Some(env!("CARGO_PKG_VERSION").to_owned()),
            lessons_digest: Some(file.lessons_digest),
            machine: WireMachine {
                label: file.machine.label,
                arch: file.machine.arch,
                libc: file.machine.libc,
                privileges: None,
            },
            seconds: file.seconds,
            kernel: None,
            totals: None,
            lessons: None,
            done: None,
            total: None,
            exercises: None,
            setup_errors: Vec::new(),
            broken: None,
        };
        match file.run {
            Run::Broken(broken) => wire.broken = Some(broken),
            Run::Checked(checked) => {
                let Checked {
                    kernel,
                    privileges,
                    checks,
                    setup_errors,
                } = *checked;
                wire.kernel = Some(kernel);
                wire.machine.privileges = Some(privileges);
                wire.setup_errors = setup_errors;
                let (lessons, exercises) = match checks {
                    Checks::Claims(l) => (Some(l), None),
                    Checks::Exercises(e) => (None, Some(e)),
                    Checks::Both(l, e) => (Some(l), Some(e)),
                };
                wire.totals = lessons.as_deref().map(Counts::of_all);
                if let Some(exercises) = &exercises {
                    let done = exercises.iter().filter(|e| e.outcome.is_done()).count();
                    wire.done = Some(done);
                    wire.total = Some(exercises.len());
                }
                wire.lessons = lessons;
                wire.exercises = exercises;
            }
        }
        wire
    }
}

impl TryFrom<Wire> for ResultFile {
    type Error = String;

    fn try_from(wire: Wire) -> Result<ResultFile, String> {
        if wire.format > FORMAT {
            return Err(format!(
                "format {} is newer than this pagelab reads (format {FORMAT}): read it with the pagelab that wrote it ({})",
                wire.format,
                wire.pagelab.as_deref().unwrap_or("version unknown")
            ));
        }
        let lessons_digest = wire.lessons_digest.ok_or(
            "no `lessons_digest`: written by a pagelab from before result files named the lessons they checked; check again with this one",
        )?;
        let checked = (
            wire.kernel.is_some(),
            wire.lessons.is_some() || wire.exercises.is_some(),
        );
        let run = match (wire.broken, checked) {
            (Some(broken), (false, false)) => Run::Broken(broken),
            (Some(broken), _) => {
                return Err(format!(
                    "both `broken` ({}) and checks (`kernel`, `lessons` or `exercises`): a configuration either ran or did not",
                    broken.why
                ));
            }
            (None, _) => Run::Checked(Box::new(checked_run(
                wire.kernel,
                wire.machine.privileges,
                wire.lessons,
                wire.exercises,
                wire.setup_errors,
            )?)),
        };
        Ok(ResultFile {
            lessons_digest,
            machine: Machine {
                label: wire.machine.label,
                arch: wire.machine.arch,
                libc: wire.machine.libc,
            },
            seconds: wire.seconds,
            run,
        })
    }
}

fn checked_run(
    kernel: Option<KernelProbe>,
    privileges: Option<Privileges>,
    lessons: Option<Vec<LessonReport>>,
    exercises: Option<Vec<ExerciseResult>>,
    setup_errors: Vec<String>,
) -> Result<Checked, String> {
    let kernel =
        kernel.ok_or("no `kernel` (and no `broken`): the kernel the checks ran on is not said")?;
    let privileges = privileges.ok_or("no `machine.privileges`: who ran the checks is not said")?;
    let checks = Checks::new(lessons, exercises)
        .ok_or("neither `lessons` nor `exercises`: nothing was checked")?;
    Ok(Checked {
        kernel,
        privileges,
        checks,
        setup_errors,
    })
}
