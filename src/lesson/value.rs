//! Expected values as a lesson writes them: sizes in kB or in pages, numbers, VmFlags
//! tokens, maps-line patterns, and `*` for values that differ from run to run.

use crate::Bytes;
use crate::kernel::maps::{Device, parse_dec, parse_device, parse_hex};
use std::fmt;

/// A size unit. Pages and huge pages are resolved on the running kernel, so a claim such as
/// `Rss: 1 page` is right whatever the page size is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// A fixed number of bytes per unit.
    Fixed(ByteUnit),
    /// sysconf(_SC_PAGESIZE).
    Page,
    /// `hpage_pmd_size`.
    HugePage,
    /// The default size of explicit huge pages (`Hugepagesize` in /proc/meminfo): the PMD
    /// size on Debian's kernels, 1 GiB where `default_hugepagesz=1G` is booted.
    HugetlbPage,
    /// The folio size predicted for the subject's write fault (multi-size THP).
    Folio,
}

/// B, kB, MB, GB: binary, as smaps prints kB.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ByteUnit {
    B,
    KB,
    MB,
    GB,
}

impl ByteUnit {
    /// Each unit with the name a lesson writes and the kernel prints, smallest first.
    const ALL: [(ByteUnit, &'static str); 4] = [
        (ByteUnit::B, "B"),
        (ByteUnit::KB, "kB"),
        (ByteUnit::MB, "MB"),
        (ByteUnit::GB, "GB"),
    ];

    pub fn bytes(self) -> u64 {
        1 << (10 * self as u32)
    }

    pub fn name(self) -> &'static str {
        ByteUnit::ALL[self as usize].1
    }

    fn named(name: &str) -> Option<ByteUnit> {
        ByteUnit::ALL
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(u, _)| *u)
    }
}

/// `count` units, divided by `divisor` (`1/2 page` for the Pss of a page two processes share).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quantity {
    pub count: u64,
    pub divisor: u64,
    pub unit: Unit,
}

/// The kernel's sizes that page-relative units resolve to.
#[derive(Clone, Copy, Debug)]
pub struct Scale {
    pub page: Bytes,
    pub huge_page: Option<Bytes>,
    pub hugetlb_page: Option<Bytes>,
    pub folio: Option<Bytes>,
}

impl Quantity {
    /// Bytes on this kernel, or why the unit has no meaning here.
    pub fn resolve(&self, scale: &Scale) -> Result<Bytes, String> {
        let per_unit = match self.unit {
            Unit::Fixed(unit) => Bytes(unit.bytes()),
            Unit::Page => scale.page,
            Unit::HugePage => scale
                .huge_page
                .ok_or("this kernel has no transparent huge pages (no hpage_pmd_size)")?,
            Unit::HugetlbPage => scale.hugetlb_page.ok_or(
                "this kernel has no explicit huge pages (no Hugepagesize in /proc/meminfo)",
            )?,
            Unit::Folio => scale
                .folio
                .ok_or("no large folio size is predicted for this mapping's fault")?,
        };
        per_unit
            .0
            .checked_mul(self.count)
            .map(|bytes| Bytes(bytes / self.divisor))
            .ok_or_else(|| {
                format!(
                    "{} {} is more bytes than a u64 holds on this kernel",
                    self.count, self.unit
                )
            })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Cmp {
    pub fn holds<T: Ord>(self, observed: T, expected: T) -> bool {
        match self {
            Cmp::Eq => observed == expected,
            Cmp::Lt => observed < expected,
            Cmp::Le => observed <= expected,
            Cmp::Gt => observed > expected,
            Cmp::Ge => observed >= expected,
        }
    }

    /// Splits a leading comparison operator off `text`.
    fn split(text: &str) -> (Cmp, &str) {
        for (op, cmp) in [
            ("<=", Cmp::Le),
            (">=", Cmp::Ge),
            ("<", Cmp::Lt),
            (">", Cmp::Gt),
        ] {
            if let Some(rest) = text.strip_prefix(op) {
                return (cmp, rest.trim_start());
            }
        }
        (Cmp::Eq, text)
    }
}

/// The value a lesson has not written yet: `?`, which `pagelab check --bless` replaces
/// with what the kernel showed.
pub const UNWRITTEN: &str = "?";

/// What a claim expects of an smaps field: `16384 kB`, `1 page`, `>= 1 huge page`, `0`,
/// VmFlags tokens, or `*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldExpected {
    /// `*`: present, any value (addresses, PIDs, inode numbers).
    Any,
    Size(Cmp, Quantity),
    Number(Cmp, u64),
    /// VmFlags tokens; with a trailing `*`, other tokens may be present too.
    Flags {
        tokens: Vec<String>,
        others_allowed: bool,
    },
    /// `?`, for a size `? kB` or `? pages`: the unit to write the kernel's value in.
    Unwritten(Option<Unit>),
}

/// What a claim expects of an outcome: the value as written, a comparison with a number
/// (`>= 1`, for counts), `*`, or `?`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutcomeExpected {
    Any,
    Is(String),
    Compare(Cmp, u64),
    Unwritten,
}

