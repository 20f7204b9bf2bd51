//! No claim block is lost to the way markdown reads a line.
//!
//! Whether a ```` ```smaps ```` line opens a fenced code block depends on what surrounds it:
//! four spaces past its list item's text make it an indented code block, a paragraph just
//! above swallows it, an HTML block or a fence left open above takes it in, and a line less
//! indented than the fence cuts a block in a list item short. The loader sees only what
//! pulldown-cmark reports, so such a block would vanish with its claims and every test would
//! stay green. Here the raw lines are scanned on their own, and every fence whose info
//! string names a claim must be one that markdown reads as a fenced code block, ended by its
//! closing fence.

use super::{LineIndex, Problem, names_claim};
use pulldown_cmark::{CodeBlockKind, Event, Tag, TagEnd};
use std::ops::Range;

/// Fails with the first line (in file order) where a claim fence is not read as one.
pub(super) fn check(
    source: &str,
    lines: &LineIndex,
    events: &[(Event, Range<usize>)],
) -> Result<(), Problem> {
    lone_carriage_return(source, lines)?;
    let leaves = leaves(source, lines, events);
    let unclosed = leaves.iter().filter_map(|leaf| match &leaf.made {
        Made::Fenced { run, info } if names_claim(info) && !leaf.closed => {
            Some(unclosed(leaf, *run, info, lines))
        }
        _ => None,
    });
    let unread = raw_fences(source)
        .filter(|fence| names_claim(fence.info))
        .filter_map(|fence| unread(&fence, &leaves, lines));
    match unclosed.chain(unread).min_by_key(|(line, _)| *line) {
        Some(problem) => Err(problem),
        None => Ok(()),
    }
}

/// Markdown ends a line at a carriage return without a line feed, but lines are numbered
/// (and scanned here) by line feeds; and pulldown-cmark then reads a fence after one as
/// paragraph text. Such text is refused rather than read with wrong lines and lost blocks.
fn lone_carriage_return(source: &str, lines: &LineIndex) -> Result<(), Problem> {
    let bytes = source.as_bytes();
    // memchr rather than a look at every byte: this runs on every lesson each time the
    // program starts, and unoptimised (as `cargo test` builds it) the byte loop was a tenth
    // of a start.
    let lone = memchr::memchr_iter(b'\r', bytes).find(|&i| bytes.get(i + 1) != Some(&b'\n'));
    match lone {
        Some(at) => Err((
            lines.line_of(at),
            "a carriage return without a line feed: save the lesson with \\n (or \\r\\n) line endings".into(),
        )),
        None => Ok(()),
    }
}

/// A run of three or more backticks or tildes: what opens or closes a fence.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Run {
    char: u8,
    len: usize,
}

impl Run {
    /// The run `text` starts with, if it is long enough to be a fence.
    fn at(text: &str) -> Option<Run> {
        let char = *text.as_bytes().first()?;
        if char != b'`' && char != b'~' {
            return None;
        }
        let len = text.bytes().take_while(|&b| b == char).count();
        (len >= 3).then_some(Run { char, len })
    }

    /// Whether a block opened by `self` can hold a line opened by `inner` as text without
    /// being closed by `inner`'s own closing fence: a closing fence must use the opening's
    /// character and be at least as long. Such a nesting is an example shown on purpose,
    /// as in the README's ```` ````markdown ```` block.
    fn holds_example_of(self, inner: Run) -> bool {
        self.char != inner.char || self.len > inner.len
    }
}

impl std::fmt::Display for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fence = char::from(self.char).to_string().repeat(self.len);
        f.write_str(&fence)
    }
}

/// The fence and the first word of its info string, as an author would quote it.
fn quoted(run: Run, info: &str) -> String {
    format!("{run}{}", info.split_whitespace().next().unwrap_or(""))
}

/// A fence line as written, found without markdown's help.
struct RawFence<'a> {
    line: usize,
    /// Byte offset of the fence's first character.
    at: usize,
    run: Run,
    info: &'a str,
}

/// Every line that starts with a fence once the marks of the containers it may sit in are
/// taken off: indentation, `>`, list markers.
fn raw_fences(source: &str) -> impl Iterator<Item = RawFence<'_>> {
    let mut start = 0;
    source
        .split_inclusive('\n')
        .enumerate()
        .filter_map(move |(i, line)| {
            let at = start + container_prefix(line);
            start += line.len();
            let rest = &source[at..start];
            let run = Run::at(rest)?;
            Some(RawFence {
                line: i + 1,
                at,
                run,
                info: rest[run.len..].trim(),
            })
        })
}

