//! The lessons observe the kernel's memory settings; they must never change them. This test
//! snapshots every readable file under `/proc/sys/vm` and `/sys/kernel/mm/transparent_hugepage`
//! (recursively), performs every lesson's experiment, snapshots again, and fails listing
//! each file whose content changed, with before and after.
//!
//! `just soak` makes the same comparison around hundreds of whole test runs with
//! `scripts/settings-snapshot.sh`.

mod common;

use common::{catalog, probe};
use pagelab::catalog::Catalog;
use pagelab::check;
use pagelab::kernel::KernelProbe;
use rstest::rstest;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const ROOTS: [&str; 2] = ["/proc/sys/vm", "/sys/kernel/mm/transparent_hugepage"];

/// Files that are not settings, left out of the comparison:
///
/// - `stat_refresh`: reading it is an action (it folds every CPU's vmstat deltas into the
///   global counters) and yields nothing; it is only readable by root anyway.
/// - `khugepaged/pages_collapsed`, `khugepaged/full_scans`: counters khugepaged advances on
///   its own whenever it runs, whatever any test does.
/// - `hugepages-*/stats/*`: per-size THP event counters (anon_fault_alloc, split, swpout,
///   ...), advanced by every process on the machine that faults memory in.
fn is_counter(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let parent = path
        .parent()
        .and_then(|p| p.file_name())
        .and_then(|n| n.to_str())
        .unwrap_or("");
    matches!(name, "stat_refresh")
        || (parent == "khugepaged" && matches!(name, "pages_collapsed" | "full_scans"))
        || path
            .ancestors()
            .any(|a| a.file_name().is_some_and(|n| n == "stats"))
}

/// Path -> content of every readable settings file under `ROOTS`. Write-only files
/// (`compact_memory`, `drop_caches`) and files the user may not read are not settings
/// one can observe, and are left out the same way before and after.
fn snapshot() -> BTreeMap<PathBuf, String> {
    let mut files = BTreeMap::new();
    let mut dirs: Vec<PathBuf> = ROOTS.iter().map(PathBuf::from).collect();
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue; // no THP directory on this kernel, or not readable
        };
        for entry in entries.flatten() {
            let path = entry.path();
            // Never follow symlinks: they lead out of the tree (into /sys/devices, ...).
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                dirs.push(path);
            } else if kind.is_file()
                && !is_counter(&path)
                && let Ok(bytes) = std::fs::read(&path)
            {
                files.insert(path, String::from_utf8_lossy(&bytes).trim_end().to_owned());
            }
        }
    }
    files
}

#[rstest]
fn performing_every_lesson_changes_no_memory_setting(catalog: Catalog, probe: KernelProbe) {
    let _fork = common::FORK.exclusive();
    let before = snapshot();
    assert!(
        before.keys().any(|p| p.starts_with("/proc/sys/vm")),
        "nothing readable under /proc/sys/vm"
    );
    let mut claims = 0;
    for lesson in &catalog.lessons {
        // Whether each claim holds is tests/all_lessons.rs's business; here only what the
        // experiments leave behind matters.
        claims += check::check_lesson(lesson, &probe).claims.len();
    }
    assert!(claims > 0, "no lesson made a claim: no experiment ran");
    let after = snapshot();

    let mut changed = Vec::new();
    for path in before.keys().chain(after.keys()) {
        let (was, is) = (before.get(path), after.get(path));
        if was != is && !changed.iter().any(|(p, _, _)| p == path) {
            changed.push((path.clone(), was.cloned(), is.cloned()));
        }
    }
    let shown: Vec<String> = changed
        .iter()
        .map(|(path, was, is)| {
            let show = |v: &Option<String>| v.clone().unwrap_or_else(|| "(unreadable)".into());
            format!(
                "  {}\n    before: {}\n    after:  {}",
                path.display(),
                show(was),
                show(is)
            )
        })
        .collect();
    let _ = std::io::Write::write_all(
        &mut std::io::stderr(),
        format!(
            "settings untouched: {} files under {} compared around {} lessons ({claims} claims)\n",
            before.len(),
            ROOTS.join(" and "),
            catalog.lessons.len()
        )
        .as_bytes(),
    );
    assert!(
        changed.is_empty(),
        "performing the {} lessons changed {} of {} memory settings:\n{}",
        catalog.lessons.len(),
        changed.len(),
        before.len(),
        shown.join("\n")
    );
}
