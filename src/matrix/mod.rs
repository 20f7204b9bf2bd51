//! The kernel matrix: every lesson's checks on real Linux kernels under QEMU, in several
//! configurations, plus the host. Each guest runs this very binary's `check --format json`
//! and `exercise --format json`, so the matrix checks exactly what the lesson tests check:
//! every claim, and every exercise's check on the reference solution.

pub mod apt;
pub mod build;
pub mod configs;
pub mod guest;
pub mod kernels;
pub mod table;
pub mod tools;

use crate::check::Verdict;
use serde::Deserialize;
use std::collections::BTreeMap;

/// One claim's result in one configuration, as `check --format json` reports it.
#[derive(Clone, Debug, Deserialize)]
pub struct ClaimRow {
    pub lesson: String,
    pub file: String,
    pub line: usize,
    pub step: String,
    pub subject: String,
    pub field: String,
    pub expected: String,
    pub observed: Option<String>,
    pub verdict: Verdict,
    pub reason: Option<String>,
    pub branch: Option<String>,
}

#[derive(Debug, Deserialize)]
struct LessonRows {
    claims: Vec<ClaimRow>,
    error: Option<String>,
    id: String,
}

#[derive(Debug, Deserialize)]
struct CheckJson {
    kernel: serde_json::Value,
    lessons: Vec<LessonRows>,
}

/// What one configuration gave: its claims, or why it gave none.
#[derive(Debug)]
pub enum Column {
    Ran {
        /// `uname -r` and settings as the guest's probe saw them.
        kernel: serde_json::Value,
        claims: Vec<ClaimRow>,
        /// Lessons whose experiment stopped with an error.
        errors: Vec<String>,
        seconds: f64,
    },
    Broken {
        why: String,
        /// The end of the console, for a guest that panicked, hung or printed garbage.
        console_tail: String,
        seconds: f64,
    },
}

impl Column {
    pub fn failed(&self) -> bool {
        match self {
            Column::Ran { claims, errors, .. } => {
                !errors.is_empty() || claims.iter().any(|c| c.verdict == Verdict::Failed)
            }
            Column::Broken { .. } => true,
        }
    }

    /// Parses the JSON of `check --format json`.
    pub fn from_json(text: &str, seconds: f64) -> Result<Column, String> {
        let json: CheckJson = serde_json::from_str(text)
            .map_err(|e| format!("the check's JSON is malformed: {e}"))?;
        let errors = json
            .lessons
            .iter()
            .filter_map(|l| l.error.as_ref().map(|e| format!("{}: {e}", l.id)))
            .collect();
        Ok(Column::Ran {
            kernel: json.kernel,
            claims: json.lessons.into_iter().flat_map(|l| l.claims).collect(),
            errors,
            seconds,
        })
    }
}

#[derive(Debug, Deserialize)]
struct ExerciseEntry {
    id: String,
    lesson: String,
    lesson_file: Option<String>,
    line: Option<usize>,
    function: String,
    outcome: String,
    expected: Option<String>,
    detail: String,
}

#[derive(Debug, Deserialize)]
struct ExercisesJson {
    exercises: Vec<ExerciseEntry>,
}

impl Column {
    /// Adds the outcomes of `exercise --format json` (the reference solutions, checked on
    /// this kernel) as rows of their lessons: step `exercise`, the exercise id as subject.
    pub fn add_exercises(&mut self, text: &str) -> Result<(), String> {
        let Column::Ran { claims, .. } = self else {
            return Ok(());
        };
        let json: ExercisesJson = serde_json::from_str(text)
            .map_err(|e| format!("the exercises' JSON is malformed: {e}"))?;
        for e in json.exercises {
            let verdict = match e.outcome.as_str() {
                "done" => Verdict::Held,
                "skipped" => Verdict::Skipped,
                _ => Verdict::Failed,
            };
            claims.push(ClaimRow {
                file: e.lesson_file.unwrap_or_else(|| e.lesson.clone()),
                lesson: e.lesson,
                line: e.line.unwrap_or(0),
                step: "exercise".into(),
                subject: e.id,
                field: format!("{}()", e.function),
                expected: e.expected.unwrap_or_else(|| "done".into()),
                observed: Some(e.detail.clone()),
                reason: (verdict != Verdict::Held).then_some(e.detail),
                verdict,
                branch: None,
            });
        }
        Ok(())
    }
}

/// A claim's identity across configurations.
pub type ClaimKey = (String, usize, String, String, String);

pub fn key(claim: &ClaimRow) -> ClaimKey {
    (
        claim.file.clone(),
        claim.line,
        claim.step.clone(),
        claim.subject.clone(),
        claim.field.clone(),
    )
}

/// Every claim seen in any column, in lesson file and line order.
pub fn all_claims(columns: &[(String, Column)]) -> BTreeMap<ClaimKey, ClaimRow> {
    let mut claims = BTreeMap::new();
    for (_, column) in columns {
        if let Column::Ran { claims: rows, .. } = column {
            for row in rows {
                claims.entry(key(row)).or_insert_with(|| row.clone());
            }
        }
    }
    claims
}

/// Runs the whole matrix: the host first, then every configuration (two guests at a
/// time, one per core), reporting progress on stderr.
pub fn run(
    manifest_dir: &std::path::Path,
    lessons: &std::path::Path,
    host: Column,
    only: &[String],
) -> Result<Vec<(String, Column)>, String> {
    guest::check_tools()?;
    let cache = guest::Cache {
        dir: manifest_dir.join("target").join("kernel-matrix"),
    };
    let configs: Vec<configs::Config> = configs::all()
        .into_iter()
        .filter(|c| only.is_empty() || only.iter().any(|o| c.name.contains(o.as_str())))
        .collect();
    eprintln!("building the static guest binary and the initramfs...");
    let binary = guest::static_binary(manifest_dir)?;
    let initrd = cache.initramfs(&binary, lessons)?;
    let mut kernels = Vec::new();
    for config in &configs {
        let (version, vmlinuz) = cache.kernel(config.kernel)?;
        eprintln!("kernel for {}: {version}", config.name);
        kernels.push(vmlinuz);
    }
    let total = configs.len();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(config) = configs.get(i) else { break };
                    eprintln!("[{}/{total}] booting {}...", i + 1, config.name);
                    let column = guest::boot(config, &kernels[i], &initrd);
                    let n = done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    eprintln!(
                        "[{n}/{total} done] {}: {:.1}s, {}",
                        config.name,
                        match &column {
                            Column::Ran { seconds, .. } | Column::Broken { seconds, .. } =>
                                *seconds,
                        },
                        if column.failed() { "FAILED" } else { "ok" }
                    );
                    results
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .push((i, config.name.to_owned(), column));
                }
            });
        }
    });
    let mut results = results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    results.sort_by_key(|(i, _, _)| *i);
    let mut columns = vec![("host".to_owned(), host)];
    columns.extend(results.into_iter().map(|(_, name, column)| (name, column)));
    Ok(columns)
}
