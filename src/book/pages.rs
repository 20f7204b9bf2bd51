//! The chapters besides the lessons: how to read a claim, the exercises, the kernels.

use super::chapter;
use super::figures;
use super::results::Configuration;
use crate::check::{ClaimResult, Counts};
use crate::kernel::KernelProbe;
use crate::lesson::Lesson;
use crate::markup::escape as esc;
use crate::matrix::table::{self as matrix, Mark, Matrix};
use crate::proof::LessonProof;
use crate::report;
use std::fmt::Write;

/// The introduction: what the book is, and how to read a claim block, shown on a real one.
pub fn introduction(
    probe: &KernelProbe,
    lessons: &[(&Lesson, &LessonProof)],
    columns: &[Configuration],
) -> String {
    let mut out = String::from(
        "# How to read this book\n\n\
Every lesson of this book is a page of prose with excerpts of what the kernel shows:\n\
`/proc/PID/maps` lines, `/proc/PID/smaps` records, results of system calls. Every line of\n\
every excerpt is a *claim*, and every claim was checked while this book was built, by\n\
performing the lesson's experiment on a running kernel. Nothing on these pages is drawn by\n\
hand: the pictures come from the same runs.\n\n\
## A claim block\n\n\
Here is one, from the first lesson. Above the excerpt, where it applies: some claims hold\n\
only on some kernels (the page size, transparent huge pages, overcommit, privileges decide),\n\
and then the block says, in words, under which condition. Each line carries its verdict on\n\
the machine that built the book: **held** (the kernel printed that), **failed** (it printed\n\
something else) or **skipped** (the condition does not apply here, or the kernel lacks the\n\
field; the reason is given). Hover over a line to see what the kernel printed; click it for\n\
everything: the value, the branch that applied and why, and the other kernels' verdicts.\n\n",
    );
    if let Some((lesson, proof)) = lessons.first()
        && let Some(example) = chapter::example_block(lesson, proof, columns)
    {
        out.push_str(&example);
        out.push('\n');
    }
    out.push_str(
        "\nWhere several blocks show the same step under different conditions, they are the\n\
branches of one experiment: on any given kernel one of them applies, and the others are\n\
skipped with the reason. The small squares after each line, when the book was built with\n\
result files of other machines, are the same claim's verdicts there: one square per\n\
configuration of the [Kernels](kernels.md) chapter from 2 on, numbered as there\n\
(configuration 1 is this build, whose verdict leads the line).\n\n\
## Pictures\n\n\
After a step's first block that applies on the machine that built the book (its first block,\n\
where none does), a *residency map* shows the experiment's mapping at that step: one cell a page, green where the page is in RAM, grey where it is not; a huge page or a\n\
multi-size folio is one block. It is read with `mincore()` and `/proc/PID/pagemap` right\n\
after the smaps record the claims were checked on. Where a child shares pages with its\n\
parent, a figure shows both and the physical frames behind their pages.\n\n\
## The machine this book was built on\n\n",
    );
    for (label, value) in report::kernel_summary(probe) {
        // The kernel's own strings: markup and mdBook's `{{#…}}` directives stay text.
        let _ = writeln!(out, "- **{label}**: {}", esc(&value).replace('*', "\\*"));
    }
    let total: usize = lessons.iter().map(|(_, p)| p.report.claims.len()).sum();
    let counts = crate::check::Counts::of_all(
        &lessons
            .iter()
            .map(|(_, p)| p.report.clone())
            .collect::<Vec<_>>(),
    );
    let _ = writeln!(
        out,
        "\n{total} claims in {} lessons: {} held, {} failed, {} skipped here.",
        lessons.len(),
        counts.held,
        counts.failed,
        counts.skipped
    );
    out
}

