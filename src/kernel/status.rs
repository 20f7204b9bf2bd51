//! `/proc/PID/status`: a process's counters. Lessons read its sizes (`VmRSS:  1234 kB`,
//! `RssShmem`); lines that are not sizes (`Name:`, `Uid:`, `Cpus_allowed:`) are left out.

use crate::Bytes;
use crate::kernel::procfs::Proc;
use std::collections::BTreeMap;

/// The status sizes pagelab reads, as a type: a misspelt name does not compile, where a
/// misspelt string found nothing (proc_pid_status(5) lists them all).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusSize {
    /// `VmRSS`: all the process's resident memory.
    VmRss,
    /// `RssAnon`: its resident anonymous memory (since 4.5, as the two below).
    RssAnon,
    /// `RssFile`: its resident file pages.
    RssFile,
    /// `RssShmem`: its resident shared memory (tmpfs, System V and POSIX shm, shared anon).
    RssShmem,
}

impl StatusSize {
    /// The name the kernel prints before the colon.
    pub const fn name(self) -> &'static str {
        match self {
            StatusSize::VmRss => "VmRSS",
            StatusSize::RssAnon => "RssAnon",
            StatusSize::RssFile => "RssFile",
            StatusSize::RssShmem => "RssShmem",
        }
    }
}

/// The `Key:  N kB` lines of one read of a status file, as bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sizes(BTreeMap<String, Bytes>);

impl Sizes {
    /// The size; `None` where this kernel does not print it.
    pub fn get(&self, size: StatusSize) -> Option<Bytes> {
        self.0.get(size.name()).copied()
    }

    /// The size, or an error that names it.
    pub fn require(&self, size: StatusSize) -> Result<Bytes, String> {
        self.get(size)
            .ok_or_else(|| format!("/proc/PID/status has no {}", size.name()))
    }

    /// How many size lines the file had.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The `Key:  N kB` lines of status text, as bytes.
pub fn parse_sizes(text: &str) -> Sizes {
    Sizes(
        text.lines()
            .filter_map(|line| {
                let (key, value) = line.split_once(':')?;
                let kib: u64 = value.trim().strip_suffix(" kB")?.trim().parse().ok()?;
                Some((key.trim().to_owned(), Bytes(kib.checked_mul(1024)?)))
            })
            .collect(),
    )
}

/// The sizes in a process's status file.
pub fn read_sizes(proc: Proc) -> Result<Sizes, String> {
    let path = proc.path("status");
    std::fs::read_to_string(&path)
        .map(|text| parse_sizes(&text))
        .map_err(|e| format!("reading {}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_only() {
        let sizes = parse_sizes(
            "Name:\tpagelab\nVmRSS:\t    1234 kB\nRssShmem:\t       4 kB\nThreads:\t3\nUid:\t0\t0\t0\t0\n",
        );
        assert_eq!(sizes.len(), 2);
        assert_eq!(sizes.get(StatusSize::VmRss), Some(Bytes::from_kib(1234)));
        assert_eq!(sizes.get(StatusSize::RssShmem), Some(Bytes::from_kib(4)));
        assert_eq!(sizes.get(StatusSize::RssAnon), None);
        assert!(
            sizes
                .require(StatusSize::RssFile)
                .unwrap_err()
                .contains("no RssFile")
        );
    }
}
