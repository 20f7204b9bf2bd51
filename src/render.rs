//! `pagelab show`: a lesson's markdown rendered for a terminal, with its proof. Prose is
//! wrapped to the terminal's width; each claim block says where it applies, in words, and
//! each of its lines carries this kernel's verdict (skip and failure reasons shown); a
//! step's first block that applies here (its first, where none does) is followed by the
//! residency strip of the mapping at that step.

use crate::check::{self, ClaimResult, Verdict};
use crate::lesson::{BlockKind, ClaimBlock, Lesson};
use crate::memory::residency::{Frames, PageState, Residency, ResidencyMap};
use crate::proof::{self, LessonProof};
use anstyle::{AnsiColor, Style};
use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use std::io::{self, Write};

const HEADING: Style = AnsiColor::Cyan.on_default().bold();
const CODE: Style = AnsiColor::Green.on_default();
const CLAIM: Style = AnsiColor::Magenta.on_default();
const EMPHASIS: Style = Style::new().italic();
const STRONG: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();
const PLAIN: Style = Style::new();
const HELD: Style = AnsiColor::Green.on_default();
const FAILED: Style = AnsiColor::Red.on_default().bold();
const SKIPPED: Style = AnsiColor::Yellow.on_default();

/// Cells of a terminal residency strip at most (fewer on a narrow terminal): 16 MiB of
/// 4 kB pages in cells of 64 pages.
pub const STRIP_CELLS: usize = 64;

/// The width to wrap to: the terminal's (TIOCGWINSZ on stdout), else `COLUMNS`, else 80.
pub fn terminal_width() -> usize {
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ only writes a winsize into the struct we pass.
    let rc = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) };
    if rc == 0 && size.ws_col > 0 {
        return usize::from(size.ws_col);
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c >= 20)
        .unwrap_or(80)
}

/// A lesson's markdown without its proof, wrapped to 80 columns.
pub fn write_markdown(out: &mut dyn Write, markdown: &str) -> io::Result<()> {
    Renderer::new(out, 80, None, None).render(markdown)
}

/// A lesson with this kernel's verdicts and residency strips, wrapped to `width`.
pub fn write_lesson(
    out: &mut dyn Write,
    lesson: &Lesson,
    proof: &LessonProof,
    width: usize,
) -> io::Result<()> {
    Renderer::new(out, width, Some(lesson), Some(proof)).render(&lesson.source)
}

/// One residency strip within `width` columns: its label, the map folded into at most
/// [`STRIP_CELLS`] cells of a power of two pages each (fewer cells where the width is
/// narrower), and what it shows, the words wrapped under `indent`.
pub fn write_strip(
    out: &mut dyn Write,
    indent: &str,
    label: &str,
    residency: &Residency,
    width: usize,
) -> io::Result<()> {
    let map = match residency {
        Residency::Map(map) => map,
        Residency::Unavailable(why) => {
            write_wrapped(out, indent, indent, DIM, &format!("{label}:"), width)?;
            let why = format!("no residency map: {why}");
            return write_wrapped(out, indent, indent, DIM, &why, width);
        }
    };
    write_wrapped(out, indent, indent, PLAIN, &format!("{label}:"), width)?;
    // The strip's two edges and the indent take room; a strip of fewer than 8 cells would
    // tell nothing, and stands alone on a line where even that does not fit.
    let room = width.saturating_sub(indent.chars().count() + 2);
    // Pages a cell: a power of two, as a reader counts them.
    let per = map
        .pages
        .div_ceil(room.clamp(8, STRIP_CELLS))
        .next_power_of_two();
    write!(out, "{indent}▕")?;
    for cell in &map.fold_by(per) {
        let (style, glyph) = strip_glyph(cell.state, cell.resident, cell.pages, cell.folio);
        write!(out, "{style}{glyph}{style:#}")?;
    }
    writeln!(out, "▏")?;
    write_wrapped(out, indent, indent, DIM, &strip_caption(map, per), width)
}

