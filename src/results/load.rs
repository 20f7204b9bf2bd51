//! Reading result files: files as named, directories by their `*.json` files in name order,
//! every one named in its errors, and never two that checked different lessons.

use super::{LessonsDigest, ResultFile};
use std::path::{Path, PathBuf};

/// A result file, read, with the name of its column.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded {
    /// `machine.label`, else the file's name without `.json`.
    pub label: String,
    /// Where it was read from (or, for a run of this process, what it is).
    pub source: PathBuf,
    pub file: ResultFile,
}

impl Loaded {
    pub fn new(source: PathBuf, file: ResultFile) -> Loaded {
        let label = file.label().map(str::to_owned).unwrap_or_else(|| {
            source
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        });
        Loaded {
            label,
            source,
            file,
        }
    }
}

/// One result file.
pub fn read(path: &Path) -> Result<ResultFile, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("reading the result file {}: {e}", path.display()))?;
    // serde reads a struct from an array too, field by field, so `[1, 2]` would be refused
    // for its second element's type, as if it were a result file with one wrong field.
    if !text.trim_start().starts_with('{') {
        let found = match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(value) => json_kind(&value),
            Err(_) => "no JSON",
        };
        return Err(format!(
            "{}: not a result file: expected a JSON object, the output of `pagelab check --format json`, and found {found}",
            path.display()
        ));
    }
    serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}: not readable as a result file (`pagelab check --format json`): {e}",
            path.display()
        )
    })
}

/// What a JSON value is, in a sentence: "found {}".
fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// The files named: files as given, directories by their `*.json` files in name order.
/// A file named twice (`a.json a.json`, or as itself and in its directory) is refused:
/// merged, its configuration would count twice in the table and its summary.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in paths {
        if !path.is_dir() {
            files.push(path.clone());
            continue;
        }
        let mut found: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(|e| format!("reading the results directory {}: {e}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "json"))
            .collect();
        if found.is_empty() {
            return Err(format!(
                "{}: no result files (*.json) in it",
                path.display()
            ));
        }
        found.sort();
        files.extend(found);
    }
    if files.is_empty() {
        return Err("no result files named".into());
    }
    named_once(&files)?;
    Ok(files)
}

/// Refuses the first file of `files` that is also another of them: the same path, or the
/// same file by another path (`./a.json`, a link). A file that cannot be resolved is
/// compared as named; reading it will say what is wrong with it.
fn named_once(files: &[PathBuf]) -> Result<(), String> {
    let resolved: Vec<PathBuf> = files
        .iter()
        .map(|f| std::fs::canonicalize(f).unwrap_or_else(|_| f.clone()))
        .collect();
    for (i, file) in resolved.iter().enumerate() {
        if let Some(j) = resolved[..i].iter().position(|earlier| earlier == file) {
            let (first, again) = (files[j].display(), files[i].display());
            let named = if first.to_string() == again.to_string() {
                format!("{first} is named twice")
            } else {
                format!("{first} is named twice (again as {again})")
            };
            return Err(format!(
                "{named}: its configuration would count twice; name each result file once"
            ));
        }
    }
    Ok(())
}

/// Every result file named (see [`expand`]), all of the same lessons.
pub fn load(paths: &[PathBuf]) -> Result<Vec<Loaded>, String> {
    let loaded = expand(paths)?
        .into_iter()
        .map(|path| Ok(Loaded::new(path.clone(), read(&path)?)))
        .collect::<Result<Vec<_>, String>>()?;
    if let Some(first) = loaded.first() {
        same_lessons_as(
            &first.source.display().to_string(),
            &first.file.lessons_digest,
            &loaded[1..],
        )?;
    }
    Ok(loaded)
}

/// Refuses the first of `others` that checked lessons other than `digest`'s, which
/// `what` checked: their claims' lines and values need not mean the same.
pub fn same_lessons_as(
    what: &str,
    digest: &LessonsDigest,
    others: &[Loaded],
) -> Result<(), String> {
    match others.iter().find(|o| o.file.lessons_digest != *digest) {
        None => Ok(()),
        Some(other) => Err(format!(
            "result files of different lessons, not merged:\n  {what} checked lessons {digest}\n  {} checked lessons {}\ncheck every machine with the same lessons (the same pagelab build) and merge again",
            other.source.display(),
            other.file.lessons_digest
        )),
    }
}