/// The length of the blanks, `>` and list markers (`-`, `+`, `*`, `1.`, `1)` followed by a
/// blank) at the start of a line. Only ASCII is skipped, so the result is a char boundary.
fn container_prefix(line: &str) -> usize {
    let bytes = line.as_bytes();
    let blank = |at: usize| matches!(bytes.get(at), Some(b' ' | b'\t'));
    let mut at = 0;
    loop {
        while blank(at) {
            at += 1;
        }
        let digits = bytes[at..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        match bytes.get(at) {
            Some(b'>') => at += 1,
            Some(b'-' | b'+' | b'*') if blank(at + 1) => at += 2,
            // CommonMark allows at most nine digits in an ordered list marker.
            Some(b'0'..=b'9')
                if digits <= 9
                    && matches!(bytes.get(at + digits), Some(b'.' | b')'))
                    && blank(at + digits + 1) =>
            {
                at += digits + 2;
            }
            _ => return at,
        }
    }
}

/// What markdown made of a stretch of the text.
enum Made {
    Fenced {
        run: Run,
        info: String,
    },
    Indented,
    Html,
    Paragraph,
    /// The text of a tight list item, which markdown puts in no paragraph.
    ItemText,
    Heading,
    FrontMatter,
}

/// The innermost container a block sits in.
#[derive(Clone, Copy)]
enum Container {
    Document,
    ListItem,
    BlockQuote,
}

impl Container {
    fn inside(self) -> &'static str {
        match self {
            Container::Document => "",
            Container::ListItem => " inside a list item",
            Container::BlockQuote => " inside a blockquote",
        }
    }
}

/// A leaf block as markdown read it. Leaf blocks do not nest, so their ranges are disjoint
/// and in file order.
struct Leaf {
    range: Range<usize>,
    made: Made,
    container: Container,
    /// For a fenced block: whether a closing fence ended it, rather than the end of its
    /// container or of the file.
    closed: bool,
}

