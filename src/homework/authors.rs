//! `pagelab dev check`, the authors' check: every exercise is set by its lesson's markdown
//! and has its solution markers, its function and its test; ids are unique, valid and
//! stable (listed in `lessons/exercise-ids.txt`); every lesson has its test file. With the
//! build step, a handout is made and tested: every stub must fail, with one clear failure
//! per exercise and nothing else failing, and with the reference solutions put back every
//! exercise test must pass.

use super::handout::{self, EXERCISES_DIR};
use super::registry::{ALL, Exercise};
use crate::catalog::Catalog;
use crate::lesson::ExerciseText;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// Every id ever handed out, one per line: students' notes and scripts name them, so an id
/// is never renamed or reused.
pub const IDS_FILE: &str = "lessons/exercise-ids.txt";

/// The exercise texts of all lessons, by id.
pub fn texts(catalog: &Catalog) -> BTreeMap<String, ExerciseText> {
    catalog
        .lessons
        .iter()
        .flat_map(|l| l.exercises.iter().map(|e| (e.id.clone(), e.clone())))
        .collect()
}

/// The static checks; each problem is one line naming the file.
pub fn check_sources(crate_dir: &Path, catalog: &Catalog) -> Vec<String> {
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for exercise in ALL {
        if !seen.insert(exercise.id) {
            problems.push(format!(
                "src/homework/registry.rs: exercise id `{}` twice",
                exercise.id
            ));
        }
        if !crate::lesson::exercise::is_valid_id(exercise.id) {
            problems.push(format!(
                "src/homework/registry.rs: `{}` is not a valid id",
                exercise.id
            ));
        }
        match catalog.find(exercise.lesson) {
            None => problems.push(format!(
                "src/homework/registry.rs: exercise `{}` names lesson `{}`, which does not exist",
                exercise.id, exercise.lesson
            )),
            Some(lesson) if !lesson.exercises.iter().any(|e| e.id == exercise.id) => {
                problems.push(format!(
                    "{}: sets no exercise `{}` (add an ```exercise id={}``` block)",
                    lesson.path.display(),
                    exercise.id,
                    exercise.id
                ))
            }
            Some(_) => {}
        }
        problems.extend(check_source_file(crate_dir, exercise));
        problems.extend(check_test(crate_dir, exercise));
    }
    for lesson in &catalog.lessons {
        for text in &lesson.exercises {
            match super::find(&text.id) {
                None => problems.push(format!(
                    "{}:{}: exercise `{}` has no check in src/homework/registry.rs",
                    lesson.path.display(),
                    text.line,
                    text.id
                )),
                Some(e) if e.lesson != lesson.id() => problems.push(format!(
                    "{}:{}: exercise `{}` belongs to lesson `{}` in the registry",
                    lesson.path.display(),
                    text.line,
                    text.id,
                    e.lesson
                )),
                Some(_) => {}
            }
        }
        let test = crate_dir.join(format!("tests/{}.rs", lesson.id().replace('-', "_")));
        if !test.exists() {
            problems.push(format!(
                "{}: lesson `{}` has no test file",
                test.display(),
                lesson.id()
            ));
        }
    }
    problems.extend(check_ids_file(crate_dir));
    problems
}

fn check_source_file(crate_dir: &Path, exercise: &Exercise) -> Vec<String> {
    let path = crate_dir.join(exercise.file);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return vec![format!(
            "{}: missing (exercise `{}`)",
            exercise.file, exercise.id
        )];
    };
    let mut problems = Vec::new();
    match handout::solutions(&text) {
        Err(e) => problems.push(format!("{}:{e}", exercise.file)),
        Ok(solutions) => {
            let count = solutions.iter().filter(|(id, _)| id == exercise.id).count();
            if count != 1 {
                problems.push(format!(
                    "{}: {count} solutions marked `{}{}` (want exactly one)",
                    exercise.file,
                    handout::BEGIN,
                    exercise.id
                ));
            }
            for (id, line) in &solutions {
                if super::find(id).is_none_or(|e| e.file != exercise.file) {
                    problems.push(format!(
                        "{}:{line}: solution `{id}` is not an exercise of this file",
                        exercise.file
                    ));
                }
            }
        }
    }
    if !text.contains(&format!("pub fn {}(", exercise.function)) {
        problems.push(format!(
            "{}: no `pub fn {}(`",
            exercise.file, exercise.function
        ));
    }
    problems.sort();
    problems.dedup();
    problems
}

