//! Result files: one machine's verdicts on the lessons' claims (and, where asked, on the
//! exercises), with what the machine is and which lessons it checked.
//!
//! `pagelab check --format json` writes one (`--exercises` adds every exercise's outcome),
//! `pagelab exercise --format json` one with exercises only, the kernel matrix one per
//! configuration (a configuration that never ran is a file that says why). `pagelab matrix`,
//! `pagelab book --results` and the matrix itself read them through [`load`], which refuses
//! to put side by side files that checked different lessons.

mod digest;
mod load;
mod machine;
mod wire;

pub use digest::LessonsDigest;
pub use load::{Loaded, expand, load, read, same_lessons_as};
pub use machine::{Libc, Machine, Privileges};

use crate::check::{ClaimPlace, ClaimResult, Counts, LessonReport, SkipCause, Verdict};
use crate::kernel::KernelProbe;
use serde::{Deserialize, Serialize};

/// The format this pagelab writes and reads; a file with a higher number is refused.
pub const FORMAT: u32 = 1;

/// One result file.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "wire::Wire", into = "wire::Wire")]
pub struct ResultFile {
    pub lessons_digest: LessonsDigest,
    pub machine: Machine,
    /// How long the checks took there; for a guest of the kernel matrix, from boot to
    /// power-off. `None` where the writer did not say.
    pub seconds: Option<f64>,
    pub run: Run,
}

/// Whether the checks ran, and what they gave.
#[derive(Clone, Debug, PartialEq)]
pub enum Run {
    /// Boxed: the kernel probe and every verdict, beside a variant of two strings.
    Checked(Box<Checked>),
    /// Nothing was checked: a guest that panicked, hung, or printed no results.
    Broken(Broken),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Checked {
    pub kernel: KernelProbe,
    pub privileges: Privileges,
    pub checks: Checks,
    /// Settings the machine could not apply (a guest's configuration): the column is not
    /// what its name says, and fails.
    pub setup_errors: Vec<String>,
}

/// What was checked: the claims, the exercises, or both; never nothing.
#[derive(Clone, Debug, PartialEq)]
pub enum Checks {
    Claims(Vec<LessonReport>),
    Exercises(Vec<ExerciseResult>),
    Both(Vec<LessonReport>, Vec<ExerciseResult>),
}

impl Checks {
    pub fn new(
        lessons: Option<Vec<LessonReport>>,
        exercises: Option<Vec<ExerciseResult>>,
    ) -> Option<Checks> {
        match (lessons, exercises) {
            (Some(l), Some(e)) => Some(Checks::Both(l, e)),
            (Some(l), None) => Some(Checks::Claims(l)),
            (None, Some(e)) => Some(Checks::Exercises(e)),
            (None, None) => None,
        }
    }

    pub fn lessons(&self) -> Option<&[LessonReport]> {
        match self {
            Checks::Claims(l) | Checks::Both(l, _) => Some(l),
            Checks::Exercises(_) => None,
        }
    }

