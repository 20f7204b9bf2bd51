//! `pagelab check LESSON --bless`: the author's loop. A new lesson's claims can be written
//! with `?` for the values (`Rss: ? pages`, `THPeligible: ?`, `byte read: ?`); blessing
//! runs the experiment and writes what the kernel showed in their place, in the unit the
//! line asks for, keeping its alignment, wildcards and comments, for the author to review.
//! Like trycmd's overwrite mode, but only ever into a `?`: a line with a value is never
//! rewritten, and nothing is written while any claim with a value fails.
//!
//! A blessed `VmFlags` line ends in `*`: the flags a machine shows beside the ones the lesson
//! means (`sd` with soft-dirty support) vary within one configuration, so the author keeps
//! the ones the lesson is about and the `*`.
//!
//! A `?` in a block whose `when=` branch does not apply here stays `?`: another kernel
//! (another machine, a configuration of the kernel matrix) blesses it.

use crate::check::{LessonReport, Verdict};
use crate::kernel::SmapsField;
use crate::lesson::Lesson;

/// What blessing made of a lesson.
#[derive(Debug, PartialEq, Eq)]
pub struct Blessed {
    /// The lesson's new text.
    pub text: String,
    /// Lines given a value, with the value.
    pub written: Vec<(usize, String)>,
    /// `?` lines left as they are, with why (their branch does not apply here).
    pub left: Vec<(usize, String)>,
}

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum BlessError {
    #[error("the experiment stopped: {0}")]
    Stopped(String),
    /// Claims with a value that fail: the lesson or the kernel is wrong, and blessing would
    /// write values next to claims nobody can trust.
    #[error("{} claim(s) with a value fail, so nothing was written:\n{}", .0.len(), .0.join("\n"))]
    Failing(Vec<String>),
    /// `?` claims whose value cannot be written as the line asks (a size that is no whole
    /// number of its unit).
    #[error("{} `?` claim(s) cannot be written as they stand, so nothing was written:\n{}", .0.len(), .0.join("\n"))]
    Unwritable(Vec<String>),
}

/// The lesson with the kernel's values in its `?` claims, from a report of this lesson.
pub fn bless(lesson: &Lesson, report: &LessonReport) -> Result<Blessed, BlessError> {
    if let Some(error) = &report.error {
        return Err(BlessError::Stopped(error.clone()));
    }
    let unwritten: Vec<usize> = lesson
        .blocks
        .iter()
        .flat_map(|b| &b.claims)
        .filter(|c| c.is_unwritten())
        .map(|c| c.line)
        .collect();
    let (mut failing, mut unwritable) = (Vec::new(), Vec::new());
    let mut values = Vec::new();
    let mut left = Vec::new();
    for claim in &report.claims {
        let is_unwritten = unwritten.contains(&claim.place.line);
        let place = || {
            format!(
                "{}:{}: {} {}",
                claim.place.file, claim.place.line, claim.place.step, claim.place.field
            )
        };
        match &claim.verdict {
            Verdict::Failed {
                observed: Some(value),
                ..
            } if is_unwritten && value.trim().is_empty() => {
                unwritable.push(format!("{}: the kernel showed nothing to write", place()));
            }
            // Flags differ between machines of one configuration (`sd` with soft-dirty
            // support, `ac` with accounting): every lesson lists the ones it means, then `*`.
            Verdict::Failed {
                observed: Some(value),
                ..
            } if is_unwritten && claim.place.field == SmapsField::VmFlags.name() => {
                values.push((claim.place.line, format!("{value} *")));
            }
            Verdict::Failed {
                observed: Some(value),
                ..
            } if is_unwritten => values.push((claim.place.line, value.clone())),
            Verdict::Failed { reason, .. } if is_unwritten => {
                unwritable.push(format!("{}: {reason}", place()));
            }
            Verdict::Skipped { reason, .. } if is_unwritten => {
                left.push((claim.place.line, reason.clone()))
            }
            Verdict::Failed { reason, .. } => {
                failing.push(format!(
                    "{}: expected {}, {reason}",
                    place(),
                    claim.place.expected
                ));
            }
            Verdict::Held { .. } | Verdict::Skipped { .. } => {}
        }
    }
    if !failing.is_empty() {
        return Err(BlessError::Failing(failing));
    }
    if !unwritable.is_empty() {
        return Err(BlessError::Unwritable(unwritable));
    }
    let mut lines: Vec<String> = lesson
        .source
        .split_inclusive('\n')
        .map(str::to_owned)
        .collect();
    for (line, value) in &values {
        let text = &mut lines[line - 1];
        *text = fill(text, value).expect("a `?` claim's line holds a `?` after its colon");
    }
    Ok(Blessed {
        text: lines.concat(),
        written: values,
        left,
    })
}

/// `line` with `value` in place of its `?` value (from the `?` to the value's end; a
/// comment stays), the number ending where the `?` ended as far as the spaces before it
/// allow: lessons align their numbers as smaps does.
pub fn fill(line: &str, value: &str) -> Option<String> {
    let colon = line.find(':')?;
    let (head, rest) = line.split_at(colon + 1);
    let end = rest
        .find(" #")
        .unwrap_or_else(|| rest.trim_end_matches(['\n', '\r']).len());
    let (written, tail) = rest.split_at(end);
    let lead = written.len() - written.trim_start().len();
    let old = written.trim();
    if !old.starts_with('?') {
        return None;
    }
    let trailing = &written[lead + old.len()..];
    let number_width = value.split(' ').next().unwrap_or(value).len();
    let spaces = lead - number_width.saturating_sub(1).min(lead.saturating_sub(1));
    Some(format!(
        "{head}{}{value}{trailing}{tail}",
        " ".repeat(spaces)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_takes_the_place_of_the_question_mark_and_keeps_the_alignment() {
        assert_eq!(
            fill("Size:                  ? kB   # virtual\n", "16384 kB").as_deref(),
            Some("Size:              16384 kB   # virtual\n")
        );
        assert_eq!(
            fill("Rss:                  ? page  # the byte\n", "1 page").as_deref(),
            Some("Rss:                  1 page  # the byte\n")
        );
        assert_eq!(
            fill("Rss: ? pages\n", "16 pages").as_deref(),
            Some("Rss: 16 pages\n")
        );
        assert_eq!(fill("byte read: ?", "0").as_deref(), Some("byte read: 0"));
        assert_eq!(
            fill("THPeligible:    ?\r\n", "1").as_deref(),
            Some("THPeligible:    1\r\n")
        );
        assert_eq!(
            fill("Rss: 4 kB\n", "8 kB"),
            None,
            "a line with a value is never rewritten"
        );
        assert_eq!(fill("*-* rw-p 00000000 00:00 0\n", "x"), None);
    }
}