fn check_test(crate_dir: &Path, exercise: &Exercise) -> Vec<String> {
    let file = exercise.test_file();
    let text = std::fs::read_to_string(crate_dir.join(&file)).unwrap_or_default();
    let wanted = format!("fn {}()", exercise.test_name());
    let call = format!("exercise(\"{}\")", exercise.id);
    let Some(at) = text.find(&wanted).filter(|_| text.contains(&call)) else {
        return vec![format!(
            "{file}: no test `{wanted}` calling `common::{call}` for exercise `{}`",
            exercise.id
        )];
    };
    // The test's first statement takes the fork lock.
    let body = &text[at..];
    let first = body
        .find("{\n")
        .map(|b| body[b + 2..].trim_start())
        .unwrap_or_default();
    let lock = if exercise.serial {
        "let _fork = common::FORK.exclusive();"
    } else {
        "let _fork = common::FORK.shared();"
    };
    if first.starts_with(lock) {
        Vec::new()
    } else {
        vec![format!(
            "{file}: test `{}` needs `{lock}` (the registry says serial: {})",
            exercise.test_name(),
            exercise.serial
        )]
    }
}

fn check_ids_file(crate_dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(crate_dir.join(IDS_FILE)).unwrap_or_default();
    let published: BTreeSet<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let current: BTreeSet<&str> = ALL.iter().map(|e| e.id).collect();
    let mut problems = Vec::new();
    for gone in published.difference(&current) {
        problems.push(format!(
            "{IDS_FILE}: exercise `{gone}` was published and no longer exists: ids are stable, keep it"
        ));
    }
    for new in current.difference(&published) {
        problems.push(format!(
            "{IDS_FILE}: exercise `{new}` is not listed: add it once its id is final"
        ));
    }
    problems
}

/// One test's result in libtest's output.
#[derive(Debug, PartialEq, Eq)]
pub struct TestResult {
    pub name: String,
    pub passed: bool,
    /// Its captured output, for failures.
    pub output: String,
}

/// Reads `test NAME ... ok|FAILED` lines and the `---- NAME stdout ----` sections of
/// libtest's output.
pub fn parse_test_output(text: &str) -> Vec<TestResult> {
    let mut results: Vec<TestResult> = text
        .lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("test ")?;
            let (name, verdict) = rest.rsplit_once(" ... ")?;
            let passed = match verdict.trim() {
                "ok" => true,
                "FAILED" => false,
                _ => return None,
            };
            Some(TestResult {
                name: name.trim().to_owned(),
                passed,
                output: String::new(),
            })
        })
        .collect();
    let mut current: Option<usize> = None;
    for line in text.lines() {
        if let Some(name) = line
            .strip_prefix("---- ")
            .and_then(|l| l.strip_suffix(" stdout ----"))
        {
            current = results.iter().position(|r| r.name == name && !r.passed);
            continue;
        }
        if line == "failures:" || line.starts_with("test result:") {
            current = None;
        }
        if let Some(i) = current {
            results[i].output.push_str(line);
            results[i].output.push('\n');
        }
    }
    results
}

/// Runs `cargo test` in `dir`, sharing `target_dir` with earlier runs.
fn cargo_test(dir: &Path, target_dir: &Path, filter: Option<&str>) -> Result<String, String> {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command
        .current_dir(dir)
        .args(["test", "--no-fail-fast"])
        .env("CARGO_TARGET_DIR", target_dir)
        .env("PAGELAB_QUIET_SKIPS", "1")
        .env_remove("PAGELAB_LESSONS");
    if let Some(filter) = filter {
        command.args(["--", filter]);
    }
    let output = command
        .output()
        .map_err(|e| format!("running cargo test in {}: {e}", dir.display()))?;
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    if !text.contains("test result:") {
        return Err(format!(
            "cargo test in {} did not run tests:\n{text}",
            dir.display()
        ));
    }
    Ok(text)
}