    pub fn exercises(&self) -> Option<&[ExerciseResult]> {
        match self {
            Checks::Exercises(e) | Checks::Both(_, e) => Some(e),
            Checks::Claims(_) => None,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Broken {
    pub why: String,
    /// The end of the console, where there was one.
    #[serde(default)]
    pub console_tail: String,
}

/// One exercise's outcome, as `pagelab exercise --format json` lists it: the reference
/// solution (or the student's function) checked on this kernel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExerciseResult {
    pub id: String,
    pub lesson: String,
    /// The lesson's file and the line of the exercise block that sets it.
    pub lesson_file: Option<String>,
    pub line: Option<usize>,
    /// The student's file (`src/exercises/mmap_anon.rs`) and function.
    pub file: String,
    pub function: String,
    pub outcome: ExerciseOutcome,
    pub expected: Option<String>,
    /// What the check saw, why it skipped, or where it stopped.
    pub detail: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExerciseOutcome {
    #[serde(rename = "done")]
    Done,
    #[serde(rename = "skipped")]
    Skipped,
    #[serde(rename = "to do")]
    Todo,
    #[serde(rename = "failing")]
    Failing,
    #[serde(rename = "panics")]
    Panics,
}

impl ExerciseOutcome {
    pub const ALL: [ExerciseOutcome; 5] = [
        ExerciseOutcome::Done,
        ExerciseOutcome::Skipped,
        ExerciseOutcome::Todo,
        ExerciseOutcome::Failing,
        ExerciseOutcome::Panics,
    ];

    /// Done, or skipped with its reason: nothing left to do on this kernel.
    pub fn is_done(self) -> bool {
        matches!(self, ExerciseOutcome::Done | ExerciseOutcome::Skipped)
    }

    /// The word the terminal shows, as the JSON writes it (a test holds the two together).
    pub fn word(self) -> &'static str {
        match self {
            ExerciseOutcome::Done => "done",
            ExerciseOutcome::Skipped => "skipped",
            ExerciseOutcome::Todo => "to do",
            ExerciseOutcome::Failing => "failing",
            ExerciseOutcome::Panics => "panics",
        }
    }
}

impl ExerciseResult {
    /// The exercise as a row of the claim × configuration table: step `exercise`, the id
    /// as its subject, the function as its field.
    pub fn as_claim(&self) -> ClaimResult {
        let verdict = match self.outcome {
            ExerciseOutcome::Done => Verdict::Held {
                observed: self.detail.clone(),
                branch: None,
            },
            ExerciseOutcome::Skipped => Verdict::Skipped {
                cause: SkipCause::Undecided,
                reason: self.detail.clone(),
            },
            ExerciseOutcome::Todo | ExerciseOutcome::Failing | ExerciseOutcome::Panics => {
                Verdict::Failed {
                    observed: Some(self.detail.clone()),
                    reason: self.detail.clone(),
                    branch: None,
                }
            }
        };
        ClaimResult {
            place: ClaimPlace {
                file: self
                    .lesson_file
                    .clone()
                    .unwrap_or_else(|| self.lesson.clone()),
                lesson: self.lesson.clone(),
                line: self.line.unwrap_or(0),
                step: "exercise".into(),
                subject: self.id.clone(),
                field: format!("{}()", self.function),
                expected: self.expected.clone().unwrap_or_else(|| "done".into()),
            },
            verdict,
        }
    }
}

impl ResultFile {
    /// This process's checks on this machine, as `pagelab check --format json` writes them.
    pub fn of_this_machine(
        lessons_digest: LessonsDigest,
        probe: &KernelProbe,
        checks: Checks,
        seconds: f64,
        label: Option<String>,
    ) -> ResultFile {
        ResultFile {
            lessons_digest,
            machine: Machine::this_binary(label),
            seconds: Some(seconds),
            run: Run::Checked(Box::new(Checked {
                kernel: probe.clone(),
                privileges: Privileges::of_this_process(probe),
                checks,
                setup_errors: Vec::new(),
            })),
        }
    }

    pub fn label(&self) -> Option<&str> {
        self.machine.label.as_deref()
    }

    pub fn checked(&self) -> Option<&Checked> {
        match &self.run {
            Run::Checked(checked) => Some(checked),
            Run::Broken(_) => None,
        }
    }

    /// Every claim's result, then every exercise's as a claim; none for a broken run.
    pub fn claims(&self) -> Vec<ClaimResult> {
        let Some(checked) = self.checked() else {
            return Vec::new();
        };
        let lessons = checked.checks.lessons().unwrap_or_default();
        let exercises = checked.checks.exercises().unwrap_or_default();
        lessons
            .iter()
            .flat_map(|l| l.claims.iter().cloned())
            .chain(exercises.iter().map(ExerciseResult::as_claim))
            .collect()
    }

    pub fn counts(&self) -> Counts {
        self.claims().iter().map(|c| c.verdict.kind()).collect()
    }

    /// Errors besides failed claims: experiments that stopped, settings not applied.
    pub fn errors(&self) -> Vec<String> {
        let Some(checked) = self.checked() else {
            return Vec::new();
        };
        let lessons = checked.checks.lessons().unwrap_or_default();
        // Every lesson has claims and every check writes them: a file with none checked
        // nothing, whatever its digest says it checked.
        let exercises = checked.checks.exercises().unwrap_or_default();
        let empty = (exercises.is_empty() && lessons.iter().all(|l| l.claims.is_empty()))
            .then(|| "the file reports no claim and no exercise".to_owned());
        lessons
            .iter()
            .flat_map(|l| l.problems().map(|p| format!("{}: {p}", l.id)))
            .chain(checked.setup_errors.iter().cloned())
            .chain(empty)
            .collect()
    }

    /// Broken, an error, a failed claim, or an exercise not done (and not skipped).
    pub fn failed(&self) -> bool {
        matches!(self.run, Run::Broken(_)) || !self.errors().is_empty() || self.counts().failed > 0
    }

    /// The file's text: pretty JSON, as a person may read it.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a result file always serialises")
    }
}

#[cfg(test)]
mod tests;
