//! Lesson 02, `pages`: every claim of lessons/02-pages.md, checked on this kernel.

mod common;

use common::{assert_holds, probe};
use pagelab::check;
use pagelab::kernel::KernelProbe;
use pagelab::lesson::Lesson;
use rstest::{fixture, rstest};

#[fixture]
fn lesson() -> Lesson {
    common::lesson("pages")
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

// Exercises: the student's functions in src/exercises/pages.rs, checked on this kernel.

/// Reads its own pages' smaps fields, which a concurrent fork would turn shared.
#[test]
#[serial_test::parallel(fork)]
fn exercise_resident_pages() {
    common::exercise("resident-pages");
}

/// Reads its own pages' smaps fields, which a concurrent fork would turn shared.
#[test]
#[serial_test::parallel(fork)]
fn exercise_smaps_record() {
    common::exercise("smaps-record");
}
