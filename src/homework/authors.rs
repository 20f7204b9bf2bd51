//! `pagelab dev check`, the authors' check. It reads the registry (`homework::ALL`, built
//! from each lesson's `exercises!` declaration), never test source: every exercise is set by
//! its lesson's markdown, has its solution markers and its function, and has fakes; every
//! exercise block is declared; ids are unique, valid and stable (listed in
//! `lessons/exercise-ids.txt`); the lessons' order is the registry's; every lesson has its
//! test file; every exercise has at least three hints, and the first two give none of the
//! solution's code away ([`super::hint_rule`]). The tests themselves are generated from the registry (`tests/exercises.rs`).
//! With the build step, a handout is made and tested: every stub must fail, with one clear
//! failure per exercise and nothing else failing, no fake may be left in it, and with the
//! reference solutions put back every exercise test must pass.

use super::handout::{self, BEGIN_FAKES, CHECKS_DIR, END_FAKES, EXERCISES_DIR};
use super::hint_rule;
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
        let declared = exercise.declared_in();
        if !seen.insert(exercise.id) {
            problems.push(format!("{declared}: exercise `{}` twice", exercise.id));
        }
        if !crate::lesson::exercise::is_valid_id(exercise.id) {
            problems.push(format!(
                "{declared}: `{}` (from the function `{}`) is not a valid id",
                exercise.id, exercise.function
            ));
        }
        if exercise.fakes.is_empty() {
            problems.push(format!(
                "{declared}: exercise `{}` has no fakes: a check that nothing tried to fool \
                 proves little (add `fakes: [...]` between `{BEGIN_FAKES}` and `{END_FAKES}`)",
                exercise.id
            ));
        }
        problems.extend(check_lesson_sets(catalog, exercise));
        problems.extend(check_source_file(crate_dir, exercise));
        problems.extend(check_hints(crate_dir, catalog, exercise));
    }
    problems.extend(check_lesson_order(catalog));
    for lesson in &catalog.lessons {
        let test = crate_dir.join(format!("tests/{}.rs", lesson.id().replace('-', "_")));
        if !test.exists() {
            problems.push(format!(
                "{}: lesson `{}` has no test file",
                test.display(),
                lesson.id()
            ));
        }
    }
    problems.extend(check_fake_markers(crate_dir));
    problems.extend(check_ids_file(crate_dir));
    problems
}

/// The exercise's lesson exists and has its ```` ```exercise ```` block.
fn check_lesson_sets(catalog: &Catalog, exercise: &Exercise) -> Option<String> {
    match catalog.find(exercise.lesson) {
        None => Some(format!(
            "{}: exercise `{}` is declared for lesson `{}`, which does not exist",
            exercise.declared_in(),
            exercise.id,
            exercise.lesson
        )),
        Some(lesson) if !lesson.exercises.iter().any(|e| e.id == exercise.id) => Some(format!(
            "{}: sets no exercise `{}` (add an ```exercise id={}``` block)",
            lesson.path.display(),
            exercise.id,
            exercise.id
        )),
        Some(_) => None,
    }
}

/// `ALL` follows the lessons' order (students get "the next exercise" from it): the lesson
/// modules in `checks/mod.rs` are listed in the order of the lesson files.
fn check_lesson_order(catalog: &Catalog) -> Vec<String> {
    let position = |id: &str| catalog.lessons.iter().position(|l| l.id() == id);
    let mut problems = Vec::new();
    for pair in ALL.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if let (Some(i), Some(j)) = (position(a.lesson), position(b.lesson))
            && i > j
        {
            problems.push(format!(
                "{CHECKS_DIR}/mod.rs: lesson `{}` is listed before `{}`, but {} comes after {}",
                a.lesson,
                b.lesson,
                catalog.lessons[i].path.display(),
                catalog.lessons[j].path.display()
            ));
        }
    }
    problems.dedup();
    problems
}

