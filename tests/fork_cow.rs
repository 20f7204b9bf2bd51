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
