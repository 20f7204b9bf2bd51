//! The claim × configuration table of a set of result files, as a terminal table, as a
//! markdown report and as JSON (`pagelab matrix --format json`, the data the book's Kernels
//! chapter shows). `pagelab matrix`, the kernel matrix and the book all build it with
//! [`Matrix::of`] from files read by [`crate::results::load`].

use crate::Bytes;
use crate::check::{ClaimPlace, ClaimResult, Counts, Verdict};
use crate::kernel::probe::PerSizeMode;
use crate::markup::table_cell;
use crate::results::{Broken, LessonsDigest, Loaded, ResultFile, Run};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

#[derive(Debug, Serialize)]
pub struct Matrix {
    /// The lessons every file checked (one digest: [`crate::results::load`] refuses mixes).
    pub lessons_digest: Option<LessonsDigest>,
    pub configurations: Vec<Configuration>,
    /// Every claim and exercise any configuration reported, in lesson file and line order.
    pub claims: Vec<Row>,
}

/// One column: a result file and what it says about its machine.
#[derive(Debug, Serialize)]
pub struct Configuration {
    /// 1-based, as the table heads its columns.
    pub number: usize,
    pub label: String,
    pub source: String,
    pub description: Description,
    pub seconds: Option<f64>,
    pub counts: Counts,
    /// Experiments that stopped, settings that were not applied.
    pub errors: Vec<String>,
    pub broken: Option<Broken>,
    pub failed: bool,
}

/// What a configuration ran on and as, in words, all from its own report: nothing here is
/// assumed from its name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Description {
    pub kernel: String,
    pub arch: String,
    pub libc: String,
    pub page: String,
    pub pmd: String,
    pub thp: String,
    /// `vm.overcommit_memory`: 0, 1 or 2.
    pub overcommit: String,
    /// `root`, or the memlock limit that binds an unprivileged user.
    pub user: String,
    pub privileges: String,
}

/// A claim (or exercise) and its verdict in each configuration, in column order.
#[derive(Debug, Serialize)]
pub struct Row {
    #[serde(flatten)]
    pub claim: ClaimPlace,
    pub cells: Vec<Cell>,
}

#[derive(Debug, Serialize)]
pub struct Cell {
    pub mark: Mark,
    /// Why it failed, skipped or is missing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub why: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mark {
    Held,
    Failed,
    Skipped,
    /// The file does not report this claim (it checked only exercises, or only claims).
    Missing,
    /// The file checked claims of this kind and still does not report this one, which
    /// other files do: a claim lost on the way, which fails the configuration.
    Unreported,
    /// The configuration never ran.
    Broken,
}

impl Mark {
    pub fn symbol(self) -> &'static str {
        match self {
            Mark::Held => "✓",
            Mark::Failed => "✗",
            Mark::Skipped => "·",
            Mark::Missing | Mark::Unreported => "?",
            Mark::Broken => "!",
        }
    }
}

/// A claim's identity across configurations. The lesson file by its name alone: a file's
/// path is shown relative to where `check` ran, and one lesson set (the digest says so) has
/// each name once.
type ClaimKey = (String, usize, String, String, String);

fn key(claim: &ClaimResult) -> ClaimKey {
    let place = &claim.place;
    let name = std::path::Path::new(&place.file).file_name();
    (
        name.map_or_else(|| place.file.clone(), |n| n.to_string_lossy().into_owned()),
        place.line,
        place.step.clone(),
        place.subject.clone(),
        place.field.clone(),
    )
}

