//! Exercise outcomes as result-file entries, for `pagelab exercise --format json` and
//! `check --exercises`.

use super::isolated;
use super::outcome::Outcome;
use super::registry::Exercise;
use crate::catalog::Catalog;
use crate::check::shown_path;
use crate::results::ExerciseResult;

/// Runs each exercise's check and reports it: where the lesson sets it, where it is written,
/// its outcome (`done`, `skipped`, `to do`, `failing`, `panics`) and what the kernel showed.
pub fn results(catalog: &Catalog, exercises: &[&Exercise]) -> Vec<ExerciseResult> {
    isolated::run_each(exercises)
        .iter()
        .map(|(exercise, outcome)| result(catalog, exercise, outcome))
        .collect()
}

fn result(catalog: &Catalog, exercise: &Exercise, outcome: &Outcome) -> ExerciseResult {
    let found = exercise.text(catalog);
    let (detail, expected) = match outcome {
        Outcome::Done { showed } => (showed.clone(), None),
        Outcome::Skipped { reason } => (reason.clone(), None),
        Outcome::Todo { at } => (format!("{at} still calls todo!()"), None),
        Outcome::Failed(f) => (f.showed.clone(), Some(f.expected.clone())),
        Outcome::Panicked { message, at } => (format!("{at}: {message}"), None),
        Outcome::Crashed { how } => (how.clone(), None),
    };
    ExerciseResult {
        id: exercise.id.to_owned(),
        lesson: exercise.lesson.to_owned(),
        lesson_file: found.map(|(lesson, _)| shown_path(&lesson.path)),
        line: found.map(|(_, text)| text.line),
        file: exercise.file.to_owned(),
        function: exercise.function.to_owned(),
        outcome: outcome.kind(),
        expected,
        detail,
    }
}
