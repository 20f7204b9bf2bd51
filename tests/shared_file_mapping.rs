//! Lesson 06, `shared-file-mapping`: every claim of lessons/06-shared-file-mapping.md,
//! checked on this kernel.

mod common;

use common::{assert_holds, probe};
use pagelab::check;
use pagelab::kernel::KernelProbe;
use pagelab::lesson::Lesson;
use rstest::{fixture, rstest};

#[fixture]
fn lesson() -> Lesson {
    common::lesson("shared-file-mapping")
}

/// The client is a forked child: while it lives, every private page of this process is
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

/// Whatever the kernel, the heart of the lesson must be checked, not skipped: the server
/// reads what the client wrote, the page is shared by both, write-only descriptors are
/// refused, and the lock excludes across processes and survives its holder's death.
#[rstest]
#[case::server_reads_the_name("client-wrote", "server reads name")]
#[case::server_reads_the_value("client-wrote", "server reads value")]
#[case::one_page_shared_by_both("client-wrote", "Shared_Dirty")]
#[case::half_each("client-wrote", "Pss")]
#[case::shared_maps_line("client-wrote", "maps line")]
#[case::write_only_refused("client-mapped", "client maps the file from an O_WRONLY descriptor")]
#[case::lock_excludes_the_server("client-holds-lock", "server try-locks the record")]
#[case::owner_died("client-exited", "server locks the record")]
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

// Exercises: the student's functions in src/exercises/shared_file_mapping.rs, checked on this kernel.

/// Its check forks (or locks memory): it must not overlap the lesson's experiment.
#[test]
#[serial_test::serial(fork)]
fn exercise_map_file_shared() {
    common::exercise("map-file-shared");
}