pub fn parse_outcome(text: &str) -> OutcomeExpected {
    match text {
        "*" => OutcomeExpected::Any,
        UNWRITTEN => OutcomeExpected::Unwritten,
        text => match Cmp::split(text) {
            (cmp, number) if cmp != Cmp::Eq => match number.parse() {
                Ok(n) => OutcomeExpected::Compare(cmp, n),
                Err(_) => OutcomeExpected::Is(text.to_owned()),
            },
            _ => OutcomeExpected::Is(text.to_owned()),
        },
    }
}

/// What a wildcard (`*`) or a bare placeholder (`?`) claims, for fields that are a size or
/// a number; `None` for any other text. A bare `?` of a size is blessed in kB, as smaps
/// prints sizes.
fn wildcard_or_unwritten(text: &str) -> Option<FieldExpected> {
    match text {
        "*" => Some(FieldExpected::Any),
        UNWRITTEN => Some(FieldExpected::Unwritten(None)),
        _ => None,
    }
}

pub fn parse_size(text: &str) -> Result<FieldExpected, String> {
    if let Some(expected) = wildcard_or_unwritten(text) {
        return Ok(expected);
    }
    let (cmp, rest) = Cmp::split(text);
    let (count, unit) = rest.split_once(char::is_whitespace).ok_or_else(|| {
        format!("`{text}` is not a size: write a number and a unit, e.g. `4 kB`, `1 page`, `1 huge page`")
    })?;
    let unit = parse_unit(unit.trim(), text)?;
    if count == UNWRITTEN && cmp == Cmp::Eq {
        return Ok(FieldExpected::Unwritten(Some(unit)));
    }
    let (count, divisor) = parse_count(count).map_err(|bad| match bad {
        BadCount::TooLarge(number) => format!("`{number}` in `{text}` is {TOO_LARGE}"),
        BadCount::NotACount => {
            format!("`{count}` in `{text}` is not a whole number or a fraction like 1/2")
        }
    })?;
    // A fixed unit's bytes are known now: too many for a u64 is the lesson's mistake, said
    // where it is written rather than as a skip on every kernel.
    if let Unit::Fixed(fixed) = unit
        && count.checked_mul(fixed.bytes()).is_none()
    {
        return Err(format!(
            "`{text}` is more bytes than a u64 holds: {TOO_LARGE}"
        ));
    }
    Ok(FieldExpected::Size(
        cmp,
        Quantity {
            count,
            divisor,
            unit,
        },
    ))
}

fn parse_unit(unit: &str, text: &str) -> Result<Unit, String> {
    if let Some(fixed) = ByteUnit::named(unit) {
        return Ok(Unit::Fixed(fixed));
    }
    Ok(match unit {
        "page" | "pages" => Unit::Page,
        "huge page" | "huge pages" => Unit::HugePage,
        "hugetlb page" | "hugetlb pages" => Unit::HugetlbPage,
        "folio" | "folios" => Unit::Folio,
        other => {
            return Err(format!(
                "unknown unit `{other}` in `{text}`: use B, kB, MB, GB, page(s), huge page(s), hugetlb page(s) or folio(s)"
            ));
        }
    })
}

/// Why a claim's number is refused: a number too large to hold is one, told apart so that
/// its author is not told it is no number at all.
#[derive(Debug, PartialEq, Eq)]
enum BadCount {
    /// The digits, which are more than a u64 holds.
    TooLarge(String),
    NotACount,
}

/// What a number too large for a claim is, in its error.
const TOO_LARGE: &str = "too large: a claim's numbers are at most 18446744073709551615 (u64)";

/// A whole number of a claim.
fn parse_whole(digits: &str) -> Result<u64, BadCount> {
    digits
        .parse()
        .map_err(|e: std::num::ParseIntError| match e.kind() {
            std::num::IntErrorKind::PosOverflow => BadCount::TooLarge(digits.to_owned()),
            _ => BadCount::NotACount,
        })
}

/// `3` or `1/2`; the divisor is never 0.
fn parse_count(text: &str) -> Result<(u64, u64), BadCount> {
    match text.split_once('/') {
        None => Ok((parse_whole(text)?, 1)),
        Some((count, divisor)) => {
            let count = parse_whole(count)?;
            match parse_whole(divisor)? {
                0 => Err(BadCount::NotACount),
                divisor => Ok((count, divisor)),
            }
        }
    }
}

