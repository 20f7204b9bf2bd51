//! The configurations the book shows: this build's own run, and result files from other
//! machines and kernels (`pagelab book OUT --results FILE…|DIR`).
//!
//! TEMPORARY LOADER: a result file is what `pagelab check --format json` writes (`kernel`,
//! `lessons[].claims[]`, and the `machine` description being added to it). Until the
//! matrix's own loader (src/matrix) lands in main, [`read_file`] reads that JSON here; it is
//! the one function to switch over.

use crate::check::{ClaimResult, Counts, VerdictKind};
use crate::kernel::KernelProbe;
use crate::proof::LessonProof;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One column of the matrix: where the claims were checked, and how each ended.
pub struct Configuration {
    pub label: String,
    /// Where it came from: a file's path, or this build.
    pub source: String,
    /// The kernel probe as that run saw it (release, page size, THP, overcommit, memlock).
    pub kernel: serde_json::Value,
    /// arch, libc, privileges of the checking binary, where the file says.
    pub machine: serde_json::Value,
    /// Claims by (lesson id, line).
    pub claims: HashMap<(String, usize), ClaimResult>,
    /// Lessons whose experiment stopped with an error.
    pub errors: Vec<String>,
}

impl Configuration {
    pub fn claim(&self, lesson: &str, line: usize) -> Option<&ClaimResult> {
        self.claims.get(&(lesson.to_owned(), line))
    }

    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for claim in self.claims.values() {
            match claim.verdict.kind() {
                VerdictKind::Held => counts.held += 1,
                VerdictKind::Failed => counts.failed += 1,
                VerdictKind::Skipped => counts.skipped += 1,
            }
        }
        counts
    }
}

/// This build's run as a configuration, so the Kernels chapter shows it beside the others.
pub fn this_build(probe: &KernelProbe, proofs: &[&LessonProof]) -> Configuration {
    let claims = proofs
        .iter()
        .flat_map(|p| &p.report.claims)
        .map(|c| ((c.lesson.clone(), c.line), c.clone()))
        .collect();
    let libc = if cfg!(target_env = "musl") {
        "musl"
    } else {
        "glibc"
    };
    // SAFETY: getuid cannot fail and touches no memory.
    let uid = unsafe { libc::getuid() };
    let mut privileges = format!("uid {uid}");
    if crate::memory::residency::frames_visibility() == crate::memory::residency::Frames::Visible {
        privileges.push_str(", CAP_SYS_ADMIN");
    }
    if probe.memlock.can_exceed {
        privileges.push_str(", CAP_IPC_LOCK");
    }
    Configuration {
        label: "this build".into(),
        source: "this machine, checked while the book was built".into(),
        kernel: serde_json::to_value(probe).unwrap_or_default(),
        machine: serde_json::json!({
            "arch": std::env::consts::ARCH,
            "libc": libc,
            "privileges": privileges,
        }),
        claims,
        errors: proofs
            .iter()
            .filter_map(|p| {
                p.report
                    .error
                    .as_ref()
                    .map(|e| format!("{}: {e}", p.report.id))
            })
            .collect(),
    }
}

/// Every result file named: files as given, directories by their `*.json` files in name
/// order. Errors name the file and what is wrong with it.
pub fn load(paths: &[PathBuf]) -> Result<Vec<Configuration>, String> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| format!("reading the results directory {}: {e}", path.display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect();
            if found.is_empty() {
                return Err(format!(
                    "{}: no result files (*.json) in it",
                    path.display()
                ));
            }
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    files.iter().map(|f| read_file(f)).collect()
}

#[derive(serde::Deserialize)]
struct CheckJson {
    kernel: serde_json::Value,
    #[serde(default)]
    machine: serde_json::Value,
    lessons: Vec<LessonJson>,
}

#[derive(serde::Deserialize)]
struct LessonJson {
    id: String,
    #[serde(default)]
    error: Option<String>,
    claims: Vec<ClaimResult>,
}

/// One result file, read as `pagelab check --format json` writes it (see the module note).
pub fn read_file(path: &Path) -> Result<Configuration, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("reading the result file {}: {e}", path.display()))?;
    let json: CheckJson = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}: not a result file of `pagelab check --format json` (kernel, lessons[].claims[]): {e}",
            path.display()
        )
    })?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let label = ["label", "name"]
        .iter()
        .find_map(|k| json.machine[k].as_str().map(str::to_owned))
        .unwrap_or(stem);
    let errors = json
        .lessons
        .iter()
        .filter_map(|l| l.error.as_ref().map(|e| format!("{}: {e}", l.id)))
        .collect();
    let claims = json
        .lessons
        .into_iter()
        .flat_map(|l| l.claims)
        .map(|c| ((c.lesson.clone(), c.line), c))
        .collect();
    Ok(Configuration {
        label,
        source: path.display().to_string(),
        kernel: json.kernel,
        machine: json.machine,
        claims,
        errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_that_is_not_a_result_says_which_and_what_it_lacks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.json");
        std::fs::write(&path, "{\"kernel\": {}}").unwrap();
        let error = read_file(&path).err().unwrap();
        assert!(
            error.contains("bad.json") && error.contains("lessons"),
            "{error}"
        );
        let error = load(&[dir.path().join("missing.json")]).err().unwrap();
        assert!(error.contains("missing.json"), "{error}");
        let empty = tempfile::tempdir().unwrap();
        let error = load(&[empty.path().to_owned()]).err().unwrap();
        assert!(error.contains("no result files"), "{error}");
    }
}
