//! One lesson as a chapter: its markdown as written, with every claim block turned into the
//! excerpt a reader knows plus its proof (the condition in words above it, each line's
//! verdict on this machine and in every configuration given), and the residency figures of
//! the experiment's mapping after each step's first block that applies here.

use super::figures;
use super::html::sentence;
use super::results::{self, Configuration};
use crate::check::{self, ClaimResult, Verdict};
use crate::experiment::StepReport;
use crate::lesson::{BlockKind, ClaimBlock, ExerciseText, Lesson};
use crate::markup::escape as esc;
use crate::matrix::table::Mark;
use crate::memory::residency::{Residency, ResidencyMap};
use crate::proof::{self, LessonProof};
use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag, TagEnd};
use std::collections::BTreeSet;
use std::fmt::Write;
use std::ops::Range;

/// A chapter's markdown, and how many figures it drew.
pub struct Chapter {
    pub markdown: String,
    pub figures: usize,
}

/// The file name of a lesson's chapter: the lesson's own, so links between lessons work.
pub fn file_name(lesson: &Lesson) -> String {
    lesson
        .path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| format!("{}.md", lesson.id()))
}

/// A fenced block of the lesson: where it lies, what its info string says, its lines.
struct Fence {
    range: Range<usize>,
    line: usize,
    info: String,
    body: Vec<(usize, String)>,
}

/// The lesson's front matter and fenced blocks, with byte ranges and line numbers.
fn fences(source: &str) -> (Option<Range<usize>>, Vec<Fence>) {
    let lines = crate::lesson::LineIndex::new(source);
    let line_of = |offset: usize| lines.line_of(offset);
    let mut front = None;
    let mut fences: Vec<Fence> = Vec::new();
    let mut open: Option<Fence> = None;
    let options = Options::ENABLE_YAML_STYLE_METADATA_BLOCKS;
    for (event, range) in Parser::new_ext(source, options).into_offset_iter() {
        match event {
            Event::Start(Tag::MetadataBlock(_)) => front = Some(range),
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                open = Some(Fence {
                    line: line_of(range.start),
                    range,
                    info: info.to_string(),
                    body: Vec::new(),
                });
            }
            Event::Text(text) => {
                if let Some(fence) = open.as_mut() {
                    let first = line_of(range.start);
                    for (i, line) in text.lines().enumerate() {
                        fence.body.push((first + i, line.to_owned()));
                    }
                }
            }
            Event::End(TagEnd::CodeBlock) => fences.extend(open.take()),
            _ => {}
        }
    }
    (front, fences)
}

/// Writes the chapter of `lesson`, checked as `proof` says, beside `columns`.
pub fn chapter(lesson: &Lesson, proof: &LessonProof, columns: &[Configuration]) -> Chapter {
    let source = &lesson.source;
    let (front, fences) = fences(source);
    let mut edits: Vec<(Range<usize>, String)> = Vec::new();
    if let Some(front) = front {
        edits.push((front, String::new()));
    }
    let mut figures = 0;
    for fence in &fences {
        let tag = fence.info.split_whitespace().next().unwrap_or("");
        let html = if let Some(block) = lesson.blocks.iter().find(|b| b.line == fence.line) {
            let mut html = block_html(lesson, proof, block, &fence.body, columns);
            let (figure, n) = figures_after(lesson, proof, block);
            html.push_str(&figure);
            figures += n;
            html
        } else if tag == "exercise" {
            match lesson.exercises.iter().find(|e| e.line == fence.line) {
                Some(exercise) => exercise_html(lesson, exercise),
                None => continue,
            }
        } else {
            continue;
        };
        let line_start = source[..fence.range.start].rfind('\n').map_or(0, |i| i + 1);
        let indent = &source[line_start..fence.range.start];
        let indent = if indent.chars().all(|c| c == ' ' || c == '>') {
            indent
        } else {
            ""
        };
        // An HTML block ends at a blank line: every line of it carries the block's indent.
        let html = html.trim_end().replace('\n', &format!("\n{indent}"));
        edits.push((fence.range.clone(), format!("{html}\n")));
    }
    let mut markdown = String::with_capacity(source.len() * 3);
    let mut at = 0;
    for (range, text) in edits {
        markdown.push_str(&source[at..range.start]);
        markdown.push_str(&text);
        at = range.end;
    }
    markdown.push_str(&source[at..]);
    Chapter { markdown, figures }
}

