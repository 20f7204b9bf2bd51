//! Lesson 09, `giving-memory-back`: every claim of lessons/09-giving-memory-back.md, checked
//! on this kernel.

mod common;

use rstest::rstest;

/// The experiment forks (a child touches the unmapped address), and it reads Private_* of
/// its own pages, which another test's fork would make shared for a while.
#[test]
fn every_claim_of_the_lesson_holds_on_this_kernel() {
    let _fork = common::FORK.exclusive();
    common::every_claim_holds("giving-memory-back");
}

/// The lesson's claims have no branch: each must be checked, and hold, on every kernel.
#[rstest]
#[case::dontneed_drops_the_pages("dontneed", "Rss")]
#[case::dontneed_leaves_zeros("dontneed", "pages reading 0")]
#[case::free_keeps_the_pages("free", "Rss")]
#[case::free_makes_the_pages_clean("free", "Private_Dirty")]
#[case::free_pages_count_as_lazy_free("free-flushed", "LazyFree")]
#[case::a_write_takes_the_page_back("written-after-free", "LazyFree")]
#[case::the_written_page_keeps_its_value("written-after-free", "first page reads")]
#[case::munmap_removes_the_maps_line("unmapped", "address in the child's maps after munmap")]
#[case::touching_an_unmapped_address_is_sigsegv(
    "touched-after-unmap",
    "reading the unmapped address"
)]
fn core_claim_held(#[case] step: &str, #[case] field: &str) {
    let _fork = common::FORK.exclusive();
    common::all_claims_held("giving-memory-back", step, field);
}
