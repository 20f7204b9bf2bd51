//! The matrix as a terminal table and as a markdown report.

use super::{ClaimRow, Column, all_claims, key};
use crate::check::VerdictKind as Verdict;
use std::collections::BTreeMap;
use std::fmt::Write;

fn cell(column: &Column, claim: &ClaimRow) -> (&'static str, Option<String>) {
    match column {
        Column::Broken { .. } => ("!", None),
        Column::Ran { claims, .. } => match claims.iter().find(|c| key(c) == key(claim)) {
            None => ("?", Some("the claim was not reported".into())),
            Some(c) => match c.verdict {
                Verdict::Held => ("✓", None),
                Verdict::Failed => (
                    "✗",
                    Some(format!(
                        "expected {}, observed {}: {}{}",
                        c.expected,
                        c.observed.as_deref().unwrap_or("nothing"),
                        c.reason.as_deref().unwrap_or(""),
                        c.branch
                            .as_deref()
                            .map(|b| format!(" [{b}]"))
                            .unwrap_or_default()
                    )),
                ),
                Verdict::Skipped => ("·", c.reason.clone()),
            },
        },
    }
}

fn counts(column: &Column) -> String {
    match column {
        Column::Broken { why, .. } => format!("broken: {why}"),
        Column::Ran { claims, errors, .. } => {
            let n = |v| claims.iter().filter(|c| c.verdict == v).count();
            let errors = if errors.is_empty() {
                String::new()
            } else {
                format!(", experiment errors: {}", errors.join("; "))
            };
            format!(
                "{} held, {} failed, {} skipped{errors}",
                n(Verdict::Held),
                n(Verdict::Failed),
                n(Verdict::Skipped)
            )
        }
    }
}

fn seconds(column: &Column) -> f64 {
    match column {
        Column::Ran { seconds, .. } | Column::Broken { seconds, .. } => *seconds,
    }
}

fn release(column: &Column) -> String {
    match column {
        Column::Ran { kernel, .. } => kernel["release"].as_str().unwrap_or("?").to_owned(),
        Column::Broken { .. } => "?".to_owned(),
    }
}

/// Claims as rows, configurations as numbered columns, with a legend.
pub fn terminal(columns: &[(String, Column)]) -> String {
    let claims = all_claims(columns);
    let mut out = String::new();
    let label =
        |c: &ClaimRow| format!("{}:{} {} {} {}", c.file, c.line, c.step, c.subject, c.field);
    let width = claims.values().map(|c| label(c).len()).max().unwrap_or(10);
    let _ = write!(out, "{:width$} ", "claim \\ configuration");
    for n in 1..=columns.len() {
        let _ = write!(out, "{n:>2} ");
    }
    out.push('\n');
    for claim in claims.values() {
        let _ = write!(out, "{:width$} ", label(claim));
        for (_, column) in columns {
            let _ = write!(out, "{:>2} ", cell(column, claim).0);
        }
        out.push('\n');
    }
    out.push_str(
        "\n✓ held   ✗ failed   · skipped (reason in the report)   ! configuration broken\n",
    );
    for (n, (name, column)) in columns.iter().enumerate() {
        let _ = writeln!(
            out,
            "{:>2} {name:<24} {:<32} {:>5.1}s  {}",
            n + 1,
            release(column),
            seconds(column),
            counts(column)
        );
    }
    out
}

