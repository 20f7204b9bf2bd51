//! The `pagelab` binary as a user runs it.

mod common;

use common::catalog;
use common::run::exited_saying;
use pagelab::catalog::Catalog;
use rstest::rstest;
use std::process::{Command, Output, Stdio};

fn pagelab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pagelab"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("pagelab runs")
}

/// The claims of a `check --format json` that did not hold, or lessons that stopped.
fn failed_claims(json: &serde_json::Value) -> Vec<&serde_json::Value> {
    let lessons = json["lessons"].as_array().into_iter().flatten();
    lessons
        .flat_map(|lesson| {
            let claims = lesson["claims"].as_array().into_iter().flatten();
            let failed = claims.filter(|c| c["verdict"] == "failed");
            failed.chain(lesson.get("error").filter(|e| !e.is_null()))
        })
        .collect()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("UTF-8 output")
}

/// `pagelab check --format json` from a directory with no lessons in reach and no
/// PAGELAB_LESSONS (so of the lessons built into the binary): run once for the tests that
/// read it, as it performs every experiment.
fn checked_elsewhere() -> &'static Output {
    static CHECKED: std::sync::OnceLock<Output> = std::sync::OnceLock::new();
    CHECKED.get_or_init(|| {
        let elsewhere = tempfile::tempdir().unwrap();
        Command::new(env!("CARGO_BIN_EXE_pagelab"))
            .args(["check", "--format", "json"])
            .env_remove("PAGELAB_LESSONS")
            .current_dir(elsewhere.path())
            .stdin(Stdio::null())
            .output()
            .expect("pagelab runs")
    })
}

#[rstest]
fn check_json_lists_every_claim_with_its_place_and_verdict(catalog: Catalog) {
    let output = checked_elsewhere();
    let json: serde_json::Value = serde_json::from_str(&stdout(output)).expect("valid JSON");
    assert!(
        output.status.success(),
        "{}\nfailed: {:#?}",
        String::from_utf8_lossy(&output.stderr),
        failed_claims(&json)
    );
    assert!(
        !stdout(output).contains('\u{1b}'),
        "escape codes in piped output"
    );
    let lessons = json["lessons"].as_array().expect("a lessons array");
    assert_eq!(lessons.len(), catalog.lessons.len());
    for (report, lesson) in lessons.iter().zip(&catalog.lessons) {
        let claims = report["claims"].as_array().expect("a claims array");
        assert_eq!(claims.len(), lesson.claim_count(), "lesson {}", lesson.id());
        for claim in claims {
            for key in [
                "lesson", "file", "line", "step", "field", "expected", "verdict",
            ] {
                assert!(!claim[key].is_null(), "claim without {key}: {claim}");
            }
            let verdict = claim["verdict"].as_str().unwrap();
            assert!(
                ["held", "failed", "skipped"].contains(&verdict),
                "{verdict}"
            );
            if verdict == "skipped" {
                assert!(
                    claim["reason"].as_str().is_some_and(|r| !r.is_empty()),
                    "{claim}"
                );
            }
        }
    }
    assert_eq!(json["totals"]["failed"], 0);
    assert!(json["kernel"]["page_size"].as_u64().is_some());
}

#[rstest]
fn run_without_pause_shows_the_mapping_before_and_after_the_write(catalog: Catalog) {
    let at = catalog.lessons.iter().position(|l| l.id() == "mmap-anon");
    let text = &ran_step_by_step(&catalog)[at.expect("lesson mmap-anon")];
    assert!(text.contains(" PID "), "the PID is printed: {text}");
    let steps: Vec<&str> = text.split("\nstep ").skip(1).collect();
    let declared = pagelab::experiments::find("mmap-anon")
        .unwrap()
        .vocabulary()
        .steps
        .len();
    assert_eq!(steps.len(), declared, "{text}");
    for step in &steps {
        assert!(
            step.contains(" rw-p 00000000 00:00 0"),
            "no maps line in step:\n{step}"
        );
        assert!(step.contains("Rss:"), "no smaps excerpt in step:\n{step}");
    }
    assert!(!steps[0].contains("<-- changed"), "{}", steps[0]);
    assert!(
        steps[3].contains("aligned-mapping") && !steps[3].contains("<-- changed"),
        "a new subject starts unmarked:\n{}",
        steps[3]
    );
    assert!(
        steps[1]
            .lines()
            .any(|l| l.starts_with("Rss:") && l.contains("<-- changed, was 0 kB")),
        "the write must mark Rss as changed:\n{}",
        steps[1]
    );
}