/// Every exercise: its task, its hints folded, its lesson, and how to check it.
pub fn exercises(lessons: &[(&Lesson, &LessonProof)]) -> String {
    let mut out = String::from(
        "# Exercises\n\n\
Each lesson ends with exercises: functions you write in the crate's `src/exercises/`,\n\
checked on the kernel by what it shows after your function ran. Get the crate with\n\
`pagelab handout DIR`; `cargo run` there says what is done and what is next,\n\
`pagelab exercise ID` checks one, `pagelab watch` rechecks on every save.\n\n",
    );
    for (lesson, _) in lessons {
        if lesson.exercises.is_empty() {
            continue;
        }
        let chapter = chapter::file_name(lesson);
        let _ = writeln!(out, "## [{}]({chapter})\n", esc(&lesson.front.title));
        for exercise in &lesson.exercises {
            let place = crate::homework::ALL
                .iter()
                .find(|e| e.id == exercise.id)
                .map(|e| {
                    format!(
                        " Write <code>{}()</code> in <code>{}</code>.",
                        esc(e.function),
                        esc(e.file)
                    )
                })
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "<div class=\"exercise\" id=\"{id}\"><div class=\"exercise-head\"><code>{id}</code></div><p>{}</p>{}<p class=\"how\">{place} Check it with <code>pagelab exercise {id}</code>. Set in <a href=\"{}#exercise-{id}\">{}</a>, line {}.</p></div>\n",
                esc(&exercise.task),
                super::chapter::hints_html(&exercise.hints),
                chapter.replace(".md", ".html"),
                esc(lesson.id()),
                exercise.line,
                id = esc(&exercise.id),
            );
        }
    }
    out
}

/// The Kernels chapter: every configuration, then each lesson's claims × configurations.
pub fn kernels(
    lessons: &[(&Lesson, &LessonProof)],
    columns: &[Configuration],
    matrix: &Matrix,
) -> (String, usize) {
    let mut out = String::from("# Kernels\n\n");
    if columns.len() == 1 {
        out.push_str("Only this machine was checked for this build. The kernel matrix (`just kernels`) and\nother machines write result files; `pagelab book OUT --results FILE…|DIR` shows them all here\nand beside every claim.\n\n");
    } else {
        let _ = writeln!(
            out,
            "The claims were checked in {} configurations: column 1 is the machine that built the book,\nthe others come from result files.\n",
            columns.len()
        );
    }
    let failed = matrix.failed();
    if failed.is_empty() {
        out.push_str("None of them failed.\n\n");
    } else {
        let names: Vec<String> = failed
            .iter()
            .map(|c| format!("{} {}", c.number, c.label))
            .collect();
        let _ = writeln!(
            out,
            "<p class=\"failed-configurations\"><b>{} of them failed</b>: {} (the table's last column says why).</p>\n",
            failed.len(),
            esc(&names.join(", "))
        );
    }
    out.push_str("The counts are of the lessons' claims in every column, this build's too; a file that\nchecked the exercises as well (`pagelab check --exercises`) has them counted apart.\n\n");
    out.push_str("<div class=\"matrix-scroll\">");
    out.push_str(&configuration_table(matrix));
    out.push_str("</div>\n");
    out.push_str(&legend());
    let mut figures = 0;
    for (lesson, proof) in lessons {
        let claims: Vec<&ClaimResult> = proof.report.claims.iter().collect();
        let chapter = chapter::file_name(lesson).replace(".md", ".html");
        let _ = writeln!(out, "## {}\n", esc(&lesson.front.title));
        let svg = figures::matrix(lesson.id(), &chapter, &claims, columns);
        let _ = writeln!(
            out,
            "<figure class=\"matrix\" id=\"matrix-{}\"><div class=\"matrix-scroll\">{svg}</div><figcaption>{} claims of <a href=\"{chapter}\">{}</a> (rows, by line; each links to its claim) in {} (columns).</figcaption></figure>\n",
            lesson.id(),
            claims.len(),
            esc(lesson.id()),
            if columns.len() == 1 {
                "this build's configuration".to_owned()
            } else {
                format!("{} configurations", columns.len())
            }
        );
        figures += 1;
    }
    (out, figures)
}

/// What the squares and cells say: each as it is drawn, glyph and hatching included.
fn legend() -> String {
    let mut out = String::from("\n<p class=\"marks\">");
    for (mark, words) in [
        (Mark::Held, "held"),
        (Mark::Failed, "failed"),
        (Mark::Skipped, "skipped (hover for the reason)"),
        (
            Mark::Unreported,
            "lost: checked, yet not in the file (fails the configuration)",
        ),
        (Mark::Broken, "the configuration never ran (fails it)"),
        (
            Mark::Missing,
            "not checked there (a file of exercises only)",
        ),
    ] {
        let _ = write!(
            out,
            "<span class=\"sq {}\" aria-hidden=\"true\">{}</span> {words} ",
            super::results::mark_class(mark),
            mark.symbol()
        );
    }
    out.push_str("</p>\n\n");
    out
}

