//! A lesson's markdown: front matter and claim blocks, each with its file:line.
//!
//! The markdown is the single source of truth for what a lesson claims. Loading is strict,
//! like trycmd: a block that looks like a claim but cannot be understood is an error with
//! file:line, never silently skipped.

pub mod claim;
pub mod exercise;
mod fences;
pub mod front_matter;
pub mod value;

pub use claim::{BlockKind, Claim, ClaimBlock, Claimed};
pub use exercise::ExerciseText;
pub use front_matter::{FrontMatter, Need};

use pulldown_cmark::{CodeBlockKind, Event, MetadataBlockKind, Options, Parser, Tag, TagEnd};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct Lesson {
    pub path: PathBuf,
    pub front: FrontMatter,
    pub blocks: Vec<ClaimBlock>,
    /// The exercises the lesson sets, in order.
    pub exercises: Vec<ExerciseText>,
    /// The markdown as read, for `show`.
    pub source: String,
}

/// Something wrong in a lesson file, at a line; line 0 where it is the file (or the
/// lessons directory) as a whole: it cannot be read, is too large or is misnamed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct LessonError {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for LessonError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // No line is not line 0: `file:0:` would send an editor to a line that is not there.
        match self.line {
            0 => write!(f, "{}: {}", self.file.display(), self.message),
            line => write!(f, "{}:{line}: {}", self.file.display(), self.message),
        }
    }
}

/// Lessons larger than this are refused before parsing: no lesson is anywhere near it.
const MAX_LESSON_BYTES: usize = 1 << 20;

impl Lesson {
    /// The line of its front matter's `id:`, where errors about the id point (the front
    /// matter's first line, 2, where it is not found there).
    pub fn id_line(&self) -> usize {
        let front = self
            .source
            .lines()
            .skip(1)
            .take_while(|line| *line != "---");
        front_matter::id_line(front, 2)
    }

    pub fn load(path: &Path) -> Result<Lesson, LessonError> {
        let error = |line, message: String| LessonError {
            file: path.to_owned(),
            line,
            message,
        };
        let bytes = std::fs::read(path).map_err(|e| error(0, format!("cannot read: {e}")))?;
        if bytes.len() > MAX_LESSON_BYTES {
            return Err(error(
                0,
                format!(
                    "{} bytes is too large for a lesson (limit {MAX_LESSON_BYTES})",
                    bytes.len()
                ),
            ));
        }
        let source = String::from_utf8(bytes).map_err(|e| {
            let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
                .iter()
                .filter(|b| **b == b'\n')
                .count();
            error(line, "not UTF-8 text".into())
        })?;
        Lesson::parse(path, source)
    }

    /// Parses lesson markdown; `path` is only used in errors.
    pub fn parse(path: &Path, source: String) -> Result<Lesson, LessonError> {
        let error = |(line, message)| LessonError {
            file: path.to_owned(),
            line,
            message,
        };
        let lines = LineIndex::new(&source);
        let options = Options::ENABLE_YAML_STYLE_METADATA_BLOCKS;
        let events: Vec<_> = Parser::new_ext(&source, options)
            .into_offset_iter()
            .collect();
        fences::check(&source, &lines, &events).map_err(error)?;
        let mut reader = Reader::default();
        for (event, range) in events {
            // Most events are prose, which needs no line number: it is looked up (a binary
            // search of every line start) only for what asks.
            reader
                .event(event, || lines.line_of(range.start))
                .map_err(error)?;
        }
        let Reader {
            front,
            blocks,
            exercises,
            ..
        } = reader;
        let front = front.ok_or_else(|| {
            error((
                1,
                "no front matter: a lesson starts with `---`, id:, title:, `---`".into(),
            ))
        })?;
        Ok(Lesson {
            path: path.to_owned(),
            front,
            blocks,
            exercises,
            source,
        })
    }

    pub fn id(&self) -> &str {
        &self.front.id
    }

    pub fn claim_count(&self) -> usize {
        self.blocks.iter().map(|b| b.claims.len()).sum()
    }
}

/// A problem at a 1-based line of the lesson, before it is given the file's path.
type Problem = (usize, String);

/// What the loader has read so far, fed one markdown event at a time.
#[derive(Default)]
struct Reader {
    front: Option<FrontMatter>,
    blocks: Vec<ClaimBlock>,
    exercises: Vec<ExerciseText>,
    open: Option<Open>,
}

