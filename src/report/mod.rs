//! Renders verdicts as text for people and as JSON, KTAP and JUnit XML for machines.

pub mod junit;
pub mod ktap;
pub mod suites;

use crate::check::{ClaimResult, Counts, LessonReport, Verdict};
use crate::kernel::KernelProbe;
use crate::kernel::probe::{OvercommitMode, PerSizeMode};
use anstyle::{AnsiColor, Style};
use std::io::{self, Write};

const HELD: Style = AnsiColor::Green.on_default();
const FAILED: Style = AnsiColor::Red.on_default().bold();
const SKIPPED: Style = AnsiColor::Yellow.on_default();
const DIM: Style = Style::new().dimmed();
const BOLD: Style = Style::new().bold();

/// The kernel in a few labelled lines: release, page size, THP, overcommit, memlock.
pub fn kernel_summary(probe: &KernelProbe) -> Vec<(&'static str, String)> {
    let thp = match &probe.thp {
        None => "not built into this kernel".to_owned(),
        Some(thp) => {
            let enabled = thp.enabled.word();
            let sizes: Vec<String> = thp
                .per_size
                .iter()
                .filter(|(_, m)| **m != PerSizeMode::Never)
                .map(|(size, mode)| {
                    format!("{}kB={}", size.kib(), format!("{mode:?}").to_lowercase())
                })
                .collect();
            let per_size = if thp.per_size.is_empty() {
                String::new()
            } else if sizes.is_empty() {
                ", every per-size control never".to_owned()
            } else {
                format!(", per size {}", sizes.join(" "))
            };
            format!(
                "enabled={enabled}, PMD size {}, defrag={}{per_size}",
                thp.pmd_size, thp.defrag
            )
        }
    };
    let overcommit = match probe.overcommit {
        OvercommitMode::Heuristic => "heuristic",
        OvercommitMode::Always => "always",
        OvercommitMode::Never => "never: strict commit limit",
    };
    let overcommit = format!("{} ({overcommit})", probe.overcommit.number());
    let memlock = match probe.memlock.soft {
        None => "unlimited".to_owned(),
        Some(limit) => limit.to_string(),
    };
    let exempt = if probe.memlock.can_exceed {
        " (CAP_IPC_LOCK: not enforced)"
    } else {
        ""
    };
    vec![
        ("kernel", probe.release.clone()),
        ("page size", probe.page_size.to_string()),
        ("THP", thp),
        ("overcommit", overcommit.to_owned()),
        ("RLIMIT_MEMLOCK", format!("{memlock}{exempt}")),
    ]
}

pub fn write_kernel_summary(out: &mut dyn Write, probe: &KernelProbe) -> io::Result<()> {
    for (label, value) in kernel_summary(probe) {
        writeln!(out, "{BOLD}{label:>15}{BOLD:#}  {value}")?;
    }
    Ok(())
}

fn verdict_word(verdict: &Verdict) -> (Style, &'static str) {
    match verdict {
        Verdict::Held { .. } => (HELD, "held"),
        Verdict::Failed { .. } => (FAILED, "FAILED"),
        Verdict::Skipped { .. } => (SKIPPED, "skipped"),
    }
}

pub fn counts_line(counts: Counts) -> String {
    format!(
        "{} claims: {} held, {} failed, {} skipped",
        counts.total(),
        counts.held,
        counts.failed,
        counts.skipped
    )
}

/// Every claim of each lesson, one line each, failures and skips with their reasons.
pub fn write_text(out: &mut dyn Write, reports: &[LessonReport]) -> io::Result<()> {
    for report in reports {
        writeln!(
            out,
            "\n{BOLD}{}{BOLD:#}  {DIM}{}{DIM:#}  {}",
            report.id, report.file, report.title
        )?;
        let width = report
            .claims
            .iter()
            .map(|c| c.place.field.len())
            .max()
            .unwrap_or(0);
        for claim in &report.claims {
            write_claim(out, claim, width)?;
        }
        for problem in report.problems() {
            writeln!(out, "  {FAILED}{problem}{FAILED:#}")?;
        }
        writeln!(out, "  {}", counts_line(report.counts()))?;
    }
    Ok(())
}

fn write_claim(out: &mut dyn Write, claim: &ClaimResult, width: usize) -> io::Result<()> {
    let (style, word) = verdict_word(&claim.verdict);
    write!(
        out,
        "  {style}{word:<7}{style:#} {DIM}:{:<4}{DIM:#} {:<20} {:<width$}  {}",
        claim.place.line, claim.place.step, claim.place.field, claim.place.expected
    )?;
    match &claim.verdict {
        Verdict::Held { .. } => writeln!(out)?,
        Verdict::Failed {
            observed,
            reason,
            branch,
        } => {
            writeln!(
                out,
                "\n          observed: {}",
                observed.as_deref().unwrap_or("nothing")
            )?;
            writeln!(out, "          why: {reason}")?;
            if let Some(branch) = branch {
                writeln!(out, "          branch: {branch}")?;
            }
        }
        Verdict::Skipped { reason, .. } => writeln!(out, "\n          {DIM}{reason}{DIM:#}")?,
    }
    Ok(())
}

/// A failure message for tests and for CI logs: each failed claim with file:line, step,
/// field, expected, observed, why, and the branch that applied.
pub fn failures(report: &LessonReport, probe: &KernelProbe) -> Option<String> {
    if report.passed() {
        return None;
    }
    let mut text = format!(
        "lesson `{}` ({}) does not hold on this kernel: {}\n",
        report.id,
        report.file,
        counts_line(report.counts())
    );
    for problem in report.problems() {
        text.push_str(&format!("{problem}\n"));
    }
    for claim in &report.claims {
        let Verdict::Failed {
            observed,
            reason,
            branch,
        } = &claim.verdict
        else {
            continue;
        };
        text.push_str(&format!(
            "\n{}:{}: step `{}`, {} of {}\n    expected: {}\n    observed: {}\n    why: {reason}\n",
            claim.place.file,
            claim.place.line,
            claim.place.step,
            claim.place.field,
            claim.place.subject,
            claim.place.expected,
            observed.as_deref().unwrap_or("nothing"),
        ));
        if let Some(branch) = branch {
            text.push_str(&format!("    branch: {branch}\n"));
        }
    }
    text.push_str("\nthis kernel:\n");
    for (label, value) in kernel_summary(probe) {
        text.push_str(&format!("    {label}: {value}\n"));
    }
    Some(text)
}
