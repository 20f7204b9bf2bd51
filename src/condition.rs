//! Branch conditions: the `when=` of a claim block. A claim that holds only under some
//! kernel configuration names the condition; the checker evaluates it on the running kernel
//! and says which branch applied and why.

use crate::Bytes;
use crate::experiment::Subject;
use crate::kernel::KernelProbe;
use crate::kernel::SmapsField;
use crate::kernel::probe::{MemlockLimit, OvercommitMode};
use crate::kernel::thp::{self, Access, Folio, Prediction};
use crate::memory::residency::{Frames, Residency};
use crate::names;
use std::fmt;
use std::str::FromStr;

/// A `when=` condition, by what it is about: each family is decided by its own rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Condition {
    /// About the subject's VMA and the THP settings.
    Thp(ThpCondition),
    /// What the subject's write fault is predicted to get.
    WriteFault(WriteGets),
    /// What the subject's read of an untouched page gets.
    ReadFault(ReadGets),
    /// vm.overcommit_memory is this mode.
    Overcommit(OvercommitMode),
    /// Whether RLIMIT_MEMLOCK binds the process.
    Memlock(MemlockCondition),
    /// Whether `/proc/PID/pagemap` shows this process the physical frame numbers of the
    /// subject's pages (true), or hides them (false): only with CAP_SYS_ADMIN.
    FrameNumbers(bool),
    /// Whether the experiments' temporary files live in memory (tmpfs) or on a disk.
    TempFiles(FilesLiveIn),
    /// Whether the pool of explicit huge pages has one free (at probe time).
    HugetlbPool(PoolHas),
    /// Whether swap is on (SwapTotal above 0).
    Swap(bool),
    /// Whether the kernel has transparent huge pages at all (CONFIG_TRANSPARENT_HUGEPAGE):
    /// without them it knows no THP advice (`MADV_HUGEPAGE`, `MADV_NOHUGEPAGE`: EINVAL).
    ThpBuiltIn(bool),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolHas {
    /// At least one free huge page of the default size.
    Free,
    /// None, and no surplus allowed: nobody reserved any, or they are taken.
    None,
    /// None free, but `vm.nr_overcommit_hugepages` lets the kernel allocate surplus pages
    /// beyond the pool from ordinary memory.
    Surplus,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilesLiveIn {
    /// tmpfs or ramfs: nothing is ever written back, a written page stays dirty.
    Memory,
    /// A disk filesystem: writeback and `msync(MS_SYNC)` make a written page clean.
    Disk,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ThpCondition {
    /// The VMA is (or is not) eligible for some THP size, as smaps' `THPeligible` says: the
    /// settings allow the size, and an aligned range of it lies inside the VMA.
    Eligible(bool),
    /// An aligned range of the PMD size does (or does not) lie inside the VMA, whatever the
    /// settings say: a VMA without one can never get a PMD-sized huge page.
    HugePageFits(bool),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteGets {
    BasePage,
    PmdThp,
    /// A multi-size THP smaller than the PMD size.
    Mthp,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReadGets {
    /// A zero page: nothing is allocated.
    ZeroPage,
    /// A THP (use_zero_page=0).
    Allocation,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemlockCondition {
    /// CAP_IPC_LOCK in the effective set: RLIMIT_MEMLOCK does not bind the process.
    Exempt,
    /// No CAP_IPC_LOCK: what it locks counts against RLIMIT_MEMLOCK.
    Enforced,
    /// No CAP_IPC_LOCK, and RLIMIT_MEMLOCK below all it has mapped (VmSize):
    /// `mlockall(MCL_CURRENT)` cannot be granted.
    BelowMapped,
    /// `mlockall(MCL_CURRENT | MCL_FUTURE)` is granted, and what is mapped afterwards is
    /// locked too: CAP_IPC_LOCK, or RLIMIT_MEMLOCK of at least [`MLOCKALL_ROOM`] times all
    /// it has mapped (unlimited, as realtime setups give through limits.conf).
    MlockallAllowed,
}

/// How many times what the process had mapped when probed its RLIMIT_MEMLOCK must be for
/// `mlockall-allowed` without the capability: the experiment's child has that, the
/// mappings made for the lesson and whatever the process allocated since. Between one and
/// this many times, neither `mlockall-allowed` nor `memlock-below-mapped` applies.
pub const MLOCKALL_ROOM: u64 = 2;

/// Each condition's name in lessons, and what it means in plain words, for readers: the
/// book and the terminal say "where ..." above a block with this condition.
const NAMES: &[(&str, Condition, &str)] = &[
    (
        "thp-eligible",
        Condition::Thp(ThpCondition::Eligible(true)),
        "the THP settings allow a huge page size for this mapping and an aligned range of that size fits in it",
    ),
    (
        "thp-not-eligible",
        Condition::Thp(ThpCondition::Eligible(false)),
        "no huge page size is both allowed by the THP settings and small enough to fit aligned in this mapping",
    ),
    (
        "huge-page-fits",
        Condition::Thp(ThpCondition::HugePageFits(true)),
        "an aligned PMD-sized huge page fits inside this mapping",
    ),
    (
        "huge-page-does-not-fit",
        Condition::Thp(ThpCondition::HugePageFits(false)),
        "no aligned PMD-sized huge page fits inside this mapping",
    ),
    (
        "write-fault-base-page",
        Condition::WriteFault(WriteGets::BasePage),
        "the write gets one base page: no THP size applies to it",
    ),
    (
        "write-fault-pmd-thp",
        Condition::WriteFault(WriteGets::PmdThp),
        "the write gets a PMD-sized huge page: THP allows it for this mapping and an aligned huge page fits",
    ),
    (
        "write-fault-mthp",
        Condition::WriteFault(WriteGets::Mthp),
        "the write gets a multi-size THP folio smaller than a huge page",
    ),
    (
        "read-fault-zero-page",
        Condition::ReadFault(ReadGets::ZeroPage),
        "a read of untouched memory maps a zero page and allocates nothing",
    ),
    (
        "read-fault-allocates",
        Condition::ReadFault(ReadGets::Allocation),
        "a read of untouched memory allocates a huge page (use_zero_page is 0)",
    ),
    (
        "overcommit-heuristic",
        Condition::Overcommit(OvercommitMode::Heuristic),
        "vm.overcommit_memory is 0 (heuristic)",
    ),
    (
        "overcommit-always",
        Condition::Overcommit(OvercommitMode::Always),
        "vm.overcommit_memory is 1 (always grant)",
    ),
    (
        "overcommit-never",
        Condition::Overcommit(OvercommitMode::Never),
        "vm.overcommit_memory is 2 (strict commit limit)",
    ),
    (
        "memlock-exempt",
        Condition::Memlock(MemlockCondition::Exempt),
        "the process has CAP_IPC_LOCK, so RLIMIT_MEMLOCK does not bind it",
    ),
    (
        "memlock-enforced",
        Condition::Memlock(MemlockCondition::Enforced),
        "the process lacks CAP_IPC_LOCK, so what it locks counts against RLIMIT_MEMLOCK",
    ),
    (
        "files-in-memory",
        Condition::TempFiles(FilesLiveIn::Memory),
        "the lesson's files live in memory (tmpfs), where nothing is ever written back",
    ),
    (
        "files-on-disk",
        Condition::TempFiles(FilesLiveIn::Disk),
        "the lesson's files live on a disk, where writeback and msync() save written pages",
    ),
    (
        "swap-on",
        Condition::Swap(true),
        "swap is on: anonymous and shared memory can be paged out to it",
    ),
    (
        "swap-off",
        Condition::Swap(false),
        "there is no swap: anonymous and shared memory cannot be paged out",
    ),
    (
        "thp-built-in",
        Condition::ThpBuiltIn(true),
        "the kernel has transparent huge pages, and knows the advice MADV_HUGEPAGE and MADV_NOHUGEPAGE",
    ),
    (
        "no-thp",
        Condition::ThpBuiltIn(false),
        "the kernel is built without transparent huge pages (as PREEMPT_RT kernels are): it refuses THP advice",
    ),
    (
        "hugetlb-page-free",
        Condition::HugetlbPool(PoolHas::Free),
        "the pool of explicit huge pages has a free page (vm.nr_hugepages reserved some)",
    ),
    (
        "no-hugetlb-page-free",
        Condition::HugetlbPool(PoolHas::None),
        "the pool of explicit huge pages has no free page and no surplus is allowed (none reserved, the default)",
    ),
    (
        "hugetlb-surplus",
        Condition::HugetlbPool(PoolHas::Surplus),
        "the pool of explicit huge pages has no free page, but vm.nr_overcommit_hugepages lets the kernel allocate surplus ones",
    ),
    (
        "memlock-below-mapped",
        Condition::Memlock(MemlockCondition::BelowMapped),
        "the process lacks CAP_IPC_LOCK and its RLIMIT_MEMLOCK is below all it has mapped",
    ),
    (
        "mlockall-allowed",
        Condition::Memlock(MemlockCondition::MlockallAllowed),
        "the process may lock all it has mapped and will map: it has CAP_IPC_LOCK, or an RLIMIT_MEMLOCK far above what it has mapped",
    ),
    (
        "frame-numbers-visible",
        Condition::FrameNumbers(true),
        "/proc/PID/pagemap shows which physical page frame backs each page (the process has CAP_SYS_ADMIN)",
    ),
    (
        "frame-numbers-hidden",
        Condition::FrameNumbers(false),
        "/proc/PID/pagemap hides the physical page frames (the process lacks CAP_SYS_ADMIN)",
    ),
];

impl FromStr for Condition {
    type Err = String;
    fn from_str(s: &str) -> Result<Condition, String> {
        let table: Vec<(&str, Condition)> = NAMES.iter().map(|(n, c, _)| (*n, *c)).collect();
        names::parse(&table, "condition", s)
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.entry().0)
    }
}

impl Condition {
    /// Every condition's name, as lessons write it after `when=`.
    pub fn names() -> impl Iterator<Item = &'static str> {
        NAMES.iter().map(|(name, _, _)| *name)
    }

    /// What the condition means, in words a reader knows ("the write gets one base page").
    pub fn meaning(self) -> &'static str {
        self.entry().2
    }

    fn entry(self) -> &'static (&'static str, Condition, &'static str) {
        NAMES
            .iter()
            .find(|(_, condition, _)| *condition == self)
            .expect("every condition has a name (the unit test below checks the table)")
    }
}

/// Whether a condition holds on this kernel for this subject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Branch {
    Applies(String),
    DoesNotApply(String),
    /// The kernel was asked for a huge page and gave none: best effort, so the claims of
    /// this branch cannot be checked this time (the kernel's own tests skip here too).
    NotObtained(String),
    /// What decides it could not be read here (a residency map, a status line).
    Undecided(String),
    /// The lesson asked for something the experiment cannot answer.
    Invalid(String),
}

