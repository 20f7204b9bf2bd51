//! Lesson 07, `realtime`: every claim of lessons/07-realtime.md, checked on this kernel.

mod common;

use pagelab::check::VerdictKind;
use rstest::rstest;

/// The experiment forks (mlockall and RLIMIT_MEMLOCK are per process, so children do them):
/// while a child lives, every private page of this process is shared, which other tests'
/// Pss/Private_* readings must not see.
#[test]
fn every_claim_of_the_lesson_holds_on_this_kernel() {
    let _fork = common::FORK.exclusive();
    common::every_claim_holds("realtime");
}

/// Whatever the kernel and whoever runs it, these claims have no branch to skip to: locking
/// and populating fault pages in, the limit binds a process without CAP_IPC_LOCK, and a
/// prefaulted stack takes no fault.
#[rstest]
#[case::mlock_makes_the_range_resident("locked", "Rss")]
#[case::mlock_locks_the_range("locked", "Locked")]
#[case::locked_pages_take_no_fault("locked", "minor faults writing every page")]
#[case::a_locked_page_faults_after_fork(
    "forked-while-locked",
    "minor faults writing every locked page after fork"
)]
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
fn core_claim_held(#[case] step: &str, #[case] field: &str) {
    let _fork = common::FORK.exclusive();
    common::all_claims_held("realtime", step, field);
}

/// A limit below what a step locks makes that step impossible, not the experiment: its
/// claims skip naming the limit and the size the step needs, and the other steps still run.
/// (On 16 kB pages 16 pages are 256 kB, over the 64 kB RLIMIT_MEMLOCK of an ordinary user.)
#[test]
fn a_limit_too_low_for_a_step_skips_that_step_naming_the_limit() {
    let _fork = common::FORK.exclusive();
    let mut probe = common::probe();
    let page = probe.page_size;
    probe.memlock.soft = Some(page);
    probe.memlock.hard = Some(page);
    probe.memlock.can_exceed = false;
    let report = pagelab::check::check_lesson(&common::lesson("realtime"), &probe);
    assert_eq!(report.error, None, "the experiment ran to its end");
    let needs = [
        ("locked", page * 16),
        ("forked-while-locked", page * 16),
        ("unlocked", page * 16),
        ("limit-lowered", page * 4),
        ("capability-dropped", page * 4),
    ];
    for (step, needed) in needs {
        let claims: Vec<_> = report.claims.iter().filter(|c| c.step == step).collect();
        assert!(!claims.is_empty(), "no claim at {step}");
        for claim in claims {
            let reason = claim.verdict.reason().unwrap_or_default();
            assert_eq!(
                claim.verdict.kind(),
                VerdictKind::Skipped,
                "{step}: {reason}"
            );
            assert!(
                reason.contains("RLIMIT_MEMLOCK")
                    && reason.contains(&needed.to_string())
                    && reason.contains(&page.to_string()),
                "{step}: the reason names the limit ({page}) and the need ({needed}): {reason}"
            );
        }
    }
    let stack = report
        .claims
        .iter()
        .filter(|c| c.step == "prefaulted-stack");
    assert!(stack.clone().count() > 0);
    assert!(
        stack.clone().all(|c| c.verdict.kind() == VerdictKind::Held),
        "later steps ran"
    );
}
