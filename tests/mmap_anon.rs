//! Lesson 01, `mmap-anon`: every claim of lessons/01-mmap-anon.md, checked on this kernel.

mod common;

use rstest::rstest;

#[test]
#[serial_test::parallel(fork)]
fn every_claim_of_the_lesson_holds_on_this_kernel() {
    common::every_claim_holds("mmap-anon");
}

/// The claims that matter most must hold (not merely be skipped) on whatever branch applies.
#[rstest]
#[case::nothing_resident_after_mmap("mapped", "Rss")]
#[case::size_is_what_was_asked("mapped", "Size")]
#[case::page_size_matches_sysconf("mapped", "KernelPageSize")]
#[case::rss_after_one_byte("one-byte-written", "Rss")]
#[case::the_zero_page_reads_zero("untouched-page-read", "byte read")]
#[serial_test::parallel(fork)]
fn core_claim_held(#[case] step: &str, #[case] field: &str) {
    common::a_claim_held("mmap-anon", step, field);
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
