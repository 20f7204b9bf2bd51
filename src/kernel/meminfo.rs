//! `/proc/meminfo`: `Key:   value kB` lines, kept as key -> bytes.

use crate::Bytes;
use crate::kernel::ParseError;
use std::collections::BTreeMap;

pub type Meminfo = BTreeMap<String, Bytes>;

/// Parses meminfo text. Lines without a unit (`HugePages_Total: 0`) are counts, not sizes,
/// and are left out.
pub fn parse_meminfo(text: &str) -> Result<Meminfo, ParseError> {
    let mut fields = Meminfo::new();
    for (index, line) in text.lines().enumerate() {
        let error = |message: &str| ParseError {
            line: index + 1,
            message: message.to_owned(),
            text: line.chars().take(120).collect(),
        };
        if line.trim().is_empty() {
            continue;
        }
        let (key, value) = line.split_once(':').ok_or_else(|| error("no `:`"))?;
        let mut words = value.split_whitespace();
        let number = words.next().ok_or_else(|| error("no value"))?;
        let number: u64 = number.parse().map_err(|_| error("value is not a number"))?;
        match words.next() {
            Some("kB") => {
                let bytes = number
                    .checked_mul(1024)
                    .ok_or_else(|| error("value overflows"))?;
                fields.insert(key.trim().to_owned(), Bytes(bytes));
            }
            Some(_) => return Err(error("unknown unit")),
            None => {}
        }
    }
    Ok(fields)
}

/// The unitless lines of meminfo text, counts such as `HugePages_Free:  4`; other lines are
/// left out (parse_meminfo reports garbage).
pub fn parse_counts(text: &str) -> BTreeMap<String, u64> {
    text.lines()
        .filter_map(|line| {
            let (key, value) = line.split_once(':')?;
            Some((key.trim().to_owned(), value.trim().parse().ok()?))
        })
        .collect()
}

/// The counts of `/proc/meminfo` (HugePages_Total, _Free, _Rsvd, _Surp).
pub fn read_counts() -> Result<BTreeMap<String, u64>, String> {
    std::fs::read_to_string("/proc/meminfo")
        .map(|text| parse_counts(&text))
        .map_err(|e| format!("reading /proc/meminfo: {e}"))
}

/// Reads and parses `/proc/meminfo`.
pub fn read_meminfo() -> Result<Meminfo, String> {
    let text = std::fs::read_to_string("/proc/meminfo")
        .map_err(|e| format!("reading /proc/meminfo: {e}"))?;
    parse_meminfo(&text).map_err(|e| format!("parsing /proc/meminfo: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_in_bytes_counts_left_out() {
        let info = parse_meminfo(
            "MemTotal:       24000000 kB\nSwapTotal:             0 kB\nHugePages_Total:       0\n",
        )
        .unwrap();
        assert_eq!(info["MemTotal"], Bytes::from_kib(24_000_000));
        assert_eq!(info["SwapTotal"], Bytes::ZERO);
        assert!(!info.contains_key("HugePages_Total"));
    }

    #[test]
    fn counts_are_the_lines_without_a_unit() {
        let counts = parse_counts("MemTotal: 4 kB\nHugePages_Free:       3\nHugePages_Rsvd: 1\n");
        assert_eq!(counts.len(), 2);
        assert_eq!(counts["HugePages_Free"], 3);
    }

    #[test]
    fn garbage_is_an_error_with_its_line() {
        let err = parse_meminfo("MemTotal: 1 kB\nnonsense\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(parse_meminfo("MemTotal: 99999999999999999999 kB").is_err());
    }
}