impl Condition {
    /// Whether no kernel can meet both: two answers to one question (`swap-on`,
    /// `swap-off`). Conditions about different things never exclude each other here, and
    /// `memlock-below-mapped` is a case of `memlock-enforced`.
    pub fn excludes(self, other: Condition) -> bool {
        use Condition as C;
        match (self, other) {
            (C::Thp(ThpCondition::Eligible(a)), C::Thp(ThpCondition::Eligible(b)))
            | (C::Thp(ThpCondition::HugePageFits(a)), C::Thp(ThpCondition::HugePageFits(b)))
            | (C::FrameNumbers(a), C::FrameNumbers(b))
            | (C::Swap(a), C::Swap(b))
            | (C::ThpBuiltIn(a), C::ThpBuiltIn(b)) => a != b,
            (C::WriteFault(a), C::WriteFault(b)) => a != b,
            (C::ReadFault(a), C::ReadFault(b)) => a != b,
            (C::Overcommit(a), C::Overcommit(b)) => a != b,
            (C::TempFiles(a), C::TempFiles(b)) => a != b,
            (C::HugetlbPool(a), C::HugetlbPool(b)) => a != b,
            (C::Memlock(a), C::Memlock(b)) => {
                use MemlockCondition as M;
                let one_way = |x, y| {
                    matches!(
                        (x, y),
                        (M::Exempt, M::Enforced | M::BelowMapped)
                            | (M::MlockallAllowed, M::BelowMapped)
                    )
                };
                one_way(a, b) || one_way(b, a)
            }
            _ => false,
        }
    }

