//! Every exercise's test, generated from the registry (`pagelab::homework::ALL`): no test is
//! written by hand, so a new exercise needs only its declaration.
//!
//! - `exercise_<id>` runs the exercise's check on the student's function: it passes when the
//!   exercise is done, tells on stderr when it cannot be checked here and why, and otherwise
//!   fails with the lesson (file:line), the task, what was expected, what the kernel showed
//!   and the first hint;
//! - `<id>_rejects_fakes` feeds the same check each fake the declaration lists, and fails if
//!   one is not rejected. A handout has no fakes, so it has no such test.
//!
//! A `harness = false` test on libtest-mimic: libtest takes tests only from `#[test]`
//! functions, which cannot be generated from a constant. libtest-mimic keeps the command
//! line (`cargo test exercise_map_anonymous`, `--exact`, `--list --format terse`, which
//! `cargo nextest` needs) and the output (`test NAME ... ok|FAILED`).

mod common;

use libtest_mimic::{Arguments, Failed, Trial};
use pagelab::catalog::{Catalog, lessons_dir};
use pagelab::homework::{self, Exercise, ForkLock, Outcome, fakes, outcome};
use std::io::Write;
use std::sync::{OnceLock, RwLockReadGuard, RwLockWriteGuard};

fn main() {
    // Each exercise's check runs in a process of this program's own (`isolated`).
    homework::isolated::serve_if_asked();
    let args = Arguments::from_args();
    let mut trials = Vec::new();
    for exercise in homework::ALL {
        trials.push(Trial::test(exercise.test_name(), move || {
            run_exercise(exercise)
        }));
        if !exercise.fakes.is_empty() {
            trials.push(Trial::test(exercise.fakes_test_name(), move || {
                reject_fakes(exercise)
            }));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}

/// The fork lock (`tests/common/locks.rs`) as the exercise's declaration says: shared or
/// exclusive, held while the pair lives. Only the fakes take it: they run in this process,
/// while an exercise's check runs in a process of its own, started without fork
/// (posix_spawn's CLONE_VM | CLONE_VFORK), so no page of this process turns shared.
type Held = (
    Option<RwLockReadGuard<'static, ()>>,
    Option<RwLockWriteGuard<'static, ()>>,
);

fn hold(lock: ForkLock) -> Held {
    match lock {
        ForkLock::Shared => (Some(common::FORK.shared()), None),
        ForkLock::Exclusive => (None, Some(common::FORK.exclusive())),
    }
}

fn run_exercise(exercise: &'static Exercise) -> Result<(), Failed> {
    let result = homework::isolated::run(exercise);
    match &result {
        Outcome::Done { .. } => Ok(()),
        Outcome::Skipped { reason } => {
            let note = format!("pagelab: exercise `{}` skipped: {reason}\n", exercise.id);
            let _ = std::io::stderr().write_all(note.as_bytes());
            Ok(())
        }
        _ => Err(describe(exercise, &result).into()),
    }
}

/// The student's story of the outcome (`outcome::describe`); if the lessons cannot be
/// loaded, that error first, and the story without the lesson's words.
fn describe(exercise: &Exercise, result: &Outcome) -> String {
    match catalog() {
        Ok(catalog) => outcome::describe(exercise, catalog, result),
        Err(error) => {
            let none = Catalog {
                lessons: Vec::new(),
            };
            format!("{error}\n{}", outcome::describe(exercise, &none, result))
        }
    }
}

/// The lessons, loaded once per process, and only when a failure needs their words.
fn catalog() -> &'static Result<Catalog, String> {
    static CATALOG: OnceLock<Result<Catalog, String>> = OnceLock::new();
    CATALOG.get_or_init(|| {
        let dir = lessons_dir();
        Catalog::load(&dir).map_err(|e| format!("lessons in {}:\n{e}", dir.display()))
    })
}

fn reject_fakes(exercise: &'static Exercise) -> Result<(), Failed> {
    let _lock = hold(exercise.fork_lock);
    let tried = fakes::try_all(exercise);
    for note in &tried.not_tried {
        let _ = std::io::stderr().write_all(format!("pagelab: {note}\n").as_bytes());
    }
    if tried.problems.is_empty() {
        Ok(())
    } else {
        Err(tried.problems.join("\n").into())
    }
}
