//! Lesson 08, `thp`: every claim of lessons/08-thp.md, checked on this kernel.

mod common;

use pagelab::check::VerdictKind;
use rstest::rstest;

/// The experiment forks (PR_SET_THP_DISABLE is per process, so a child sets it).
#[test]
fn every_claim_of_the_lesson_holds_on_this_kernel() {
    let _fork = common::FORK.exclusive();
    common::every_claim_holds("thp");
}

/// Saying no must work on every kernel with THP: these claims have no branch to skip to.
#[rstest]
#[case::madv_nohugepage_gives_a_base_page("not-advised-written", "Rss")]
#[case::madv_nohugepage_is_not_eligible("not-advised-written", "THPeligible")]
#[case::thp_disable_gives_a_base_page("disabled-written", "AnonHugePages")]
fn refusing_huge_pages_is_checked_not_skipped(#[case] step: &str, #[case] field: &str) {
    let _fork = common::FORK.exclusive();
    if common::probe().thp.is_none() {
        let verdicts = common::verdicts(&common::report("thp"), step, field);
        assert!(
            verdicts.iter().all(|v| *v == VerdictKind::Skipped),
            "without THP the lesson is skipped: {verdicts:?}"
        );
    } else {
        common::all_claims_held("thp", step, field);
    }
}