/// Piped, no command colours its output: `show` and `run` of every lesson, `check` (text and
/// JSON).
#[rstest]
fn output_without_a_terminal_has_no_colour(catalog: Catalog) {
    let check = pagelab(&["check", "mmap-anon"]);
    let outputs = [stdout(&check)];
    let shown = shown_narrow(&catalog)
        .iter()
        .chain(ran_step_by_step(&catalog));
    for text in outputs.iter().chain(shown) {
        assert!(!text.contains('\u{1b}'), "escape codes in piped output");
    }
}

#[test]
fn an_unknown_lesson_is_an_error_that_lists_the_lessons() {
    let output = pagelab(&["show", "no-such-lesson"]);
    exited_saying(&output, 2, &["no lesson `no-such-lesson`", "mmap-anon"]);
}

/// `pagelab list` of the lessons in `dir` (`PAGELAB_LESSONS`).
fn list_with_lessons(dir: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pagelab"))
        .arg("list")
        .env("PAGELAB_LESSONS", dir)
        .output()
        .expect("pagelab runs")
}

#[test]
fn a_broken_lessons_directory_is_an_error_with_file_and_line() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bad-lessons/bad-unit");
    let output = list_with_lessons(&dir);
    exited_saying(&output, 2, &["01-x.md:9: Rss: unknown unit `KB`"]);
}

/// A lessons directory that cannot be read is named with the reason, once, and no line
/// (there is none: not `:0`).
#[test]
fn a_missing_lessons_directory_is_named_without_a_line() {
    let nowhere = tempfile::tempdir().unwrap().path().join("nowhere");
    let output = list_with_lessons(&nowhere);
    let expected = format!(
        "pagelab: {}: cannot read the lessons directory: ",
        nowhere.display()
    );
    let stderr = exited_saying(&output, 2, &[&expected]);
    assert!(!stderr.contains(":0"), "{stderr}");
    let named = stderr.matches(&*nowhere.to_string_lossy()).count();
    assert_eq!(named, 1, "the directory named once: {stderr}");
}

/// `PAGELAB_LESSONS=` (empty) is as if it were unset: the lessons built into the binary.
#[test]
fn an_empty_lessons_variable_means_the_built_in_lessons() {
    let output = list_with_lessons(std::path::Path::new(""));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let listed = stdout(&output).lines().count();
    assert_eq!(listed, Catalog::embedded().unwrap().lessons.len());
}

/// The binary carries its lessons: from a directory with no lessons in reach and no
/// PAGELAB_LESSONS, it checks the very lessons of the source tree.
#[rstest]
fn the_binary_checks_the_lessons_built_into_it(catalog: Catalog) {
    let output = checked_elsewhere();
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let lessons = json["lessons"].as_array().unwrap();
    assert_eq!(lessons.len(), catalog.lessons.len());
    for (checked, lesson) in lessons.iter().zip(&catalog.lessons) {
        assert_eq!(checked["id"], lesson.id());
        assert_eq!(
            checked["claims"].as_array().unwrap().len(),
            lesson.claim_count()
        );
    }
    let built_in = Catalog::embedded().unwrap();
    for (embedded, lesson) in built_in.lessons.iter().zip(&catalog.lessons) {
        assert_eq!(embedded.source, lesson.source, "{}", lesson.id());
    }
}

