//! Exercise outcomes as JSON, for `pagelab exercise --format json` and `check --exercises`.

use super::outcome::{self, Outcome};
use super::registry::Exercise;
use crate::catalog::Catalog;
use crate::check::shown_path;

/// Runs each exercise's check and reports it: where the lesson sets it, where it is written,
/// its outcome (`done`, `skipped`, `to do`, `failing`, `panics`) and what the kernel showed.
/// The second value is whether every one is done (or skipped).
pub fn json(catalog: &Catalog, exercises: &[&Exercise]) -> (serde_json::Value, bool) {
    let outcomes: Vec<Outcome> = exercises.iter().map(|e| outcome::run(e)).collect();
    let done = outcomes.iter().filter(|o| o.is_done()).count();
    let entries: Vec<serde_json::Value> = exercises
        .iter()
        .zip(&outcomes)
        .map(|(exercise, outcome)| entry(catalog, exercise, outcome))
        .collect();
    let json = serde_json::json!({ "done": done, "total": entries.len(), "exercises": entries });
    (json, done == entries.len())
}

fn entry(catalog: &Catalog, exercise: &Exercise, outcome: &Outcome) -> serde_json::Value {
    let found = exercise.text(catalog);
    let (detail, expected) = match outcome {
        Outcome::Done { showed } => (showed.clone(), None),
        Outcome::Skipped { reason } => (reason.clone(), None),
        Outcome::Todo { at } => (format!("{at} still calls todo!()"), None),
        Outcome::Failed(f) => (f.showed.clone(), Some(f.expected.clone())),
        Outcome::Panicked { message, at } => (format!("{at}: {message}"), None),
    };
    serde_json::json!({
        "id": exercise.id,
        "lesson": exercise.lesson,
        "lesson_file": found.map(|(lesson, _)| shown_path(&lesson.path)),
        "line": found.map(|(_, text)| text.line),
        "file": exercise.file,
        "function": exercise.function,
        "outcome": outcome.word(),
        "expected": expected,
        "detail": detail,
    })
}