pub fn parse_number(text: &str) -> Result<FieldExpected, String> {
    if let Some(expected) = wildcard_or_unwritten(text) {
        return Ok(expected);
    }
    let (cmp, rest) = Cmp::split(text);
    parse_whole(rest)
        .map(|n| FieldExpected::Number(cmp, n))
        .map_err(|bad| match bad {
            BadCount::TooLarge(number) => format!("`{number}` in `{text}` is {TOO_LARGE}"),
            BadCount::NotACount => format!("`{text}` is not a number (this field has no unit)"),
        })
}

pub fn parse_flags(text: &str) -> Result<FieldExpected, String> {
    if text == UNWRITTEN {
        return Ok(FieldExpected::Unwritten(None));
    }
    let mut tokens: Vec<String> = text.split_whitespace().map(str::to_owned).collect();
    let others_allowed = tokens.last().is_some_and(|t| t == "*");
    if others_allowed {
        tokens.pop();
    }
    if let Some(bad) = tokens.iter().find(|t| {
        t.len() != 2
            || !t
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    }) {
        return Err(format!(
            "`{bad}` is not a VmFlags token (two lowercase letters, e.g. rd, wr, mr)"
        ));
    }
    Ok(FieldExpected::Flags {
        tokens,
        others_allowed,
    })
}

/// A `/proc/PID/maps` line with `*` for the columns that vary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MapsPattern {
    pub perms: Option<String>,
    pub offset: Option<u64>,
    pub device: Option<Device>,
    pub inode: Option<u64>,
    pub pathname: PathPattern,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathPattern {
    Any,
    /// No pathname column: anonymous memory.
    None,
    Exact(String),
}

/// Whether a block line is a maps-line pattern rather than a `Field: value` line.
pub fn looks_like_maps_line(line: &str) -> bool {
    let first = line.split_whitespace().next().unwrap_or("");
    first.contains('-')
        && first.split('-').all(|part| {
            part == "*" || (!part.is_empty() && part.bytes().all(|b| b.is_ascii_hexdigit()))
        })
}

pub fn parse_maps_pattern(line: &str) -> Result<MapsPattern, String> {
    let mut cols = line.split_whitespace();
    let range = cols.next().unwrap_or("");
    if range != "*-*" {
        return Err(format!(
            "the address range `{range}` differs on every run: write `*-*`"
        ));
    }
    let missing = |what: &str| format!("maps line `{line}` has no {what} column");
    let perms = cols.next().ok_or_else(|| missing("permissions"))?;
    let perms = if perms == "*" {
        None
    } else if perms.len() == 4
        && perms
            .chars()
            .zip(["r-", "w-", "x-", "ps"])
            .all(|(c, allowed)| allowed.contains(c))
    {
        Some(perms.to_owned())
    } else {
        return Err(format!(
            "`{perms}` is not a permission column like `rw-p` or `r--s`"
        ));
    };
    let offset = cols.next().ok_or_else(|| missing("offset"))?;
    let offset = wildcard_or(offset, |s| parse_hex(s.as_bytes()))
        .ok_or_else(|| format!("`{offset}` is not a hexadecimal offset"))?;
    let device = cols.next().ok_or_else(|| missing("device"))?;
    let device = wildcard_or(device, parse_device)
        .ok_or_else(|| format!("`{device}` is not a device like `00:00`"))?;
    let inode = cols.next().ok_or_else(|| missing("inode"))?;
    let inode = wildcard_or(inode, |s| parse_dec(s.as_bytes()))
        .ok_or_else(|| format!("`{inode}` is not a decimal inode number"))?;
    let rest: Vec<&str> = cols.collect();
    let pathname = match rest.as_slice() {
        [] => PathPattern::None,
        ["*"] => PathPattern::Any,
        words => PathPattern::Exact(words.join(" ")),
    };
    Ok(MapsPattern {
        perms,
        offset,
        device,
        inode,
        pathname,
    })
}