#[rstest]
#[case::list(&["list"], "mmap-anon")]
#[case::show(&["show", "mmap-anon"], "claim (smaps) step=mapped")]
#[case::overview(&[], "page size")]
fn commands_print_what_they_promise(#[case] args: &[&str], #[case] needle: &str) {
    let output = pagelab(args);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout(&output).contains(needle), "{}", stdout(&output));
}

/// `show` draws a step's residency strip after its first block that applies here (its
/// first, where none does), never under a branch that does not apply while one that does
/// follows.
#[rstest]
fn show_draws_a_strip_after_its_steps_first_block_that_applies(catalog: Catalog) {
    use pagelab::lesson::BlockKind;
    let mut strips = 0;
    for (lesson, text) in catalog.lessons.iter().zip(shown_narrow(&catalog)) {
        // Per claim block, in the lesson's order: whether every claim line was skipped,
        // and whether a strip follows it.
        let mut blocks: Vec<(bool, bool)> = Vec::new();
        for line in text.lines() {
            if line.starts_with("  ┌ claim (") {
                blocks.push((true, false));
            } else if let Some(rest) = line.strip_prefix("  │ ")
                && (rest.starts_with('✓') || rest.starts_with('✗'))
                && let Some(block) = blocks.last_mut()
            {
                block.0 = false;
            } else if (line.starts_with("  ▕") || line.starts_with("  no residency map: "))
                && let Some(block) = blocks.last_mut()
            {
                block.1 = true;
                strips += 1;
            }
        }
        assert_eq!(blocks.len(), lesson.blocks.len(), "show {}", lesson.id());
        for (here, block) in lesson.blocks.iter().enumerate() {
            if !blocks[here].1 {
                continue;
            }
            let subject = pagelab::check::subject_of(lesson, block);
            let candidates: Vec<usize> = (0..lesson.blocks.len())
                .filter(|&i| {
                    let other = &lesson.blocks[i];
                    other.step == block.step
                        && other.kind != BlockKind::Outcome
                        && pagelab::check::subject_of(lesson, other) == subject
                })
                .collect();
            let expected = candidates
                .iter()
                .find(|&&i| !blocks[i].0)
                .or(candidates.first());
            assert_eq!(
                expected,
                Some(&here),
                "show {}: the strip of {subject} at {} follows the block at line {} (skipped: {})",
                lesson.id(),
                block.step,
                block.line,
                blocks[here].0
            );
        }
    }
    assert!(strips >= 20, "{strips} strips");
}

/// `pagelab` with each of `args` at once, its standard output once all have ended; each
/// must succeed.
fn side_by_side(args: Vec<Vec<String>>, env: &[(&str, String)]) -> Vec<String> {
    let children: Vec<_> = args
        .into_iter()
        .map(|args| {
            let child = Command::new(env!("CARGO_BIN_EXE_pagelab"))
                .args(&args)
                .envs(env.iter().map(|(k, v)| (k, v)))
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("pagelab runs");
            (args, child)
        })
        .collect();
    children
        .into_iter()
        .map(|(args, child)| {
            let output = child.wait_with_output().expect("pagelab ends");
            assert!(
                output.status.success(),
                "pagelab {}: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr)
            );
            stdout(&output)
        })
        .collect()
}

/// `pagelab run LESSON --no-pause` of every lesson, in the catalog's order: run once (the
/// lessons side by side) for the tests that read it.
fn ran_step_by_step(catalog: &Catalog) -> &'static [String] {
    static RAN: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    RAN.get_or_init(|| {
        let runs = catalog.lessons.iter();
        let args = runs.map(|l| vec!["run".into(), l.id().into(), "--no-pause".into()]);
        side_by_side(args.collect(), &[])
    })
}

/// The width of the terminal [`shown_narrow`] shows the lessons on.
const NARROW: usize = 40;

