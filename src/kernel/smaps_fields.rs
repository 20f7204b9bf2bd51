//! The smaps fields the kernel is known to print, as a type: code names a field by its
//! variant (`SmapsField::Rss`), so a typo does not compile, and lessons may only name
//! fields listed here, so a typo there is an error at load time rather than a claim that
//! can never hold. The parser itself keeps any key it meets.
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

/// One table, one row a field: its variant, the name the kernel prints, how its value is
/// written, the first kernel (major, minor) that prints it (`None` when older than any
/// kernel we can boot), and the condition it is printed under, if any (for skip reasons).
macro_rules! smaps_fields {
    ($( $variant:ident = $name:literal, $kind:ident, $since:expr, $only_when:expr; )+) => {
        /// A field of an smaps record, in the order the kernel prints them.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum SmapsField {
            $( $variant ),+
        }

        impl SmapsField {
            pub const ALL: &[SmapsField] = &[$( SmapsField::$variant ),+];

            /// The name the kernel prints before the colon.
            pub const fn name(self) -> &'static str {
                match self {
                    $( SmapsField::$variant => $name ),+
                }
            }

            pub const fn kind(self) -> FieldKind {
                match self {
                    $( SmapsField::$variant => FieldKind::$kind ),+
                }
            }

            /// The first kernel (major, minor) that prints it.
            pub const fn since(self) -> Option<(u32, u32)> {
                match self {
                    $( SmapsField::$variant => $since ),+
                }
            }

            /// The condition it is printed under, where there is one.
            pub const fn only_when(self) -> Option<&'static str> {
                match self {
                    $( SmapsField::$variant => $only_when ),+
                }
            }
        }
    };
}

smaps_fields! {
    Size = "Size", Size, None, None;
    KernelPageSize = "KernelPageSize", Size, None, None;
    MmuPageSize = "MMUPageSize", Size, None, None;
    Rss = "Rss", Size, None, None;
    Pss = "Pss", Size, None, None;
    PssDirty = "Pss_Dirty", Size, Some((6, 0)), None;
    SharedClean = "Shared_Clean", Size, None, None;
    SharedDirty = "Shared_Dirty", Size, None, None;
    PrivateClean = "Private_Clean", Size, None, None;
    PrivateDirty = "Private_Dirty", Size, None, None;
    Referenced = "Referenced", Size, None, None;
    Anonymous = "Anonymous", Size, None, None;
    Ksm = "KSM", Size, Some((6, 6)), None;
    LazyFree = "LazyFree", Size, Some((4, 12)), None;
    AnonHugePages = "AnonHugePages", Size, None, None;
    ShmemPmdMapped = "ShmemPmdMapped", Size, Some((4, 8)), None;
    FilePmdMapped = "FilePmdMapped", Size, Some((5, 4)), None;
    SharedHugetlb = "Shared_Hugetlb", Size, Some((4, 4)), None;
    PrivateHugetlb = "Private_Hugetlb", Size, Some((4, 4)), None;
    Swap = "Swap", Size, None, None;
    SwapPss = "SwapPss", Size, Some((4, 3)), None;
    Locked = "Locked", Size, None, None;
    ThpEligible = "THPeligible", Number, Some((5, 0)), None;
    ProtectionKey = "ProtectionKey", Number, Some((4, 9)),
        Some("the CPU and kernel support memory protection keys");
    VmFlags = "VmFlags", Flags, None, None;
}

impl SmapsField {
    /// The field the kernel prints as `name`, if it is one we know.
    pub fn named(name: &str) -> Option<SmapsField> {
        SmapsField::ALL.iter().copied().find(|f| f.name() == name)
    }

    /// What a record without this field means on a kernel of `version` (major, minor),
    /// named `release`: a field that kernel does not print, or one it should have printed.
    pub fn absence(self, release: &str, version: (u32, u32)) -> Absence {
        let lacks = format!(
            "this kernel ({release}) does not print {} in smaps",
            self.name()
        );
        match (self.only_when(), self.since()) {
            (Some(cond), _) => Absence::NotPrinted(format!("{lacks}: it appears only when {cond}")),
            (None, Some((major, minor))) if version < (major, minor) => {
                Absence::NotPrinted(format!("{lacks} (first printed by {major}.{minor})"))
            }
            (None, Some((major, minor))) => Absence::Missing(format!(
                "{lacks}, though every kernel since {major}.{minor} prints it in every record"
            )),
            (None, None) => Absence::Missing(format!(
                "{lacks}, though every kernel prints it in every record"
            )),
        }
    }
}

/// Why a record lacks a field, as [`SmapsField::absence`] tells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Absence {
    /// This kernel does not print it (too old, or a condition it prints it under is not
    /// met): a claim about it cannot be checked here.
    NotPrinted(String),
    /// This kernel prints it in every record, so the record read is not what the kernel
    /// printed (a parser's or experiment's mistake), or the kernel dropped the field and
    /// the table above must say since when.
    Missing(String),
}

/// A field's name as a record holds it: one we know, or one newer than [`SmapsField`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldName {
    Known(SmapsField),
    Other(String),
}

impl FieldName {
    /// The name of the field the kernel printed as `key`. `hint` is where in
    /// [`SmapsField::ALL`] to look first: the kernel prints fields in that order, so the
    /// field after the previous one is almost always the one (and no name is allocated).
    pub fn of(key: &str, hint: &mut usize) -> FieldName {
        let all = SmapsField::ALL;
        let found = (*hint..all.len())
            .chain(0..*hint)
            .find(|&i| all[i].name() == key);
        match found {
            Some(i) => {
                *hint = i + 1;
                FieldName::Known(all[i])
            }
            None => FieldName::Other(key.to_owned()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            FieldName::Known(field) => field.name(),
            FieldName::Other(name) => name,
        }
    }
}

impl std::fmt::Display for FieldName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for SmapsField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_field_is_found_by_the_name_it_prints_and_names_are_unique() {
        for &field in SmapsField::ALL {
            assert_eq!(SmapsField::named(field.name()), Some(field));
        }
        assert_eq!(SmapsField::named("Rs"), None);
        assert_eq!(SmapsField::ProtectionKey.kind(), FieldKind::Number);
        let absence = |field: SmapsField, version| field.absence("x", version);
        assert!(matches!(
            absence(SmapsField::Ksm, (5, 10)),
            Absence::NotPrinted(why) if why.contains("first printed by 6.6")
        ));
        assert!(matches!(
            absence(SmapsField::Ksm, (6, 6)),
            Absence::Missing(why) if why.contains("every kernel since 6.6 prints it")
        ));
        assert!(matches!(
            absence(SmapsField::Rss, (4, 9)),
            Absence::Missing(_)
        ));
        assert!(matches!(
            absence(SmapsField::ProtectionKey, (7, 2)),
            Absence::NotPrinted(why) if why.contains("protection keys")
        ));
    }
}