/// The lesson's first block with a condition, as the chapter shows it: the introduction's
/// example of how to read a claim.
pub fn example_block(
    lesson: &Lesson,
    proof: &LessonProof,
    columns: &[Configuration],
) -> Option<String> {
    let (_, fences) = fences(&lesson.source);
    let block = lesson.blocks.iter().find(|b| !b.when.is_empty())?;
    let fence = fences.iter().find(|f| f.line == block.line)?;
    // Its ids are the chapter's: here they would clash with nothing, but links stay unique.
    let html = block_html(lesson, proof, block, &fence.body, columns)
        .replace(" id=\"l", " id=\"example-l")
        .replace(" id=\"block-", " id=\"example-block-");
    Some(html)
}

/// A claim block as its excerpt, each line with its verdicts, under its condition in words.
fn block_html(
    lesson: &Lesson,
    proof: &LessonProof,
    block: &ClaimBlock,
    body: &[(usize, String)],
    columns: &[Configuration],
) -> String {
    let subject = check::subject_of(lesson, block);
    let title = proof.step_title(&block.step).unwrap_or(&block.step);
    let mut out = format!(
        "<div class=\"claim-block\" id=\"block-{}\" data-step=\"{}\" data-of=\"{}\">\n<div class=\"claim-head\"><span class=\"tag\">{}</span> {} <span class=\"whose\">· {}</span></div>\n",
        block.line,
        esc(&block.step),
        esc(&subject),
        block.kind.tag(),
        esc(title),
        esc(&subject_words(block.kind, &subject)),
    );
    if let Some(words) = proof::where_words(block) {
        let _ = writeln!(
            out,
            "<p class=\"claim-where\">{}:</p>",
            esc(&sentence(&words))
        );
    }
    out.push_str(&branch_html(proof, block));
    out.push_str("<div class=\"claim-lines\">\n");
    for (line, text) in body {
        match proof
            .claim_at(*line)
            .filter(|_| block.claims.iter().any(|c| c.line == *line))
        {
            Some(claim) => out.push_str(&line_html(lesson, claim, text, columns)),
            None => {
                let _ = writeln!(
                    out,
                    "<div class=\"claim-line plain\"><span class=\"verdict none\"></span><code class=\"excerpt\">{}</code></div>",
                    esc(text)
                );
            }
        }
    }
    out.push_str("</div>\n");
    if columns.is_empty() {
        out.push_str("<p class=\"matrix-note\">Checked on this machine only (result files of other kernels would add a square per configuration: see <a href=\"kernels.html\">Kernels</a>).</p>\n");
    } else {
        let _ = writeln!(
            out,
            "<p class=\"matrix-note\">Squares: this claim in {} of the <a href=\"kernels.html\">Kernels</a> chapter, numbered as there (1 is this build, whose verdict leads the line).</p>",
            configurations(columns)
        );
    }
    out.push_str("</div>\n");
    out
}

/// `columns` (the configurations beside this build) by their Kernels chapter numbers:
/// "configuration 2", "configurations 2-35".
fn configurations(columns: &[Configuration]) -> String {
    match (columns.first(), columns.last()) {
        (Some(first), Some(last)) if first.number != last.number => {
            format!("configurations {}–{}", first.number, last.number)
        }
        (Some(only), _) => format!("configuration {}", only.number),
        _ => "no other configuration".into(),
    }
}

fn subject_words(kind: BlockKind, subject: &str) -> String {
    match kind {
        BlockKind::Outcome => "what the step gave".into(),
        BlockKind::Maps => format!("the {subject}'s line in /proc/PID/maps"),
        BlockKind::Smaps => format!("the {subject}'s record in /proc/PID/smaps"),
    }
}

/// Whether this block's branch is this machine's, and why; for any block whose claims all
/// skipped for one reason, that reason (the terminal says it too).
fn branch_html(proof: &LessonProof, block: &ClaimBlock) -> String {
    if let Some((cause, reason)) = proof::common_skip(proof, block) {
        return format!(
            "<p class=\"claim-branch elsewhere\">On this machine: {}</p>\n",
            esc(&proof::skip_words(cause, reason))
        );
    }
    if block.when.is_empty() {
        return String::new();
    }
    let branch = block
        .claims
        .iter()
        .find_map(|c| proof.claim_at(c.line)?.verdict.branch().map(str::to_owned));
    match branch {
        Some(why) => format!(
            "<p class=\"claim-branch here\">On this machine this branch applies: {}</p>\n",
            esc(&why)
        ),
        None => String::new(),
    }
}