impl Matrix {
    pub fn of(loaded: &[Loaded]) -> Matrix {
        let claims: Vec<Vec<ClaimResult>> = loaded.iter().map(|l| l.file.claims()).collect();
        let mut all: BTreeMap<ClaimKey, &ClaimResult> = BTreeMap::new();
        for claim in claims.iter().flatten() {
            all.entry(key(claim)).or_insert(claim);
        }
        let by_key: Vec<HashMap<ClaimKey, &ClaimResult>> = claims
            .iter()
            .map(|c| c.iter().map(|c| (key(c), c)).collect())
            .collect();
        let rows: Vec<Row> = all
            .iter()
            .map(|(k, claim)| Row {
                claim: claim.place.clone(),
                cells: loaded
                    .iter()
                    .zip(&by_key)
                    .map(|(l, found)| cell(&l.file, claim, found.get(k).copied()))
                    .collect(),
            })
            .collect();
        let mut configurations: Vec<Configuration> = loaded
            .iter()
            .enumerate()
            .map(|(n, l)| Configuration::of(n + 1, l))
            .collect();
        for (column, configuration) in configurations.iter_mut().enumerate() {
            configuration.fail_on_unreported(&rows, column);
        }
        Matrix {
            lessons_digest: loaded.first().map(|l| l.file.lessons_digest),
            configurations,
            claims: rows,
        }
    }

    pub fn failed(&self) -> Vec<&Configuration> {
        self.configurations.iter().filter(|c| c.failed).collect()
    }

    /// One line for the end of a run: how many configurations, which failed.
    pub fn summary(&self) -> String {
        let failed = self.failed();
        let total = self.configurations.len();
        if failed.is_empty() {
            return format!("{total} configuration(s), none failed");
        }
        let names: Vec<String> = failed
            .iter()
            .map(|c| format!("{} {} ({})", c.number, c.label, c.result()))
            .collect();
        format!(
            "{total} configuration(s), {} failed: {}",
            failed.len(),
            names.join("; ")
        )
    }
}

impl Configuration {
    fn of(number: usize, loaded: &Loaded) -> Configuration {
        let file = &loaded.file;
        Configuration {
            number,
            label: loaded.label.clone(),
            source: loaded.source.display().to_string(),
            description: describe(file),
            seconds: file.seconds,
            counts: file.counts(),
            errors: file.errors(),
            broken: match &file.run {
                Run::Broken(broken) => Some(broken.clone()),
                Run::Checked(_) => None,
            },
            failed: file.failed(),
        }
    }

    /// A claim that other files report and this one, having checked its kind, lacks is
    /// lost, not skipped: it fails the configuration, naming the first.
    fn fail_on_unreported(&mut self, rows: &[Row], column: usize) {
        let mut unreported = rows
            .iter()
            .filter(|row| row.cells[column].mark == Mark::Unreported);
        let Some(first) = unreported.next() else {
            return;
        };
        self.failed = true;
        self.errors.push(format!(
            "{} claim(s) that other result files report are not in this one (first: {}:{})",
            1 + unreported.count(),
            first.claim.file,
            first.claim.line
        ));
    }

    /// Its totals in words, or why it is broken.
    pub fn result(&self) -> String {
        if let Some(broken) = &self.broken {
            return format!("broken: {}", broken.why);
        }
        let errors = if self.errors.is_empty() {
            String::new()
        } else {
            format!(", problems: {}", self.errors.join("; "))
        };
        format!(
            "{} held, {} failed, {} skipped{errors}",
            self.counts.held, self.counts.failed, self.counts.skipped
        )
    }

    fn seconds(&self, unit: &str) -> String {
        match self.seconds {
            Some(s) => format!("{s:.1}{unit}"),
            None => "?".into(),
        }
    }
}

fn cell(file: &ResultFile, claim: &ClaimResult, found: Option<&ClaimResult>) -> Cell {
    let (mark, why) = match (found, &file.run) {
        (_, Run::Broken(_)) => (Mark::Broken, None),
        (None, Run::Checked(checked)) => {
            let (mark, why) =
                if claim.place.step == "exercise" && checked.checks.exercises().is_none() {
                    (
                        Mark::Missing,
                        "the exercises were not checked there (`check --exercises` checks them)",
                    )
                } else if claim.place.step != "exercise" && checked.checks.lessons().is_none() {
                    (Mark::Missing, "only the exercises were checked there")
                } else {
                    (
                        Mark::Unreported,
                        "checked there, yet the file does not report it",
                    )
                };
            (mark, Some(why.to_owned()))
        }
        (Some(c), _) => match &c.verdict {
            Verdict::Held { .. } => (Mark::Held, None),
            Verdict::Failed {
                observed,
                reason,
                branch,
            } => (
                Mark::Failed,
                Some(format!(
                    "expected {}, observed {}: {reason}{}",
                    c.place.expected,
                    observed.as_deref().unwrap_or("nothing"),
                    branch
                        .as_deref()
                        .map(|b| format!(" [{b}]"))
                        .unwrap_or_default()
                )),
            ),
            Verdict::Skipped { reason, .. } => (Mark::Skipped, Some(reason.clone())),
        },
    };
    Cell { mark, why }
}

