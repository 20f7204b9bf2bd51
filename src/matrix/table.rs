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

/// A size as the kernel prints it: `4 kB`, `2048 kB` as `2 MiB`.
fn size(bytes: Option<u64>) -> String {
    match bytes {
        None => "?".to_owned(),
        Some(b) if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        Some(b) => format!("{} kB", b / 1024),
    }
}

/// What a column ran on and as: kernel, arch, libc, page and PMD size, THP, overcommit,
/// user. All from the guest's own report: nothing here is assumed from the name.
fn describe(column: &Column) -> [String; 8] {
    let Column::Ran {
        kernel, machine, ..
    } = column
    else {
        return std::array::from_fn(|_| "?".to_owned());
    };
    let text = |v: &serde_json::Value| v.as_str().unwrap_or("?").to_owned();
    let thp = match kernel["thp"].as_object() {
        None => "none".to_owned(),
        Some(thp) => {
            let mut words = vec![text(&thp["enabled"])];
            let pmd = thp["pmd_size"].as_u64();
            if let Some(sizes) = thp["per_size"].as_object() {
                // What differs from the kernels' defaults: a smaller size switched on, the
                // PMD size not following the top-level mode.
                let mut on: Vec<(u64, &str)> = sizes
                    .iter()
                    .filter_map(|(k, v)| Some((k.parse().ok()?, v.as_str()?)))
                    .filter(|&(size, mode)| {
                        if Some(size) == pmd {
                            mode != "inherit"
                        } else {
                            mode != "never" && mode != "inherit"
                        }
                    })
                    .collect();
                on.sort();
                words.extend(
                    on.iter()
                        .map(|(b, mode)| format!("{} {mode}", size(Some(*b)))),
                );
            }
            words.join(", ")
        }
    };
    let overcommit = match kernel["overcommit"].as_str() {
        Some("heuristic") => "0",
        Some("always") => "1",
        Some("never") => "2",
        _ => "?",
    };
    let memlock = &kernel["memlock"];
    let user = if memlock["can_exceed"].as_bool() == Some(true) {
        "root".to_owned()
    } else {
        match memlock["soft"].as_u64() {
            Some(limit) => format!("memlock {}", size(Some(limit))),
            None => "memlock unlimited".to_owned(),
        }
    };
    [
        text(&kernel["release"]),
        text(&machine["arch"]),
        text(&machine["libc"]),
        size(kernel["page_size"].as_u64()),
        match kernel["thp"]["pmd_size"].as_u64() {
            // No THP, no huge page size to tell (PREEMPT_RT kernels before 6.13).
            None if kernel["thp"].is_null() => "-".to_owned(),
            bytes => size(bytes),
        },
        thp,
        overcommit.to_owned(),
        user,
    ]
}

const DESCRIPTION: [&str; 8] = [
    "kernel",
    "arch",
    "libc",
    "page",
    "PMD",
    "THP",
    "overcommit",
    "user",
];

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
    let mut rows: Vec<Vec<String>> = vec![
        ["#", "configuration"]
            .into_iter()
            .chain(DESCRIPTION)
            .chain(["time", "result"])
            .map(str::to_owned)
            .collect(),
    ];
    for (n, (name, column)) in columns.iter().enumerate() {
        let mut row = vec![(n + 1).to_string(), name.clone()];
        row.extend(describe(column));
        row.push(format!("{:.1}s", column.seconds()));
        row.push(counts(column));
        rows.push(row);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for row in rows {
        let last = row.len() - 1;
        let mut line = String::new();
        for (i, cell) in row.into_iter().enumerate() {
            let pad = widths[i] - cell.chars().count();
            match i {
                _ if i == last => line.push_str(&cell),
                0 => line.push_str(&format!("{}{cell} ", " ".repeat(pad))),
                _ => line.push_str(&format!("{cell}{} ", " ".repeat(pad))),
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
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
    out.push_str("| # | configuration |");
    for title in DESCRIPTION {
        let _ = write!(out, " {title} |");
    }
    out.push_str(" time | result |\n|---|---|");
    out.push_str(&"---|".repeat(DESCRIPTION.len() + 2));
    out.push('\n');
    for (n, (name, column)) in columns.iter().enumerate() {
        let _ = write!(out, "| {} | {name} |", n + 1);
        for cell in describe(column) {
            let _ = write!(out, " {cell} |");
        }
        let _ = writeln!(out, " {:.1} s | {} |", column.seconds(), counts(column));
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
    fn columns_say_arch_libc_page_pmd_and_settings_from_the_guests_report() {
        let json = r#"{"kernel": {"release": "6.12.118+deb13-arm64-16k", "page_size": 16384,
            "overcommit": "never", "memlock": {"can_exceed": false, "soft": 65536},
            "thp": {"enabled": "always", "pmd_size": 33554432,
                    "per_size": {"65536": "never", "262144": "always", "33554432": "never"}}},
            "machine": {"arch": "aarch64", "libc": "musl"}, "lessons": []}"#;
        let column = Column::from_json(json, 1.0).unwrap();
        assert_eq!(
            describe(&column),
            [
                "6.12.118+deb13-arm64-16k",
                "aarch64",
                "musl",
                "16 kB",
                "32 MiB",
                "always, 256 kB always, 32 MiB never",
                "2",
                "memlock 64 kB"
            ]
        );
        let no_thp = r#"{"kernel": {"release": "6.12-rt", "page_size": 4096, "thp": null,
            "overcommit": "heuristic", "memlock": {"can_exceed": true}},
            "machine": {"arch": "x86_64", "libc": "glibc"}, "lessons": []}"#;
        let described = describe(&Column::from_json(no_thp, 1.0).unwrap());
        assert_eq!(described[4..7], ["-", "none", "0"]);
        assert_eq!(described[7], "root");
        let text = terminal(&[("guest".to_owned(), column)]);
        assert!(text.contains("configuration"), "{text}");
        assert!(
            text.lines()
                .any(|l| l.contains("aarch64") && l.contains("32 MiB")),
            "{text}"
        );
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