/// One claim line: the excerpt, this machine's verdict (hover: what the kernel showed;
/// click: everything), and a square for each configuration.
fn line_html(
    lesson: &Lesson,
    claim: &ClaimResult,
    text: &str,
    columns: &[Configuration],
) -> String {
    let (kind, mark) = match &claim.verdict {
        Verdict::Held { .. } => ("held", "✓ held"),
        Verdict::Failed { .. } => ("failed", "✗ failed"),
        Verdict::Skipped { .. } => ("skipped", "· skipped"),
    };
    let hover = figures::verdict_words(claim);
    let mut squares = String::new();
    let mut elsewhere = String::new();
    for column in columns {
        let (mark, words) = column.cell(lesson.id(), claim.place.line);
        let name = figures::tooltip(&format!("{} {}: {words}", column.number, column.label));
        // Its name for a screen reader and the hover; its glyph for eyes that tell no colours.
        let _ = write!(
            squares,
            "<span class=\"sq {}\" role=\"img\" aria-label=\"{name}\" title=\"{name}\">{}</span>",
            results::mark_class(mark),
            mark.symbol(),
            name = esc(&name),
        );
        if mark != Mark::Held {
            let _ = write!(
                elsewhere,
                "<li>{} {}: {}</li>",
                column.number,
                esc(&column.label),
                esc(&words)
            );
        }
    }
    let mut detail = format!("<div><b>This machine</b>: {}</div>", esc(&hover));
    if let Some(branch) = claim.verdict.branch() {
        let _ = write!(detail, "<div>Branch: {}</div>", esc(branch));
    }
    let _ = write!(
        detail,
        "<div>Claim: {} of the {} at step <code>{}</code>, expected <code>{}</code> ({}:{})</div>",
        esc(&claim.place.field),
        esc(&claim.place.subject),
        esc(&claim.place.step),
        esc(&claim.place.expected),
        esc(&claim.place.file),
        claim.place.line
    );
    if !columns.is_empty() {
        if elsewhere.is_empty() {
            let _ = write!(
                detail,
                "<div>Held in {} too.</div>",
                match columns.len() {
                    1 => configurations(columns),
                    n => format!("all {n} other {}", configurations(columns)),
                }
            );
        } else {
            let _ = write!(detail, "<div>Elsewhere:</div><ul>{elsewhere}</ul>");
        }
    }
    format!(
        "<details class=\"claim-line {kind}\" id=\"l{line}\" data-line=\"{line}\" data-verdict=\"{kind}\"><summary title=\"{}\"><span class=\"verdict {kind}\">{mark}</span><code class=\"excerpt\">{}</code><span class=\"squares\">{squares}</span></summary><div class=\"proof\">{detail}</div></details>\n",
        esc(&figures::tooltip(&hover)),
        esc(text),
        line = claim.place.line,
    )
}

/// The figures of the block's step, where this block is the step's first that applies here
/// (its first, where none does): parent and child frames where several processes map the
/// same few pages, else the subject's residency.
fn figures_after(lesson: &Lesson, proof: &LessonProof, block: &ClaimBlock) -> (String, usize) {
    let title = proof.step_title(&block.step).unwrap_or(&block.step);
    if let Some(views) = frame_views(proof, &block.step) {
        // The step's frames figure, shown once, already shows every view of its pages.
        let step = lesson.blocks.iter().filter(|b| b.step == block.step);
        if proof::figure_block(proof, step).is_none_or(|b| b.line != block.line) {
            return (String::new(), 0);
        }
        let names: Vec<&str> = views.iter().map(|(n, _)| *n).collect();
        let caption = format!("{}, {title}", names.join(" and "));
        let svg = figures::frames(&views, &caption);
        let summary = frames_summary(&views);
        let html = format!(
            "<figure class=\"frames\" id=\"fig-{}-{}-frames\">{svg}<figcaption><b>{}</b>: {}. Read from /proc/PID/pagemap of each process while the book was built.</figcaption></figure>\n",
            lesson.id(),
            block.step,
            esc(&sentence(&caption)),
            esc(&summary)
        );
        return (html, 1);
    }
    if !proof::carries_residency(lesson, proof, block) {
        return (String::new(), 0);
    }
    let subject = check::subject_of(lesson, block);
    match proof.residency(&block.step, &subject) {
        None => (String::new(), 0),
        Some(Residency::Unavailable(why)) => (
            format!(
                "<p class=\"no-figure\">No residency map of the {} {}: {}</p>\n",
                esc(&subject),
                esc(title),
                esc(why)
            ),
            0,
        ),
        Some(Residency::Map(map)) => (residency_figure(lesson, block, &subject, title, map), 1),
    }
}

