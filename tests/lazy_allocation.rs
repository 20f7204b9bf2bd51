//! Lesson 03, `lazy-allocation`: every claim of lessons/03-lazy-allocation.md, checked on this kernel.

mod common;

/// Reads Private_Dirty of its own pages, which a fork elsewhere in the process would make
/// shared for a while.
#[test]
fn every_claim_of_the_lesson_holds_on_this_kernel() {
    let _fork = common::FORK.shared();
    common::every_claim_holds("lazy-allocation");
}

// Exercises: the student's functions in src/exercises/lazy_allocation.rs, checked on this kernel.

/// Reads its own pages' smaps fields, which a concurrent fork would turn shared.
#[test]
fn exercise_reserve_without_commit() {
    let _fork = common::FORK.shared();
    common::exercise("reserve-without-commit");
}

/// Counts its own thread's faults and reads its own pages' Rss.
#[test]
fn exercise_count_first_touch_faults() {
    let _fork = common::FORK.shared();
    common::exercise("count-first-touch-faults");
}