/// `Some(None)` for `*`, `Some(Some(v))` for a parsable value, `None` when unparsable.
fn wildcard_or<T>(text: &str, parse: impl Fn(&str) -> Option<T>) -> Option<Option<T>> {
    if text == "*" {
        Some(None)
    } else {
        parse(text).map(Some)
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Unit::Fixed(unit) => f.write_str(unit.name()),
            Unit::Page => f.write_str("page"),
            Unit::HugePage => f.write_str("huge page"),
            Unit::HugetlbPage => f.write_str("hugetlb page"),
            Unit::Folio => f.write_str("folio"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_number_too_large_for_u64_is_called_too_large_not_no_number() {
        assert!(TOO_LARGE.contains(&u64::MAX.to_string()));
        let max = format!("{} pages", u64::MAX);
        assert!(parse_size(&max).is_ok(), "the largest u64 is a count");
        for (text, number) in [
            ("99999999999999999999999 kB", "99999999999999999999999"),
            (
                "1/99999999999999999999999 huge page",
                "99999999999999999999999",
            ),
            ("18446744073709551616 pages", "18446744073709551616"),
        ] {
            let error = parse_size(text).unwrap_err();
            assert_eq!(error, format!("`{number}` in `{text}` is {TOO_LARGE}"));
        }
        let error = parse_number(">= 99999999999999999999999").unwrap_err();
        assert!(error.contains("is too large"), "{error}");
        let error = parse_size("18446744073709551615 kB").unwrap_err();
        assert!(error.contains("more bytes than a u64 holds"), "{error}");
        assert!(parse_size("18446744073709551615 B").is_ok());
        let error = parse_size("1/0 kB").unwrap_err();
        assert!(error.contains("not a whole number"), "{error}");
    }

    #[test]
    fn every_unit_is_shown_as_a_lesson_writes_it() {
        for name in [
            "B",
            "kB",
            "MB",
            "GB",
            "page",
            "huge page",
            "hugetlb page",
            "folio",
        ] {
            assert_eq!(parse_unit(name, name).unwrap().to_string(), name);
        }
        assert_eq!(ByteUnit::GB.bytes(), 1 << 30);
    }

    #[test]
    fn sizes_in_kb_and_pages() {
        assert_eq!(
            parse_size("16384 kB"),
            Ok(FieldExpected::Size(
                Cmp::Eq,
                Quantity {
                    count: 16384,
                    divisor: 1,
                    unit: Unit::Fixed(ByteUnit::KB)
                }
            ))
        );
        assert_eq!(
            parse_size(">= 2 huge pages"),
            Ok(FieldExpected::Size(
                Cmp::Ge,
                Quantity {
                    count: 2,
                    divisor: 1,
                    unit: Unit::HugePage
                }
            ))
        );
        assert!(parse_size("4 KB").unwrap_err().contains("unknown unit"));
        assert!(parse_size("four kB").unwrap_err().contains("whole number"));
        assert!(parse_size("1/0 page").is_err());
        assert!(parse_size("4").unwrap_err().contains("not a size"));
    }

    #[test]
    fn page_units_resolve_on_the_kernel_scale() {
        let scale = Scale {
            page: Bytes(16384),
            huge_page: None,
            hugetlb_page: None,
            folio: None,
        };
        let q = Quantity {
            count: 3,
            divisor: 1,
            unit: Unit::Page,
        };
        assert_eq!(q.resolve(&scale), Ok(Bytes(3 * 16384)));
        let half = Quantity {
            count: 1,
            divisor: 2,
            unit: Unit::Page,
        };
        assert_eq!(half.resolve(&scale), Ok(Bytes(8192)));
        let huge = Quantity {
            count: 1,
            divisor: 1,
            unit: Unit::HugePage,
        };
        assert!(huge.resolve(&scale).is_err());
    }

    #[test]
    fn flags_with_and_without_wildcard() {
        assert_eq!(
            parse_flags("rd wr *"),
            Ok(FieldExpected::Flags {
                tokens: vec!["rd".into(), "wr".into()],
                others_allowed: true
            })
        );
        assert!(parse_flags("rd write").is_err());
    }

    #[test]
    fn maps_patterns() {
        let p = parse_maps_pattern("*-* rw-p 00000000 00:00 0").unwrap();
        assert_eq!(p.perms.as_deref(), Some("rw-p"));
        assert_eq!(p.device, Some(Device { major: 0, minor: 0 }));
        assert_eq!(p.pathname, PathPattern::None);
        assert!(parse_maps_pattern("7f00-7f10 rw-p 0 00:00 0").is_err());
        assert!(parse_maps_pattern("*-* rwxq 0 00:00 0").is_err());
        // Columns read as the kernel's maps parser reads them: no sign the kernel never prints.
        for signed in [
            "*-* rw-p +0 00:00 0",
            "*-* rw-p 0 +0:00 0",
            "*-* rw-p 0 00:00 +0",
        ] {
            assert!(parse_maps_pattern(signed).is_err(), "{signed}");
        }
        assert!(looks_like_maps_line("*-* rw-p 00000000 00:00 0"));
        assert!(!looks_like_maps_line("Rss: 4 kB"));
    }
}
