//! What every lesson test shares: the kernel probe, a lesson by id, and the verdict; and
//! ([`run`]) what the tests that run the binary share.

#![allow(dead_code)] // each test crate uses a different part

pub mod locks;
pub mod run;

#[allow(unused_imports)] // not every test crate forks
pub use locks::FORK;

use pagelab::catalog::{Catalog, lessons_dir};
use pagelab::check::{LessonReport, VerdictKind};
use pagelab::kernel::KernelProbe;
use pagelab::lesson::Lesson;
use pagelab::report;
use rstest::fixture;
use std::io::Write;

#[fixture]
pub fn probe() -> KernelProbe {
    KernelProbe::probe().unwrap_or_else(|e| panic!("{e}"))
}

#[fixture]
pub fn catalog() -> Catalog {
    let dir = lessons_dir();
    Catalog::load(&dir).unwrap_or_else(|e| panic!("lessons in {}:\n{e}", dir.display()))
}

pub fn lesson(id: &str) -> Lesson {
    let catalog = catalog();
    catalog
        .find(id)
        .cloned()
        .unwrap_or_else(|| panic!("no lesson `{id}`; lessons: {}", catalog.ids().join(", ")))
}

/// Fails with every failed claim (file:line, step, field, expected, observed, why), and
/// tells the person running the tests which claims were skipped and why. The skip lines go
/// straight to stderr, past the harness's capture: a skip must never look like a pass.
pub fn assert_holds(report: &LessonReport, probe: &KernelProbe) {
    // One line per skipped block: its claims share the step and the reason.
    let mut skipped: Vec<(String, Vec<usize>, String)> = Vec::new();
    for c in report
        .claims
        .iter()
        .filter(|c| c.verdict.kind() == VerdictKind::Skipped)
    {
        let reason = c.verdict.reason().map(str::to_owned).unwrap_or_default();
        match skipped.last_mut() {
            Some((step, lines, r)) if *step == c.place.step && *r == reason => {
                lines.push(c.place.line)
            }
            _ => skipped.push((c.place.step.clone(), vec![c.place.line], reason)),
        }
    }
    let skipped: Vec<String> = skipped
        .into_iter()
        .map(|(step, lines, reason)| {
            let lines: Vec<String> = lines.iter().map(usize::to_string).collect();
            format!(
                "  skipped {}:{} (step {step}): {reason}\n",
                report.file,
                lines.join(",")
            )
        })
        .collect();
    if !skipped.is_empty() && std::env::var_os("PAGELAB_QUIET_SKIPS").is_none() {
        let text = format!(
            "pagelab: lesson `{}`: {}\n{}",
            report.id,
            report::counts_line(report.counts()),
            skipped.concat()
        );
        let _ = std::io::stderr().write_all(text.as_bytes());
    }
    if let Some(failures) = report::failures(report, probe) {
        panic!("{failures}");
    }
    assert!(
        report.counts().held > 0,
        "lesson `{}`: no claim held; every claim was skipped on this kernel",
        report.id
    );
}

/// A lesson's test file is this one line: a test that performs its experiment once, with
/// the fork lock the experiment needs, and holds it to everything [`lesson_holds`] checks.
#[macro_export]
macro_rules! lesson_test {
    ($id:literal) => {
        #[test]
        fn every_claim_of_the_lesson_holds_on_this_kernel() {
            let _fork = common::fork_lock($id);
            common::lesson_holds($id);
        }
    };
}

/// The fork lock an experiment needs: exclusive when it forks (its child shares every
/// private page of this process), shared otherwise (it reads its own pages' Pss).
pub fn fork_lock(id: &str) -> locks::Held {
    let experiment =
        pagelab::experiments::find(id).unwrap_or_else(|| panic!("no experiment `{id}`"));
    if experiment.forks() {
        locks::Held::Exclusive(FORK.exclusive())
    } else {
        locks::Held::Shared(FORK.shared())
    }
}

/// The lesson's experiment, performed once on this kernel: every claim gets a verdict, every
/// skip has its reason, none fails, at least one holds, and its `core` blocks are decided
/// (see `check::core_problems`).
pub fn lesson_holds(id: &str) {
    let (lesson, probe) = (lesson(id), probe());
    let report = pagelab::check::check_lesson(&lesson, &probe);
    assert_eq!(
        report.claims.len(),
        lesson.claim_count(),
        "every claim gets a verdict"
    );
    for claim in &report.claims {
        if claim.verdict.kind() == VerdictKind::Skipped {
            assert!(
                claim.verdict.reason().is_some_and(|r| !r.is_empty()),
                "{}:{} was skipped without a reason",
                claim.place.file,
                claim.place.line
            );
        }
    }
    assert_holds(&report, &probe);
    let problems = pagelab::check::core_problems(&lesson, &report);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The verdicts of the lesson's claims about `field` at `step`.
pub fn verdicts(report: &LessonReport, step: &str, field: &str) -> Vec<VerdictKind> {
    report
        .claims
        .iter()
        .filter(|c| c.place.step == step && c.place.field == field)
        .map(|c| c.verdict.kind())
        .collect()
}