    /// Decides the condition; those about a mapping need the block's `subject`.
    pub fn evaluate(self, probe: &KernelProbe, subject: Option<&Subject>) -> Branch {
        let mapping = || {
            subject.ok_or_else(|| {
                Branch::Invalid(format!(
                    "condition {self} is about a mapping, and this block shows none"
                ))
            })
        };
        let decided = match self {
            Condition::Overcommit(mode) => Ok(decide(
                probe.overcommit == mode,
                format!(
                    "/proc/sys/vm/overcommit_memory is {}",
                    probe.overcommit.number()
                ),
            )),
            Condition::Memlock(which) => Ok(memlock(probe, which)),
            Condition::ThpBuiltIn(wanted) => Ok(decide(
                probe.thp.is_some() == wanted,
                if probe.thp.is_some() {
                    "/sys/kernel/mm/transparent_hugepage exists: the kernel has THP".into()
                } else {
                    "/sys/kernel/mm/transparent_hugepage is missing: the kernel has no THP".into()
                },
            )),
            Condition::Swap(on) => Ok(decide(
                (probe.swap.get() > 0) == on,
                format!("SwapTotal in /proc/meminfo is {}", probe.swap),
            )),
            Condition::HugetlbPool(has) => Ok(match &probe.hugetlb {
                None => Branch::DoesNotApply("the kernel has no hugetlbfs".into()),
                Some(pool) => decide(
                    match has {
                        // Pages promised to other mappings are not the lesson's to reserve.
                        PoolHas::Free => pool.available() > 0,
                        // Surplus pages (vm.nr_overcommit_hugepages) may be allocated anyway.
                        PoolHas::None => pool.available() == 0 && pool.overcommit == 0,
                        PoolHas::Surplus => pool.available() == 0 && pool.overcommit > 0,
                    },
                    format!(
                        "HugePages_Free is {} of HugePages_Total {} ({} pages), {} of them reserved (HugePages_Rsvd), vm.nr_overcommit_hugepages {}",
                        pool.free, pool.total, pool.page_size, pool.reserved, pool.overcommit
                    ),
                ),
            }),
            Condition::TempFiles(lives) => {
                let files = &probe.temp_files;
                Ok(decide(
                    files.in_memory == (lives == FilesLiveIn::Memory),
                    format!(
                        "the temporary directory {} is on {}",
                        files.dir.display(),
                        files.filesystem
                    ),
                ))
            }
            Condition::Thp(which) => mapping().map(|s| thp_condition(probe, s, which)),
            Condition::WriteFault(gets) => mapping().map(|s| write_fault(probe, s, gets)),
            Condition::ReadFault(gets) => mapping().map(|s| read_fault(probe, s, gets)),
            Condition::FrameNumbers(wanted) => mapping().map(|s| frame_numbers(s, wanted)),
        };
        decided.unwrap_or_else(|invalid| invalid)
    }
}

