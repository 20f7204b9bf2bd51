//! The YAML front matter at the top of a lesson: a stable id, a title, what it needs.

use crate::names;
use serde::Deserialize;
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrontMatter {
    /// Stable across renumbering: tests, experiments and homework refer to it.
    pub id: String,
    pub title: String,
    /// Kernel features without which none of the lesson's claims can be checked.
    #[serde(default)]
    pub needs: Vec<Need>,
}

/// A kernel feature a lesson can require.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub enum Need {
    /// /sys/kernel/mm/transparent_hugepage exists.
    Thp,
    /// Per-size `hugepages-*kB` controls (6.8+).
    MultiSizeThp,
    /// PR_SET_VMA_ANON_NAME works (CONFIG_ANON_VMA_NAME).
    AnonVmaNames,
    /// Explicit huge pages (CONFIG_HUGETLBFS): `Hugepagesize` in /proc/meminfo.
    Hugetlb,
}

const NEEDS: &[(&str, Need)] = &[
    ("thp", Need::Thp),
    ("multi-size-thp", Need::MultiSizeThp),
    ("anon-vma-names", Need::AnonVmaNames),
    ("hugetlb", Need::Hugetlb),
];

impl FromStr for Need {
    type Err = String;
    fn from_str(s: &str) -> Result<Need, String> {
        names::parse(NEEDS, "need", s)
    }
}

impl TryFrom<String> for Need {
    type Error = String;
    fn try_from(s: String) -> Result<Need, String> {
        s.parse()
    }
}

impl fmt::Display for Need {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(names::name_of(NEEDS, self))
    }
}

/// Parses the front matter text, which starts at the lesson's line `first`; errors carry
/// the lesson's line.
pub fn parse(text: &str, first: usize) -> Result<FrontMatter, (usize, String)> {
    let front: FrontMatter = serde_yaml_ng::from_str(text).map_err(|e| {
        let line = e.location().map_or(first, |at| first + at.line() - 1);
        (line, yaml_message(&e, first))
    })?;
    if front.id.is_empty()
        || !front
            .id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err((
            id_line(text.lines(), first),
            format!(
                "id `{}` must be lowercase letters, digits and dashes",
                front.id
            ),
        ));
    }
    Ok(front)
}

/// The lesson's line of the `id:` key in front matter `lines` that start at its line
/// `first`: where errors about the id point. YAML can write the key other than at the start
/// of a line; then it is `first`.
pub fn id_line<'a>(mut lines: impl Iterator<Item = &'a str>, first: usize) -> usize {
    lines
        .position(|line| line.starts_with("id:"))
        .map_or(first, |i| first + i)
}

/// serde_yaml_ng's message for `error` in the lesson's lines. It counts lines from the
/// front matter's first, which is the lesson's line `first`: the position it ends the
/// problem with is dropped, as the error is reported at that line, and any other (where
/// libyaml's context began: "while scanning a quoted scalar at line 2 column 8") is
/// renumbered, so that no line in the message is the front matter's own.
fn yaml_message(error: &serde_yaml_ng::Error, first: usize) -> String {
    const AT_LINE: &str = " at line ";
    let mut text = error.to_string();
    if let Some(at) = error.location() {
        let suffix = format!("{AT_LINE}{} column {}", at.line(), at.column());
        if let Some(start) = text.find(&suffix) {
            text.replace_range(start..start + suffix.len(), "");
        }
    }
    let mut message = String::with_capacity(text.len());
    let mut rest = text.as_str();
    while let Some(start) = rest.find(AT_LINE) {
        let after = &rest[start + AT_LINE.len()..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        message.push_str(&rest[..start + AT_LINE.len()]);
        match after[..digits].parse::<usize>() {
            Ok(line) => message.push_str(&(first + line.saturating_sub(1)).to_string()),
            Err(_) => message.push_str(&after[..digits]),
        }
        rest = &after[digits..];
    }
    message.push_str(rest);
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The front matter as a lesson holds it, from the lesson's line 2.
    fn error_of(yaml: &str) -> (usize, String) {
        parse(yaml, 2).expect_err("a broken front matter")
    }

    #[test]
    fn an_unknown_key_is_reported_at_its_lesson_line_only() {
        let (line, message) = error_of("id: mmap-anon\ntitle: T\ncolour: red\n");
        assert_eq!(line, 4);
        assert_eq!(
            message,
            "unknown field `colour`, expected one of `id`, `title`, `needs`"
        );
    }

    #[test]
    fn a_second_position_in_the_message_is_the_lessons_line() {
        let (line, message) = error_of("id: mmap-anon\ntitle: \"unclosed\n");
        assert_eq!(line, 4, "{message}");
        assert_eq!(
            message,
            "found unexpected end of stream, while scanning a quoted scalar at line 3 column 8"
        );
    }

    #[test]
    fn a_bad_id_is_reported_at_its_lesson_line() {
        let (line, message) = error_of("title: T\nid: Mmap_Anon\n");
        assert_eq!(line, 3);
        assert!(message.starts_with("id `Mmap_Anon` must be"), "{message}");
    }
}
