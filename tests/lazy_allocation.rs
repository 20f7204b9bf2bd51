//! Lesson 03, `lazy-allocation`: every claim of lessons/03-lazy-allocation.md, checked on this kernel.

mod common;

use common::{assert_holds, probe};
use pagelab::check;
use pagelab::kernel::KernelProbe;
use pagelab::lesson::Lesson;
use rstest::{fixture, rstest};

#[fixture]
fn lesson() -> Lesson {
    common::lesson("lazy-allocation")
}

/// Reads Private_Dirty of its own pages, which a fork elsewhere in the process would make
/// shared for a while.
#[rstest]
#[serial_test::parallel(fork)]
fn every_claim_of_the_lesson_holds_on_this_kernel(lesson: Lesson, probe: KernelProbe) {
    let report = check::check_lesson(&lesson, &probe);
    assert_eq!(
        report.claims.len(),
        lesson.claim_count(),
        "every claim gets a verdict"
    );
    assert_holds(&report, &probe);
}

// Exercises: the student's functions in src/exercises/lazy_allocation.rs, checked on this kernel.

/// Reads its own pages' smaps fields, which a concurrent fork would turn shared.
#[test]
#[serial_test::parallel(fork)]
fn exercise_reserve_without_commit() {
    common::exercise("reserve-without-commit");
}
