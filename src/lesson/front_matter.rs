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

/// Parses the front matter text; errors carry the line within `text` (1-based) if known.
pub fn parse(text: &str) -> Result<FrontMatter, (Option<usize>, String)> {
    let front: FrontMatter = serde_yaml_ng::from_str(text)
        .map_err(|e| (e.location().map(|l| l.line()), e.to_string()))?;
    if front.id.is_empty()
        || !front
            .id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        // The line of the `id:` key, where the YAML has one at the start of a line.
        let id_line = text
            .lines()
            .position(|line| line.starts_with("id:"))
            .map_or(1, |i| i + 1);
        return Err((
            Some(id_line),
            format!(
                "id `{}` must be lowercase letters, digits and dashes",
                front.id
            ),
        ));
    }
    Ok(front)
}
