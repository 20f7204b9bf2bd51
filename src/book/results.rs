//! The configurations the book shows: this build's own run, and result files from other
//! machines and kernels (`pagelab book OUT --results FILE…|DIR`), read by the loader that
//! `pagelab matrix` uses ([`crate::results`]), and refused when they checked lessons other
//! than the ones the book is built from.

use crate::check::{ClaimResult, LessonReport};
use crate::kernel::KernelProbe;
use crate::proof::LessonProof;
use crate::results::{self, Checks, LessonsDigest, Loaded, ResultFile};
use std::collections::HashMap;
use std::path::PathBuf;

/// One column of the matrix: where the claims were checked, and how each ended.
pub struct Configuration {
    /// 1-based, as the Kernels chapter numbers its configurations (1 is this build).
    pub number: usize,
    pub label: String,
    /// Claims by (lesson id, line).
    pub claims: HashMap<(String, usize), ClaimResult>,
}

impl Configuration {
    /// A result file's claims (its exercises are the Exercises chapter's business), as
    /// configuration `number`.
    pub fn of(number: usize, loaded: &Loaded) -> Configuration {
        let lessons = loaded
            .file
            .checked()
            .and_then(|c| c.checks.lessons())
            .unwrap_or_default();
        Configuration {
            number,
            label: loaded.label.clone(),
            claims: lessons
                .iter()
                .flat_map(|l| &l.claims)
                .map(|c| ((c.place.lesson.clone(), c.place.line), c.clone()))
                .collect(),
        }
    }

    pub fn claim(&self, lesson: &str, line: usize) -> Option<&ClaimResult> {
        self.claims.get(&(lesson.to_owned(), line))
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
