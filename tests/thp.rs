//! Lesson 08, `thp`: every claim of lessons/08-thp.md, checked on this kernel.

mod common;

use common::{assert_holds, probe};
use pagelab::check::{self, Verdict};
use pagelab::kernel::KernelProbe;
use pagelab::lesson::Lesson;
use rstest::{fixture, rstest};

#[fixture]
fn lesson() -> Lesson {
    common::lesson("thp")
}

/// The experiment forks (PR_SET_THP_DISABLE is per process, so a child sets it).
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

/// Saying no must work on every kernel with THP: these claims have no branch to skip to.
#[rstest]
#[case::madv_nohugepage_gives_a_base_page("not-advised-written", "Rss")]
#[case::madv_nohugepage_is_not_eligible("not-advised-written", "THPeligible")]
#[case::thp_disable_gives_a_base_page("disabled-written", "AnonHugePages")]
#[serial_test::serial(fork)]
fn refusing_huge_pages_is_checked_not_skipped(
    lesson: Lesson,
    probe: KernelProbe,
    #[case] step: &str,
    #[case] field: &str,
) {
    if probe.thp.is_none() {
        return assert!(
            common::verdicts(&check::check_lesson(&lesson, &probe), step, field)
                .iter()
                .all(|v| *v == Verdict::Skipped),
            "without THP the lesson is skipped"
        );
    }
    let verdicts = common::verdicts(&check::check_lesson(&lesson, &probe), step, field);
    assert!(
        !verdicts.is_empty() && verdicts.iter().all(|v| *v == Verdict::Held),
        "{verdicts:?}"
    );
}

// Exercises: the student's functions in src/exercises/thp.rs, checked on this kernel.

/// Reads its own pages' smaps fields, which a concurrent fork would turn shared.
#[test]
#[serial_test::parallel(fork)]
fn exercise_advise_huge_pages() {
    common::exercise("advise-huge-pages");
}

/// Reads its own pages' smaps fields, which a concurrent fork would turn shared.
#[test]
#[serial_test::parallel(fork)]
fn exercise_map_aligned() {
    common::exercise("map-aligned");
}
