//! The VmFlags codes pagelab's code and its tests ask about, as a type: a misspelt code
//! string was simply absent from every record, so a check that asked for it read "not set"
//! on every kernel; a misspelt variant does not compile. The parser keeps every code the
//! kernel prints, also ones newer than this list ([`SmapsRecord::has_code`] reads those).
//! Codes: Documentation/filesystems/proc.rst and fs/proc/task_mmu.c (`show_smap_vma_flags`).
//!
//! [`SmapsRecord::has_code`]: crate::kernel::SmapsRecord::has_code

/// A VMA flag as smaps prints it in `VmFlags`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VmFlag {
    /// PROT_READ.
    Readable,
    /// PROT_WRITE.
    Writable,
    /// PROT_EXEC.
    Executable,
    /// May be made writable (a shared mapping of a read-only descriptor may not).
    MayWrite,
    /// May be made executable.
    MayExecute,
    /// Its pages are locked in memory (mlock).
    Locked,
    /// Counted against the commit limit.
    Accountable,
    /// No swap space reserved for it (MAP_NORESERVE, or hugetlb without a reservation).
    NoReserve,
    /// Backed by hugetlb pages.
    HugeTlb,
    /// Advised MADV_HUGEPAGE.
    HugePageAdvised,
    /// Advised MADV_NOHUGEPAGE.
    NoHugePageAdvised,
    /// Advised MADV_DONTDUMP: left out of core dumps.
    DontDump,
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
            VmFlag::DontDump => "dd",
        }
    }
}