fn residency_figure(
    lesson: &Lesson,
    block: &ClaimBlock,
    subject: &str,
    title: &str,
    map: &ResidencyMap,
) -> String {
    let id = format!("fig-{}-{}-{subject}", lesson.id(), block.step);
    let caption = format!("The {subject}'s pages, {title}");
    let scale = if map.pages > 8192 {
        " Each cell stands for several pages (hover for how many)."
    } else {
        " One cell a page; a huge page or a multi-size folio is one block."
    };
    format!(
        "<figure class=\"residency\" id=\"{id}\">{}<figcaption><b>{}</b>: {}.{scale} {} Read from {} while the book was built.</figcaption></figure>\n",
        figures::residency(map, &id, &caption),
        esc(&caption),
        esc(&map.summary()),
        figures::legend(map),
        esc(&map.read_from)
    )
}

/// The views of a step that several processes have of the same few pages, each with its map.
fn frame_views<'a>(proof: &'a LessonProof, step: &str) -> Option<Vec<(&'a str, &'a ResidencyMap)>> {
    let (_, StepReport::Observed(observation)) = proof.steps.iter().find(|(s, _)| s.id == step)?
    else {
        return None;
    };
    let views: Vec<(&str, &ResidencyMap)> = observation
        .subjects
        .iter()
        .filter_map(|s| Some((s.name.as_str(), s.residency.as_ref()?.map()?)))
        .collect();
    let pages = views.first()?.1.pages;
    let same_pages = views.iter().all(|(_, m)| m.pages == pages);
    let pids: BTreeSet<i32> = observation
        .subjects
        .iter()
        .map(|s| s.pid.as_raw())
        .collect();
    (views.len() >= 2 && pids.len() >= 2 && same_pages && pages <= 4).then_some(views)
}

fn frames_summary(views: &[(&str, &ResidencyMap)]) -> String {
    let frames: Option<BTreeSet<u64>> = views.iter().map(|(_, m)| m.frame_of(0)).collect();
    match frames {
        Some(frames) if frames.len() == 1 => "one physical frame behind the page in both".into(),
        Some(frames) => format!("{} physical frames behind the one address", frames.len()),
        None => {
            "frame numbers hidden (no CAP_SYS_ADMIN): whether the frame is shared is told by the states pagemap shows, as smaps counts them".into()
        }
    }
}

/// An exercise's hints, folded: a reader opens them when stuck.
pub(super) fn hints_html(hints: &[String]) -> String {
    let mut items = String::new();
    for hint in hints {
        let _ = write!(items, "<li>{}</li>", esc(hint));
    }
    format!(
        "<details><summary>Hints ({})</summary><ol>{items}</ol></details>",
        hints.len()
    )
}

