//! Claim blocks: fenced blocks whose info string carries `step=` (and optionally `of=`,
//! `when=`). Their body reads like what the kernel prints; every line in it is one claim.

use super::value::{self, FieldExpected, MapsPattern, OutcomeExpected};
use crate::condition::Condition;
use crate::kernel::SmapsField;
use crate::kernel::smaps_fields::FieldKind;

/// What a block shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockKind {
    /// An smaps excerpt: optional maps header line, then `Field: value` lines.
    Smaps,
    /// One /proc/PID/maps line.
    Maps,
    /// `key: value` results that are not smaps fields (a value read back, an errno...).
    Outcome,
}

impl BlockKind {
    pub fn from_tag(tag: &str) -> Option<BlockKind> {
        match tag {
            "smaps" => Some(BlockKind::Smaps),
            "maps" => Some(BlockKind::Maps),
            "outcome" => Some(BlockKind::Outcome),
            _ => None,
        }
    }

    pub fn tag(self) -> &'static str {
        match self {
            BlockKind::Smaps => "smaps",
            BlockKind::Maps => "maps",
            BlockKind::Outcome => "outcome",
        }
    }
}

/// What one claim line says: about the subject's maps line, one of its smaps fields, or an
/// outcome of the step, each with the kind of value it can expect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Claimed {
    MapsLine(MapsPattern),
    /// An smaps field (VmFlags included).
    Field {
        field: SmapsField,
        expected: FieldExpected,
    },
    Outcome {
        key: String,
        expected: OutcomeExpected,
    },
}

/// One line of a claim block: one claim.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    /// 1-based line in the lesson file.
    pub line: usize,
    pub claimed: Claimed,
    /// The value as the lesson wrote it, for reports.
    pub written: String,
}

impl Claim {
    /// What the claim is about, as reports name it: `maps line`, the field or the outcome.
    pub fn target(&self) -> &str {
        match &self.claimed {
            Claimed::MapsLine(_) => "maps line",
            Claimed::Field { field, .. } => field.name(),
            Claimed::Outcome { key, .. } => key,
        }
    }

    /// Whether the lesson left its value to be written by `pagelab check --bless` (`?`).
    pub fn is_unwritten(&self) -> bool {
        matches!(
            self.claimed,
            Claimed::Field {
                expected: FieldExpected::Unwritten(_),
                ..
            } | Claimed::Outcome {
                expected: OutcomeExpected::Unwritten,
                ..
            }
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimBlock {
    pub kind: BlockKind,
    /// Line of the opening fence.
    pub line: usize,
    pub step: String,
    /// Whose view (`of=`); `None` means the experiment's first subject.
    pub of: Option<String>,
    /// All must apply for the block to be checked.
    pub when: Vec<Condition>,
    /// The heart of the lesson (`core`): it must be decided on every kernel, not skipped.
    pub core: bool,
    pub claims: Vec<Claim>,
}

/// The attributes of a claim block's info string (after the tag).
pub struct Attributes {
    pub step: String,
    pub of: Option<String>,
    pub when: Vec<Condition>,
    pub core: bool,
}

/// Parses `step=... of=... when=a,b core`. Errors name the offending attribute.
pub fn parse_attributes(words: &[&str]) -> Result<Attributes, String> {
    let (mut step, mut of, mut when, mut core) = (None, None, Vec::new(), false);
    for word in words {
        if *word == "core" {
            if core {
                return Err("attribute `core` given twice".into());
            }
            core = true;
            continue;
        }
        let (key, value) = word.split_once('=').ok_or_else(|| {
            format!("`{word}` is not an attribute: claim blocks take step=, of=, when= and core")
        })?;
        if value.is_empty() {
            return Err(format!("attribute `{key}=` has no value"));
        }
        let duplicate = match key {
            "step" => step.replace(value.to_owned()).is_some(),
            "of" => of.replace(value.to_owned()).is_some(),
            "when" => {
                for name in value.split(',') {
                    let condition = name.parse::<Condition>()?;
                    if let Some(earlier) = when
                        .iter()
                        .find(|&&c: &&Condition| c == condition || c.excludes(condition))
                    {
                        return Err(if *earlier == condition {
                            format!("condition `{condition}` is given twice in when=")
                        } else {
                            format!(
                                "conditions `{earlier}` and `{condition}` exclude each other: no kernel takes this branch"
                            )
                        });
                    }
                    when.push(condition);
                }
                false
            }
            other => {
                return Err(format!(
                    "unknown attribute `{other}=`: claim blocks take step=, of=, when= and core"
                ));
            }
        };
        if duplicate {
            return Err(format!("attribute `{key}=` given twice"));
        }
    }
    let step = step.ok_or("claim block has no step= attribute: which step does it show?")?;
    Ok(Attributes {
        step,
        of,
        when,
        core,
    })
}

/// Parses one body line of a block. `Ok(None)` for lines that claim nothing (blank, `...`).
pub fn parse_line(kind: BlockKind, text: &str, line: usize) -> Result<Option<Claim>, String> {
    let text = strip_comment(text).trim();
    if text.is_empty() || text == "..." {
        return Ok(None);
    }
    // Column alignment is for the eye; reports show values with single spaces.
    let single_spaced = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    let claim = |claimed, written: &str| {
        Ok(Some(Claim {
            line,
            claimed,
            written: single_spaced(written),
        }))
    };
    if kind != BlockKind::Outcome && value::looks_like_maps_line(text) {
        return claim(Claimed::MapsLine(value::parse_maps_pattern(text)?), text);
    }
    if kind == BlockKind::Maps {
        return Err(format!(
            "`{text}` is not a maps line: write `*-* perms offset dev inode [path]`"
        ));
    }
    let (key, raw) = text
        .split_once(':')
        .ok_or_else(|| format!("`{text}` is not a `Field: value` line"))?;
    let (key, raw) = (key.trim(), raw.trim());
    if kind == BlockKind::Outcome {
        let claimed = Claimed::Outcome {
            key: key.to_owned(),
            expected: value::parse_outcome(raw),
        };
        return claim(claimed, raw);
    }
    let field =
        SmapsField::named(key).ok_or_else(|| format!("`{key}` is not a field smaps has"))?;
    let expected = match field.kind() {
        FieldKind::Size => value::parse_size(raw),
        FieldKind::Number => value::parse_number(raw),
        FieldKind::Flags => value::parse_flags(raw),
    }
    .map_err(|e| format!("{key}: {e}"))?;
    let claimed = Claimed::Field { field, expected };
    claim(claimed, raw)
}

/// Drops a trailing `# comment` (as in `Rss: 0 kB   # nothing allocated yet`).
fn strip_comment(text: &str) -> &str {
    match text.find(" #") {
        Some(at) => &text[..at],
        None if text.trim_start().starts_with('#') => "",
        None => text,
    }
}
