//! The VmFlags codes pagelab's own code asks about, as a type: a misspelt code string was
//! simply absent from every record, so a check that asked for it read "not set" on every
//! kernel; a misspelt variant does not compile. The parser keeps every code the kernel
//! prints, also ones newer than this list ([`SmapsRecord::has_code`] reads those).
//! Codes: Documentation/filesystems/proc.rst and fs/proc/task_mmu.c (`show_smap_vma_flags`).
//!
//! [`SmapsRecord::has_code`]: crate::kernel::SmapsRecord::has_code

/// A VMA flag as smaps prints it in `VmFlags`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmFlag {
    /// `rd`: readable.
    Readable,
    /// `wr`: writable.
    Writable,
    /// `ex`: executable.
    Executable,
    /// `mw`: may be made writable (a shared mapping of a read-only descriptor is not).
    MayWrite,
    /// `me`: may be made executable.
    MayExecute,
    /// `lo`: its pages are locked in memory (mlock).
    Locked,
    /// `ac`: counted against the commit limit.
    Accountable,
    /// `nr`: no swap space reserved for it (MAP_NORESERVE, or hugetlb without a reservation).
    NoReserve,
    /// `ht`: backed by hugetlb pages.
    HugeTlb,
    /// `hg`: advised MADV_HUGEPAGE.
    HugePageAdvised,
    /// `nh`: advised MADV_NOHUGEPAGE.
    NoHugePageAdvised,
}

impl VmFlag {
    /// The two letters the kernel prints.
    pub const fn code(self) -> &'static str {
        match self {
            VmFlag::Readable => "rd",
            VmFlag::Writable => "wr",
            VmFlag::Executable => "ex",
            VmFlag::MayWrite => "mw",
            VmFlag::MayExecute => "me",
            VmFlag::Locked => "lo",
            VmFlag::Accountable => "ac",
            VmFlag::NoReserve => "nr",
            VmFlag::HugeTlb => "ht",
            VmFlag::HugePageAdvised => "hg",
            VmFlag::NoHugePageAdvised => "nh",
        }
    }
}