/// A size as the kernel prints it: `4 kB`, `2048 kB` as `2 MiB`.
fn size(bytes: Bytes) -> String {
    let b = bytes.get();
    if b >= 1 << 20 && b.is_multiple_of(1 << 20) {
        format!("{} MiB", b >> 20)
    } else {
        format!("{} kB", b / 1024)
    }
}

pub fn describe(file: &ResultFile) -> Description {
    let unknown = || "?".to_owned();
    let (arch, libc) = (
        file.machine.arch.clone(),
        file.machine.libc.name().to_owned(),
    );
    let Some(checked) = file.checked() else {
        return Description {
            kernel: unknown(),
            arch,
            libc,
            page: unknown(),
            pmd: unknown(),
            thp: unknown(),
            overcommit: unknown(),
            user: unknown(),
            privileges: unknown(),
        };
    };
    let kernel = &checked.kernel;
    let thp = match &kernel.thp {
        None => "none".to_owned(),
        Some(thp) => {
            // What differs from the kernels' defaults: a smaller size switched on, the PMD
            // size not following the top-level mode.
            let on = thp.per_size.iter().filter(|&(size, mode)| {
                if *size == thp.pmd_size {
                    *mode != PerSizeMode::Inherit
                } else {
                    !matches!(mode, PerSizeMode::Never | PerSizeMode::Inherit)
                }
            });
            let mut words = vec![thp.enabled.word().to_owned()];
            words.extend(on.map(|(size, mode)| format!("{} {}", self::size(*size), mode.word())));
            words.join(", ")
        }
    };
    let privileges = checked.privileges;
    let user = match (privileges.cap_ipc_lock, privileges.uid) {
        (true, 0) => "root".to_owned(),
        (true, _) => "CAP_IPC_LOCK".to_owned(),
        (false, _) => match privileges.memlock_limit {
            Some(limit) => format!("memlock {}", size(limit)),
            None => "memlock unlimited".to_owned(),
        },
    };
    Description {
        kernel: kernel.release.clone(),
        arch,
        libc,
        page: size(kernel.page_size),
        // No THP, no huge page size to tell (PREEMPT_RT kernels before 6.13).
        pmd: kernel
            .thp
            .as_ref()
            .map_or("-".to_owned(), |t| size(t.pmd_size)),
        thp,
        overcommit: kernel.overcommit.number().to_string(),
        user,
        privileges: privileges.words(),
    }
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

impl Description {
    /// The cells under [`DESCRIPTION`]'s titles.
    fn cells(&self) -> [&str; 8] {
        [
            &self.kernel,
            &self.arch,
            &self.libc,
            &self.page,
            &self.pmd,
            &self.thp,
            &self.overcommit,
            &self.user,
        ]
    }
}

fn label(row: &Row) -> String {
    format!(
        "{}:{} {} {} {}",
        row.claim.file, row.claim.line, row.claim.step, row.claim.subject, row.claim.field
    )
}

/// Claims as rows, configurations as numbered columns, with a legend and the
/// configurations below.
pub fn terminal(matrix: &Matrix) -> String {
    let mut out = String::new();
    let width = matrix
        .claims
        .iter()
        .map(|r| label(r).len())
        .max()
        .unwrap_or(10);
    let _ = write!(out, "{:width$} ", "claim \\ configuration");
    for n in 1..=matrix.configurations.len() {
        let _ = write!(out, "{n:>2} ");
    }
    out.push('\n');
    for row in &matrix.claims {
        let _ = write!(out, "{:width$} ", label(row));
        for cell in &row.cells {
            let _ = write!(out, "{:>2} ", cell.mark.symbol());
        }
        out.push('\n');
    }
    out.push_str(
        "\n✓ held   ✗ failed   · skipped (reason in the report)   ? not reported   ! configuration broken\n",
    );
    out.push_str(&configurations_text(matrix));
    out
}

/// The configurations as aligned columns of text.
fn configurations_text(matrix: &Matrix) -> String {
    let mut rows: Vec<Vec<String>> = vec![
        ["#", "configuration"]
            .into_iter()
            .chain(DESCRIPTION)
            .chain(["time", "result"])
            .map(str::to_owned)
            .collect(),
    ];
    for c in &matrix.configurations {
        let mut row = vec![c.number.to_string(), c.label.clone()];
        row.extend(c.description.cells().map(str::to_owned));
        row.push(c.seconds("s"));
        row.push(c.result());
        rows.push(row);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|i| rows.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
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
pub fn markdown(matrix: &Matrix) -> String {
    let mut out = String::from(
        "# Kernel matrix\n\nEvery lesson's claims, checked on each configuration by `pagelab check`",
    );
    if let Some(digest) = &matrix.lessons_digest {
        let _ = write!(out, " (lessons {digest})");
    }
    out.push_str("; the table of their result files, as `pagelab matrix` renders it.\n\n| # | configuration |");
    for title in DESCRIPTION {
        let _ = write!(out, " {title} |");
    }
    out.push_str(" time | result |\n|---|---|");
    out.push_str(&"---|".repeat(DESCRIPTION.len() + 2));
    out.push('\n');
    for c in &matrix.configurations {
        let _ = write!(out, "| {} | {} |", c.number, table_cell(&c.label));
        for cell in c.description.cells() {
            let _ = write!(out, " {} |", table_cell(cell));
        }
        let _ = writeln!(out, " {} | {} |", c.seconds(" s"), table_cell(&c.result()));
    }
    out.push_str(
        "\n✓ held, ✗ failed, · skipped (reasons below), ? not reported, ! configuration broken.\n",
    );
    let mut by_lesson: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    for row in &matrix.claims {
        by_lesson.entry(&row.claim.file).or_default().push(row);
    }
    for (file, rows) in by_lesson {
        let _ = write!(
            out,
            "\n## {file}\n\n| line | step | of | field | expected |"
        );
        for n in 1..=matrix.configurations.len() {
            let _ = write!(out, " {n} |");
        }
        out.push_str("\n|---|---|---|---|---|");
        out.push_str(&"---|".repeat(matrix.configurations.len()));
        out.push('\n');
        for row in rows {
            let _ = write!(
                out,
                "| {} | {} | {} | {} | `{}` |",
                row.claim.line,
                table_cell(&row.claim.step),
                table_cell(&row.claim.subject),
                table_cell(&row.claim.field),
                table_cell(&row.claim.expected)
            );
            for cell in &row.cells {
                let _ = write!(out, " {} |", cell.mark.symbol());
            }
            out.push('\n');
        }
    }
    out.push_str(&reasons_markdown(matrix));
    out
}

/// Per configuration, where its file came from and every reason a claim skipped or failed.
fn reasons_markdown(matrix: &Matrix) -> String {
    let mut out = String::from("\n## Why claims were skipped or failed\n");
    for (i, c) in matrix.configurations.iter().enumerate() {
        let _ = writeln!(
            out,
            "\n### {} {}\n\nFrom `{}`.\n",
            c.number, c.label, c.source
        );
        if let Some(broken) = &c.broken {
            let _ = writeln!(
                out,
                "Broken: {}\n\n```text\n{}\n```",
                broken.why, broken.console_tail
            );
            continue;
        }
        let mut reasons: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for row in &matrix.claims {
            let cell = &row.cells[i];
            if let Some(why) = &cell.why {
                reasons
                    .entry(format!("{} {why}", cell.mark.symbol()))
                    .or_default()
                    .push(format!("{}:{}", row.claim.file, row.claim.line));
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
mod tests;
