//! The kernel matrix: every lesson's checks on real Linux kernels under QEMU, in several
//! configurations, plus the host. Each guest runs this very binary's `check --format json
//! --exercises`, so the matrix checks exactly what the lesson tests check: every claim, and
//! every exercise's check on the reference solution.

pub mod apt;
pub mod build;
pub mod configs;
pub mod dist;
pub mod guest;
pub mod kernels;
pub mod modules;
mod pipeline;
pub use pipeline::run;
pub mod table;
pub mod tools;

use crate::results::{self, Broken, LessonsDigest, Machine, ResultFile, Run};
use std::path::{Path, PathBuf};

/// What one configuration gave: its result file, or why it gave none.
#[derive(Debug)]
pub enum Column {
    /// Boxed: a whole result file, beside a variant of two strings.
    Ran(Box<ResultFile>),
    Broken {
        why: String,
        /// The end of the console, for a guest that panicked, hung or printed garbage.
        console_tail: String,
        seconds: f64,
    },
}

impl Column {
    pub fn seconds(&self) -> f64 {
        match self {
            Column::Ran(file) => file.seconds.unwrap_or_default(),
            Column::Broken { seconds, .. } => *seconds,
        }
    }

    pub fn failed(&self) -> bool {
        match self {
            Column::Ran(file) => file.failed(),
            Column::Broken { .. } => true,
        }
    }

    /// Reads the result file that `check --format json` printed; `seconds` is how long the
    /// configuration took (for a guest, from boot to power-off).
    pub fn from_json(text: &str, seconds: f64) -> Result<Column, String> {
        let mut file: ResultFile = serde_json::from_str(text)
            .map_err(|e| format!("the check's JSON is not a result file: {e}"))?;
        file.seconds = Some(seconds);
        Ok(Column::Ran(Box::new(file)))
    }

    /// Records errors that make the column fail besides its claims (a setting the guest
    /// could not apply).
    pub fn add_errors(&mut self, more: Vec<String>) {
        if let Column::Ran(file) = self
            && let Run::Checked(checked) = &mut file.run
        {
            checked.setup_errors.extend(more);
        }
    }
}

/// A configuration's column, with its name and the binary it was to run.
#[derive(Debug)]
pub struct Configured {
    pub name: String,
    pub target: build::GuestTarget,
    pub column: Column,
}

impl Configured {
    /// Its result file, named after the configuration. A broken one says which binary it
    /// was to run and which lessons it was to check (`lessons`: the ones in its initramfs).
    pub fn into_result(self, lessons: LessonsDigest) -> ResultFile {
        match self.column {
            Column::Ran(mut file) => {
                file.machine.label = Some(self.name);
                *file
            }
            Column::Broken {
                why,
                console_tail,
                seconds,
            } => ResultFile {
                lessons_digest: lessons,
                machine: Machine {
                    label: Some(self.name),
                    arch: self.target.arch.name().to_owned(),
                    libc: match self.target.libc {
                        build::Libc::Glibc => results::Libc::Glibc,
                        build::Libc::Musl => results::Libc::Musl,
                    },
                },
                seconds: Some(seconds),
                run: Run::Broken(Broken { why, console_tail }),
            },
        }
    }
}

/// The result files of the latest run, in the matrix cache:
/// `<cargo's target dir>/kernel-matrix/results`.
pub fn results_dir(cache: &Path) -> PathBuf {
    cache.join("results")
}

/// The table of the result files in `dir`, read back through the loader and renderer that
/// `pagelab matrix DIR` uses, so that the two cannot differ.
pub fn table_of(dir: &Path) -> Result<table::Matrix, String> {
    Ok(table::Matrix::of(&results::load(&[dir.to_owned()])?))
}

/// A file name for a configuration: its number in the table's order (so that a listing of
/// the directory is in that order), then its name in lowercase words joined by `-`.
pub fn result_file_name(number: usize, name: &str) -> String {
    let words: Vec<String> = name
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    format!("{number:02}-{}.json", words.join("-"))
}

/// Writes every configuration's result file into `dir`, in the table's order, after
/// removing the previous run's: the directory is this run, whatever was selected.
pub fn write_results(
    dir: &Path,
    configured: Vec<Configured>,
    lessons: LessonsDigest,
) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    for old in results::expand(&[dir.to_owned()]).unwrap_or_default() {
        std::fs::remove_file(&old).map_err(|e| format!("removing {}: {e}", old.display()))?;
    }
    let mut written = Vec::new();
    for (n, configuration) in configured.into_iter().enumerate() {
        let path = dir.join(result_file_name(n + 1, &configuration.name));
        let file = configuration.into_result(lessons);
        std::fs::write(&path, file.to_json())
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// What `pagelab kernels` was asked for.
pub struct Request<'a> {
    /// The crate to build the guests' pagelab from.
    pub manifest_dir: &'a Path,
    /// The matrix's cache, [`cache_dir`] (asked of cargo once per run).
    pub cache: &'a Path,
    pub lessons: &'a Path,
    /// Selection words: a configuration runs when it matches every one.
    pub only: &'a [String],
    /// Refresh the private package lists even when they are fresh.
    pub refresh: bool,
}

/// The matrix cache: `<cargo's target dir>/kernel-matrix`.
pub fn cache_dir(manifest_dir: &Path) -> Result<PathBuf, String> {
    Ok(build::target_directory(manifest_dir)?.join("kernel-matrix"))
}

/// Files under `root` whose path relative to it matches `wanted`. Links to directories are
/// not followed, so an unpacked package cannot lead the walk out of itself or round a loop.
fn find_files(root: &Path, wanted: &dyn Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
            if path.is_dir() && !path.is_symlink() {
                stack.push(path);
            } else if path.strip_prefix(root).is_ok_and(wanted) {
                found.push(path);
            }
        }
    }
    found
}

/// The machine's Debian mirrors, from its own apt sources.
pub fn machine_mirrors() -> Result<apt::Mirrors, String> {
    let mut sources = Vec::new();
    for (path, text) in apt::machine_source_files(Path::new("/etc/apt"))? {
        sources.extend(apt::parse_file(&path, &text)?);
    }
    apt::mirrors(&sources)
}
