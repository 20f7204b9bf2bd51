//! The kernel probe: what this kernel is and how it is configured, read from the kernel
//! itself (uname, sysconf, /sys, /proc), never assumed.

use crate::Bytes;
use std::collections::BTreeMap;

/// Top-level `/sys/kernel/mm/transparent_hugepage/enabled`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ThpMode {
    Always,
    Madvise,
    Never,
}

/// A per-size `hugepages-<size>kB/enabled` (multi-size THP, 6.8+).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PerSizeMode {
    Always,
    Inherit,
    Madvise,
    Never,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ThpSettings {
    pub enabled: ThpMode,
    /// The bracketed word of `defrag`, verbatim (always, defer, defer+madvise, madvise, never).
    pub defrag: String,
    /// `use_zero_page`, if the file exists.
    pub use_zero_page: Option<bool>,
    /// `hpage_pmd_size`: the PMD-sized huge page.
    pub pmd_size: Bytes,
    /// Anonymous per-size controls, keyed by folio size; empty before 6.8.
    pub per_size: BTreeMap<Bytes, PerSizeMode>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OvercommitMode {
    /// 0: heuristic overcommit.
    Heuristic,
    /// 1: always overcommit.
    Always,
    /// 2: strict accounting against CommitLimit.
    Never,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct MemlockLimit {
    /// Soft RLIMIT_MEMLOCK; `None` is unlimited.
    pub soft: Option<Bytes>,
    pub hard: Option<Bytes>,
    /// CAP_IPC_LOCK in the effective set: the limit does not apply to this process.
    pub can_exceed: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct KernelProbe {
    /// `uname -r`.
    pub release: String,
    /// (major, minor) parsed from the release.
    pub version: (u32, u32),
    pub page_size: Bytes,
    /// `None` where the kernel has no `/sys/kernel/mm/transparent_hugepage`.
    pub thp: Option<ThpSettings>,
    /// `THP_enabled` of /proc/self/status: false after PR_SET_THP_DISABLE.
    pub process_thp_enabled: bool,
    pub overcommit: OvercommitMode,
    /// Whether PR_SET_VMA_ANON_NAME works (CONFIG_ANON_VMA_NAME).
    pub anon_vma_names: bool,
    pub memlock: MemlockLimit,
}

#[derive(Debug, thiserror::Error)]
#[error("kernel probe: {what}: {detail}")]
pub struct ProbeError {
    pub what: String,
    pub detail: String,
}

impl KernelProbe {
    /// Probes the running kernel.
    pub fn probe() -> Result<KernelProbe, ProbeError> {
        todo!()
    }
}

/// The page size, from sysconf(_SC_PAGESIZE).
pub fn page_size() -> Bytes {
    todo!()
}

/// The PMD-sized THP from `hpage_pmd_size`; `None` where THP is not built in.
pub fn pmd_size() -> Option<Bytes> {
    todo!()
}

/// Parses a sysfs choice line such as `always [madvise] never` into the bracketed word.
pub fn selected_choice(text: &str) -> Option<&str> {
    todo!("{text}")
}