/// `text` wrapped to `width` columns: the first line after `first`, the others after `rest`,
/// in `style`. A word longer than a line stands alone.
fn write_wrapped(
    out: &mut dyn Write,
    first: &str,
    rest: &str,
    style: Style,
    text: &str,
    width: usize,
) -> io::Result<()> {
    let pieces = [Piece {
        text: text.to_owned(),
        style,
        breakable: true,
    }];
    let lines = wrap(
        &words(&pieces),
        width,
        first.chars().count(),
        rest.chars().count(),
    );
    for (n, line) in lines.iter().enumerate() {
        let text: Vec<String> = line.iter().map(word_text).collect();
        // The prefix in the text's style: a claim header's `┌` and `│` are the claim's colour.
        let prefix = if n == 0 { first } else { rest };
        writeln!(out, "{style}{prefix}{}{style:#}", text.join(" "))?;
    }
    Ok(())
}

/// What a strip of `per` pages a cell shows, in words.
fn strip_caption(map: &ResidencyMap, per: usize) -> String {
    let scale = if per == 1 {
        "one cell a page".to_owned()
    } else {
        format!("{per} pages a cell")
    };
    let frames = match map.frames {
        // A page or a few: their frame numbers say which are shared (fork, MAP_SHARED).
        Frames::Visible if map.pages <= 4 => {
            let frames: Vec<String> = (0..map.pages)
                .filter_map(|p| map.frame_of(p).map(|f| format!("{f:#x}")))
                .collect();
            if frames.is_empty() {
                String::new()
            } else {
                format!("; frame {}", frames.join(", "))
            }
        }
        _ => String::new(),
    };
    format!(
        "{} ({scale}; █ all resident, ▄ some, · none; from {}{frames})",
        map.summary(),
        map.read_from
    )
}

fn strip_glyph(state: PageState, resident: usize, pages: usize, folio: bool) -> (Style, char) {
    let style = match state {
        _ if folio => AnsiColor::Cyan.on_default().bold(),
        PageState::Own => AnsiColor::Green.on_default(),
        PageState::Shared => AnsiColor::Yellow.on_default(),
        PageState::Zero => AnsiColor::Blue.on_default(),
        PageState::Cached => AnsiColor::Magenta.on_default(),
        PageState::Swapped => AnsiColor::Red.on_default(),
        PageState::Absent => DIM,
    };
    let glyph = match state {
        PageState::Absent => '·',
        PageState::Zero => '0',
        PageState::Cached => 'c',
        PageState::Swapped => 's',
        _ if resident == pages => '█',
        _ => '▄',
    };
    (style, glyph)
}

/// A piece of inline text and how it looks; `breakable` text may wrap at its spaces.
struct Piece {
    text: String,
    style: Style,
    breakable: bool,
}

struct Renderer<'a> {
    out: &'a mut dyn Write,
    width: usize,
    lesson: Option<&'a Lesson>,
    proof: Option<&'a LessonProof>,
    inline: Vec<Piece>,
    styles: Vec<Style>,
    /// Bullet of the next line written, and the indent of the lines after it.
    bullet: Option<String>,
    indents: Vec<String>,
    code: Option<Code<'a>>,
    link: Option<String>,
    in_front_matter: bool,
    table: Option<Table>,
}

/// A markdown table being read. A terminal as narrow as 40 columns has no room for its
/// columns side by side, so each row is written as a record: its first cell, then each other
/// cell under its column's heading.
#[derive(Default)]
struct Table {
    headings: Vec<String>,
    cells: Vec<Vec<Piece>>,
}

/// The fenced block being written: its claim block, if it is one; whether it is an
/// exercise, whose task and hints are prose to wrap, not code.
struct Code<'a> {
    block: Option<&'a ClaimBlock>,
    exercise: bool,
}

