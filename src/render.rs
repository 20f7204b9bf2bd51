//! `pagelab show`: a lesson's markdown rendered for a terminal. Claim blocks are labelled
//! with the step they belong to, so a reader sees which excerpts the tests check.

use crate::lesson::BlockKind;
use anstyle::{AnsiColor, Style};
use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use std::io::{self, Write};

const HEADING: Style = AnsiColor::Cyan.on_default().bold();
const CODE: Style = AnsiColor::Green.on_default();
const CLAIM: Style = AnsiColor::Magenta.on_default();
const EMPHASIS: Style = Style::new().italic();
const STRONG: Style = Style::new().bold();
const DIM: Style = Style::new().dimmed();

pub fn write_markdown(out: &mut dyn Write, markdown: &str) -> io::Result<()> {
    let mut list_depth: usize = 0;
    let mut in_code = false;
    let mut in_front_matter = false;
    let mut link = None;
    let options = Options::ENABLE_YAML_STYLE_METADATA_BLOCKS | Options::ENABLE_TABLES;
    for event in Parser::new_ext(markdown, options) {
        match event {
            Event::Start(Tag::MetadataBlock(_)) => in_front_matter = true,
            Event::End(TagEnd::MetadataBlock(_)) => in_front_matter = false,
            Event::Start(Tag::Heading { level, .. }) => {
                let marks = match level {
                    HeadingLevel::H1 => "",
                    HeadingLevel::H2 => "## ",
                    _ => "### ",
                };
                write!(out, "\n{HEADING}{marks}")?;
            }
            Event::End(TagEnd::Heading(_)) => writeln!(out, "{HEADING:#}\n")?,
            Event::Start(Tag::Paragraph) => {}
            Event::End(TagEnd::Paragraph) => writeln!(out, "\n")?,
            Event::Start(Tag::List(_)) => list_depth += 1,
            Event::End(TagEnd::List(_)) => {
                list_depth = list_depth.saturating_sub(1);
                if list_depth == 0 {
                    writeln!(out)?;
                }
            }
            Event::Start(Tag::Item) => {
                write!(out, "{}• ", "  ".repeat(list_depth.saturating_sub(1)))?
            }
            Event::End(TagEnd::Item) => writeln!(out)?,
            Event::Start(Tag::Emphasis) => write!(out, "{EMPHASIS}")?,
            Event::End(TagEnd::Emphasis) => write!(out, "{EMPHASIS:#}")?,
            Event::Start(Tag::Strong) => write!(out, "{STRONG}")?,
            Event::End(TagEnd::Strong) => write!(out, "{STRONG:#}")?,
            Event::Start(Tag::CodeBlock(kind)) => {
                in_code = true;
                if let CodeBlockKind::Fenced(info) = kind {
                    let mut words = info.split_whitespace();
                    if let Some(tag) = words.next().filter(|t| BlockKind::from_tag(t).is_some()) {
                        let attributes: Vec<&str> = words.collect();
                        writeln!(
                            out,
                            "{CLAIM}  ┌ claim ({tag}) {}{CLAIM:#}",
                            attributes.join(" ")
                        )?;
                    }
                }
            }
            Event::End(TagEnd::CodeBlock) => {
                in_code = false;
                writeln!(out)?;
            }
            Event::Start(Tag::Link { dest_url, .. }) => link = Some(dest_url),
            Event::End(TagEnd::Link) => {
                if let Some(url) = link.take() {
                    write!(out, " {DIM}<{url}>{DIM:#}")?;
                }
            }
            Event::Text(text) if in_front_matter => {
                for line in text.lines().filter(|l| l.starts_with("title:")) {
                    writeln!(out, "{DIM}{line}{DIM:#}")?;
                }
            }
            Event::Text(text) if in_code => {
                for line in text.lines() {
                    writeln!(out, "  {CODE}│ {line}{CODE:#}")?;
                }
            }
            Event::Text(text) => write!(out, "{text}")?,
            Event::Code(code) => write!(out, "{CODE}{code}{CODE:#}")?,
            Event::SoftBreak => write!(out, " ")?,
            Event::HardBreak => writeln!(out)?,
            Event::Rule => writeln!(out, "{DIM}{}{DIM:#}", "─".repeat(60))?,
            _ => {}
        }
    }
    Ok(())
}
