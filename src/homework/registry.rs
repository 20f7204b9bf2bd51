//! Every exercise, in lesson order. Nothing here is written by hand: each lesson's check
//! module declares its exercises with [`declare::exercises!`](super::declare), which derives
//! every field below from the function's name and the lesson's module. The id is the one the
//! lesson's ```` ```exercise ```` block names; `pagelab dev check` keeps the two in step.

use super::checks;
use super::declare;
use super::outcome::{Failure, Passed};
use crate::catalog::Catalog;
use crate::lesson::{ExerciseText, Lesson};

#[derive(Clone, Copy)]
pub struct Exercise {
    /// Stable: students type it (`pagelab hint <id>`), tests are named after it. The
    /// function's name in kebab case.
    pub id: &'static str,
    /// The id of the lesson that sets it: its check module's name in kebab case.
    pub lesson: &'static str,
    /// Where the student writes it, relative to the crate.
    pub file: &'static str,
    pub function: &'static str,
    /// How the test of its fakes holds the tests' fork lock (the exercise's own check runs
    /// in a process of its own).
    pub fork_lock: ForkLock,
    /// Calls the student's function and checks what the kernel shows.
    pub check: fn() -> Result<Passed, Failure>,
    /// The same check called with stand-ins that must not pass. Empty in a handout.
    pub fakes: &'static [Fake],
}

/// How the test of an exercise's fakes, which run in the test process, shares that process
/// with the other exercise tests, which `cargo test` runs as its threads (the exercise's
/// own check runs in a process of its own, [`super::isolated`]). While a forked child
/// lives, every private page of the process is shared copy-on-write, which changes Pss and
/// Private_*/Shared_* in every other test's mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ForkLock {
    /// The check does not fork, and may read its own pages' smaps fields, which another
    /// test's fork would turn shared: it runs beside other shared holders, never beside an
    /// exclusive one. The reason of every `shared` declaration that gives none.
    Shared,
    /// The check forks, or uses process-wide state (the RLIMIT_MEMLOCK budget): it runs alone.
    Exclusive,
}

/// A stand-in for the student's function that returns a plausible value, skips the system
/// call or makes the wrong one. The exercise's check must not let it pass.
#[derive(Clone, Copy)]
pub struct Fake {
    /// What it does instead, in a few words: "a heap allocation", "MADV_FREE".
    pub name: &'static str,
    /// Words the check's failure must contain: it must fail for this reason, not another.
    pub must_say: Option<&'static str>,
    /// Why this kernel cannot tell the fake from a solution, where it cannot: the fake is
    /// then reported not tried, with that reason, instead of counted as let through.
    pub alike_here: fn() -> Option<String>,
    /// The exercise's check, called with this fake.
    pub check: fn() -> Result<Passed, Failure>,
}

impl Exercise {
    /// The integration test that runs this exercise: `exercise_` and the id in snake case.
    pub fn test_name(&self) -> String {
        format!("exercise_{}", self.id.replace('-', "_"))
    }

    /// The command that runs its test and only its test: cargo's filter is a substring, so
    /// where another exercise's test name begins with this one's (`exercise_give_back`,
    /// `exercise_give_back_lazily`) it asks for the exact name.
    pub fn test_command(&self) -> String {
        let name = self.test_name();
        let shared = ALL
            .iter()
            .any(|other| other.id != self.id && other.test_name().contains(&name));
        if shared {
            format!("cargo test {name} -- --exact")
        } else {
            format!("cargo test {name}")
        }
    }

    /// The lesson that sets it and its ```` ```exercise ```` block there, if the catalog
    /// has them (the catalog refuses exercise blocks without a registry entry, and dev check
    /// the other way round).
    pub fn text<'a>(&self, catalog: &'a Catalog) -> Option<(&'a Lesson, &'a ExerciseText)> {
        let lesson = catalog.find(self.lesson)?;
        let text = lesson.exercises.iter().find(|t| t.id == self.id)?;
        Some((lesson, text))
    }

    /// Where it is declared: its lesson's check module.
    pub fn declared_in(&self) -> String {
        format!("src/homework/checks/{}.rs", self.lesson.replace('-', "_"))
    }

    /// The generated test that feeds the check its fakes: `<id in snake case>_rejects_fakes`.
    /// It does not match `cargo test exercise_`, which runs the exercises alone.
    pub fn fakes_test_name(&self) -> String {
        format!("{}_rejects_fakes", self.id.replace('-', "_"))
    }
}

/// Every exercise, in lesson order: each lesson's `exercises!` declaration
/// (`src/homework/checks/<lesson>.rs`), lessons in the order `checks/mod.rs` lists them.
pub const ALL: &[Exercise] =
    &declare::concat::<{ declare::total(checks::BY_LESSON) }>(checks::BY_LESSON);

pub fn find(id: &str) -> Option<&'static Exercise> {
    ALL.iter().find(|e| e.id == id)
}

/// The exercise a student names: by its id, or by its function's name (`resident_pages`),
/// which the handout's stub shows them. Lessons set exercises by id only ([`find`]).
pub fn named(name: &str) -> Option<&'static Exercise> {
    ALL.iter().find(|e| e.id == name || e.function == name)
}

/// The exercises a lesson sets, in order.
pub fn of_lesson(lesson: &str) -> impl Iterator<Item = &'static Exercise> {
    ALL.iter().filter(move |e| e.lesson == lesson)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each exercise's test command runs its test alone: cargo's filter is a substring.
    #[test]
    fn a_test_command_matches_its_own_test_only() {
        for exercise in ALL {
            let command = exercise.test_command();
            let exact = command.ends_with(" -- --exact");
            let matched = ALL
                .iter()
                .filter(|other| other.test_name().contains(&exercise.test_name()))
                .count();
            assert_eq!(exact, matched > 1, "{command}");
        }
        let give_back = find("give-back").expect("an exercise");
        assert_eq!(
            give_back.test_command(),
            "cargo test exercise_give_back -- --exact"
        );
    }
}