impl<'a> Renderer<'a> {
    fn new(
        out: &'a mut dyn Write,
        width: usize,
        lesson: Option<&'a Lesson>,
        proof: Option<&'a LessonProof>,
    ) -> Renderer<'a> {
        Renderer {
            out,
            width: width.max(20),
            lesson,
            proof,
            inline: Vec::new(),
            styles: Vec::new(),
            bullet: None,
            indents: Vec::new(),
            code: None,
            link: None,
            in_front_matter: false,
            table: None,
        }
    }

    fn render(mut self, markdown: &str) -> io::Result<()> {
        let lines = crate::lesson::LineIndex::new(markdown);
        let options = Options::ENABLE_YAML_STYLE_METADATA_BLOCKS | Options::ENABLE_TABLES;
        for (event, range) in Parser::new_ext(markdown, options).into_offset_iter() {
            self.event(event, lines.line_of(range.start))?;
        }
        self.flush()
    }

    fn event(&mut self, event: Event<'_>, line: usize) -> io::Result<()> {
        match event {
            Event::Start(tag) => self.start(tag, line)?,
            Event::End(tag) => self.end(tag)?,
            Event::Text(text) if self.in_front_matter => {
                for title in text.lines().filter(|l| l.starts_with("title:")) {
                    write_wrapped(self.out, "", "  ", DIM, title, self.width)?;
                }
            }
            Event::Text(text) if self.code.is_some() => self.code_text(&text, line)?,
            Event::Text(text) => self.push(&text, true),
            Event::Code(code) => self.push_styled(&code, CODE),
            Event::SoftBreak => self.push(" ", true),
            Event::HardBreak => self.flush()?,
            Event::Rule => {
                self.flush()?;
                let rule = "─".repeat(self.width.min(60));
                writeln!(self.out, "{DIM}{rule}{DIM:#}")?;
            }
            _ => {}
        }
        Ok(())
    }

    fn start(&mut self, tag: Tag<'_>, line: usize) -> io::Result<()> {
        match tag {
            Tag::MetadataBlock(_) => self.in_front_matter = true,
            Tag::Heading { level, .. } => {
                self.flush()?;
                writeln!(self.out)?;
                let marks = match level {
                    HeadingLevel::H1 => "",
                    HeadingLevel::H2 => "## ",
                    _ => "### ",
                };
                self.styles.push(HEADING);
                self.push(marks, false);
            }
            Tag::Paragraph => self.flush()?,
            Tag::Table(_) => {
                self.flush()?;
                self.table = Some(Table::default());
            }
            Tag::List(_) => {
                self.flush()?;
                let depth = self.indents.len();
                self.indents.push("  ".repeat(depth));
            }
            Tag::Item => {
                self.flush()?;
                let depth = self.indents.len().saturating_sub(1);
                self.bullet = Some(format!("{}• ", "  ".repeat(depth)));
                if let Some(indent) = self.indents.last_mut() {
                    *indent = "  ".repeat(depth + 1);
                }
            }
            Tag::Emphasis => self.styles.push(EMPHASIS),
            Tag::Strong => self.styles.push(STRONG),
            Tag::Link { dest_url, .. } => self.link = Some(dest_url.to_string()),
            Tag::CodeBlock(kind) => {
                self.flush()?;
                self.open_code(kind, line)?;
            }
            _ => {}
        }
        Ok(())
    }

    fn end(&mut self, tag: TagEnd) -> io::Result<()> {
        match tag {
            TagEnd::MetadataBlock(_) => self.in_front_matter = false,
            TagEnd::Heading(_) => {
                self.styles.pop();
                self.flush()?;
                writeln!(self.out)?;
            }
            TagEnd::Paragraph => {
                self.flush()?;
                writeln!(self.out)?;
            }
            TagEnd::TableCell => {
                let cell = std::mem::take(&mut self.inline);
                if let Some(table) = &mut self.table {
                    table.cells.push(cell);
                }
            }
            TagEnd::TableHead => {
                if let Some(table) = &mut self.table {
                    let cells = std::mem::take(&mut table.cells);
                    table.headings = cells
                        .iter()
                        .map(|cell| cell.iter().map(|p| p.text.as_str()).collect())
                        .collect();
                }
            }
            TagEnd::TableRow => self.table_row()?,
            TagEnd::Table => {
                self.table = None;
                writeln!(self.out)?;
            }
            TagEnd::List(_) => {
                self.flush()?;
                self.indents.pop();
                if self.indents.is_empty() {
                    writeln!(self.out)?;
                }
            }
            TagEnd::Item => self.flush()?,
            TagEnd::Emphasis | TagEnd::Strong => {
                self.styles.pop();
            }
            TagEnd::Link => {
                if let Some(url) = self.link.take() {
                    self.push(" ", true);
                    self.push_styled(&format!("<{url}>"), DIM);
                }
            }
            TagEnd::CodeBlock => self.close_code()?,
            _ => {}
        }
        Ok(())
    }

    /// A table's row as a record: its first cell after a bullet, then each other cell after
    /// its column's heading, indented under it.
    fn table_row(&mut self) -> io::Result<()> {
        let Some(table) = &mut self.table else {
            return Ok(());
        };
        let cells = std::mem::take(&mut table.cells);
        let headings = table.headings.clone();
        let indent = self.indents.last().cloned().unwrap_or_default();
        let mut cells = cells.into_iter();
        self.bullet = Some(format!("{indent}• "));
        self.indents.push(format!("{indent}  "));
        self.inline = cells.next().unwrap_or_default();
        self.flush()?;
        for (heading, cell) in headings.iter().skip(1).zip(cells) {
            self.bullet = Some(format!("{indent}  "));
            if let Some(last) = self.indents.last_mut() {
                *last = format!("{indent}    ");
            }
            self.inline.push(Piece {
                text: format!("{heading}: "),
                style: EMPHASIS,
                breakable: true,
            });
            self.inline.extend(cell);
            self.flush()?;
        }
        self.indents.pop();
        Ok(())
    }

    fn push(&mut self, text: &str, breakable: bool) {
        let style = self.styles.last().copied().unwrap_or(PLAIN);
        self.inline.push(Piece {
            text: text.to_owned(),
            style,
            breakable,
        });
    }

    fn push_styled(&mut self, text: &str, style: Style) {
        self.inline.push(Piece {
            text: text.to_owned(),
            style,
            breakable: false,
        });
    }

    /// Writes the inline text gathered so far, wrapped to the width under the current indent.
    fn flush(&mut self) -> io::Result<()> {
        if self.inline.is_empty() {
            return Ok(());
        }
        let pieces = std::mem::take(&mut self.inline);
        let indent = self.indents.last().cloned().unwrap_or_default();
        let first = self.bullet.take().unwrap_or_else(|| indent.clone());
        let lines = wrap(
            &words(&pieces),
            self.width,
            first.chars().count(),
            indent.len(),
        );
        for (n, line) in lines.iter().enumerate() {
            write!(self.out, "{}", if n == 0 { &first } else { &indent })?;
            for (k, word) in line.iter().enumerate() {
                if k > 0 {
                    write!(self.out, " ")?;
                }
                for (text, style) in word {
                    write!(self.out, "{style}{text}{style:#}")?;
                }
            }
            writeln!(self.out)?;
        }
        Ok(())
    }

    fn open_code(&mut self, kind: CodeBlockKind<'_>, line: usize) -> io::Result<()> {
        let info = match &kind {
            CodeBlockKind::Fenced(info) => info.to_string(),
            CodeBlockKind::Indented => String::new(),
        };
        let mut words = info.split_whitespace();
        let tag = words.next().unwrap_or("");
        let block = self
            .lesson
            .and_then(|l| l.blocks.iter().find(|b| b.line == line));
        if BlockKind::from_tag(tag).is_some() {
            let attributes: Vec<&str> = words.collect();
            let header = format!("claim ({tag}) {}", attributes.join(" "));
            write_wrapped(self.out, "  ┌ ", "  │   ", CLAIM, &header, self.width)?;
            if let Some(block) = block {
                self.write_where(block)?;
            }
        } else if tag == "exercise" {
            write_wrapped(self.out, "  ┌ ", "  │   ", CLAIM, &info, self.width)?;
        }
        self.code = Some(Code {
            block,
            exercise: tag == "exercise",
        });
        Ok(())
    }

    fn write_where(&mut self, block: &ClaimBlock) -> io::Result<()> {
        let Some(words) = proof::where_words(block) else {
            return Ok(());
        };
        let width = self.width.saturating_sub(4).max(20);
        let pieces = [Piece {
            text: format!("{words}:"),
            style: EMPHASIS,
            breakable: true,
        }];
        for line in wrap(&self::words(&pieces), width, 0, 0) {
            let text: Vec<String> = line.iter().map(word_text).collect();
            writeln!(
                self.out,
                "{CLAIM}  │{CLAIM:#} {EMPHASIS}{}{EMPHASIS:#}",
                text.join(" ")
            )?;
        }
        Ok(())
    }

    fn code_text(&mut self, text: &str, first_line: usize) -> io::Result<()> {
        let claimed = self.code.as_ref().and_then(|c| c.block).is_some();
        if self.code.as_ref().is_some_and(|c| c.exercise) {
            return self.exercise_text(text);
        }
        for (i, line) in text.lines().enumerate() {
            let result = self.proof.and_then(|p| p.claim_at(first_line + i));
            match (claimed, result) {
                (true, Some(claim)) => self.claim_line(line, claim)?,
                (true, None) => {
                    self.write_folded(line, "  │   ", |out, hang, piece| {
                        writeln!(out, "{CLAIM}  │{CLAIM:#}   {DIM}{hang}{piece}{DIM:#}")
                    })?;
                }
                (false, _) => {
                    self.write_folded(line, "  │ ", |out, hang, piece| {
                        writeln!(out, "  {CODE}│ {hang}{piece}{CODE:#}")
                    })?;
                }
            }
        }
        Ok(())
    }

    /// `line` folded to the width after `prefix` (as plain text: the columns it takes), each
    /// piece written by `write` after its hang: none for the first, [`FOLD`] for the rest.
    fn write_folded(
        &mut self,
        line: &str,
        prefix: &str,
        mut write: impl FnMut(&mut dyn Write, &str, &str) -> io::Result<()>,
    ) -> io::Result<()> {
        let room = self.width.saturating_sub(prefix.chars().count());
        for (n, piece) in fold(line, room).iter().enumerate() {
            write(&mut *self.out, if n == 0 { "" } else { FOLD }, piece)?;
        }
        Ok(())
    }

    /// An exercise's lines (`task: …`, `hint: …`) wrapped to the width, each continued under
    /// the text after its key.
    fn exercise_text(&mut self, text: &str) -> io::Result<()> {
        let bar = format!("  {CODE}│{CODE:#} ");
        for line in text.lines() {
            let hang = match line.split_once(": ") {
                Some((key, _)) if !key.contains(char::is_whitespace) => key.chars().count() + 2,
                _ => 0,
            };
            // The bar's escapes take no columns: wrap by the columns of "  │ ".
            let pieces = [Piece {
                text: line.to_owned(),
                style: CODE,
                breakable: true,
            }];
            let lines = wrap(&words(&pieces), self.width, 4, 4 + hang);
            for (n, words) in lines.iter().enumerate() {
                let text: Vec<String> = words.iter().map(word_text).collect();
                let pad = if n == 0 { 0 } else { hang };
                writeln!(
                    self.out,
                    "{bar}{}{CODE}{}{CODE:#}",
                    " ".repeat(pad),
                    text.join(" ")
                )?;
            }
        }
        Ok(())
    }

    fn claim_line(&mut self, line: &str, claim: &ClaimResult) -> io::Result<()> {
        let (style, mark) = verdict_mark(&claim.verdict);
        self.write_folded(line, "  │ ✓ ", |out, hang, piece| {
            // The first piece (the one without a hang) after the claim's mark, the others
            // under it, folded.
            let lead = if hang.is_empty() {
                format!("{style}{mark}{style:#}")
            } else {
                " ".to_owned()
            };
            writeln!(
                out,
                "{CLAIM}  │{CLAIM:#} {lead} {CODE}{hang}{piece}{CODE:#}"
            )
        })?;
        let block = self.code.as_ref().and_then(|c| c.block);
        let common = match (self.proof, block) {
            (Some(proof), Some(block)) => proof::common_skip(proof, block).is_some(),
            _ => false,
        };
        let note = match &claim.verdict {
            Verdict::Held { .. } => None,
            Verdict::Skipped { .. } if common => None,
            Verdict::Skipped { cause, reason } => {
                Some((SKIPPED, proof::skip_words(*cause, reason)))
            }
            Verdict::Failed {
                observed, reason, ..
            } => Some((
                FAILED,
                format!(
                    "FAILED: the kernel shows {}: {reason}",
                    observed.as_deref().unwrap_or("nothing")
                ),
            )),
        };
        if let Some((style, note)) = note {
            self.write_note(style, &note)?;
        }
        Ok(())
    }

    fn write_note(&mut self, style: Style, note: &str) -> io::Result<()> {
        let pieces = [Piece {
            text: note.to_owned(),
            style,
            breakable: true,
        }];
        let width = self.width.saturating_sub(8).max(20);
        for line in wrap(&words(&pieces), width, 0, 0) {
            let text: Vec<String> = line.iter().map(word_text).collect();
            writeln!(
                self.out,
                "{CLAIM}  │{CLAIM:#}     {style}{}{style:#}",
                text.join(" ")
            )?;
        }
        Ok(())
    }

    fn close_code(&mut self) -> io::Result<()> {
        let Some(code) = self.code.take() else {
            return Ok(());
        };
        if let (Some(block), Some(proof), Some(lesson)) = (code.block, self.proof, self.lesson) {
            self.block_footer(lesson, proof, block)?;
        }
        writeln!(self.out)
    }

    /// The block's verdict in one line, then the step's residency strip where it is new.
    fn block_footer(
        &mut self,
        lesson: &Lesson,
        proof: &LessonProof,
        block: &ClaimBlock,
    ) -> io::Result<()> {
        if let Some((cause, reason)) = proof::common_skip(proof, block) {
            self.write_note(SKIPPED, &proof::skip_words(cause, reason))?;
        } else {
            let held = block
                .claims
                .iter()
                .filter(|c| {
                    matches!(
                        proof.claim_at(c.line).map(|r| &r.verdict),
                        Some(Verdict::Held { .. })
                    )
                })
                .count();
            writeln!(
                self.out,
                "{CLAIM}  └{CLAIM:#} {DIM}this kernel: {held} of {} held{DIM:#}",
                block.claims.len()
            )?;
        }
        if !proof::carries_residency(lesson, proof, block) {
            return Ok(());
        }
        let subject = check::subject_of(lesson, block);
        if let Some(residency) = proof.residency(&block.step, &subject) {
            let title = proof.step_title(&block.step).unwrap_or("");
            writeln!(self.out)?;
            write_strip(
                self.out,
                "  ",
                &format!("the {subject}'s pages, {title}"),
                residency,
                self.width,
            )?;
        }
        Ok(())
    }
}

