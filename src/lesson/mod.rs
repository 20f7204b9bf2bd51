//! A lesson's markdown: front matter and claim blocks, each with its file:line.
//!
//! The markdown is the single source of truth for what a lesson claims. Loading is strict,
//! like trycmd: a block that looks like a claim but cannot be understood is an error with
//! file:line, never silently skipped.

pub mod claim;
pub mod front_matter;
pub mod value;

pub use claim::{BlockKind, Claim, ClaimBlock, Expectation, Target};
pub use front_matter::{FrontMatter, Need};

use pulldown_cmark::{CodeBlockKind, Event, MetadataBlockKind, Options, Parser, Tag, TagEnd};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug)]
pub struct Lesson {
    pub path: PathBuf,
    pub front: FrontMatter,
    pub blocks: Vec<ClaimBlock>,
    /// The markdown as read, for `show`.
    pub source: String,
}

/// Something wrong in a lesson file, at a line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}:{line}: {message}", file.display())]
pub struct LessonError {
    pub file: PathBuf,
    pub line: usize,
    pub message: String,
}

/// Lessons larger than this are refused before parsing: no lesson is anywhere near it.
const MAX_LESSON_BYTES: usize = 1 << 20;

impl Lesson {
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
        let error = |line, message: String| LessonError {
            file: path.to_owned(),
            line,
            message,
        };
        let lines = LineIndex::new(&source);
        let mut front = None;
        let mut blocks = Vec::new();
        let mut open: Option<Open> = None;
        let options = Options::ENABLE_YAML_STYLE_METADATA_BLOCKS;
        for (event, range) in Parser::new_ext(&source, options).into_offset_iter() {
            match event {
                Event::Start(Tag::MetadataBlock(MetadataBlockKind::YamlStyle)) => {
                    open = Some(Open::FrontMatter {
                        // The YAML starts on the line after the opening `---`.
                        first: lines.line_of(range.start) + 1,
                        text: String::new(),
                    });
                }
                Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(info))) => {
                    let line = lines.line_of(range.start);
                    open =
                        open_block(&info)
                            .map_err(|m| error(line, m))?
                            .map(|attrs| Open::Claims {
                                line,
                                kind: attrs.0,
                                attributes: attrs.1,
                                claims: Vec::new(),
                            });
                }
                Event::Text(text) => match &mut open {
                    Some(Open::FrontMatter { text: yaml, .. }) => yaml.push_str(&text),
                    Some(Open::Claims { kind, claims, .. }) => {
                        let first = lines.line_of(range.start);
                        for (i, text_line) in text.lines().enumerate() {
                            if let Some(c) = claim::parse_line(*kind, text_line, first + i)
                                .map_err(|m| error(first + i, m))?
                            {
                                claims.push(c);
                            }
                        }
                    }
                    None => {}
                },
                Event::End(TagEnd::MetadataBlock(_)) => {
                    if let Some(Open::FrontMatter { first, text }) = open.take() {
                        front =
                            Some(front_matter::parse(&text).map_err(|(at, m)| {
                                error(at.map_or(first, |l| first + l - 1), m)
                            })?);
                    }
                }
                Event::End(TagEnd::CodeBlock) => {
                    if let Some(Open::Claims {
                        line,
                        kind,
                        attributes,
                        claims,
                    }) = open.take()
                    {
                        if claims.is_empty() {
                            return Err(error(line, "claim block claims nothing".into()));
                        }
                        if kind == BlockKind::Maps && claims.len() > 1 {
                            return Err(error(
                                line,
                                "a maps block holds one line: the subject's mapping".into(),
                            ));
                        }
                        blocks.push(ClaimBlock {
                            kind,
                            line,
                            step: attributes.step,
                            of: attributes.of,
                            when: attributes.when,
                            claims,
                        });
                    }
                }
                _ => {}
            }
        }
        let front = front.ok_or_else(|| {
            error(
                1,
                "no front matter: a lesson starts with `---`, id:, title:, `---`".into(),
            )
        })?;
        Ok(Lesson {
            path: path.to_owned(),
            front,
            blocks,
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
}

/// Decides from a fence's info string whether it opens a claim block. A block with
/// attributes must be a claim kind; a claim kind must have attributes. Other fenced blocks
/// (```c, ```console) are prose.
fn open_block(info: &str) -> Result<Option<(BlockKind, claim::Attributes)>, String> {
    let words: Vec<&str> = info.split_whitespace().collect();
    let Some((tag, attributes)) = words.split_first() else {
        return Ok(None);
    };
    match BlockKind::from_tag(tag) {
        Some(kind) => Ok(Some((kind, claim::parse_attributes(attributes)?))),
        None if attributes.iter().any(|w| w.contains('=')) => Err(format!(
            "unknown tag `{tag}` on a block with attributes: claim blocks are smaps, maps or outcome"
        )),
        None => Ok(None),
    }
}

/// Byte offset to 1-based line number.
struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    fn new(text: &str) -> LineIndex {
        let starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        LineIndex { starts }
    }

    fn line_of(&self, offset: usize) -> usize {
        self.starts.partition_point(|&start| start <= offset)
    }
}
