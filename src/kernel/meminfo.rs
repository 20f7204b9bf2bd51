//! `/proc/meminfo`: `Key:   value kB` lines, kept as key -> bytes.

use crate::Bytes;
use crate::kernel::ParseError;
use crate::kernel::named::{Named, key_value};

crate::kernel::named::proc_keys! {
    /// The meminfo sizes (`Key: N kB`) pagelab reads.
    pub enum MeminfoSize in "/proc/meminfo" {
        /// All usable RAM.
        MemTotal = "MemTotal",
        /// All swap space.
        SwapTotal = "SwapTotal",
        /// The default huge page size of hugetlbfs; printed only where the kernel has it.
        Hugepagesize = "Hugepagesize",
        /// What strict overcommit (mode 2) lets all processes commit.
        CommitLimit = "CommitLimit",
        /// What all processes have committed: mappings that may need backing.
        CommittedAs = "Committed_AS",
    }
}

crate::kernel::named::proc_keys! {
    /// The meminfo counts (lines without a unit) pagelab reads: the default-size hugetlb pool.
    pub enum MeminfoCount in "/proc/meminfo" {
        /// Pages in the pool.
        HugePagesTotal = "HugePages_Total",
        /// Pages no mapping has faulted in.
        HugePagesFree = "HugePages_Free",
        /// Free pages promised to mappings that have not faulted them in yet.
        HugePagesRsvd = "HugePages_Rsvd",
        /// Pages allocated beyond the pool (`vm.nr_overcommit_hugepages`), freed to the
        /// system again when unmapped.
        HugePagesSurp = "HugePages_Surp",
    }
}

/// The sizes of one read of meminfo, in bytes.
pub type Meminfo = Named<MeminfoSize, Bytes>;

/// The counts of one read of meminfo.
pub type Counts = Named<MeminfoCount, u64>;

/// Parses meminfo text. Lines without a unit (`HugePages_Total: 0`) are counts, not sizes,
/// and are left out.
pub fn parse_meminfo(text: &str) -> Result<Meminfo, ParseError> {
    let mut fields = Meminfo::default();
    for (index, line) in text.lines().enumerate() {
        let error = |message: &str| ParseError {
            line: index + 1,
            message: message.to_owned(),
            text: line.chars().take(120).collect(),
        };
        if line.trim().is_empty() {
            continue;
        }
        let (key, value) = key_value(line).ok_or_else(|| error("no `:`"))?;
        let mut words = value.split_whitespace();
        let number = words.next().ok_or_else(|| error("no value"))?;
        let number: u64 = number.parse().map_err(|_| error("value is not a number"))?;
        match words.next() {
            Some("kB") => {
                let bytes = number
                    .checked_mul(1024)
                    .ok_or_else(|| error("value overflows"))?;
                fields.insert(key, Bytes(bytes));
            }
            Some(_) => return Err(error("unknown unit")),
            None => {}
        }
    }
    Ok(fields)
}

/// The unitless lines of meminfo text, counts such as `HugePages_Free:  4`; other lines are
/// left out (parse_meminfo reports garbage).
pub fn parse_counts(text: &str) -> Counts {
    Counts::of_lines(text, |value| value.parse().ok())
}

/// The counts of `/proc/meminfo` (HugePages_Total, _Free, _Rsvd, _Surp).
pub fn read_counts() -> Result<Counts, String> {
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
        assert_eq!(
            info.get(MeminfoSize::MemTotal),
            Some(Bytes::from_kib(24_000_000))
        );
        assert_eq!(info.get(MeminfoSize::SwapTotal), Some(Bytes::ZERO));
        assert_eq!(info.len(), 2, "the count is not a size");
        let missing = info.require(MeminfoSize::Hugepagesize).unwrap_err();
        assert_eq!(missing, "/proc/meminfo has no Hugepagesize");
    }

    #[test]
    fn counts_are_the_lines_without_a_unit() {
        let counts = parse_counts("MemTotal: 4 kB\nHugePages_Free:       3\nHugePages_Rsvd: 1\n");
        assert_eq!(counts.len(), 2);
        assert_eq!(counts.get(MeminfoCount::HugePagesFree), Some(3));
        assert_eq!(counts.get(MeminfoCount::HugePagesTotal), None);
    }

    #[test]
    fn garbage_is_an_error_with_its_line() {
        let err = parse_meminfo("MemTotal: 1 kB\nnonsense\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(parse_meminfo("MemTotal: 99999999999999999999 kB").is_err());
    }
}
