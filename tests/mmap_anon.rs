//! Lesson 01, `mmap-anon`: every claim of lessons/01-mmap-anon.md, checked on this kernel.

mod common;

use common::{assert_holds, probe};
use pagelab::check::{self, Verdict};
use pagelab::kernel::KernelProbe;
use pagelab::lesson::Lesson;
use rstest::{fixture, rstest};

#[fixture]
fn lesson() -> Lesson {
    common::lesson("mmap-anon")
}

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

/// The claims that matter most must hold (not merely be skipped) on whatever branch applies.
#[rstest]
#[case::nothing_resident_after_mmap("mapped", "Rss")]
#[case::size_is_what_was_asked("mapped", "Size")]
#[case::page_size_matches_sysconf("mapped", "KernelPageSize")]
#[case::rss_after_one_byte("one-byte-written", "Rss")]
#[case::the_zero_page_reads_zero("untouched-page-read", "byte read")]
#[serial_test::parallel(fork)]
fn core_claim_held(lesson: Lesson, probe: KernelProbe, #[case] step: &str, #[case] field: &str) {
    let report = check::check_lesson(&lesson, &probe);
    let held = common::verdicts(&report, step, field);
    assert!(
        held.contains(&Verdict::Held),
        "no `{field}` claim at step `{step}` held: {held:?}"
    );
}

// Exercises: the student's functions in src/exercises/mmap_anon.rs, checked on this kernel.

/// Reads its own pages' smaps fields, which a concurrent fork would turn shared.
#[test]
#[serial_test::parallel(fork)]
fn exercise_map_anonymous() {
    common::exercise("map-anonymous");
}

/// Reads its own pages' smaps fields, which a concurrent fork would turn shared.
#[test]
#[serial_test::parallel(fork)]
fn exercise_touch_every_page() {
    common::exercise("touch-every-page");
}
