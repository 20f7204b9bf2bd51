//! Lesson 02, `pages`: every claim of lessons/02-pages.md, checked on this kernel.

mod common;

/// The experiment forks: while the child lives, every private page of this process is
/// shared, which other tests' Pss/Private_* readings must not see.
#[test]
fn every_claim_of_the_lesson_holds_on_this_kernel() {
    let _fork = common::FORK.exclusive();
    common::every_claim_holds("pages");
}

// Exercises: the student's functions in src/exercises/pages.rs, checked on this kernel.

/// Reads its own pages' smaps fields, which a concurrent fork would turn shared.
#[test]
fn exercise_resident_pages() {
    let _fork = common::FORK.shared();
    common::exercise("resident-pages");
}

/// Reads its own pages' smaps fields, which a concurrent fork would turn shared.
#[test]
fn exercise_smaps_record() {
    let _fork = common::FORK.shared();
    common::exercise("smaps-record");
}