/// The fake markers of every check file balance (a handout could not strip them otherwise).
fn check_fake_markers(crate_dir: &Path) -> Vec<String> {
    let files = match handout::rust_files(&crate_dir.join(CHECKS_DIR)) {
        Ok(files) => files,
        Err(e) => return vec![e],
    };
    files
        .iter()
        .filter_map(|path| {
            let shown = Path::new(CHECKS_DIR).join(path.file_name().unwrap_or_default());
            match std::fs::read_to_string(path) {
                Err(e) => Some(format!("{}: {e}", shown.display())),
                Ok(text) => handout::fake_regions(&text)
                    .err()
                    .map(|e| format!("{}:{e}", shown.display())),
            }
        })
        .collect()
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

/// The exercise's hints teach ([`hint_rule`]): at least [`hint_rule::MIN_HINTS`] of them, and
/// none of the solution's telling identifiers in the first two. Each problem names the
/// lesson's line (of the block, or of the hint that leaks) and the identifier.
pub fn check_hints(crate_dir: &Path, catalog: &Catalog, exercise: &Exercise) -> Vec<String> {
    // A missing block or solution is reported by the checks above; nothing to judge here.
    let Some((lesson, text)) = exercise.text(catalog) else {
        return Vec::new();
    };
    let Some(solution) = std::fs::read_to_string(crate_dir.join(exercise.file))
        .ok()
        .and_then(|file| handout::solution_body(&file, exercise.id))
    else {
        return Vec::new();
    };
    let path = crate::check::shown_path(&lesson.path);
    let mut problems = Vec::new();
    if text.hints.len() < hint_rule::MIN_HINTS {
        problems.push(format!(
            "{path}:{}: exercise `{}` has {}: give at least {} (the idea, the system call \
             and its man page, the crate's function)",
            text.line,
            exercise.id,
            match text.hints.len() {
                1 => "1 hint".to_owned(),
                n => format!("{n} hints"),
            },
            hint_rule::MIN_HINTS
        ));
    }
    for leak in hint_rule::leaks(&solution, &text.task, &text.hints) {
        let line = text.hint_lines.get(leak.hint).copied().unwrap_or(text.line);
        problems.push(format!(
            "{path}:{line}: exercise `{}`, hint {}: `{}` is code of the solution in {} \
             (the first {} hints give the idea and the system call, not the code: name it \
             in a later hint, or in the task)",
            exercise.id,
            leak.hint + 1,
            leak.identifier,
            exercise.file,
            hint_rule::GUARDED_HINTS,
        ));
    }
    problems
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

/// Reads `test NAME ... ok|FAILED` lines and the failures' sections of libtest's output
/// (`---- NAME stdout ----`) and of libtest-mimic's, which runs the generated exercise tests
/// (`---- NAME ----`, the message the test failed with).
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
        if let Some(name) = line.strip_prefix("---- ").and_then(|l| {
            l.strip_suffix(" stdout ----")
                .or_else(|| l.strip_suffix(" ----"))
        }) {
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
    progress(&format!("writing a handout into {}", dir.path().display()));
    let made = handout::write(crate_dir, dir.path(), &texts(catalog)).map_err(fail)?;
    let stubbed: BTreeSet<&str> = made.stubbed.iter().map(String::as_str).collect();
    let mut problems: Vec<String> = ALL
        .iter()
        .filter(|e| !stubbed.contains(e.id))
        .map(|e| format!("exercise `{}` was not stubbed in the handout", e.id))
        .collect();
    // Every recipe the student's justfile keeps must find its files in the handout.
    problems.extend(
        handout::missing_from_justfile(dir.path())
            .map_err(fail)?
            .into_iter()
            .map(|m| format!("handout: {m}")),
    );
    // Shared with later runs, so only this crate is rebuilt, not its dependencies.
    let shared_target = target.join("handout-check");
    progress("cargo test in the handout (every exercise must fail)");
    let output = cargo_test(dir.path(), &shared_target, None).map_err(fail)?;
    problems.extend(build_warnings(&output));
    problems.extend(stubs_fail(&parse_test_output(&output)));
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
    problems.extend(solutions_pass(&parse_test_output(&output)));
    if problems.is_empty() {
        Ok(format!(
            "handout: {} files, {} exercises, {} fake regions left out; each stub fails with its hint, each reference solution passes",
            made.files,
            made.stubbed.len(),
            made.fake_regions
        ))
    } else {
        Err(problems)
    }
}

/// The handout must build without a warning: a student should see only their own. (A
/// fake's `use` or helper left outside its markers would be unused there.)
fn build_warnings(output: &str) -> Option<String> {
    let warnings: Vec<&str> = output
        .lines()
        .filter(|l| l.starts_with("warning:") && !l.contains("generated"))
        .collect();
    (!warnings.is_empty()).then(|| {
        format!(
            "handout: the build warns (was something that only the fakes use left outside \
             `{BEGIN_FAKES}`?):\n{}",
            warnings.join("\n")
        )
    })
}

/// A test's name without its module path: what the registry names it.
fn base_name(result: &TestResult) -> &str {
    result.name.rsplit("::").next().unwrap_or(&result.name)
}

/// The handout's own `cargo test`: every exercise test fails, saying which exercise, that it
/// is not done and the hint; nothing else fails; no fake test runs (fakes are not shipped).
fn stubs_fail(results: &[TestResult]) -> Vec<String> {
    let mut problems = Vec::new();
    for result in results {
        let base = base_name(result);
        let exercise = ALL.iter().find(|e| e.test_name() == base);
        if ALL.iter().any(|e| e.fakes_test_name() == base) {
            problems.push(format!(
                "handout: `{}` ran: the handout ships the fakes of its check",
                result.name
            ));
        }
        match exercise {
            Some(_) if result.passed => problems.push(format!(
                "handout: `{}` passes with the stub: its check proves nothing",
                result.name
            )),
            None if !result.passed => problems.push(format!(
                "handout: `{}` fails, but it is not an exercise:\n{}",
                result.name, result.output
            )),
            Some(exercise) if !result.passed => {
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
            _ => {}
        }
    }
    for exercise in ALL {
        let name = exercise.test_name();
        if !results.iter().any(|r| base_name(r) == name) {
            problems.push(format!("handout: test `{name}` did not run"));
        }
    }
    problems
}

/// `cargo test exercise_` with the reference solutions back: every exercise test passes.
fn solutions_pass(results: &[TestResult]) -> Vec<String> {
    let mut problems = Vec::new();
    for exercise in ALL {
        let name = exercise.test_name();
        match results.iter().find(|r| base_name(r) == name) {
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
    problems
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

    /// `cargo test` holds the crate's own hints to the rule, as `dev check` does: a hint
    /// that gives code away fails here first, with its file:line.
    #[test]
    fn every_exercise_has_hints_that_teach() {
        let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
        let catalog = Catalog::load(&crate_dir.join("lessons")).expect("the lessons load");
        let problems: Vec<String> = ALL
            .iter()
            .flat_map(|e| check_hints(crate_dir, &catalog, e))
            .collect();
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    /// Solutions of lesson 01's exercises as the crate has them, for a test that must also
    /// run in a handout (where the crate's own solutions are stubs).
    const MMAP_ANON_SOLUTIONS: &str = "
pub fn map_anonymous(len: NonZeroUsize, prot: ProtFlags) -> nix::Result<NonNull<u8>> {
    // BEGIN SOLUTION map-anonymous
    use nix::sys::mman::{MapFlags, mmap_anonymous};
    let start = unsafe { mmap_anonymous(None, len, prot, MapFlags::MAP_PRIVATE) }?;
    Ok(start.cast())
    // END SOLUTION
}
pub fn touch_every_page(region: &mut [u8]) {
    // BEGIN SOLUTION touch-every-page
    let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE).ok().flatten();
    // END SOLUTION
}
";

    /// The rule's verdicts, worded: the lesson's line of the hint, the id, the identifier.
    #[test]
    fn a_leaking_hint_is_named_by_its_line_and_identifier() {
        let lesson = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons/01-mmap-anon.md"),
        )
        .unwrap();
        let leaking = lesson.replace(
            "hint: ask the kernel itself for fresh pages",
            "hint: call mmap_anonymous to ask the kernel itself for fresh pages",
        );
        assert_ne!(
            leaking, lesson,
            "the lesson's first hint moved: update this test"
        );
        // touch-every-page loses its third hint.
        let without_third: String = leaking
            .split_inclusive('\n')
            .filter(|l| !l.starts_with("hint: nix::unistd::sysconf"))
            .collect();
        let crate_dir = tempfile::tempdir().unwrap();
        for dir in ["lessons", "src/exercises"] {
            std::fs::create_dir_all(crate_dir.path().join(dir)).unwrap();
        }
        let lessons = crate_dir.path().join("lessons");
        std::fs::write(lessons.join("01-mmap-anon.md"), without_third).unwrap();
        let solutions = crate_dir.path().join("src/exercises/mmap_anon.rs");
        std::fs::write(solutions, MMAP_ANON_SOLUTIONS).unwrap();
        let catalog = Catalog::load(&lessons).unwrap();
        let problems: Vec<String> = ALL
            .iter()
            .filter(|e| e.lesson == "mmap-anon")
            .flat_map(|e| check_hints(crate_dir.path(), &catalog, e))
            .collect();
        let line = leaking
            .lines()
            .position(|l| l.contains("call mmap_anonymous"))
            .unwrap()
            + 1;
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(
            problems[0].ends_with(&format!(
                "01-mmap-anon.md:{line}: exercise `map-anonymous`, hint 1: `mmap_anonymous` is code \
                 of the solution in src/exercises/mmap_anon.rs (the first 2 hints give the idea \
                 and the system call, not the code: name it in a later hint, or in the task)"
            )),
            "{}",
            problems[0]
        );
        assert!(
            problems[1].contains("exercise `touch-every-page` has 2 hints: give at least 3"),
            "{}",
            problems[1]
        );
    }

    /// libtest-mimic, which runs the generated exercise tests, pads the names and heads a
    /// failure's message with `---- NAME ----`.
    #[test]
    fn reads_libtest_mimic_output() {
        let text = "\nrunning 3 tests\ntest exercise_a             ... ok\ntest a_rejects_fakes        ... ok\ntest exercise_give_back     ... FAILED\n\nfailures:\n\n---- exercise_give_back ----\nexercise `give-back` (lesson `l`, lessons/09-l.md:3) is not done yet\n  hint:     x\n\n\nfailures:\n    exercise_give_back\n\ntest result: FAILED. 2 passed; 1 failed; 0 ignored; 0 filtered out; finished in 0.01s\n";
        let results = parse_test_output(text);
        let names: Vec<&str> = results.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(
            names,
            ["exercise_a", "a_rejects_fakes", "exercise_give_back"]
        );
        assert!(results[0].passed && results[1].passed && !results[2].passed);
        assert_eq!(
            results[2].output,
            "exercise `give-back` (lesson `l`, lessons/09-l.md:3) is not done yet\n  hint:     x\n\n\n"
        );
    }
}