/// An exercise block as a task with its hints folded, and how to check it.
fn exercise_html(lesson: &Lesson, exercise: &ExerciseText) -> String {
    // The catalog refuses an exercise block that the registry lacks, so this is its test.
    let test = crate::homework::find(&exercise.id).map_or_else(String::new, |e| {
        format!(" (or <code>{}</code>)", esc(&e.test_command()))
    });
    format!(
        "<div class=\"exercise\" id=\"exercise-{id}\"><div class=\"exercise-head\">Exercise <code>{id}</code></div><p>{}</p>{}<p class=\"how\">Check it: <code>pagelab exercise {id}</code>{test}; all exercises: <a href=\"exercises.html#{id}\">Exercises</a>. Lesson <code>{}</code>, line {}.</p></div>\n",
        esc(&exercise.task),
        hints_html(&exercise.hints),
        esc(lesson.id()),
        exercise.line,
        id = esc(&exercise.id),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{ClaimPlace, LessonReport, SkipCause};
    use std::path::Path;

    /// An exercise's box names the command that runs its test alone: `--exact` where
    /// another test's name begins with its own (`exercise_give_back_lazily`).
    #[test]
    fn an_exercise_is_checked_by_its_registry_test_command() {
        let catalog = crate::catalog::Catalog::embedded().expect("the built-in lessons load");
        let lesson = catalog.find("giving-memory-back").expect("the lesson");
        let shown = |id: &str| {
            let text = lesson.exercises.iter().find(|t| t.id == id).expect(id);
            exercise_html(lesson, text)
        };
        assert!(
            shown("give-back").contains("<code>cargo test exercise_give_back -- --exact</code>"),
            "{}",
            shown("give-back")
        );
        assert!(
            shown("give-back-lazily").contains("<code>cargo test exercise_give_back_lazily</code>"),
            "{}",
            shown("give-back-lazily")
        );
    }

    /// A lesson of `body` (its first line is line 6), with no experiment run: each claim's
    /// verdict is `verdict(line)`.
    fn written(body: &str, verdict: impl Fn(usize) -> Verdict) -> (Lesson, LessonProof) {
        let source = format!("---\nid: x\ntitle: T\n---\n\n{body}");
        let lesson = Lesson::parse(Path::new("lessons/x.md"), source).unwrap();
        let claims = lesson
            .blocks
            .iter()
            .flat_map(|b| b.claims.iter().map(move |c| (b, c)))
            .map(|(block, claim)| ClaimResult {
                place: ClaimPlace {
                    lesson: "x".into(),
                    file: "lessons/x.md".into(),
                    line: claim.line,
                    step: block.step.clone(),
                    subject: "mapping".into(),
                    field: claim.target().to_owned(),
                    expected: claim.written.clone(),
                },
                verdict: verdict(claim.line),
            })
            .collect();
        let report = LessonReport {
            id: "x".into(),
            title: "T".into(),
            file: "lessons/x.md".into(),
            claims,
            error: None,
            core_problems: Vec::new(),
        };
        let proof = LessonProof {
            report,
            steps: Vec::new(),
        };
        (lesson, proof)
    }

    fn skipped(reason: &str) -> Verdict {
        Verdict::Skipped {
            cause: SkipCause::NotPrinted,
            reason: reason.into(),
        }
    }

    #[test]
    fn a_block_without_a_condition_says_why_all_its_claims_skipped() {
        let body = "```smaps step=mapped of=mapping\nProtectionKey: 0\nRss: 0 kB\n```\n";
        let (lesson, proof) = written(body, |_| skipped("this kernel does not print it"));
        let html = chapter(&lesson, &proof, &[]).markdown;
        assert!(
            html.contains("<p class=\"claim-branch elsewhere\">On this machine: skipped here: this kernel does not print it</p>"),
            "{html}"
        );
        // Claims skipped for reasons of their own say them each, not once for the block.
        let (lesson, proof) = written(body, |line| skipped(&format!("reason {line}")));
        let html = chapter(&lesson, &proof, &[]).markdown;
        assert!(!html.contains("claim-branch"), "{html}");
    }

    #[test]
    fn a_long_reason_is_whole_in_the_detail_and_cut_at_a_word_in_the_hover() {
        let reason = "the kernel does not print ProtectionKey: ".to_owned()
            + &"it appears only where the CPU and the kernel support memory protection keys; "
                .repeat(5)
            + "the end";
        let body = "```smaps step=mapped of=mapping\nProtectionKey: 0\n```\n";
        let (lesson, proof) = written(body, |_| skipped(&reason));
        let html = chapter(&lesson, &proof, &[]).markdown;
        let detail = format!("<b>This machine</b>: skipped: {}</div>", esc(&reason));
        assert!(html.contains(&detail), "{html}");
        let hover = html.split("<summary title=\"").nth(1).unwrap();
        let hover = &hover[..hover.find('"').unwrap()];
        let cut = hover.strip_suffix('…').expect(hover);
        assert!(hover.chars().count() <= 240, "{hover}");
        let whole = esc(&format!("skipped: {reason}"));
        assert!(
            whole.starts_with(cut) && whole[cut.len()..].starts_with(' '),
            "cut mid-word: {hover}"
        );
    }
}