fn verdict_mark(verdict: &Verdict) -> (Style, char) {
    match verdict {
        Verdict::Held { .. } => (HELD, '✓'),
        Verdict::Failed { .. } => (FAILED, '✗'),
        Verdict::Skipped { .. } => (SKIPPED, '·'),
    }
}

/// A word: styled fragments written without a space between them.
type Word = Vec<(String, Style)>;

fn word_text(word: &Word) -> String {
    word.iter().map(|(t, _)| t.as_str()).collect()
}

/// Inline pieces cut into words at the spaces of breakable text; unbreakable pieces (code,
/// links) stay whole, glued to the text around them.
fn words(pieces: &[Piece]) -> Vec<Word> {
    let mut words: Vec<Word> = Vec::new();
    let mut current: Word = Vec::new();
    let add = |word: &mut Word, text: &str, style: Style| match word.last_mut() {
        Some((last, s)) if *s == style => last.push_str(text),
        _ => word.push((text.to_owned(), style)),
    };
    for piece in pieces {
        if !piece.breakable {
            add(&mut current, &piece.text, piece.style);
            continue;
        }
        let mut buf = [0u8; 4];
        for c in piece.text.chars() {
            if c.is_whitespace() {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            } else {
                add(&mut current, c.encode_utf8(&mut buf), piece.style);
            }
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// What a folded code or claim line's continuation starts with, under its first column.
const FOLD: &str = "  ";

/// A code or claim line in pieces of at most `room` columns, the pieces after the first
/// [`FOLD`] columns shorter: cut at a space where there is one in the second half of the
/// room, else anywhere. Code is not reflowed as prose is, but a line wider than the terminal
/// would be folded by it at the screen's edge, under no bar.
fn fold(line: &str, room: usize) -> Vec<&str> {
    let room = room.max(2 * FOLD.len() + 2);
    let mut pieces = Vec::new();
    let mut rest = line;
    let mut width = room;
    while rest.chars().count() > width {
        let cut = rest
            .char_indices()
            .nth(width)
            .map_or(rest.len(), |(i, _)| i);
        let (end, next) = match rest[..cut].rfind(' ') {
            Some(space) if rest[..space].chars().count() > width / 2 => (space, space + 1),
            _ => (cut, cut),
        };
        pieces.push(&rest[..end]);
        rest = &rest[next..];
        width = room - FOLD.len();
    }
    pieces.push(rest);
    pieces
}

/// Greedy wrapping: lines of words within `width` columns, the first line after a prefix of
/// `first` columns, the others after `rest`. A word longer than a line stands alone.
fn wrap(words: &[Word], width: usize, first: usize, rest: usize) -> Vec<Vec<Word>> {
    let mut lines: Vec<Vec<Word>> = Vec::new();
    let mut line: Vec<Word> = Vec::new();
    let mut used = first;
    for word in words {
        let len = word_text(word).chars().count();
        let room = if line.is_empty() { len } else { len + 1 };
        if !line.is_empty() && used + room > width {
            lines.push(std::mem::take(&mut line));
            used = rest;
            line.push(word.clone());
            used += len;
        } else {
            line.push(word.clone());
            used += room;
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(text: &str) -> Vec<Piece> {
        vec![Piece {
            text: text.into(),
            style: PLAIN,
            breakable: true,
        }]
    }

    #[test]
    fn prose_wraps_at_the_width_and_code_spans_stay_whole() {
        let mut pieces = plain("a mapping of ");
        pieces.push(Piece {
            text: "MAP_PRIVATE | MAP_ANONYMOUS".into(),
            style: CODE,
            breakable: false,
        });
        pieces.extend(plain(", written once, costs one page of memory"));
        let lines = wrap(&words(&pieces), 30, 0, 0);
        let texts: Vec<String> = lines
            .iter()
            .map(|l| l.iter().map(word_text).collect::<Vec<_>>().join(" "))
            .collect();
        assert!(texts.iter().all(|t| t.chars().count() <= 30), "{texts:?}");
        assert!(
            texts
                .iter()
                .any(|t| t.contains("MAP_PRIVATE | MAP_ANONYMOUS,")),
            "{texts:?}"
        );
    }

    #[test]
    fn a_long_code_line_is_folded_at_spaces_and_loses_nothing() {
        let line = "char *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);";
        let pieces = fold(line, 30);
        assert!(pieces.len() >= 3, "{pieces:?}");
        assert!(pieces[0].chars().count() <= 30, "{pieces:?}");
        assert!(
            pieces[1..]
                .iter()
                .all(|p| p.chars().count() <= 30 - FOLD.len()),
            "{pieces:?}"
        );
        assert_eq!(pieces.join(" "), line);
        let word = "x".repeat(70);
        let pieces = fold(&word, 30);
        assert_eq!(
            pieces.concat(),
            word,
            "a word without spaces is cut anywhere"
        );
        assert_eq!(fold("short", 30), ["short"]);
    }

    #[test]
    fn a_table_is_written_as_records_under_its_headings() {
        let text = "| | explicit | transparent |\n|---|---|---|\n\
                    | who decides | the program asks | the kernel, by its settings and the VMA |\n";
        let mut out = Vec::new();
        write_markdown(&mut out, text).unwrap();
        let out = String::from_utf8(out).unwrap();
        let plain = anstream::adapter::strip_str(&out).to_string();
        assert!(plain.contains("• who decides\n"), "{plain}");
        assert!(
            plain.contains("\n  explicit: the program asks\n"),
            "{plain}"
        );
        assert!(
            plain.contains("\n  transparent: the kernel, by its settings and the VMA\n"),
            "{plain}"
        );
        assert!(!plain.contains('|'), "{plain}");
    }

    #[test]
    fn a_lesson_without_proof_is_wrapped_to_80_columns() {
        let text = "---\nid: x\ntitle: X\n---\n\n".to_owned()
            + &"word ".repeat(100)
            + "\n\n- an item with a long text that goes on and on and on and on and on and on and on\n";
        let mut out = Vec::new();
        write_markdown(&mut out, &text).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(out.lines().all(|l| l.chars().count() <= 80), "{out}");
        assert!(out.contains("\n• an item"), "{out}");
        assert!(
            out.contains("\n  on"),
            "the item's second line is indented: {out}"
        );
    }
}
