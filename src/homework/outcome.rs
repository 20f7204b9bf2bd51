//! Runs an exercise's check and words the result for the student: which lesson and
//! exercise, what was expected, what the kernel showed, and the hint.

use super::registry::Exercise;
use crate::catalog::Catalog;
use crate::check::shown_path;
use crate::panics::Caught;
use crate::results::ExerciseOutcome;
use std::fmt::Write as _;

/// A check that found nothing wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Passed {
    /// What the kernel showed, in one line.
    Held(String),
    /// The check cannot run on this kernel or as this user; why.
    Skipped(String),
}

/// What the check expected and what the kernel showed instead.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Failure {
    pub expected: String,
    pub showed: String,
}

impl Failure {
    pub fn new(expected: impl Into<String>, showed: impl Into<String>) -> Failure {
        Failure {
            expected: expected.into(),
            showed: showed.into(),
        }
    }

    /// The student's function returned an error where the check needed it to succeed.
    pub fn returned_error(what: &str, error: impl std::fmt::Display) -> Failure {
        Failure::new(
            format!("{what} to succeed"),
            format!("your function returned an error: {error}"),
        )
    }

    /// The check itself could not get what it needs from the kernel (not the student's
    /// doing, but still not a pass).
    pub fn setup(what: &str, error: impl std::fmt::Display) -> Failure {
        Failure::new(
            format!("the check to {what}"),
            format!("it could not: {error}"),
        )
    }
}

/// How a check ended. (De)serialized as it crosses from the check's own process
/// ([`super::isolated`]).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Outcome {
    Done {
        showed: String,
    },
    Skipped {
        reason: String,
    },
    /// The function still panics with `todo!()`, at this source location.
    Todo {
        at: String,
    },
    Failed(Failure),
    /// The function panicked with something other than `todo!()`.
    Panicked {
        message: String,
        at: String,
    },
    /// The check's process ended without an outcome (a signal, an exit of the student's
    /// code) or was stopped after [`super::isolated::TIMEOUT`]: how, in words.
    Crashed {
        how: String,
    },
}

impl Outcome {
    /// Which of the five ends this is, as result files record it.
    pub fn kind(&self) -> ExerciseOutcome {
        match self {
            Outcome::Done { .. } => ExerciseOutcome::Done,
            Outcome::Skipped { .. } => ExerciseOutcome::Skipped,
            Outcome::Todo { .. } => ExerciseOutcome::Todo,
            Outcome::Failed(_) => ExerciseOutcome::Failing,
            // An end as abrupt as a panic, which result files call so.
            Outcome::Panicked { .. } | Outcome::Crashed { .. } => ExerciseOutcome::Panics,
        }
    }

    /// Done, or skipped because this kernel cannot show it (nothing left for the student).
    pub fn is_done(&self) -> bool {
        self.kind().is_done()
    }

    pub fn word(&self) -> &'static str {
        self.kind().word()
    }
}

/// Runs the exercise's check on this thread, in this process; [`super::isolated::run`]
/// runs it in a process of its own.
pub fn run_here(exercise: &Exercise) -> Outcome {
    run_check(exercise.check)
}

/// Runs a check (an exercise's, or the same check fed a fake) on this thread, catching a
/// `todo!()` stub or another panic.
pub fn run_check(check: fn() -> Result<Passed, Failure>) -> Outcome {
    let pid = std::process::id();
    // Caught, and worded in our terms: not printed by the default hook as well.
    let result = crate::panics::caught(check);
    if std::process::id() != pid {
        // A forked child of the student's code came back here (it returned or panicked
        // instead of calling _exit): it must not go on to run the rest of the tests.
        // SAFETY: _exit is async-signal-safe and ends this process only.
        unsafe { libc::_exit(crate::memory::child::PANIC_STATUS) };
    }
    match result {
        Ok(Ok(Passed::Held(showed))) => Outcome::Done { showed },
        Ok(Ok(Passed::Skipped(reason))) => Outcome::Skipped { reason },
        Ok(Err(failure)) => Outcome::Failed(failure),
        Err(Caught { message, at }) => {
            if message.starts_with("not yet implemented") {
                Outcome::Todo { at }
            } else {
                Outcome::Panicked { message, at }
            }
        }
    }
}

/// The full story of an outcome that is not done: which exercise of which lesson (file:line),
/// the task, what was expected and what the kernel showed, and the first hint.
pub fn describe(exercise: &Exercise, catalog: &Catalog, outcome: &Outcome) -> String {
    let found = exercise.text(catalog);
    let text = found.map(|(_, text)| text);
    let (path, line) = found.map_or((String::new(), 0), |(lesson, text)| {
        (shown_path(&lesson.path), text.line)
    });
    let state = match outcome {
        Outcome::Done { .. } => "is done",
        Outcome::Skipped { .. } => "cannot be checked here",
        Outcome::Todo { .. } => "is not done yet",
        Outcome::Failed(_) => "does not hold on this kernel",
        Outcome::Panicked { .. } => "panicked",
        Outcome::Crashed { .. } => "crashed",
    };
    let mut s = format!(
        "exercise `{}` (lesson `{}`, {path}:{line}) {state}\n",
        exercise.id, exercise.lesson,
    );
    let mut row = |key: &str, value: &str| {
        let _ = writeln!(s, "  {key:<9} {value}");
    };
    row(
        "write:",
        &format!("{}() in {}", exercise.function, exercise.file),
    );
    if let Some(text) = text {
        row("task:", &text.task);
    }
    match outcome {
        Outcome::Done { showed } => row("kernel:", showed),
        Outcome::Skipped { reason } => row("skipped:", reason),
        Outcome::Todo { at } => row("stub:", &format!("{at} still calls todo!()")),
        Outcome::Failed(f) => {
            row("expected:", &f.expected);
            row("kernel:", &f.showed);
        }
        Outcome::Panicked { message, at } => row("panic:", &format!("{at}: {message}")),
        Outcome::Crashed { how } => row("crash:", how),
    }
    if !outcome.is_done() {
        if let Some(hint) = text.and_then(|t| t.hints.first()) {
            row("hint:", hint);
        }
        row(
            "more:",
            &format!(
                "`cargo run -- hint {}` for every hint; `cargo run -- watch` reruns it on each save",
                exercise.id
            ),
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stub() -> Result<Passed, Failure> {
        todo!()
    }

    fn crash() -> Result<Passed, Failure> {
        panic!("index out of bounds")
    }

    /// A `todo!()` stub is "to do", with the stub's location; another panic is a panic;
    /// neither prints the default panic message.
    #[test]
    fn stubs_and_panics_are_told_apart() {
        let todo = run_check(stub);
        let Outcome::Todo { at } = &todo else {
            panic!("{todo:?}")
        };
        assert!(at.starts_with(file!()), "{at}");
        let panicked = run_check(crash);
        assert!(
            matches!(&panicked, Outcome::Panicked { message, .. } if message == "index out of bounds"),
            "{panicked:?}"
        );
        assert!(!todo.is_done() && !panicked.is_done());
    }
}
