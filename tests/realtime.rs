//! Lesson 07, `realtime`: every claim of lessons/07-realtime.md, checked on this kernel.

mod common;

use common::{assert_holds, probe};
use pagelab::check;
use pagelab::kernel::KernelProbe;
use pagelab::lesson::Lesson;
use rstest::{fixture, rstest};

#[fixture]
fn lesson() -> Lesson {
    common::lesson("realtime")
}

/// The experiment forks (mlockall and RLIMIT_MEMLOCK are per process, so children do them):
/// while a child lives, every private page of this process is shared, which other tests'
/// Pss/Private_* readings must not see.
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

/// Whatever the kernel and whoever runs it, these claims have no branch to skip to: locking
/// and populating fault pages in, the limit binds a process without CAP_IPC_LOCK, and a
/// prefaulted stack takes no fault.
#[rstest]
#[case::mlock_makes_the_range_resident("locked", "Rss")]
#[case::mlock_locks_the_range("locked", "Locked")]
#[case::locked_pages_take_no_fault("locked", "minor faults writing every page")]
#[case::munlock_keeps_the_pages("unlocked", "Rss")]
#[case::map_populate_makes_the_range_resident("populated", "Rss")]
#[case::populated_pages_take_no_fault("populated", "minor faults writing every page")]
#[case::locking_up_to_the_limit_works("limit-lowered", "Locked")]
#[case::the_limit_binds_without_the_capability("capability-dropped", "mlock of twice the limit")]
#[case::a_zero_limit_forbids_locking("capability-dropped", "mlock with a limit of 0")]
#[case::a_fresh_stack_faults_page_by_page(
    "fresh-stack",
    "minor faults per stack page made resident"
)]
#[case::a_prefaulted_stack_takes_no_fault("prefaulted-stack", "minor faults")]
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

// Exercises: the student's functions in src/exercises/realtime.rs, checked on this kernel.

/// Shares this process's RLIMIT_MEMLOCK budget with the lesson's experiment.
#[test]
#[serial_test::serial(fork)]
fn exercise_lock_in_ram() {
    common::exercise("lock-in-ram");
}