/// `pagelab show` of every lesson, in the catalog's order, on a terminal of [`NARROW`]
/// columns: run once (the lessons side by side) for the tests that read it, as each run
/// performs its lesson's experiment.
fn shown_narrow(catalog: &Catalog) -> &'static [String] {
    static SHOWN: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    SHOWN.get_or_init(|| {
        let args = catalog
            .lessons
            .iter()
            .map(|l| vec!["show".into(), l.id().into()]);
        side_by_side(args.collect(), &[("COLUMNS", NARROW.to_string())])
    })
}

/// On a terminal of 40 columns every line `show` writes fits: prose, strips with their labels
/// and captions, claim blocks (headers, claim lines, notes) and code folded, exercises'
/// tasks and hints (a word longer than a line stands alone).
#[rstest]
fn show_fits_every_line_to_a_narrow_terminal(catalog: Catalog) {
    const WIDTH: usize = NARROW;
    let fits = |line: &str| {
        line.chars().count() <= WIDTH
            || !line
                .trim_start_matches([' ', '│'])
                .trim()
                .contains(char::is_whitespace)
    };
    let (mut strips, mut exercises, mut claims, mut code) = (0, 0, 0, 0);
    for (lesson, text) in catalog.lessons.iter().zip(shown_narrow(&catalog)) {
        for line in text.lines() {
            strips += usize::from(line.starts_with("  ▕"));
            exercises += usize::from(line.starts_with("  ┌ exercise"));
            claims += usize::from(line.starts_with("  ┌ claim"));
            code += usize::from(line.starts_with("  │ "));
            assert!(
                fits(line),
                "show {} at {WIDTH} columns: a line is {} long:\n{line}",
                lesson.id(),
                line.chars().count()
            );
        }
    }
    assert!(
        strips >= 20 && exercises >= 20 && claims >= 100 && code >= 100,
        "{strips} strips, {exercises} exercises, {claims} claim blocks, {code} code lines"
    );
}

/// Every lesson can be done by hand: `run` goes through all of its experiment's steps.
/// (Their forks happen in the pagelab process, not in this one.)
#[rstest]
fn every_lesson_runs_step_by_step(catalog: Catalog) {
    for (lesson, text) in catalog.lessons.iter().zip(ran_step_by_step(&catalog)) {
        let steps = pagelab::experiments::find(lesson.id())
            .unwrap()
            .vocabulary()
            .steps;
        for (n, step) in steps.iter().enumerate() {
            let heading = format!("step {}/{}: {}", n + 1, steps.len(), step.title);
            assert!(
                text.contains(&heading),
                "run {}: no `{heading}` in\n{text}",
                lesson.id()
            );
        }
    }
}

#[test]
fn hint_shows_the_task_and_every_hint_with_the_lessons_line() {
    let output = pagelab(&["hint", "resident-pages"]);
    assert!(output.status.success());
    let text = stdout(&output);
    assert!(text.contains("lessons/02-pages.md:"), "{text}");
    assert!(text.contains("task:") && text.contains("hint 2:"), "{text}");
    let unknown = pagelab(&["hint", "no-such-exercise"]);
    exited_saying(&unknown, 2, &["the exercises are: map-anonymous"]);
}

/// An exercise is named by its id or by the name of the function the student writes, which
/// is what the handout shows them; either way the id is what pagelab answers with.
#[test]
fn an_exercise_is_named_by_its_id_or_its_functions_name() {
    let output = pagelab(&["hint", "resident_pages"]);
    let text = stdout(&output);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        text.starts_with("exercise `resident-pages` (lesson `pages`"),
        "{text}"
    );
    assert!(
        text.contains("`cargo run -- exercise resident-pages`"),
        "{text}"
    );
    let by_id = pagelab(&["hint", "resident-pages"]);
    assert_eq!(text, stdout(&by_id));
    let one = pagelab(&["exercise", "give_back"]);
    let text = stdout(&one);
    assert!(
        text.contains("exercise `give-back` (lesson `giving-memory-back`"),
        "{text}"
    );
}

