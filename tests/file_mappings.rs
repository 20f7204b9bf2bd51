//! Lesson 05, `file-mappings`: every claim of lessons/05-file-mappings.md, checked on this
//! kernel.

mod common;

use rstest::rstest;

/// The experiment forks children that die of their faults: while one lives, every private
/// page of this process is shared, which other tests' Pss/Private_* readings must not see.
#[test]
fn every_claim_of_the_lesson_holds_on_this_kernel() {
    let _fork = common::FORK.exclusive();
    common::every_claim_holds("file-mappings");
}

/// Whatever the kernel and filesystem, the heart of the lesson must be checked, not skipped:
/// a private write is an anonymous copy that leaves the file alone, a shared write needs
/// O_RDWR and reaches the file, and the two bad accesses kill with their own signals.
#[rstest]
#[case::descriptor_closed_after_mmap("read-only", "read through the mapping")]
#[case::the_kernel_maps_this_very_file("read-only", "device and inode match fstat")]
#[case::offset_must_be_page_aligned(
    "offsets",
    "mmap at an offset that is not a multiple of the page size"
)]
#[case::private_write_is_anonymous("private-written", "Anonymous")]
#[case::private_write_is_private_dirty("private-written", "Private_Dirty")]
#[case::private_write_leaves_the_file("private-written", "read from the file (pread)")]
#[case::shared_needs_read_write(
    "shared-written",
    "mmap PROT_READ | PROT_WRITE, MAP_SHARED of an O_WRONLY descriptor"
)]
#[case::shared_write_reaches_the_file("shared-written", "read from the file (pread) after msync")]
#[case::sigsegv("faults", "write to a PROT_READ mapping")]
#[case::sigbus("faults", "read of a page wholly beyond the end of the file")]
fn core_claim_held(#[case] step: &str, #[case] field: &str) {
    let _fork = common::FORK.exclusive();
    common::all_claims_held("file-mappings", step, field);
}