fn configuration_table(matrix: &Matrix) -> String {
    let mut out = String::from(
        "<table class=\"configurations\"><thead><tr><th>#</th><th>configuration</th><th>kernel</th><th>arch</th><th>page</th><th>PMD</th><th>THP</th><th>overcommit</th><th>libc</th><th>privileges</th><th>claims held</th><th>claims failed</th><th>claims skipped</th><th>exercises</th><th>result</th></tr></thead><tbody>",
    );
    for (column, c) in matrix.configurations.iter().enumerate() {
        let d = &c.description;
        let tally = Tally::of(matrix, column);
        let claims = if c.broken.is_some() {
            "<td>–</td><td>–</td><td>–</td>".to_owned()
        } else {
            format!(
                "<td>{}</td><td>{}</td><td>{}</td>",
                tally.claims.held, tally.claims.failed, tally.claims.skipped
            )
        };
        let _ = write!(
            out,
            "<tr title=\"{}\" class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>{claims}<td>{}</td><td>{}</td></tr>",
            esc(&c.source),
            result_class(c),
            c.number,
            esc(&c.label),
            esc(&d.kernel),
            esc(&d.arch),
            esc(&d.page),
            esc(&d.pmd),
            esc(&d.thp),
            esc(&d.overcommit),
            esc(&d.libc),
            esc(&d.privileges),
            esc(&tally.exercises_words(c.broken.is_some())),
            result_html(c, &tally)
        );
    }
    out.push_str("</tbody></table>\n");
    out
}

/// One configuration's verdicts from the matrix's rows, claims and exercises apart: a file
/// of `check --exercises` reports both, this build's run only claims, and the matrix's own
/// counts add the two.
struct Tally {
    claims: Counts,
    /// Done, not done, skipped.
    exercises: Counts,
}

impl Tally {
    fn of(matrix: &Matrix, column: usize) -> Tally {
        let mut tally = Tally {
            claims: Counts::default(),
            exercises: Counts::default(),
        };
        for row in &matrix.claims {
            let Some(cell) = row.cells.get(column) else {
                continue;
            };
            let counts = if row.claim.step == "exercise" {
                &mut tally.exercises
            } else {
                &mut tally.claims
            };
            match cell.mark {
                Mark::Held => counts.held += 1,
                Mark::Failed => counts.failed += 1,
                Mark::Skipped => counts.skipped += 1,
                // Lost ones are the result's business: an error of the configuration.
                Mark::Unreported | Mark::Missing | Mark::Broken => {}
            }
        }
        tally
    }

    fn exercises_words(&self, broken: bool) -> String {
        let e = &self.exercises;
        if broken {
            return "–".into();
        }
        if e.total() == 0 {
            return "not checked".into();
        }
        let mut words = vec![format!("{} done", e.held)];
        if e.failed > 0 {
            words.push(format!("{} not done", e.failed));
        }
        if e.skipped > 0 {
            words.push(format!("{} skipped", e.skipped));
        }
        words.join(", ")
    }
}

fn result_class(c: &matrix::Configuration) -> &'static str {
    match (&c.broken, c.failed) {
        (Some(_), _) => "broken",
        (None, true) => "failed",
        (None, false) => "passed",
    }
}

/// A configuration's result as the checker gives it: passed; failed, with its failures and
/// errors; broken, with why and the end of its console.
fn result_html(c: &matrix::Configuration, tally: &Tally) -> String {
    if let Some(broken) = &c.broken {
        let console = if broken.console_tail.trim().is_empty() {
            String::new()
        } else {
            format!(
                "<details><summary>console</summary><pre>{}</pre></details>",
                esc(&broken.console_tail)
            )
        };
        return format!(
            "<b class=\"result broken\">broken</b>: {}{console}",
            esc(&broken.why)
        );
    }
    if !c.failed {
        return "<span class=\"result passed\">passed</span>".into();
    }
    let mut why: Vec<String> = Vec::new();
    if tally.claims.failed > 0 {
        why.push(format!("{} claim(s) failed", tally.claims.failed));
    }
    if tally.exercises.failed > 0 {
        why.push(format!("{} exercise(s) not done", tally.exercises.failed));
    }
    why.extend(c.errors.iter().cloned());
    if why.is_empty() {
        why.push("the checker says so".into());
    }
    format!(
        "<b class=\"result failed\">failed</b>: {}",
        esc(&why.join("; "))
    )
}
