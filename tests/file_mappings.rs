//! Lesson 05, `file-mappings`: every claim of lessons/05-file-mappings.md, checked on this
//! kernel.

mod common;

use common::{assert_holds, probe};
use pagelab::check;
use pagelab::kernel::KernelProbe;
use pagelab::lesson::Lesson;
use rstest::{fixture, rstest};

#[fixture]
fn lesson() -> Lesson {
    common::lesson("file-mappings")
}

/// The experiment forks children that die of their faults: while one lives, every private
/// page of this process is shared, which other tests' Pss/Private_* readings must not see.
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
#[serial_test::serial(fork)]
fn core_claim_held(lesson: Lesson, probe: KernelProbe, #[case] step: &str, #[case] field: &str) {
    let report = check::check_lesson(&lesson, &probe);
    let verdicts = common::verdicts(&report, step, field);
    assert!(
        !verdicts.is_empty(),
        "the lesson makes no `{field}` claim at `{step}`"
    );
    assert!(
        verdicts.iter().all(|v| *v == check::Verdict::Held),
        "`{field}` at `{step}`: {verdicts:?}"
    );
}

// Exercises: the student's functions in src/exercises/file_mappings.rs, checked on this kernel.

/// Reads its own pages' smaps fields, which a concurrent fork would turn shared.
#[test]
#[serial_test::parallel(fork)]
fn exercise_read_through_mapping() {
    common::exercise("read-through-mapping");
}

/// Reads its own pages' smaps fields, which a concurrent fork would turn shared.
#[test]
#[serial_test::parallel(fork)]
fn exercise_write_through_mapping() {
    common::exercise("write-through-mapping");
}