fn thp_condition(probe: &KernelProbe, subject: &Subject, which: ThpCondition) -> Branch {
    match which {
        ThpCondition::Eligible(wanted) => {
            let eligible = thp::eligible_sizes(probe, &subject.record);
            let holds = eligible.is_ok() == wanted;
            let why = match eligible {
                Ok(sizes) => format!(
                    "THP sizes this VMA is eligible for (allowed, and an aligned range fits): {}",
                    thp::list(&sizes)
                ),
                Err(why) => why,
            };
            decide(holds, why)
        }
        ThpCondition::HugePageFits(wanted) => {
            let Some(thp) = &probe.thp else {
                return Branch::DoesNotApply("the kernel has no transparent huge pages".into());
            };
            let fits = thp::fits_somewhere(&subject.record, thp.pmd_size);
            let vma = &subject.record.vma;
            decide(
                fits == wanted,
                format!(
                    "an aligned {} range {} inside the {} VMA {:#x}-{:#x}",
                    thp.pmd_size,
                    if fits { "lies" } else { "does not lie" },
                    vma.len(),
                    vma.start,
                    vma.end
                ),
            )
        }
    }
}

fn write_fault(probe: &KernelProbe, subject: &Subject, gets: WriteGets) -> Branch {
    let Some(addr) = subject.write_addr else {
        return Branch::Invalid(format!(
            "condition {} needs a write in `{}`, and this experiment makes none",
            Condition::WriteFault(gets),
            subject.name
        ));
    };
    let prediction = thp::predict_fault(probe, &subject.record, addr, Access::Write);
    let holds = matches!(
        (gets, prediction.folio),
        (WriteGets::BasePage, Folio::Base)
            | (WriteGets::PmdThp, Folio::Pmd(_))
            | (WriteGets::Mthp, Folio::Mthp(_))
    );
    if holds && let Some(why) = not_obtained(subject, &prediction) {
        return Branch::NotObtained(why);
    }
    decide(holds, prediction.why)
}

