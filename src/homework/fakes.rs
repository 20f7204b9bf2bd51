//! An exercise's fakes, tried on its check: each must be rejected. A check that lets a
//! plausible constant, a skipped system call or the wrong one pass proves nothing.
//! `tests/exercises.rs` runs this as `<id>_rejects_fakes` for every exercise that has fakes
//! (none has in a handout, which strips them).

use super::Failure;
use super::outcome::{self, Outcome};
use super::registry::{Exercise, Fake};

/// What the check made of one fake.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// It failed, as it must (for the reason the fake names, where it names one).
    Rejected,
    /// The check cannot run on this kernel or as this user: nothing was tried.
    NotTried { reason: String },
    /// The check let the fake pass; what it said it saw.
    Passed { shown: String },
    /// It failed, but not with the words the fake asks for.
    WrongReason {
        failure: Failure,
        wanted: &'static str,
    },
    /// The check (or the fake) panicked instead of failing.
    Panicked { message: String, at: String },
}

pub fn try_fake(fake: &Fake) -> Verdict {
    if let Some(reason) = (fake.alike_here)() {
        return Verdict::NotTried { reason };
    }
    match outcome::run_check(fake.check) {
        Outcome::Failed(failure) => match fake.must_say {
            Some(wanted) if !failure.showed.contains(wanted) => {
                Verdict::WrongReason { failure, wanted }
            }
            _ => Verdict::Rejected,
        },
        Outcome::Skipped { reason } => Verdict::NotTried { reason },
        Outcome::Done { showed } => Verdict::Passed { shown: showed },
        Outcome::Todo { at } => Verdict::Panicked {
            message: "not yet implemented".into(),
            at,
        },
        Outcome::Panicked { message, at } => Verdict::Panicked { message, at },
        // Fakes run in the checking process (run_check), which does not report crashes.
        Outcome::Crashed { how } => Verdict::Panicked {
            message: how,
            at: String::new(),
        },
    }
}

/// Every fake of one exercise, tried in order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Tried {
    pub rejected: usize,
    /// One line per fake the check did not reject as it must.
    pub problems: Vec<String>,
    /// One line per fake the check could not try here, and why.
    pub not_tried: Vec<String>,
}

pub fn try_all(exercise: &Exercise) -> Tried {
    let mut tried = Tried::default();
    for fake in exercise.fakes {
        let (id, name) = (exercise.id, fake.name);
        match try_fake(fake) {
            Verdict::Rejected => tried.rejected += 1,
            Verdict::NotTried { reason } => tried
                .not_tried
                .push(format!("cheat `{name}` not tried: {reason}")),
            Verdict::Passed { shown } => tried.problems.push(format!(
                "the check of `{id}` let the fake `{name}` pass: {shown}"
            )),
            Verdict::WrongReason { failure, wanted } => tried.problems.push(format!(
                "the check of `{id}` rejected the fake `{name}`, but its failure does not say \
                 `{wanted}`:\n  expected: {}\n  kernel:   {}",
                failure.expected, failure.showed
            )),
            Verdict::Panicked { message, at } => tried.problems.push(format!(
                "the fake `{name}` made the check of `{id}` panic at {at}: {message} \
                 (a check must fail, not crash)"
            )),
        }
    }
    tried
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::homework::{ForkLock, Passed};

    fn exercise(fakes: &'static [Fake]) -> Exercise {
        Exercise {
            id: "x",
            lesson: "l",
            file: "src/exercises/l.rs",
            function: "x",
            fork_lock: ForkLock::Shared,
            check: || Ok(Passed::Held("fine".into())),
            fakes,
        }
    }

    #[test]
    fn only_a_failure_for_the_named_reason_rejects_a_fake() {
        const FAKES: &[Fake] = &[
            Fake {
                name: "fails",
                must_say: None,
                alike_here: || None,
                check: || Err(Failure::new("a", "b")),
            },
            Fake {
                name: "fails for the reason",
                must_say: Some("gone"),
                alike_here: || None,
                check: || Err(Failure::new("a", "it is gone")),
            },
            Fake {
                name: "fails for another reason",
                must_say: Some("gone"),
                alike_here: || None,
                check: || Err(Failure::new("a", "b")),
            },
            Fake {
                name: "passes",
                must_say: None,
                alike_here: || None,
                check: || Ok(Passed::Held("all well".into())),
            },
            Fake {
                name: "skips",
                must_say: None,
                alike_here: || None,
                check: || Ok(Passed::Skipped("no THP".into())),
            },
            Fake {
                name: "alike here",
                must_say: None,
                alike_here: || Some("this kernel shows both the same".into()),
                check: || Ok(Passed::Held("would pass".into())),
            },
        ];
        let tried = try_all(&exercise(FAKES));
        assert_eq!(tried.rejected, 2);
        assert_eq!(
            tried.not_tried,
            [
                "cheat `skips` not tried: no THP",
                "cheat `alike here` not tried: this kernel shows both the same"
            ]
        );
        assert_eq!(tried.problems.len(), 2, "{:?}", tried.problems);
        assert!(tried.problems[0].contains("`fails for another reason`"));
        assert!(tried.problems[0].contains("does not say `gone`"));
        assert_eq!(
            tried.problems[1],
            "the check of `x` let the fake `passes` pass: all well"
        );
    }
}
