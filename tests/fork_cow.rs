//! Lesson 04, `fork-cow`: every claim of lessons/04-fork-cow.md, checked on this kernel.

mod common;

use rstest::rstest;

/// The experiment forks: while the child lives, every private page of this process is
/// shared, which other tests' Pss/Private_* readings must not see.
#[test]
fn every_claim_of_the_lesson_holds_on_this_kernel() {
    let _fork = common::FORK.exclusive();
    common::every_claim_holds("fork-cow");
}

/// Whatever the kernel, the heart of the lesson must be checked, not skipped: the page is
/// shared after fork and private to each after the child's write.
#[rstest]
#[case::shared_after_fork("forked", "Shared_Dirty")]
#[case::half_each_after_fork("forked", "Pss")]
#[case::private_after_child_write("child-wrote", "Private_Dirty")]
#[case::parent_keeps_its_value("child-wrote", "parent reads")]
#[case::shared_mapping_sees_the_write("shared-child-wrote", "parent reads")]
fn core_claim_held(#[case] step: &str, #[case] field: &str) {
    let _fork = common::FORK.exclusive();
    common::all_claims_held("fork-cow", step, field);
}

// Exercises: the student's functions in src/exercises/fork_cow.rs, checked on this kernel.

/// Its check forks: it must not overlap the lesson's experiment.
#[test]
fn exercise_write_in_child() {
    let _fork = common::FORK.exclusive();
    common::exercise("write-in-child");
}

/// Its check forks a child that shares the pages.
#[test]
fn exercise_rss_and_pss() {
    let _fork = common::FORK.exclusive();
    common::exercise("rss-and-pss");
}
