//! `/proc/PID/status`: a process's counters. Lessons read its sizes (`VmRSS:  1234 kB`,
//! `RssShmem`); lines that are not sizes (`Name:`, `Uid:`, `Cpus_allowed:`) are left out.

use crate::Bytes;
use crate::kernel::named::Named;
use crate::kernel::procfs::Proc;

crate::kernel::named::proc_keys! {
    /// The status sizes pagelab reads (proc_pid_status(5) lists them all).
    pub enum StatusSize in "/proc/PID/status" {
        /// All the process has mapped (the probe compares it with RLIMIT_MEMLOCK).
        VmSize = "VmSize",
        /// All the process's resident memory.
        VmRss = "VmRSS",
        /// Its resident anonymous memory (since 4.5, as the two below).
        RssAnon = "RssAnon",
        /// Its resident file pages.
        RssFile = "RssFile",
        /// Its resident shared memory (tmpfs, System V and POSIX shm, shared anonymous).
        RssShmem = "RssShmem",
    }
}

/// The `Key:  N kB` lines of one read of a status file, as bytes.
pub type Sizes = Named<StatusSize, Bytes>;

/// The `Key:  N kB` lines of status text, as bytes.
pub fn parse_sizes(text: &str) -> Sizes {
    Sizes::of_lines(text, |value| {
        let kib: u64 = value.strip_suffix(" kB")?.trim().parse().ok()?;
        Some(Bytes(kib.checked_mul(1024)?))
    })
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
            "Name:\tpagelab\nVmSize:\t  123456 kB\nVmRSS:\t    1234 kB\nRssShmem:\t       4 kB\nThreads:\t3\nUid:\t0\t0\t0\t0\n",
        );
        assert_eq!(sizes.len(), 3);
        assert_eq!(sizes.get(StatusSize::VmSize), Some(Bytes::from_kib(123456)));
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