fn read_fault(probe: &KernelProbe, subject: &Subject, gets: ReadGets) -> Branch {
    let Some(addr) = subject.read_addr else {
        return Branch::Invalid(format!(
            "condition {} needs a read in `{}`, and this experiment makes none",
            Condition::ReadFault(gets),
            subject.name
        ));
    };
    let prediction = thp::predict_fault(probe, &subject.record, addr, Access::Read);
    let zero = prediction.folio == Folio::ZeroPage;
    decide(zero == (gets == ReadGets::ZeroPage), prediction.why)
}

/// Decided by what pagemap showed when the subject was read, not by a guess about it.
fn frame_numbers(subject: &Subject, wanted: bool) -> Branch {
    match &subject.residency {
        None => Branch::Invalid(format!(
            "condition {} needs the residency of `{}`, and this experiment reads none for it",
            Condition::FrameNumbers(wanted),
            subject.name
        )),
        Some(Residency::Unavailable(why)) => {
            Branch::Undecided(format!("no residency map of `{}`: {why}", subject.name))
        }
        Some(Residency::Map(map)) => match &map.frames {
            Frames::Visible => decide(
                wanted,
                format!(
                    "{} showed frame numbers: this process has CAP_SYS_ADMIN (CapEff)",
                    map.read_from
                ),
            ),
            Frames::Hidden(why) => decide(!wanted, why.clone()),
        },
    }
}

fn memlock(probe: &KernelProbe, which: MemlockCondition) -> Branch {
    match which {
        MemlockCondition::Exempt | MemlockCondition::Enforced => decide(
            probe.memlock.can_exceed == (which == MemlockCondition::Exempt),
            memlock_why(probe),
        ),
        MemlockCondition::BelowMapped => below_mapped(probe),
        MemlockCondition::MlockallAllowed => mlockall_allowed(probe),
    }
}

/// [`MemlockCondition::MlockallAllowed`]: the capability, no limit, or a limit far above
/// what the process has mapped.
fn mlockall_allowed(probe: &KernelProbe) -> Branch {
    let why = memlock_why(probe);
    match binding_limit(&probe.memlock) {
        Err(undecided) => undecided,
        Ok(None) => Branch::Applies(why),
        Ok(Some((limit, mapped))) => decide(
            limit.get() >= mapped.get().saturating_mul(MLOCKALL_ROOM),
            format!(
                "{why}; it has {mapped} mapped (VmSize), and the limit must be {MLOCKALL_ROOM} times that"
            ),
        ),
    }
}

/// RLIMIT_MEMLOCK where it binds the process, with what the process has mapped (VmSize):
/// `None` where nothing binds it (the capability, or no limit), undecided without VmSize.
fn binding_limit(memlock: &MemlockLimit) -> Result<Option<(Bytes, Bytes)>, Branch> {
    let Some(limit) = memlock.soft.filter(|_| !memlock.can_exceed) else {
        return Ok(None);
    };
    let mapped = memlock
        .vm_size
        .ok_or_else(|| Branch::Undecided("VmSize missing from /proc/self/status".into()))?;
    Ok(Some((limit, mapped)))
}

/// Why the memlock limit binds this process or not: the capability and the limit itself.
fn memlock_why(probe: &KernelProbe) -> String {
    let limit = match probe.memlock.soft {
        Some(bytes) => bytes.to_string(),
        None => "unlimited".into(),
    };
    let capability = if probe.memlock.can_exceed {
        "has CAP_IPC_LOCK in its effective set (CapEff), so the limit does not apply to it"
    } else if probe.memlock.user_namespace {
        "runs in a user namespace of its own (/proc/self/uid_map), and mlock asks for \
         CAP_IPC_LOCK in the initial one, so the limit applies to it"
    } else {
        "lacks CAP_IPC_LOCK (CapEff), so the limit applies to it"
    };
    format!("RLIMIT_MEMLOCK is {limit}; this process {capability}")
}

/// mlockall(MCL_CURRENT) is refused (ENOMEM) without CAP_IPC_LOCK when the process has
/// more mapped (its total_vm, VmSize when probed) than RLIMIT_MEMLOCK allows. A child forked
/// for the experiment has what this process had mapped at the time.
fn below_mapped(probe: &KernelProbe) -> Branch {
    let why = memlock_why(probe);
    match binding_limit(&probe.memlock) {
        Err(undecided) => undecided,
        Ok(None) => Branch::DoesNotApply(why),
        Ok(Some((limit, mapped))) => decide(
            limit < mapped,
            format!("{why}; it has {mapped} mapped (VmSize)"),
        ),
    }
}