/// The build step: a handout in a temporary directory under `target/`, tested as handed out
/// and with the reference solutions put back. Returns a summary line, or the problems.
pub fn check_handout(
    crate_dir: &Path,
    catalog: &Catalog,
    progress: &mut dyn FnMut(&str),
) -> Result<String, Vec<String>> {
    let fail = |m: String| vec![m];
    let target = crate_dir.join("target");
    std::fs::create_dir_all(&target).map_err(|e| fail(format!("{}: {e}", target.display())))?;
    let dir = tempfile::Builder::new()
        .prefix("handout-check-")
        .tempdir_in(&target)
        .map_err(|e| fail(format!("temporary directory in {}: {e}", target.display())))?;
    let texts = texts(catalog);
    progress(&format!("writing a handout into {}", dir.path().display()));
    let made = handout::write(crate_dir, dir.path(), &texts).map_err(fail)?;
    let mut problems = Vec::new();
    let expected: BTreeSet<String> = ALL.iter().map(Exercise::test_name).collect();
    let stubbed: BTreeSet<&str> = made.stubbed.iter().map(String::as_str).collect();
    for exercise in ALL {
        if !stubbed.contains(exercise.id) {
            problems.push(format!(
                "exercise `{}` was not stubbed in the handout",
                exercise.id
            ));
        }
    }
    // Shared with later runs, so only this crate is rebuilt, not its dependencies.
    let shared_target = target.join("handout-check");
    progress("cargo test in the handout (every exercise must fail)");
    let output = cargo_test(dir.path(), &shared_target, None).map_err(fail)?;
    let results = parse_test_output(&output);
    for result in &results {
        let base = result.name.rsplit("::").next().unwrap_or(&result.name);
        let is_exercise = expected.contains(base);
        if is_exercise && result.passed {
            problems.push(format!(
                "handout: `{}` passes with the stub: its check proves nothing",
                result.name
            ));
        }
        if !is_exercise && !result.passed {
            problems.push(format!(
                "handout: `{}` fails, but it is not an exercise:\n{}",
                result.name, result.output
            ));
        }
        if is_exercise && !result.passed {
            let exercise = ALL
                .iter()
                .find(|e| e.test_name() == base)
                .expect("expected");
            for needed in [
                format!("exercise `{}`", exercise.id),
                "hint:".into(),
                "is not done yet".into(),
            ] {
                if !result.output.contains(&needed) {
                    problems.push(format!(
                        "handout: the failure of `{}` does not say `{needed}`:\n{}",
                        result.name, result.output
                    ));
                }
            }
        }
    }
    let failed: BTreeSet<&str> = results
        .iter()
        .filter(|r| !r.passed)
        .map(|r| r.name.rsplit("::").next().unwrap_or(&r.name))
        .collect();
    for name in &expected {
        if !failed.contains(name.as_str()) && !results.iter().any(|r| &r.name == name) {
            problems.push(format!("handout: test `{name}` did not run"));
        }
    }
    // Put the reference solutions back and run only the exercise tests.
    for file in handout::rust_files(&crate_dir.join(EXERCISES_DIR)).map_err(fail)? {
        let to = dir
            .path()
            .join(EXERCISES_DIR)
            .join(file.file_name().unwrap_or_default());
        std::fs::copy(&file, &to).map_err(|e| fail(format!("{}: {e}", to.display())))?;
    }
    progress("cargo test exercise_ with the reference solutions back (every exercise must pass)");
    let output = cargo_test(dir.path(), &shared_target, Some("exercise_")).map_err(fail)?;
    let results = parse_test_output(&output);
    for name in &expected {
        match results
            .iter()
            .find(|r| r.name.rsplit("::").next() == Some(name.as_str()))
        {
            Some(r) if r.passed => {}
            Some(r) => problems.push(format!(
                "reference solution of `{name}` fails:\n{}",
                r.output
            )),
            None => problems.push(format!(
                "reference solution of `{name}`: the test did not run"
            )),
        }
    }
    if problems.is_empty() {
        Ok(format!(
            "handout: {} files, {} exercises; each stub fails with its hint, each reference solution passes",
            made.files,
            made.stubbed.len()
        ))
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_libtest_output() {
        let text = "running 2 tests\ntest a ... ok\ntest exercise_b ... FAILED\n\nfailures:\n\n---- exercise_b stdout ----\nexercise `b` is not done yet\n  hint: x\n\nfailures:\n    exercise_b\n\ntest result: FAILED. 1 passed; 1 failed\n";
        let results = parse_test_output(text);
        assert_eq!(results.len(), 2);
        assert!(results[0].passed && !results[1].passed);
        assert_eq!(
            results[1].output,
            "exercise `b` is not done yet\n  hint: x\n\n"
        );
    }
}