/// The markdown report: configurations, then per lesson a table of claims, then every
/// skip and failure reason per configuration.
pub fn markdown(columns: &[(String, Column)]) -> String {
    let claims = all_claims(columns);
    let mut out = String::from(
        "# Kernel matrix\n\nEvery lesson's claims, checked on each configuration by `pagelab check` (see `just kernels`).\n\n",
    );
    out.push_str("| # | configuration | kernel | time | result |\n|---|---|---|---|---|\n");
    for (n, (name, column)) in columns.iter().enumerate() {
        let _ = writeln!(
            out,
            "| {} | {name} | {} | {:.1} s | {} |",
            n + 1,
            release(column),
            seconds(column),
            counts(column)
        );
    }
    out.push_str("\n✓ held, ✗ failed, · skipped (reasons below), ! configuration broken.\n");
    let mut by_lesson: BTreeMap<&str, Vec<&ClaimRow>> = BTreeMap::new();
    for claim in claims.values() {
        by_lesson.entry(&claim.file).or_default().push(claim);
    }
    for (file, rows) in by_lesson {
        let _ = write!(
            out,
            "\n## {file}\n\n| line | step | of | field | expected |"
        );
        for n in 1..=columns.len() {
            let _ = write!(out, " {n} |");
        }
        out.push_str("\n|---|---|---|---|---|");
        out.push_str(&"---|".repeat(columns.len()));
        out.push('\n');
        for claim in rows {
            let _ = write!(
                out,
                "| {} | {} | {} | {} | `{}` |",
                claim.line, claim.step, claim.subject, claim.field, claim.expected
            );
            for (_, column) in columns {
                let _ = write!(out, " {} |", cell(column, claim).0);
            }
            out.push('\n');
        }
    }
    out.push_str("\n## Why claims were skipped or failed\n");
    for (n, (name, column)) in columns.iter().enumerate() {
        let _ = writeln!(out, "\n### {} {name}\n", n + 1);
        if let Column::Broken {
            why, console_tail, ..
        } = column
        {
            let _ = writeln!(out, "Broken: {why}\n\n```text\n{console_tail}\n```");
            continue;
        }
        let mut reasons: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for claim in claims.values() {
            let (mark, reason) = cell(column, claim);
            if let Some(reason) = reason {
                reasons
                    .entry(format!("{mark} {reason}"))
                    .or_default()
                    .push(format!("{}:{}", claim.file, claim.line));
            }
        }
        if reasons.is_empty() {
            out.push_str("Every claim held.\n");
        }
        for (reason, places) in reasons {
            let _ = writeln!(out, "- {reason} ({})", places.join(", "));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(verdict: &str) -> Column {
        let json = format!(
            r#"{{"kernel": {{"release": "6.12.1"}}, "lessons": [{{"id": "x", "error": null, "claims": [
            {{"lesson": "x", "file": "lessons/01-x.md", "line": 7, "step": "s", "subject": "m",
              "field": "Rss", "expected": "1 page", "observed": "4 kB", "verdict": "{verdict}",
              "reason": "because", "branch": null}}]}}]}}"#
        );
        Column::from_json(&json, 1.0).unwrap()
    }

    #[test]
    fn a_failed_or_broken_column_fails_the_matrix() {
        assert!(!column("held").failed());
        assert!(!column("skipped").failed());
        assert!(column("failed").failed());
        let broken = Column::Broken {
            why: "no end marker".into(),
            console_tail: "Kernel panic".into(),
            seconds: 1.0,
        };
        assert!(broken.failed());
    }

    #[test]
    fn tables_show_each_claim_in_each_column_with_reasons() {
        let columns = vec![
            ("host".to_owned(), column("held")),
            ("guest".to_owned(), column("skipped")),
            (
                "panicked".to_owned(),
                Column::Broken {
                    why: "no begin marker".into(),
                    console_tail: "Kernel panic - not syncing".into(),
                    seconds: 2.0,
                },
            ),
        ];
        let text = terminal(&columns);
        assert!(text.contains("lessons/01-x.md:7 s m Rss"), "{text}");
        assert!(
            text.lines()
                .any(|l| l.starts_with("lessons/01-x.md:7") && l.contains(" ✓  ·  !")),
            "{text}"
        );
        let report = markdown(&columns);
        assert!(report.contains("· because (lessons/01-x.md:7)"), "{report}");
        assert!(report.contains("Kernel panic - not syncing"), "{report}");
    }
}