/// A lesson is named by its file too, alone or as a path, as by its id; a file of that
/// name whose text is not the lesson's, or a path where no file is, is refused, not checked
/// as the lesson.
#[test]
fn a_lesson_is_named_by_its_file_or_its_path() {
    for name in [
        "lessons/01-mmap-anon.md",
        "01-mmap-anon.md",
        "./lessons/01-mmap-anon.md",
    ] {
        let output = pagelab(&["check", name, "--format", "json"]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let json: serde_json::Value = serde_json::from_str(&stdout(&output))
            .unwrap_or_else(|e| panic!("check {name}: {e}: {stderr}"));
        let lessons = json["lessons"].as_array().expect("lessons");
        assert_eq!(lessons.len(), 1, "check {name}");
        assert_eq!(lessons[0]["id"], "mmap-anon", "check {name}");
    }
    let elsewhere = tempfile::tempdir().unwrap();
    let copy = elsewhere.path().join("01-mmap-anon.md");
    std::fs::write(&copy, "---\nid: mmap-anon\ntitle: an edited copy\n---\n").unwrap();
    let output = pagelab(&["show", copy.to_str().unwrap()]);
    let needles = [
        "is not lesson `mmap-anon` as pagelab checks it",
        "PAGELAB_LESSONS",
    ];
    exited_saying(&output, 2, &needles);
    let nowhere = elsewhere.path().join("no-such-dir/01-mmap-anon.md");
    let output = pagelab(&["show", nowhere.to_str().unwrap()]);
    exited_saying(
        &output,
        2,
        &[&format!("{}: No such file", nowhere.display())],
    );
}

/// Here the reference solutions make every exercise done; in a handout every one is to do.
/// Either way the text, the JSON and the exit status agree.
#[test]
fn exercise_reports_each_outcome_in_text_and_json() {
    let json = pagelab(&["exercise", "--format", "json"]);
    let parsed: serde_json::Value = serde_json::from_str(&stdout(&json)).expect("valid JSON");
    let total = pagelab::homework::ALL.len();
    assert_eq!(parsed["total"], total);
    for e in parsed["exercises"].as_array().unwrap() {
        assert!(
            e["line"].as_u64().is_some() && e["detail"].is_string(),
            "{e}"
        );
        let word = e["outcome"].as_str().unwrap();
        assert!(
            ["done", "skipped", "to do", "failing", "panics"].contains(&word),
            "{e}"
        );
    }
    let all_done = parsed["done"] == total;
    assert_eq!(json.status.success(), all_done);
    let text = pagelab(&["exercise"]);
    let shown = stdout(&text);
    assert_eq!(text.status.success(), all_done, "{shown}");
    if all_done {
        assert!(
            shown.contains(&format!("all {total} exercises done")),
            "{shown}"
        );
    } else {
        assert!(
            shown.contains("hint:") && shown.contains("exercises done"),
            "{shown}"
        );
    }
    let one = pagelab(&["exercise", "give-back"]);
    assert!(stdout(&one).contains("exercise `give-back` (lesson `giving-memory-back`"));
}

/// A check process runs its checks for the process that asked for them, and none once that
/// process is gone: the kernel's death signal only covers a parent that dies after it is set.
#[test]
fn a_check_process_runs_nothing_for_an_asker_that_is_gone() {
    use pagelab::homework::isolated::{CHILD, PARENT};
    let serve = |asker: u32| {
        Command::new(env!("CARGO_BIN_EXE_pagelab"))
            .env(CHILD, "map-anonymous")
            .env(PARENT, asker.to_string())
            .stdin(Stdio::null())
            .output()
            .expect("pagelab runs")
    };
    let asked = serve(std::process::id());
    assert!(asked.status.success(), "{asked:?}");
    assert_eq!(
        stdout(&asked).matches("pagelab-outcome").count(),
        1,
        "{asked:?}"
    );
    let orphaned = serve(std::process::id() ^ 1);
    assert_eq!(orphaned.status.code(), Some(1), "{orphaned:?}");
    assert!(orphaned.stdout.is_empty(), "{orphaned:?}");
}

#[test]
fn a_handout_has_stubs_instead_of_solutions_and_refuses_a_used_directory() {
    let dir = tempfile::tempdir().expect("a private temporary directory");
    let dest = dir.path().join("student");
    let output = pagelab(&["handout", dest.to_str().unwrap()]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let exercises = dest.join("src/exercises");
    for exercise in pagelab::homework::ALL {
        let text = std::fs::read_to_string(dest.join(exercise.file)).unwrap();
        assert!(
            text.contains(&format!("todo!(\"exercise `{}`\")", exercise.id)),
            "{text}"
        );
        assert!(!text.contains("SOLUTION"), "{text}");
    }
    assert!(!dest.join(".ci").exists() && !dest.join("target").exists());
    // The fakes that the checks must reject are other exercises' solutions.
    for entry in std::fs::read_dir(dest.join("src/homework/checks")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        assert!(
            !text.contains("FAKES") && !text.contains("fakes: ["),
            "{text}"
        );
    }
    let readme = std::fs::read_to_string(dest.join("README.md")).unwrap();
    assert!(readme.starts_with("> **This is a handout.**"), "{readme}");
    assert!(exercises.join("mod.rs").exists() && dest.join("Cargo.lock").exists());
    handout_recipes_have_their_files(&dest);
    let again = pagelab(&["handout", dest.to_str().unwrap()]);
    exited_saying(&again, 2, &["not empty"]);
}

/// The handout's justfile keeps the students' recipes, and each finds the files it names in
/// the handout; the authors' recipes (their scripts and `.ci/` stay behind) are left out.
fn handout_recipes_have_their_files(dest: &std::path::Path) {
    use pagelab::homework::handout;
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let named: Vec<String> =
        handout::justfile_paths(&std::fs::read_to_string(source.join("justfile")).unwrap())
            .into_iter()
            .map(|(_, path)| path)
            .collect();
    // Else the scan below would prove nothing. (In a handout, whose tests make a handout
    // of it, the authors' recipes are already gone.)
    if source.join(".ci").exists() {
        for path in [".ci/run", "scripts/soak.sh", "scripts/target-dir.sh"] {
            assert!(
                named.iter().any(|p| p == path),
                "{path} not found in {named:?}"
            );
        }
    }
    assert_eq!(
        handout::missing_from_justfile(source).unwrap(),
        Vec::<String>::new()
    );
    assert_eq!(
        handout::missing_from_justfile(dest).unwrap(),
        Vec::<String>::new()
    );
    let justfile = std::fs::read_to_string(dest.join("justfile")).unwrap();
    assert!(
        !justfile.contains("AUTHORS") && !justfile.contains("\nci:"),
        "{justfile}"
    );
    assert!(!dest.join("scripts/soak.sh").exists());
    // just itself reads the handout's justfile (a recipe depending on one left out would not
    // parse) and lists the students' recipes only.
    match std::process::Command::new("just")
        .arg("--justfile")
        .arg(dest.join("justfile"))
        .arg("--summary")
        .output()
    {
        Ok(listed) => {
            assert!(
                listed.status.success(),
                "{}",
                String::from_utf8_lossy(&listed.stderr)
            );
            let recipes = String::from_utf8_lossy(&listed.stdout).into_owned();
            let recipes: Vec<&str> = recipes.split_whitespace().collect();
            for kept in ["test", "check", "watch", "result", "merge", "book"] {
                assert!(recipes.contains(&kept), "{kept}: {recipes:?}");
            }
            for gone in ["ci", "soak", "speed", "dist", "formats", "dev-check"] {
                assert!(!recipes.contains(&gone), "{gone}: {recipes:?}");
            }
        }
        Err(e) => eprintln!("handout: just not found ({e}): its justfile was not parsed"),
    }
}

/// `pagelab check | head -1`: the reader goes away, and pagelab ends quietly, without a
/// message about a broken pipe, and with the status its claims earned: 0 when they held, 1
/// when one failed (so `set -o pipefail` still sees a failure).
#[rstest]
#[case::holding(None, 0)]
#[case::failing(Some(("Rss:                   0 kB   # resident: nothing is in RAM yet", "Rss: 999 kB")), 1)]
fn a_closed_stdout_ends_quietly_with_the_verdicts_status(
    #[case] edit: Option<(&str, &str)>,
    #[case] status: i32,
) {
    let lessons = tempfile::tempdir().unwrap();
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons/01-mmap-anon.md");
    let mut text = std::fs::read_to_string(source).unwrap();
    if let Some((line, replaced)) = edit {
        assert!(text.contains(line), "lesson 01 no longer has `{line}`");
        text = text.replacen(line, replaced, 1);
    }
    std::fs::write(lessons.path().join("01-mmap-anon.md"), text).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_pagelab"))
        .args(["check", "--format", "json"])
        .env("PAGELAB_LESSONS", lessons.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pagelab runs");
    drop(child.stdout.take());
    let output = child.wait_with_output().expect("pagelab ends");
    assert_eq!(output.status.code(), Some(status), "{:?}", output.status);
    assert_eq!(String::from_utf8_lossy(&output.stderr), "");
}

/// A lesson named twice (by number and by id) is checked, and counted, once.
#[test]
fn a_lesson_named_twice_is_checked_once() {
    let output = pagelab(&["check", "1", "mmap-anon", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&output)).expect("valid JSON");
    let lessons = json["lessons"].as_array().expect("lessons");
    assert_eq!(lessons.len(), 1, "{lessons:?}");
    assert_eq!(lessons[0]["id"], "mmap-anon");
}

/// Standard output that fails for another reason than a closed pipe (a full disk) is an
/// error that says so, with status 2, never a panic.
#[rstest]
#[case::list(&["list"])]
#[case::hint(&["hint", "resident-pages"])]
#[case::exercise(&["exercise", "give-back"])]
fn a_failing_stdout_is_an_error_not_a_panic(#[case] args: &[&str]) {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let output = Command::new(env!("CARGO_BIN_EXE_pagelab"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(full)
        .output()
        .expect("pagelab runs");
    let stderr = exited_saying(&output, 2, &[]);
    assert!(
        stderr.starts_with("pagelab: writing output: No space left on device"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// `list` is a table: whatever the length of the lessons' file names and ids (some ids are
/// longer than 14 characters), every row's id and claim count start at the same column.
#[rstest]
fn list_aligns_its_columns_to_the_widest_id(catalog: Catalog) {
    let output = pagelab(&["list"]);
    assert!(output.status.success());
    let text = stdout(&output);
    let rows: Vec<&str> = text.lines().collect();
    assert_eq!(rows.len(), catalog.lessons.len(), "{text}");
    assert!(
        catalog.lessons.iter().any(|l| l.id().len() > 14),
        "no id is long enough to test the alignment"
    );
    let column = |row: &str, of: &str| row.find(of).map(|at| row[..at].chars().count());
    let mut ids = Vec::new();
    let mut counts = Vec::new();
    for (row, lesson) in rows.iter().zip(&catalog.lessons) {
        ids.push(column(row, &format!(" {} ", lesson.id())));
        let count = format!("{:>3} claims", lesson.claim_count());
        counts.push(column(row, &format!(" {count}  ")));
    }
    assert!(
        ids.iter().all(|c| c.is_some() && *c == ids[0]),
        "{ids:?}\n{text}"
    );
    assert!(
        counts.iter().all(|c| c.is_some() && *c == counts[0]),
        "{counts:?}\n{text}"
    );
}
