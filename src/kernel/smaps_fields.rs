//! The smaps fields the kernel is known to print, with their kind and first version.
//!
//! Lessons may only name fields listed here, so a typo is an error at load time rather
//! than a claim that can never hold. The parser itself keeps any key it meets.
//! Sources: fs/proc/task_mmu.c (`__show_smap`, `show_smap`) and
//! Documentation/filesystems/proc.rst.

/// How a field's value is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldKind {
    /// `NNN kB`.
    Size,
    /// A bare number (`THPeligible`, `ProtectionKey`).
    Number,
    /// `VmFlags`: a list of two-letter tokens.
    Flags,
}

#[derive(Clone, Copy, Debug)]
pub struct KnownField {
    pub name: &'static str,
    pub kind: FieldKind,
    /// First kernel (major, minor) that prints it; `None` when it is older than any kernel
    /// we can boot, or printed only on some hardware.
    pub since: Option<(u32, u32)>,
    /// When it is printed only under a condition, that condition, for skip reasons.
    pub only_when: Option<&'static str>,
}

const fn field(name: &'static str, kind: FieldKind, since: Option<(u32, u32)>) -> KnownField {
    KnownField {
        name,
        kind,
        since,
        only_when: None,
    }
}

use FieldKind::{Flags, Number, Size};

pub const KNOWN_FIELDS: &[KnownField] = &[
    field("Size", Size, None),
    field("KernelPageSize", Size, None),
    field("MMUPageSize", Size, None),
    field("Rss", Size, None),
    field("Pss", Size, None),
    field("Pss_Dirty", Size, Some((6, 0))),
    field("Shared_Clean", Size, None),
    field("Shared_Dirty", Size, None),
    field("Private_Clean", Size, None),
    field("Private_Dirty", Size, None),
    field("Referenced", Size, None),
    field("Anonymous", Size, None),
    field("KSM", Size, Some((6, 6))),
    field("LazyFree", Size, Some((4, 12))),
    field("AnonHugePages", Size, None),
    field("ShmemPmdMapped", Size, Some((4, 8))),
    field("FilePmdMapped", Size, Some((5, 4))),
    field("Shared_Hugetlb", Size, Some((4, 4))),
    field("Private_Hugetlb", Size, Some((4, 4))),
    field("Swap", Size, None),
    field("SwapPss", Size, Some((4, 3))),
    field("Locked", Size, None),
    field("THPeligible", Number, Some((5, 0))),
    KnownField {
        name: "ProtectionKey",
        kind: Number,
        since: Some((4, 9)),
        only_when: Some("the CPU and kernel support memory protection keys"),
    },
    KnownField {
        name: "VmFlags",
        kind: Flags,
        since: None,
        only_when: None,
    },
];

pub fn known_field(name: &str) -> Option<&'static KnownField> {
    KNOWN_FIELDS.iter().find(|f| f.name == name)
}

impl KnownField {
    /// Why a kernel that lacks this field lacks it, for a skip reason.
    pub fn absence_reason(&self, release: &str) -> String {
        match (self.only_when, self.since) {
            (Some(cond), _) => format!(
                "this kernel ({release}) does not print {} in smaps: it appears only when {cond}",
                self.name
            ),
            (None, Some((major, minor))) => format!(
                "this kernel ({release}) does not print {} in smaps (first printed by {major}.{minor})",
                self.name
            ),
            (None, None) => format!(
                "this kernel ({release}) does not print {} in smaps",
                self.name
            ),
        }
    }
}
