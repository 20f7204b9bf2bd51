//! The configurations the book shows: this build's own run, and result files from other
//! machines and kernels (`pagelab book OUT --results FILE…|DIR`), read by the loader that
//! `pagelab matrix` uses ([`crate::results`]), and refused when they checked lessons other
//! than the ones the book is built from.

use super::figures;
use crate::check::{ClaimResult, LessonReport};
use crate::kernel::KernelProbe;
use crate::matrix::table::{Mark, Matrix};
use crate::proof::LessonProof;
use crate::results::{self, Checks, LessonsDigest, Loaded, ResultFile, Run};
use std::collections::HashMap;
use std::path::PathBuf;

/// One column of the matrix: where the claims were checked, and how each ended.
pub struct Configuration {
    /// 1-based, as the Kernels chapter numbers its configurations (1 is this build).
    pub number: usize,
    pub label: String,
    /// Claims by (lesson id, line).
    pub claims: HashMap<(String, usize), ClaimResult>,
    /// The matrix's mark of each claim any configuration reported, by (lesson id, line), and
    /// why where it did not hold: a claim lost by the file reads as a failure there.
    pub marks: HashMap<(String, usize), (Mark, Option<String>)>,
    /// Why the configuration never ran.
    pub broken: Option<String>,
}

impl Configuration {
    /// A result file's claims (its exercises are the Exercises chapter's business), as
    /// column `number` of `matrix`, the table of all the files.
    pub fn of(matrix: &Matrix, number: usize, loaded: &Loaded) -> Configuration {
        let lessons = loaded
            .file
            .checked()
            .and_then(|c| c.checks.lessons())
            .unwrap_or_default();
        let marks = matrix
            .claims
            .iter()
            .filter(|row| row.claim.step != "exercise")
            .filter_map(|row| {
                let cell = row.cells.get(number.checked_sub(1)?)?;
                Some((
                    (row.claim.lesson.clone(), row.claim.line),
                    (cell.mark, cell.why.clone()),
                ))
            })
            .collect();
        Configuration {
            number,
            label: loaded.label.clone(),
            claims: lessons
                .iter()
                .flat_map(|l| &l.claims)
                .map(|c| ((c.place.lesson.clone(), c.place.line), c.clone()))
                .collect(),
            marks,
            broken: match &loaded.file.run {
                Run::Broken(broken) => Some(broken.why.clone()),
                Run::Checked(_) => None,
            },
        }
    }

    pub fn claim(&self, lesson: &str, line: usize) -> Option<&ClaimResult> {
        self.claims.get(&(lesson.to_owned(), line))
    }

    /// The claim at `line` of `lesson` here: its mark (the square or cell that shows it takes
    /// its class from [`mark_class`] and its glyph from [`Mark::symbol`]), and in words. A
    /// claim the file lost and a configuration that never ran are failures of the
    /// configuration, not a neutral "not reported".
    pub fn cell(&self, lesson: &str, line: usize) -> (Mark, String) {
        let key = (lesson.to_owned(), line);
        let (mark, why) = match self.marks.get(&key) {
            Some((mark, why)) => (*mark, why.as_deref()),
            None => (Mark::Missing, None),
        };
        match (mark, self.claims.get(&key)) {
            (Mark::Held | Mark::Failed | Mark::Skipped, Some(claim)) => {
                (mark, figures::verdict_words(claim))
            }
            (Mark::Broken, _) => (
                mark,
                format!(
                    "BROKEN: the configuration never ran: {}",
                    self.broken.as_deref().unwrap_or("no reason given")
                ),
            ),
            (Mark::Unreported, _) => (
                mark,
                format!(
                    "LOST: {}; this fails the configuration",
                    why.unwrap_or("checked there, yet the file does not report it")
                ),
            ),
            (mark, _) => (
                mark,
                format!(
                    "not checked there: {}",
                    why.unwrap_or("the file does not report it")
                ),
            ),
        }
    }
}

/// Whether `mark` fails its configuration: drawn hatched as well as in failure's colour.
pub fn fails(mark: Mark) -> bool {
    matches!(mark, Mark::Failed | Mark::Unreported | Mark::Broken)
}

/// The class of a square or cell that shows `mark`.
pub fn mark_class(mark: Mark) -> &'static str {
    match mark {
        Mark::Held => "held",
        Mark::Failed => "failed",
        Mark::Skipped => "skipped",
        Mark::Missing => "missing",
        Mark::Unreported => "unreported",
        Mark::Broken => "broken",
    }
}

/// This build's run as a result file, so the Kernels chapter shows it beside the others.
pub fn this_build(probe: &KernelProbe, proofs: &[&LessonProof], lessons: LessonsDigest) -> Loaded {
    let reports: Vec<LessonReport> = proofs.iter().map(|p| p.report.clone()).collect();
    let file = ResultFile::of_this_machine(
        lessons,
        probe,
        Checks::Claims(reports),
        0.0,
        Some("this build".into()),
    );
    Loaded {
        label: "this build".into(),
        source: PathBuf::from("this machine, checked while the book was built"),
        file: ResultFile {
            seconds: None,
            ..file
        },
    }
}

/// Every result file named (files, or directories of `*.json` files), all of `lessons`:
/// the lessons this build's book is made of.
pub fn load(paths: &[PathBuf], lessons: &LessonsDigest) -> Result<Vec<Loaded>, String> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let loaded = results::load(paths)?;
    same_lessons_as(lessons, &loaded)?;
    Ok(loaded)
}

/// Refuses result files of lessons other than the book's.
pub fn same_lessons_as(lessons: &LessonsDigest, loaded: &[Loaded]) -> Result<(), String> {
    results::same_lessons_as("this build's book", lessons, loaded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_files_of_other_lessons_are_refused_for_the_book() {
        let dir = tempfile::tempdir().unwrap();
        let probe = KernelProbe::probe().unwrap();
        let theirs = LessonsDigest::of([("01-x.md", "theirs")]);
        let file =
            ResultFile::of_this_machine(theirs, &probe, Checks::Claims(Vec::new()), 0.1, None);
        let path = dir.path().join("elsewhere.json");
        std::fs::write(&path, file.to_json()).unwrap();
        let ours = LessonsDigest::of([("01-x.md", "ours")]);
        let error = load(std::slice::from_ref(&path), &ours).err().unwrap();
        assert!(
            error.contains("elsewhere.json")
                && error.contains(&ours.to_string())
                && error.contains(&theirs.to_string()),
            "{error}"
        );
        let loaded = load(&[path], &theirs).unwrap();
        assert_eq!(loaded[0].label, "elsewhere");
        assert!(load(&[], &ours).unwrap().is_empty());
    }
}