impl Reader {
    /// Takes one event that starts at line `line()`.
    fn event(&mut self, event: Event, line: impl Fn() -> usize) -> Result<(), Problem> {
        match event {
            Event::Start(Tag::MetadataBlock(MetadataBlockKind::YamlStyle)) => {
                let line = line();
                // Markdown takes a `---` block anywhere for metadata; read past the top, it
                // would replace the lesson's front matter without a word.
                if line != 1 || self.front.is_some() {
                    return Err((
                        line,
                        "a second front matter block: only the one at the top of the file \
                         is front matter (for a horizontal rule, write `***`)"
                            .into(),
                    ));
                }
                self.open = Some(Open::FrontMatter {
                    // The YAML starts on the line after the opening `---`.
                    first: line + 1,
                    text: String::new(),
                });
            }
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                self.open_fence(&info, line())?;
            }
            Event::Text(text) => self.text(&text, line)?,
            Event::End(TagEnd::MetadataBlock(_)) => self.end_front_matter()?,
            Event::End(TagEnd::CodeBlock) => self.end_code_block()?,
            _ => {}
        }
        Ok(())
    }

    fn open_fence(&mut self, info: &str, line: usize) -> Result<(), Problem> {
        self.open = match open_block(info).map_err(|m| (line, m))? {
            Some(Fence::Claims(kind, attributes)) => Some(Open::Claims {
                line,
                kind,
                attributes,
                claims: Vec::new(),
            }),
            Some(Fence::Exercise(id)) => {
                if let Some(other) = self.exercises.iter().find(|e| e.id == id) {
                    return Err((
                        line,
                        format!("exercise `{id}` is already set at line {}", other.line),
                    ));
                }
                Some(Open::Exercise(ExerciseText {
                    id,
                    line,
                    task: String::new(),
                    hints: Vec::new(),
                    hint_lines: Vec::new(),
                }))
            }
            None => None,
        };
        Ok(())
    }

    /// Text whose first line is `first()`, inside whatever is open.
    fn text(&mut self, text: &str, first: impl Fn() -> usize) -> Result<(), Problem> {
        match &mut self.open {
            Some(Open::FrontMatter { text: yaml, .. }) => yaml.push_str(text),
            Some(Open::Claims { kind, claims, .. }) => {
                let first = first();
                for (i, text_line) in text.lines().enumerate() {
                    if let Some(c) = claim::parse_line(*kind, text_line, first + i)
                        .map_err(|m| (first + i, m))?
                    {
                        claims.push(c);
                    }
                }
            }
            Some(Open::Exercise(exercise)) => {
                let first = first();
                for (i, text_line) in text.lines().enumerate() {
                    exercise::add_line(exercise, text_line, first + i)
                        .map_err(|m| (first + i, m))?;
                }
            }
            None => {}
        }
        Ok(())
    }

    fn end_front_matter(&mut self) -> Result<(), Problem> {
        if let Some(Open::FrontMatter { first, text }) = self.open.take() {
            let front = front_matter::parse(&text, first)?;
            self.front = Some(front);
        }
        Ok(())
    }

    fn end_code_block(&mut self) -> Result<(), Problem> {
        match self.open.take() {
            Some(Open::Exercise(done)) => {
                exercise::finish(&done).map_err(|m| (done.line, m))?;
                self.exercises.push(done);
            }
            Some(Open::Claims {
                line,
                kind,
                attributes,
                claims,
            }) => {
                if claims.is_empty() {
                    return Err((line, "claim block claims nothing".into()));
                }
                if kind == BlockKind::Maps && claims.len() > 1 {
                    return Err((
                        line,
                        "a maps block holds one line: the subject's mapping".into(),
                    ));
                }
                self.blocks.push(ClaimBlock {
                    kind,
                    line,
                    step: attributes.step,
                    of: attributes.of,
                    when: attributes.when,
                    core: attributes.core,
                    claims,
                });
            }
            // A code block cannot end inside front matter; nothing else is open.
            other => self.open = other,
        }
        Ok(())
    }
}

enum Open {
    FrontMatter {
        first: usize,
        text: String,
    },
    Claims {
        line: usize,
        kind: BlockKind,
        attributes: claim::Attributes,
        claims: Vec<Claim>,
    },
    Exercise(ExerciseText),
}

/// What a fenced block's info string opens.
enum Fence {
    Claims(BlockKind, claim::Attributes),
    Exercise(String),
}

/// Whether a fence's info string opens a claim or exercise block, or means to (a tag with
/// attributes). The loader reads every such fenced block, and the raw-line scan in `fences`
/// asks the same question, so that the two agree on what a claim fence is.
fn names_claim(info: &str) -> bool {
    let mut words = info.split_whitespace();
    let Some(tag) = words.next() else {
        return false;
    };
    tag == "exercise" || BlockKind::from_tag(tag).is_some() || words.any(|w| w.contains('='))
}

/// Decides from a fence's info string whether it opens a claim or exercise block. A block
/// with attributes must be one of those; they must have attributes. Other fenced blocks
/// (```c, ```console) are prose.
fn open_block(info: &str) -> Result<Option<Fence>, String> {
    if !names_claim(info) {
        return Ok(None);
    }
    let words: Vec<&str> = info.split_whitespace().collect();
    let Some((tag, attributes)) = words.split_first() else {
        return Ok(None);
    };
    if *tag == "exercise" {
        return exercise::parse_id(attributes).map(|id| Some(Fence::Exercise(id)));
    }
    match BlockKind::from_tag(tag) {
        Some(kind) => Ok(Some(Fence::Claims(
            kind,
            claim::parse_attributes(attributes)?,
        ))),
        None => Err(format!(
            "unknown tag `{tag}` on a block with attributes: blocks are smaps, maps, outcome or exercise"
        )),
    }
}

/// Byte offset to 1-based line number.
pub(crate) struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> LineIndex {
        // memchr: `match_indices` goes through the generic pattern searcher, which is slow
        // where `cargo test` leaves it unoptimised, and every start of the program runs this.
        let starts = std::iter::once(0)
            .chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1))
            .collect();
        LineIndex { starts }
    }

    pub(crate) fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset)
    }
}
