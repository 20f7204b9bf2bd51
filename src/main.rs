//! The `pagelab` command line: parse arguments, call the library, print.

use anstream::{eprintln, stdout};
use clap::{Parser, Subcommand, ValueEnum};
use pagelab::catalog::{Catalog, Source, lessons_dir};
use pagelab::check::{Counts, LessonReport, check_lesson};
use pagelab::experiment::Lab;
use pagelab::experiments;
use pagelab::kernel::KernelProbe;
use pagelab::lesson::Lesson;
use pagelab::report;
use pagelab::results::{Checks, LessonsDigest, ResultFile};
use pagelab::walkthrough::Walkthrough;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

mod commands;
use commands::{CliError, answer, homework};

/// Lessons about Linux memory whose claims are checked on the running kernel.
///
/// Without a command: this kernel's summary and each lesson's status on it.
#[derive(Parser)]
#[command(name = "pagelab", version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// List the lessons.
    List,
    /// Show a lesson, rendered for the terminal, with this kernel's verdict on every claim
    /// line and the residency of the mapping at each step (wrapped to the terminal's width,
    /// else $COLUMNS, else 80).
    Show { lesson: String },
    /// Perform a lesson's experiment step by step, pausing at each step.
    Run {
        lesson: String,
        /// Do not wait for Enter between steps (also the case when stdin is not a terminal).
        #[arg(long)]
        no_pause: bool,
    },
    /// Perform the experiments and check every claim; exit status 1 if any claim fails.
    Check {
        /// Lessons to check (id, file stem, number or file name); all when none is given.
        lessons: Vec<String>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Write the kernel's values into the lessons' `?` claims, for review; refused while a
        /// claim with a value fails. The files are $PAGELAB_LESSONS's, else those of lessons/
        /// in the tree this binary was built from (each file written is named).
        #[arg(long, conflicts_with = "format")]
        bless: bool,
        /// With --format json: check every exercise too (`exercise --format json`), so that
        /// one result file holds both; the exit status covers them.
        #[arg(long)]
        exercises: bool,
        /// With --format json: the name of this machine's column in `pagelab matrix` and
        /// the book (a CI job, a lab board); the file's name where none is given.
        #[arg(long)]
        label: Option<String>,
    },
    /// Check one exercise (by id or its function's name), or the first one not done yet; exit
    /// status 1 unless done.
    Exercise {
        id: Option<String>,
        /// json: every exercise's outcome (or the one asked for), for machines.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Show every hint of an exercise (by id or its function's name).
    Hint { id: String },
    /// Rerun the current exercise every time a file in src/, tests/ or lessons/ changes.
    Watch,
    /// Write a student copy of this crate into DIR: exercises stubbed, solutions left out.
    Handout { dir: std::path::PathBuf },
    /// Build the course as a website (mdBook) that shows its proof: every claim's verdict
    /// on this machine and in the configurations of the result files, and the residency
    /// pictures of each step. Writes the source into OUT and the site into OUT/html.
    Book {
        out: std::path::PathBuf,
        /// Result files of `pagelab check --format json` from other machines and kernels,
        /// or directories of them (their *.json files).
        #[arg(long, num_args = 1..)]
        results: Vec<std::path::PathBuf>,
        /// Write the book's source only, without running mdbook.
        #[arg(long)]
        source_only: bool,
    },
    /// The claim × configuration table of result files (`check --format json`, from any
    /// machines, and the kernel matrix's `<target dir>/kernel-matrix/results/`). Files that
    /// checked different lessons are refused, and so is a file named twice. Exit status 1
    /// if any configuration failed.
    Matrix {
        /// Result files, or directories of them (their *.json files, in name order).
        #[arg(required = true)]
        results: Vec<std::path::PathBuf>,
        /// text for a terminal, markdown for a report, json for programs (the data the
        /// book's Kernels chapter shows).
        #[arg(long, value_enum, default_value_t = MatrixFormat::Text)]
        format: MatrixFormat,
    },
    /// Tools for the lessons' authors.
    Dev {
        #[command(subcommand)]
        command: DevCommand,
    },
    /// Boot Debian kernels (x86-64 and arm64, 4 kB and 16 kB pages, glibc and musl) under
    /// QEMU in many configurations and check every lesson in each. Installs the tools it
    /// lacks (QEMU, the aarch64 cross linker, cpio, xz: as root) and fetches kernels through a
    /// private apt state under cargo's target directory. Writes each configuration's result
    /// file into <target dir>/kernel-matrix/results/ and renders the table from them, as
    /// `pagelab matrix` does.
    Kernels {
        /// Only the configurations that match every one of these words: a word of the
        /// name (`arm64`, `16k`, `musl`, `x86`, `7.2`, `never`, ...) or a kernel version prefix.
        only: Vec<String>,
        /// Where to write the markdown report [default: <target dir>/kernel-matrix.md].
        #[arg(long)]
        report: Option<std::path::PathBuf>,
        /// Refresh the private package lists even if they are less than a day old.
        #[arg(long)]
        refresh: bool,
    },
}