fn leaves(source: &str, lines: &LineIndex, events: &[(Event, Range<usize>)]) -> Vec<Leaf> {
    let mut containers = Vec::new();
    let mut leaves: Vec<Leaf> = Vec::new();
    let mut in_leaf = false;
    // The end of the text markdown gave the last leaf (None: it has none yet).
    let mut text_end = None;
    for (event, range) in events {
        match event {
            Event::Start(Tag::Item) => containers.push(Container::ListItem),
            Event::Start(Tag::BlockQuote(_)) => containers.push(Container::BlockQuote),
            Event::End(TagEnd::Item | TagEnd::BlockQuote(_)) => {
                containers.pop();
            }
            Event::Start(tag) if !in_leaf => {
                if let Some(made) = made_of(tag, source, range.start) {
                    leaves.push(leaf(range, made, &containers));
                    in_leaf = true;
                    text_end = None;
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some(leaf) = leaves.last_mut() {
                    leaf.closed = ends_at_closing_fence(&leaf.range, text_end, lines);
                }
                in_leaf = false;
            }
            Event::End(
                TagEnd::Paragraph
                | TagEnd::HtmlBlock
                | TagEnd::Heading(_)
                | TagEnd::MetadataBlock(_),
            ) => in_leaf = false,
            Event::Text(_) if in_leaf => text_end = Some(range.end),
            // A tight list item's text comes in no paragraph.
            Event::Text(_)
            | Event::Code(_)
            | Event::InlineHtml(_)
            | Event::SoftBreak
            | Event::HardBreak
                if !in_leaf =>
            {
                extend_item_text(&mut leaves, range, &containers);
            }
            _ => {}
        }
    }
    leaves
}

/// Adds `range` to the text of the list item being read, a leaf of its own.
fn extend_item_text(leaves: &mut Vec<Leaf>, range: &Range<usize>, containers: &[Container]) {
    match leaves.last_mut() {
        Some(last) if matches!(last.made, Made::ItemText) => {
            last.range.end = last.range.end.max(range.end);
        }
        _ => leaves.push(leaf(range, Made::ItemText, containers)),
    }
}

fn leaf(range: &Range<usize>, made: Made, containers: &[Container]) -> Leaf {
    Leaf {
        range: range.clone(),
        made,
        container: containers.last().copied().unwrap_or(Container::Document),
        closed: false,
    }
}

fn made_of(tag: &Tag, source: &str, start: usize) -> Option<Made> {
    Some(match tag {
        Tag::CodeBlock(CodeBlockKind::Fenced(info)) => Made::Fenced {
            // pulldown-cmark starts a fenced block's range at its fence.
            run: Run::at(&source[start..])?,
            info: info.to_string(),
        },
        Tag::CodeBlock(CodeBlockKind::Indented) => Made::Indented,
        Tag::HtmlBlock => Made::Html,
        Tag::Paragraph => Made::Paragraph,
        Tag::Heading { .. } => Made::Heading,
        Tag::MetadataBlock(_) => Made::FrontMatter,
        _ => return None,
    })
}

/// pulldown-cmark reports no closing fence, but a block's range takes it in: the block was
/// closed when its range goes on past the line of its last text (or of its opening fence,
/// when it holds none).
fn ends_at_closing_fence(range: &Range<usize>, text_end: Option<usize>, lines: &LineIndex) -> bool {
    let last_content = text_end.map_or(range.start, |end| end.saturating_sub(1));
    lines.line_of(range.end.saturating_sub(1)) > lines.line_of(last_content)
}

/// The problem with a claim block (fenced by `run`, with `info`) that no closing fence ends.
fn unclosed(leaf: &Leaf, run: Run, info: &str, lines: &LineIndex) -> Problem {
    let block = quoted(run, info);
    let last = lines.line_of(leaf.range.end.saturating_sub(1));
    let message = match leaf.container {
        Container::Document => format!(
            "the {block} block is never closed: markdown runs it to the end of the file; close it with {run}"
        ),
        Container::ListItem => format!(
            "the {block} block has no closing fence inside its list item: markdown ends the block with the item after line {last}, at a line indented less than the fence; indent every line of the block like its fence, the closing {run} too"
        ),
        Container::BlockQuote => format!(
            "the {block} block has no closing fence inside its blockquote: markdown ends the block with the quote after line {last}; start every line of the block with `>`, the closing {run} too"
        ),
    };
    (lines.line_of(leaf.range.start), message)
}

/// The problem with a claim fence that markdown does not read as the start of a claim
/// block, if it is not an example nested on purpose in a longer fence.
fn unread(fence: &RawFence, leaves: &[Leaf], lines: &LineIndex) -> Option<Problem> {
    let written = quoted(fence.run, fence.info);
    let index = leaves.partition_point(|leaf| leaf.range.start <= fence.at);
    let Some(leaf) = index
        .checked_sub(1)
        .map(|i| &leaves[i])
        .filter(|leaf| fence.at < leaf.range.end)
    else {
        let message = format!("a {written} fence is not read by markdown as a claim block");
        return Some((fence.line, message));
    };
    let opened = lines.line_of(leaf.range.start);
    if let Made::Fenced { run, info } = &leaf.made {
        let read = opened == fence.line && names_claim(info);
        let example = opened != fence.line && leaf.closed && run.holds_example_of(fence.run);
        if read || example {
            return None;
        }
    }
    let (made, fix) = what_markdown_made(fence, leaf, opened);
    let message = format!(
        "a {written} fence{} is read by markdown as {made}, not as a claim block; {fix}",
        leaf.container.inside()
    );
    Some((fence.line, message))
}

/// What markdown made of a claim fence in `leaf` (opened at line `opened`), and the fix.
fn what_markdown_made(fence: &RawFence, leaf: &Leaf, opened: usize) -> (String, String) {
    let indented_fix = match leaf.container {
        Container::Document => "move it to the left margin",
        Container::ListItem => {
            "indent it less than 4 spaces past the text of its list item, or move it to the left margin"
        }
        Container::BlockQuote => "start it less than 4 spaces after the `>`",
    };
    let (made, fix) = match &leaf.made {
        Made::Indented => ("an indented code block".to_owned(), indented_fix.to_owned()),
        Made::Paragraph if fence.run.char == b'`' && fence.info.contains('`') => (
            "inline code in a paragraph".to_owned(),
            "the info string of a ``` fence cannot hold a backtick".to_owned(),
        ),
        Made::Paragraph | Made::Heading => (
            "a line of the paragraph above it".to_owned(),
            format!("leave a blank line before it and {indented_fix}"),
        ),
        Made::ItemText => (
            "a line of the list item's text".to_owned(),
            format!("leave a blank line before it and {indented_fix}"),
        ),
        Made::Html => (
            format!("part of the HTML block that starts at line {opened}"),
            "leave a blank line between the HTML and the fence".to_owned(),
        ),
        Made::FrontMatter => (
            "part of the front matter".to_owned(),
            "end the front matter with `---` before it".to_owned(),
        ),
        Made::Fenced { run, info } if opened == fence.line => (
            format!("a {} code block", quoted(*run, info)),
            "blocks are smaps, maps, outcome or exercise".to_owned(),
        ),
        Made::Fenced { run, .. } if !run.holds_example_of(fence.run) => {
            let longer = Run {
                char: b'`',
                len: fence.run.len + 1,
            };
            (
                format!("a line of the {run} block opened at line {opened}"),
                format!(
                    "close that block before this fence (to show a claim block as an example, fence the example with {longer} or ~~~)"
                ),
            )
        }
        Made::Fenced { run, .. } => (
            format!("a line of the {run} block opened at line {opened}"),
            format!("that block is never closed: close it with {run}"),
        ),
    };
    (made, fix)
}

#[cfg(test)]
mod tests {
    use crate::lesson::Lesson;
    use std::path::Path;

    /// Front matter of four lines and a blank one: a body starts at line 6.
    fn load(body: &str) -> Result<Lesson, String> {
        let source = format!("---\nid: x\ntitle: T\n---\n\n{body}");
        Lesson::parse(Path::new("x.md"), source).map_err(|e| e.to_string())
    }

    /// The line of every block and of every claim in it.
    fn lines_read(body: &str) -> Vec<(usize, Vec<usize>)> {
        let lesson = load(body).unwrap_or_else(|e| panic!("{e}\nin:\n{body}"));
        let lines = |b: &crate::lesson::ClaimBlock| b.claims.iter().map(|c| c.line).collect();
        lesson.blocks.iter().map(|b| (b.line, lines(b))).collect()
    }

    #[test]
    fn a_claim_block_in_a_list_item_is_read_with_its_lines() {
        for (marker, indents) in [("- ", 2..6), ("1. ", 3..7), ("10) ", 4..8)] {
            for indent in indents {
                let pad = " ".repeat(indent);
                let body = format!(
                    "{marker}Before anything touches it:\n\n{pad}```smaps step=mapped\n{pad}Rss: 0 kB\n{pad}Pss: 0 kB\n{pad}```\n"
                );
                assert_eq!(lines_read(&body), [(8, vec![9, 10])], "in:\n{body}");
            }
        }
    }

    #[test]
    fn a_claim_block_on_a_list_marker_or_in_a_blockquote_is_read() {
        let on_marker = "- ```smaps step=mapped\n  Rss: 0 kB\n  ```\n";
        assert_eq!(lines_read(on_marker), [(6, vec![7])]);
        let quoted = "> Before:\n>\n> ```smaps step=mapped\n> Rss: 0 kB\n> ```\n";
        assert_eq!(lines_read(quoted), [(8, vec![9])]);
        let nested = "> - item\n>\n>   ```outcome step=mapped\n>   byte read: 0\n>   ```\n";
        assert_eq!(lines_read(nested), [(8, vec![9])]);
    }

    #[test]
    fn tilde_fences_and_crlf_lines_are_read() {
        assert_eq!(
            lines_read("~~~smaps step=mapped\nRss: 0 kB\n~~~\n"),
            [(6, vec![7])]
        );
        assert_eq!(
            lines_read("```smaps step=mapped\r\nRss: 0 kB\r\n```\r\n"),
            [(6, vec![7])]
        );
    }

    #[test]
    fn a_claim_block_shown_inside_a_longer_fence_is_prose() {
        let example = "```smaps step=mapped\nRss: 1 page\n```\n";
        for (open, close) in [("````markdown", "````"), ("~~~", "~~~"), ("`````", "`````")] {
            let body = format!("{open}\n{example}{close}\n\nAfter.\n");
            assert_eq!(lines_read(&body), [], "in:\n{body}");
        }
    }

    #[test]
    fn other_fences_are_prose_wherever_they_stand() {
        let body = "Text:\n\n    ```c\n    int x;\n    ```\n\n<div>\n```console\n$ ls\n```\n</div>\n\n- item\n      ```text\n      x\n      ```\n";
        assert_eq!(lines_read(body), []);
    }

    #[test]
    fn a_claim_fence_at_the_end_of_an_example_fence_that_it_closes_is_an_error() {
        let body = "```markdown\n```smaps step=mapped\nRss: 0 kB\n```\n```\n";
        let error = load(body).expect_err("an error");
        assert!(error.starts_with("x.md:7: a ```smaps fence"), "{error}");
        assert!(error.contains("block opened at line 6"), "{error}");
    }

    #[test]
    fn an_unclosed_claim_block_is_reported_before_the_prose_it_swallows() {
        let error = load("```smaps step=mapped\nRss: 0 kB\n\n## Next\n").expect_err("an error");
        assert!(
            error.starts_with("x.md:6: the ```smaps block is never closed"),
            "{error}"
        );
    }
}
