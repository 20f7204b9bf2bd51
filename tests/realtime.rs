//! Lesson 07, `realtime`: every claim of lessons/07-realtime.md, checked on this kernel, and
//! what a memlock limit too low for a step does to it.

mod common;

use pagelab::check::VerdictKind;

lesson_test!("realtime");

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
        let claims: Vec<_> = report
            .claims
            .iter()
            .filter(|c| c.place.step == step)
            .collect();
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
        .filter(|c| c.place.step == "prefaulted-stack");
    assert!(stack.clone().count() > 0);
    assert!(
        stack.clone().all(|c| c.verdict.kind() == VerdictKind::Held),
        "later steps ran"
    );
}
