//! The homework commands: `exercise`, `hint`, `watch`, `handout`, `dev check`, and the
//! progress lines of the overview.

use super::CliError;
use anstream::{eprintln, stdout};
use pagelab::catalog::Catalog;
use pagelab::homework::{self, Exercise, Outcome, authors, outcome};
use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

/// The crate the binary was built from: the one whose handout `handout` writes and whose
/// sources `dev check` reads.
fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn find(id: &str) -> Result<&'static Exercise, String> {
    homework::named(id).ok_or_else(|| {
        let ids: Vec<&str> = homework::ALL.iter().map(|e| e.id).collect();
        format!("no exercise `{id}`; the exercises are: {}", ids.join(", "))
    })
}

/// The exercise asked for, or all of them in order.
fn chosen(id: Option<&str>) -> Result<Vec<&'static Exercise>, String> {
    match id {
        Some(id) => Ok(vec![find(id)?]),
        None => Ok(homework::ALL.iter().collect()),
    }
}

/// Every exercise's outcome, in order.
pub fn outcomes() -> Vec<(&'static Exercise, Outcome)> {
    homework::isolated::run_all()
}

/// `pagelab exercise [id]`: one exercise, or the first not done, after those done before it
/// (every exercise is checked, for the count of those done).
pub fn exercise(catalog: &Catalog, id: Option<&str>) -> Result<ExitCode, CliError> {
    let mut out = stdout().lock();
    if let Some(id) = id {
        let exercise = find(id)?;
        let outcome = homework::isolated::run(exercise);
        let written = writeln!(out, "{}", outcome::describe(exercise, catalog, &outcome));
        return super::answer(outcome.is_done(), written.map_err(CliError::from));
    }
    let outcomes = outcomes();
    let all_done = outcomes.iter().all(|(_, o)| o.is_done());
    let written = write_progress(&mut out, catalog, &outcomes);
    super::answer(all_done, written.map_err(CliError::from))
}

/// The exercises done, in order, up to the first not done, which is told in full with the
/// count of those done; or that all are done.
fn write_progress(
    out: &mut impl Write,
    catalog: &Catalog,
    outcomes: &[(&Exercise, Outcome)],
) -> std::io::Result<()> {
    let total = outcomes.len();
    let done = outcomes.iter().filter(|(_, o)| o.is_done()).count();
    for (exercise, outcome) in outcomes {
        if !outcome.is_done() {
            writeln!(out, "{}", outcome::describe(exercise, catalog, outcome))?;
            return writeln!(out, "{done} of {total} exercises done");
        }
        writeln!(out, "  {:<24} {}", exercise.id, outcome.word())?;
    }
    writeln!(out, "\nall {total} exercises done")
}

/// `pagelab exercise --format json`: each exercise (or the one asked for) with its outcome,
/// as a result file of exercises only; exit status 1 unless all of them are done.
pub fn exercise_json(catalog: &Catalog, id: Option<&str>) -> Result<ExitCode, CliError> {
    use pagelab::results::{Checks, LessonsDigest, ResultFile};
    let started = std::time::Instant::now();
    let chosen = chosen(id)?;
    let probe = pagelab::kernel::KernelProbe::probe().map_err(|e| e.to_string())?;
    let results = homework::report::results(catalog, &chosen);
    let all_done = results.iter().all(|e| e.outcome.is_done());
    let checks = Checks::Exercises(results);
    let digest = LessonsDigest::of_catalog(catalog);
    let seconds = started.elapsed().as_secs_f64();
    let file = ResultFile::of_this_machine(digest, &probe, checks, seconds, None);
    // JSON holds no colour: straight to standard output, not through anstream's filter.
    let written = writeln!(std::io::stdout().lock(), "{}", file.to_json());
    super::answer(all_done, written.map_err(CliError::from))
}

/// `pagelab exercise --format ktap|junit`: each exercise (or the one asked for) as a test
/// case of its lesson's suite.
pub fn exercise_suites(
    catalog: &Catalog,
    id: Option<&str>,
) -> Result<Vec<pagelab::report::suites::Suite>, String> {
    let chosen = chosen(id)?;
    let outcomes = homework::isolated::run_each(&chosen);
    Ok(pagelab::report::suites::of_exercises(catalog, &outcomes))
}

/// `pagelab hint <id>`: the task and every hint, with where the lesson sets it.
pub fn hint(catalog: &Catalog, name: &str) -> Result<ExitCode, CliError> {
    let exercise = find(name)?;
    // The id, also where the student named the function: it is what the commands take.
    let id = exercise.id;
    let (lesson, text) = exercise
        .text(catalog)
        .ok_or_else(|| format!("lesson `{}` does not set exercise `{id}`", exercise.lesson))?;
    let mut out = stdout().lock();
    writeln!(
        out,
        "exercise `{id}` (lesson `{}`, {}:{})",
        exercise.lesson,
        pagelab::check::shown_path(&lesson.path),
        text.line
    )?;
    writeln!(
        out,
        "  write:  {}() in {}",
        exercise.function, exercise.file
    )?;
    writeln!(out, "  task:   {}", text.task)?;
    for (i, hint) in text.hints.iter().enumerate() {
        writeln!(out, "  hint {}: {hint}", i + 1)?;
    }
    writeln!(
        out,
        "  check:  `cargo run -- exercise {id}`, or `{}`",
        exercise.test_command()
    )?;
    Ok(ExitCode::SUCCESS)
}

pub fn watch() -> Result<ExitCode, CliError> {
    let mut out = anstream::stdout();
    let here = std::env::current_dir().map_err(|e| format!("the current directory: {e}"))?;
    let dir = homework::watch::crate_to_watch(&here, crate_dir())?;
    homework::watch::watch(&dir, &mut out)?;
    Ok(ExitCode::SUCCESS)
}

pub fn handout(catalog: &Catalog, dir: &Path) -> Result<ExitCode, CliError> {
    let made = homework::handout::write(crate_dir(), dir, &authors::texts(catalog))?;
    let mut out = stdout().lock();
    writeln!(
        out,
        "handout: {} files in {}, {} exercises stubbed",
        made.files,
        dir.display(),
        made.stubbed.len()
    )?;
    writeln!(
        out,
        "next: cd {} && cargo run (progress) && cargo test (fails until the exercises are done)",
        dir.display()
    )?;
    Ok(ExitCode::SUCCESS)
}

pub fn dev_check(catalog: &Catalog, no_build: bool) -> Result<ExitCode, CliError> {
    let problems = authors::check_sources(crate_dir(), catalog);
    let exercises = homework::ALL.len();
    let lessons = catalog.lessons.len();
    if !problems.is_empty() {
        for p in &problems {
            eprintln!("{p}");
        }
        eprintln!("dev check: {} problems", problems.len());
        return Ok(ExitCode::FAILURE);
    }
    writeln!(
        stdout().lock(),
        "sources: {lessons} lessons with their tests, {exercises} exercises set in their lessons, with solutions, tests and stable ids"
    )?;
    if no_build {
        return Ok(ExitCode::SUCCESS);
    }
    let mut progress = |step: &str| eprintln!("dev check: {step}");
    match authors::check_handout(crate_dir(), catalog, &mut progress) {
        Ok(summary) => {
            writeln!(stdout().lock(), "{summary}")?;
            Ok(ExitCode::SUCCESS)
        }
        Err(problems) => {
            for p in &problems {
                eprintln!("{p}");
            }
            eprintln!("dev check: {} problems", problems.len());
            Ok(ExitCode::FAILURE)
        }
    }
}
