//! What every lesson test shares: the kernel probe, a lesson by id, and the verdict.

#![allow(dead_code)] // each test crate uses a different part

pub mod locks;

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
            Some((step, lines, r)) if *step == c.step && *r == reason => lines.push(c.line),
            _ => skipped.push((c.step.clone(), vec![c.line], reason)),
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

/// The lesson's experiment performed on this kernel, every claim evaluated.
pub fn report(id: &str) -> LessonReport {
    pagelab::check::check_lesson(&lesson(id), &probe())
}

/// Every claim of the lesson gets a verdict, none fails, and at least one holds.
pub fn every_claim_holds(id: &str) {
    let (lesson, probe) = (lesson(id), probe());
    let report = pagelab::check::check_lesson(&lesson, &probe);
    assert_eq!(
        report.claims.len(),
        lesson.claim_count(),
        "every claim gets a verdict"
    );
    assert_holds(&report, &probe);
}

/// The heart of a lesson, which no kernel configuration may skip: the lesson makes claims
/// about `field` at `step` and every one of them holds.
/// Only a limit that makes the whole step impossible here may skip them, and that is said.
pub fn all_claims_held(id: &str, step: &str, field: &str) {
    let report = report(id);
    let verdicts = verdicts(&report, step, field);
    assert!(
        !verdicts.is_empty(),
        "the lesson makes no `{field}` claim at `{step}`"
    );
    let impossible = format!("step `{step}` is not possible here");
    if let Some(reason) = report
        .claims
        .iter()
        .filter(|c| c.step == step && c.field == field)
        .map(|c| c.verdict.reason().unwrap_or_default())
        .find(|reason| reason.starts_with(&impossible))
    {
        let _ = std::io::stderr()
            .write_all(format!("pagelab: `{field}` at `{step}` skipped: {reason}\n").as_bytes());
        assert!(
            verdicts.iter().all(|v| *v == VerdictKind::Skipped),
            "{verdicts:?}"
        );
        return;
    }
    assert!(
        verdicts.iter().all(|v| *v == VerdictKind::Held),
        "`{field}` at `{step}`: {verdicts:?}"
    );
}

/// For claims with one branch per configuration: the branch that applies here holds.
pub fn a_claim_held(id: &str, step: &str, field: &str) {
    let verdicts = verdicts(&report(id), step, field);
    assert!(
        verdicts.contains(&VerdictKind::Held),
        "no `{field}` claim at step `{step}` held: {verdicts:?}"
    );
}

/// The verdicts of the lesson's claims about `field` at `step`.
pub fn verdicts(report: &LessonReport, step: &str, field: &str) -> Vec<VerdictKind> {
    report
        .claims
        .iter()
        .filter(|c| c.step == step && c.field == field)
        .map(|c| c.verdict.kind())
        .collect()
}