fn decide(holds: bool, why: String) -> Branch {
    if holds {
        Branch::Applies(why)
    } else {
        Branch::DoesNotApply(why)
    }
}

/// Once something is resident, tells whether the predicted huge page was really obtained.
fn not_obtained(subject: &Subject, prediction: &Prediction) -> Option<String> {
    // Right after the fault, unless this step is later (after a fork the writer's split
    // huge page no longer shows, though it was obtained).
    let record = subject.after_fault.as_ref().unwrap_or(&subject.record);
    let rss = record.size(SmapsField::Rss)?;
    if rss.get() == 0 {
        return None;
    }
    let anon_huge = record.size(SmapsField::AnonHugePages);
    match prediction.folio {
        Folio::Pmd(size) if anon_huge.is_some_and(|a| a < size) => Some(format!(
            "a {size} THP was predicted ({}), but the kernel gave none this time (AnonHugePages {}): THP allocation is best effort",
            prediction.why,
            anon_huge.unwrap_or_default()
        )),
        Folio::Mthp(size) if rss < size => Some(format!(
            "a {size} folio was predicted ({}), but Rss is only {rss}: the kernel fell back to a smaller folio (allocation is best effort)",
            prediction.why
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_answers_to_one_question_exclude_each_other_and_nothing_else_does() {
        let named = |name: &str| name.parse::<Condition>().unwrap();
        let excludes = |a: &str, b: &str| named(a).excludes(named(b));
        for (a, b) in [
            ("swap-on", "swap-off"),
            ("thp-eligible", "thp-not-eligible"),
            ("write-fault-base-page", "write-fault-pmd-thp"),
            ("overcommit-never", "overcommit-always"),
            ("memlock-exempt", "memlock-below-mapped"),
            ("mlockall-allowed", "memlock-below-mapped"),
        ] {
            assert!(excludes(a, b) && excludes(b, a), "{a} and {b}");
        }
        for (a, b) in [
            ("thp-eligible", "huge-page-does-not-fit"),
            ("memlock-enforced", "memlock-below-mapped"),
            ("memlock-exempt", "mlockall-allowed"),
            ("memlock-enforced", "mlockall-allowed"),
            ("swap-on", "files-in-memory"),
        ] {
            assert!(!excludes(a, b) && !excludes(b, a), "{a} and {b}");
        }
        for condition in every_condition() {
            assert!(!condition.excludes(condition), "{condition}");
        }
    }

    /// Every condition there is, written out so that a new variant must be added here.
    fn every_condition() -> Vec<Condition> {
        let mut all = vec![];
        for wanted in [true, false] {
            all.push(Condition::Thp(ThpCondition::Eligible(wanted)));
            all.push(Condition::Thp(ThpCondition::HugePageFits(wanted)));
        }
        for gets in [WriteGets::BasePage, WriteGets::PmdThp, WriteGets::Mthp] {
            all.push(Condition::WriteFault(gets));
        }
        for gets in [ReadGets::ZeroPage, ReadGets::Allocation] {
            all.push(Condition::ReadFault(gets));
        }
        for mode in [
            OvercommitMode::Heuristic,
            OvercommitMode::Always,
            OvercommitMode::Never,
        ] {
            all.push(Condition::Overcommit(mode));
        }
        for lives in [FilesLiveIn::Memory, FilesLiveIn::Disk] {
            all.push(Condition::TempFiles(lives));
        }
        for has in [PoolHas::Free, PoolHas::None, PoolHas::Surplus] {
            all.push(Condition::HugetlbPool(has));
        }
        for on in [true, false] {
            all.push(Condition::Swap(on));
            all.push(Condition::ThpBuiltIn(on));
        }
        for which in [
            MemlockCondition::Exempt,
            MemlockCondition::Enforced,
            MemlockCondition::BelowMapped,
            MemlockCondition::MlockallAllowed,
        ] {
            all.push(Condition::Memlock(which));
        }
        all.extend([true, false].map(Condition::FrameNumbers));
        all
    }

    #[test]
    fn every_condition_has_one_name_and_a_meaning() {
        let all = every_condition();
        assert_eq!(
            all.len(),
            NAMES.len(),
            "the table lists each condition once"
        );
        for condition in all {
            let name = condition.to_string();
            assert_eq!(name.parse::<Condition>(), Ok(condition), "{name}");
            assert!(!condition.meaning().is_empty(), "{name}");
        }
    }
}
