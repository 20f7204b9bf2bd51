//! Lesson 04, `fork-cow`: every claim of lessons/04-fork-cow.md, checked on this kernel.

mod common;

use common::{assert_holds, probe};
use pagelab::check;
use pagelab::kernel::KernelProbe;
use pagelab::lesson::Lesson;
use rstest::{fixture, rstest};

#[fixture]
fn lesson() -> Lesson {
    common::lesson("fork-cow")
}

/// The experiment forks: while the child lives, every private page of this process is
/// shared, which other tests' Pss/Private_* readings must not see.
#[rstest]
#[serial_test::serial(fork)]
fn every_claim_of_the_lesson_holds_on_this_kernel(lesson: Lesson, probe: KernelProbe) {
    let report = check::check_lesson(&lesson, &probe);
    assert_eq!(
        report.claims.len(),
        lesson.claim_count(),
        "every claim gets a verdict"
    );
    assert_holds(&report, &probe);
}

/// Whatever the kernel, the heart of the lesson must be checked, not skipped: the page is
/// shared after fork and private to each after the child's write.
#[rstest]
#[case::shared_after_fork("forked", "Shared_Dirty")]
#[case::half_each_after_fork("forked", "Pss")]
#[case::private_after_child_write("child-wrote", "Private_Dirty")]
#[case::parent_keeps_its_value("child-wrote", "parent reads")]
#[case::shared_mapping_sees_the_write("shared-child-wrote", "parent reads")]
#[serial_test::serial(fork)]
fn core_claim_held(lesson: Lesson, probe: KernelProbe, #[case] step: &str, #[case] field: &str) {
    let report = check::check_lesson(&lesson, &probe);
    let verdicts = common::verdicts(&report, step, field);
    assert!(
        !verdicts.is_empty(),
        "the lesson makes no `{field}` claim at `{step}`"
    );
    assert!(
        verdicts.iter().all(|v| *v == check::Verdict::Held),
        "`{field}` at `{step}`: {verdicts:?}"
    );
}

// Exercises: the student's functions in src/exercises/fork_cow.rs, checked on this kernel.

/// Its check forks (or locks memory): it must not overlap the lesson's experiment.
#[test]
#[serial_test::serial(fork)]
fn exercise_write_in_child() {
    common::exercise("write-in-child");
}