#[derive(Subcommand)]
enum DevCommand {
    /// The authors' check: every exercise is set by its lesson and has its test and solution
    /// markers, ids are unique and stable; then a handout is built and tested: every stub
    /// fails, every reference solution passes.
    Check {
        /// Only the static checks, without building and testing a handout.
        #[arg(long)]
        no_build: bool,
    },
    /// The release: static binaries for x86-64 and aarch64, glibc and musl (the ones the
    /// kernel matrix boots), and their SHA256SUMS. Installs the aarch64 cross linker if
    /// missing (as root).
    Dist {
        /// Where to put them [default: <target dir>/dist].
        #[arg(long)]
        out: Option<std::path::PathBuf>,
    },
}

/// How results are written: for people, or for machines and CI (`ktap` as the kernel's
/// selftests print it, `junit` XML as CI services read it).
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Text,
    Json,
    Ktap,
    Junit,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum MatrixFormat {
    Text,
    Markdown,
    Json,
}

/// Exit status for errors that are not claim failures: bad arguments, broken lessons.
const USAGE_ERROR: u8 = 2;

fn main() -> ExitCode {
    // Each exercise's check runs in a process of this program's own (`isolated`).
    pagelab::homework::isolated::serve_if_asked();
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(CliError::ClosedOutput) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("pagelab: {error}");
            ExitCode::from(USAGE_ERROR)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, CliError> {
    let source = Source::from_env();
    // A directory's errors name its files (or itself), so they say where they are; the
    // built-in lessons are named `lessons/NN-slug.md`, which needs saying where from.
    let catalog = Catalog::open(&source).map_err(|e| match source {
        Source::Dir(_) => e.to_string(),
        Source::Embedded => format!("{source}:\n{e}"),
    })?;
    let dir = lessons_dir();
    match cli.command {
        None => overview(&catalog),
        Some(Command::List) => {
            let mut out = stdout().lock();
            let stems = widest(&catalog, |l| file_stem(l).chars().count());
            let ids = widest(&catalog, |l| l.id().chars().count());
            for lesson in &catalog.lessons {
                writeln!(
                    out,
                    "{:<stems$} {:<ids$} {:>3} claims  {}",
                    file_stem(lesson),
                    lesson.id(),
                    lesson.claim_count(),
                    lesson.front.title
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Show { lesson }) => {
            let lesson = find(&catalog, &lesson)?;
            let proof = pagelab::proof::LessonProof::check(lesson, &probe()?);
            let width = pagelab::render::terminal_width();
            let mut out = stdout().lock();
            pagelab::render::write_lesson(&mut out, lesson, &proof, width)?;
            Ok(ExitCode::SUCCESS)
        }
        Some(Command::Run { lesson, no_pause }) => walk(find(&catalog, &lesson)?, no_pause),
        Some(Command::Check { lessons, bless, .. }) if bless => bless_lessons(&dir, &lessons),
        Some(Command::Check {
            lessons,
            format,
            exercises,
            label,
            ..
        }) => {
            if format != Format::Json && (exercises || label.is_some()) {
                return Err(
                    "--exercises and --label go with --format json: they make a result file".into(),
                );
            }
            check(&catalog, &lessons, format, Written { exercises, label })
        }
        Some(Command::Matrix { results, format }) => matrix(&results, format),
        Some(Command::Kernels {
            only,
            report,
            refresh,
        }) => kernels(&catalog, &dir, &only, report, refresh),
        Some(Command::Exercise { id, format }) => match format {
            Format::Text => homework::exercise(&catalog, id.as_deref()),
            Format::Json => homework::exercise_json(&catalog, id.as_deref()),
            Format::Ktap | Format::Junit => {
                let suites = homework::exercise_suites(&catalog, id.as_deref())?;
                let written = write_suites(&mut std::io::stdout().lock(), &suites, format);
                answer(!suites.iter().any(|s| s.failed()), written)
            }
        },
        Some(Command::Book {
            out,
            results,
            source_only,
        }) => book(&catalog, &out, &results, source_only),
        Some(Command::Hint { id }) => homework::hint(&catalog, &id),
        Some(Command::Watch) => homework::watch(),
        Some(Command::Handout { dir }) => homework::handout(&catalog, &dir),
        Some(Command::Dev {
            command: DevCommand::Check { no_build },
        }) => homework::dev_check(&catalog, no_build),
        Some(Command::Dev {
            command: DevCommand::Dist { out },
        }) => dist(out),
    }
}

/// `pagelab dev dist`: the release binaries and their checksums.
fn dist(out: Option<std::path::PathBuf>) -> Result<ExitCode, CliError> {
    use pagelab::matrix::dist;
    let manifest_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = match out {
        Some(out) => out,
        None => dist::default_dir(manifest_dir)?,
    };
    let started = std::time::Instant::now();
    let binaries = dist::dist(manifest_dir, &out)?;
    let mut stdout = stdout().lock();
    for binary in &binaries {
        writeln!(stdout, "{}", binary.display())?;
    }
    writeln!(
        stdout,
        "{}: {} binaries and SHA256SUMS in {:.0}s",
        out.display(),
        binaries.len(),
        started.elapsed().as_secs_f64()
    )?;
    Ok(ExitCode::SUCCESS)
}

fn probe() -> Result<KernelProbe, String> {
    KernelProbe::probe().map_err(|e| e.to_string())
}

fn find<'a>(catalog: &'a Catalog, name: &str) -> Result<&'a Lesson, String> {
    let lesson = catalog.find(name).ok_or_else(|| {
        format!(
            "no lesson `{name}`; the lessons are: {}",
            catalog.ids().join(", ")
        )
    })?;
    // A path names a lesson by its file name, so an edited copy elsewhere would be checked
    // as the lesson pagelab holds: said, rather than checking text the user did not mean.
    if name.ends_with(".md") {
        match std::fs::read_to_string(name) {
            Ok(text) if text != lesson.source => {
                return Err(format!(
                    "{name} is not lesson `{}` as pagelab checks it ({}, {}): its text differs; to check that file, set PAGELAB_LESSONS to its directory",
                    lesson.id(),
                    pagelab::check::shown_path(&lesson.path),
                    Source::from_env()
                ));
            }
            // A bare file name names the lesson wherever it is; a path, a file that is there.
            Err(e) if name.contains('/') => return Err(format!("{name}: {e}")),
            _ => {}
        }
    }
    Ok(lesson)
}

fn file_stem(lesson: &Lesson) -> String {
    lesson
        .path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The width of the widest of `catalog`'s lessons as `width` measures them: a column
/// that fits them all.
fn widest(catalog: &Catalog, width: impl Fn(&Lesson) -> usize) -> usize {
    catalog.lessons.iter().map(width).max().unwrap_or(0)
}

fn overview(catalog: &Catalog) -> Result<ExitCode, CliError> {
    let probe = probe()?;
    let stems = widest(catalog, |l| file_stem(l).chars().count()).max(24);
    let mut out = stdout().lock();
    writeln!(
        out,
        "pagelab: Linux memory lessons, checked on this kernel\n"
    )?;
    report::write_kernel_summary(&mut out, &probe)?;
    writeln!(out)?;
    let outcomes = homework::outcomes();
    for lesson in &catalog.lessons {
        let result = check_lesson(lesson, &probe);
        let status = if result.passed() { "ok" } else { "FAILING" };
        let own: Vec<_> = outcomes
            .iter()
            .filter(|(e, _)| e.lesson == lesson.id())
            .collect();
        let done = own.iter().filter(|(_, o)| o.is_done()).count();
        writeln!(
            out,
            "  {:<stems$} {:<8} {}\n  {:<stems$} {} · exercises {done}/{} done",
            file_stem(lesson),
            status,
            lesson.front.title,
            "",
            report::counts_line(result.counts()),
            own.len()
        )?;
    }
    let done = outcomes.iter().filter(|(_, o)| o.is_done()).count();
    match outcomes.iter().find(|(_, o)| !o.is_done()) {
        Some((next, outcome)) => writeln!(
            out,
            "\nExercises: {done} of {} done. Next: `{}` ({}), {}() in {}.\n  `cargo run -- hint {}` for hints, `cargo run -- watch` to check it on every save.",
            outcomes.len(),
            next.id,
            outcome.word(),
            next.function,
            next.file,
            next.id
        ),
        None => writeln!(out, "\nExercises: all {done} done."),
    }?;
    writeln!(
        out,
        "\nNext: `pagelab show <lesson>` to read one, `pagelab run <lesson>` to do it by hand, `pagelab check` for every claim."
    )?;
    Ok(ExitCode::SUCCESS)
}

fn walk(lesson: &Lesson, no_pause: bool) -> Result<ExitCode, CliError> {
    let probe = probe()?;
    let experiment = experiments::performing(lesson.id())?;
    let pause = !no_pause && std::io::stdin().is_terminal();
    let pid = std::process::id();
    let mut out = stdout().lock();
    writeln!(
        out,
        "{} — PID {pid}\nLook at /proc/{pid}/maps and /proc/{pid}/smaps from another terminal at any step.",
        lesson.front.title
    )?;
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let vocabulary = experiment.vocabulary();
    let mut walkthrough = Walkthrough::new(
        &mut out,
        if pause { Some(&mut input) } else { None },
        vocabulary.steps.len(),
    );
    let mut lab = Lab::new(&probe, vocabulary, &mut walkthrough);
    match experiment.run(&mut lab) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(pagelab::experiment::ExperimentError::Stopped) => Ok(ExitCode::SUCCESS),
        Err(e) => Err(format!("lesson `{}`: {e}", lesson.id()).into()),
    }
}

/// What a JSON check writes besides the claims.
struct Written {
    exercises: bool,
    label: Option<String>,
}

fn check(
    catalog: &Catalog,
    names: &[String],
    format: Format,
    written: Written,
) -> Result<ExitCode, CliError> {
    let started = std::time::Instant::now();
    let lessons: Vec<&Lesson> = if names.is_empty() {
        catalog.lessons.iter().collect()
    } else {
        let mut chosen: Vec<&Lesson> = Vec::new();
        for name in names {
            let lesson = find(catalog, name)?;
            // `check 1 mmap-anon` names one lesson twice: it is checked, and counted, once.
            if !chosen.iter().any(|l| l.id() == lesson.id()) {
                chosen.push(lesson);
            }
        }
        chosen
    };
    let probe = probe()?;
    // Progress goes to stderr, and only where a person watches it.
    let show_progress = std::io::stderr().is_terminal();
    let reports: Vec<LessonReport> = lessons
        .iter()
        .enumerate()
        .map(|(i, lesson)| {
            if show_progress {
                eprint_progress(i + 1, lessons.len(), lesson);
            }
            check_lesson(lesson, &probe)
        })
        .collect();
    let mut passed = reports.iter().all(LessonReport::passed);
    // The machine formats hold no colour to strip: they go to standard output as they are,
    // not through anstream's filter, which reads every byte of a result file to find none.
    let mut raw = std::io::stdout().lock();
    let written = match format {
        Format::Json => {
            let file = this_machine(catalog, &lessons, &probe, reports, written, started);
            let exercises = file.checked().and_then(|c| c.checks.exercises());
            passed &= exercises.is_none_or(|e| e.iter().all(|e| e.outcome.is_done()));
            writeln!(raw, "{}", file.to_json()).map_err(CliError::from)
        }
        Format::Ktap | Format::Junit => {
            write_suites(&mut raw, &report::suites::of_lessons(&reports), format)
        }
        Format::Text => {
            write_check_text(&mut stdout().lock(), &probe, &reports).map_err(CliError::from)
        }
    };
    answer(passed, written)
}

fn write_check_text(
    out: &mut dyn Write,
    probe: &KernelProbe,
    reports: &[LessonReport],
) -> std::io::Result<()> {
    report::write_kernel_summary(out, probe)?;
    report::write_text(out, reports)?;
    let totals = Counts::of_all(reports);
    writeln!(
        out,
        "\n{} lessons, {}",
        reports.len(),
        report::counts_line(totals)
    )
}

/// This machine's result file: the claims of `lessons` as `reports` judged them and, where
/// `written` asks, every exercise of those lessons checked now; timed from `started`.
fn this_machine(
    catalog: &Catalog,
    lessons: &[&Lesson],
    probe: &KernelProbe,
    reports: Vec<LessonReport>,
    written: Written,
    started: std::time::Instant,
) -> ResultFile {
    let digest = LessonsDigest::of_lessons(lessons.iter().copied());
    let checks = if written.exercises {
        let chosen: Vec<_> = pagelab::homework::ALL
            .iter()
            .filter(|e| lessons.iter().any(|l| l.id() == e.lesson))
            .collect();
        Checks::Both(
            reports,
            pagelab::homework::report::results(catalog, &chosen),
        )
    } else {
        Checks::Claims(reports)
    };
    let seconds = started.elapsed().as_secs_f64();
    ResultFile::of_this_machine(digest, probe, checks, seconds, written.label)
}

/// `pagelab matrix`: the table of result files, and a summary line on stderr.
fn matrix(paths: &[std::path::PathBuf], format: MatrixFormat) -> Result<ExitCode, CliError> {
    use pagelab::matrix::table::{self, Matrix};
    let loaded = pagelab::results::load(paths)?;
    let matrix = Matrix::of(&loaded);
    let text = match format {
        MatrixFormat::Text => table::terminal(&matrix),
        MatrixFormat::Markdown => table::markdown(&matrix),
        MatrixFormat::Json => {
            let mut json = serde_json::to_string_pretty(&matrix)
                .map_err(|e| format!("writing the matrix as JSON: {e}"))?;
            json.push('\n');
            json
        }
    };
    // Only the terminal table may hold colour for anstream to strip.
    let written = match format {
        MatrixFormat::Text => stdout().lock().write_all(text.as_bytes()),
        MatrixFormat::Markdown | MatrixFormat::Json => {
            std::io::stdout().lock().write_all(text.as_bytes())
        }
    };
    eprintln!("pagelab matrix: {}", matrix.summary());
    answer(matrix.failed().is_empty(), written.map_err(CliError::from))
}

/// `check --bless`: the lessons' files themselves, blessed and written back, then checked.
fn bless_lessons(dir: &std::path::Path, names: &[String]) -> Result<ExitCode, CliError> {
    let catalog = Catalog::load(dir).map_err(|e| format!("lessons in {}:\n{e}", dir.display()))?;
    let lessons: Vec<&Lesson> = if names.is_empty() {
        catalog.lessons.iter().collect()
    } else {
        names
            .iter()
            .map(|n| find(&catalog, n))
            .collect::<Result<_, _>>()?
    };
    let probe = probe()?;
    let mut out = stdout().lock();
    let mut code = ExitCode::SUCCESS;
    for lesson in lessons {
        let file = lesson.path.display();
        let blessed = pagelab::bless::bless(lesson, &check_lesson(lesson, &probe))
            .map_err(|e| format!("{file}: {e}"))?;
        if !blessed.written.is_empty() {
            std::fs::write(&lesson.path, &blessed.text)
                .map_err(|e| format!("writing {file}: {e}"))?;
        }
        writeln!(out, "{file}: {} value(s) written", blessed.written.len())?;
        for (line, value) in &blessed.written {
            writeln!(out, "  {line}: {value}")?;
        }
        for (line, why) in &blessed.left {
            writeln!(out, "  {line}: left `?`: {why}")?;
        }
        let again = Lesson::load(&lesson.path).map_err(|e| e.to_string())?;
        let report = check_lesson(&again, &probe);
        writeln!(out, "  now: {}", report::counts_line(report.counts()))?;
        if !report.passed() {
            code = ExitCode::FAILURE;
        }
    }
    Ok(code)
}

/// Suites as KTAP or as JUnit XML.
fn write_suites(
    out: &mut dyn Write,
    suites: &[report::suites::Suite],
    format: Format,
) -> Result<(), CliError> {
    match format {
        Format::Ktap => report::ktap::write(out, suites)?,
        _ => report::junit::write(out, suites)?,
    }
    Ok(())
}

/// `pagelab book`: checks every lesson (keeping what each step showed), writes the source,
/// and builds it with mdbook.
fn book(
    catalog: &Catalog,
    out: &std::path::Path,
    results: &[std::path::PathBuf],
    source_only: bool,
) -> Result<ExitCode, CliError> {
    use pagelab::proof::LessonProof;
    let started = std::time::Instant::now();
    let extra = pagelab::book::results::load(results, &LessonsDigest::of_catalog(catalog))?;
    let probe = probe()?;
    let proofs: Vec<LessonProof> = catalog
        .lessons
        .iter()
        .map(|l| LessonProof::check(l, &probe))
        .collect();
    let checked = started.elapsed();
    let lessons: Vec<(&Lesson, &LessonProof)> = catalog.lessons.iter().zip(&proofs).collect();
    let configurations = extra.len();
    let written = pagelab::book::write_source(out, &probe, &lessons, extra)?;
    let site = if source_only {
        None
    } else {
        Some(pagelab::book::build(out)?)
    };
    let mut stdout = stdout().lock();
    writeln!(
        stdout,
        "book: {} pages, {} figures, {} result file(s); checks {:.2}s, book {:.2}s",
        written.pages,
        written.figures,
        configurations,
        checked.as_secs_f64(),
        (started.elapsed() - checked).as_secs_f64()
    )?;
    match site {
        Some(site) => writeln!(stdout, "open {}", site.join("index.html").display()),
        None => writeln!(
            stdout,
            "source in {}; build it with `mdbook build {}`",
            out.display(),
            out.display()
        ),
    }?;
    Ok(ExitCode::SUCCESS)
}

fn eprint_progress(n: usize, total: usize, lesson: &Lesson) {
    eprintln!("[{n}/{total}] checking {}", lesson.id());
}

fn kernels(
    catalog: &Catalog,
    lessons_dir: &std::path::Path,
    only: &[String],
    report_path: Option<std::path::PathBuf>,
    refresh: bool,
) -> Result<ExitCode, CliError> {
    use pagelab::matrix::{self, Column};
    let started = std::time::Instant::now();
    let digest = LessonsDigest::of_catalog(catalog);
    // The guests check the files of `lessons_dir` (copied into their initramfs): the host
    // column must be of the same lessons, or the table would refuse them after the boots.
    let copied =
        Catalog::load(lessons_dir).map_err(|e| format!("{}:\n{e}", lessons_dir.display()))?;
    let guests = LessonsDigest::of_catalog(&copied);
    if guests != digest {
        return Err(format!(
            "the guests would check the lessons in {} ({}), not the ones this pagelab checks ({}, {}): rebuild it (`cargo run` does) or set PAGELAB_LESSONS to that directory",
            lessons_dir.display(),
            guests.short(),
            Source::from_env(),
            digest.short()
        )
        .into());
    }
    let probe = probe()?;
    let reports: Vec<LessonReport> = catalog
        .lessons
        .iter()
        .map(|l| check_lesson(l, &probe))
        .collect();
    let lessons: Vec<&Lesson> = catalog.lessons.iter().collect();
    let written = Written {
        exercises: true,
        label: None,
    };
    let host = this_machine(catalog, &lessons, &probe, reports, written, started);
    let manifest_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let cache = matrix::cache_dir(manifest_dir)?;
    let report_path = report_path.unwrap_or_else(|| cache.with_file_name("kernel-matrix.md"));
    let request = matrix::Request {
        manifest_dir,
        cache: &cache,
        lessons: lessons_dir,
        only,
        refresh,
    };
    let configured = matrix::run(&request, Column::Ran(Box::new(host)))?;
    let results = matrix::results_dir(&cache);
    matrix::write_results(&results, configured, digest)?;
    let table = matrix::table_of(&results)?;
    if let Some(parent) = report_path.parent() {
        std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
    }
    std::fs::write(&report_path, matrix::table::markdown(&table))
        .map_err(|e| format!("writing {}: {e}", report_path.display()))?;
    let mut out = stdout().lock();
    let written = writeln!(out, "{}", matrix::table::terminal(&table)).and_then(|()| {
        writeln!(
            out,
            "{}\nresult files: {}   report: {}   total time: {:.0}s",
            table.summary(),
            results.display(),
            report_path.display(),
            started.elapsed().as_secs_f64()
        )
    });
    answer(table.failed().is_empty(), written.map_err(CliError::from))
}
