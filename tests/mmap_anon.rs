//! Lesson 01, `mmap-anon`: every claim of lessons/01-mmap-anon.md, checked on this kernel.

mod common;

use rstest::rstest;

#[test]
fn every_claim_of_the_lesson_holds_on_this_kernel() {
    let _fork = common::FORK.shared();
    common::every_claim_holds("mmap-anon");
}

/// The claims that matter most must hold (not merely be skipped) on whatever branch applies.
#[rstest]
#[case::nothing_resident_after_mmap("mapped", "Rss")]
#[case::size_is_what_was_asked("mapped", "Size")]
#[case::page_size_matches_sysconf("mapped", "KernelPageSize")]
#[case::rss_after_one_byte("one-byte-written", "Rss")]
#[case::the_zero_page_reads_zero("untouched-page-read", "byte read")]
fn core_claim_held(#[case] step: &str, #[case] field: &str) {
    let _fork = common::FORK.shared();
    common::a_claim_held("mmap-anon", step, field);
}
