//! Branch conditions: the `when=` of a claim block. A claim that holds only under some
//! kernel configuration names the condition; the checker evaluates it on the running kernel
//! and says which branch applied and why.

use crate::experiment::Subject;
use crate::kernel::KernelProbe;
use crate::kernel::probe::OvercommitMode;
use crate::kernel::thp::{self, Access, Folio, Prediction};
use crate::names;
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Condition {
    /// The subject's VMA is eligible for some THP size (smaps' `THPeligible`): the settings
    /// allow the size, and an aligned range of it lies inside the VMA.
    ThpEligible,
    ThpNotEligible,
    /// An aligned range of the PMD size lies inside the subject's VMA (or none does), whatever
    /// the settings say: a VMA without one can never get a PMD-sized huge page.
    HugePageFits,
    HugePageDoesNotFit,
    /// The subject's write fault is predicted to get one base page.
    WriteFaultBasePage,
    /// ... a PMD-sized THP.
    WriteFaultPmdThp,
    /// ... a multi-size THP smaller than the PMD size.
    WriteFaultMthp,
    /// The subject's read of an untouched page maps a zero page (allocates nothing).
    ReadFaultZeroPage,
    /// ... allocates a THP (use_zero_page=0).
    ReadFaultAllocates,
    /// vm.overcommit_memory is 0, 1 or 2.
    OvercommitHeuristic,
    OvercommitAlways,
    OvercommitNever,
    /// The process has CAP_IPC_LOCK in its effective set: RLIMIT_MEMLOCK does not bind it.
    MemlockExempt,
    /// It lacks CAP_IPC_LOCK: what it locks counts against RLIMIT_MEMLOCK.
    MemlockEnforced,
    /// It lacks CAP_IPC_LOCK and its RLIMIT_MEMLOCK is below all it has mapped (VmSize):
    /// `mlockall(MCL_CURRENT)` cannot be granted.
    MemlockBelowMapped,
}

const NAMES: &[(&str, Condition)] = &[
    ("thp-eligible", Condition::ThpEligible),
    ("thp-not-eligible", Condition::ThpNotEligible),
    ("huge-page-fits", Condition::HugePageFits),
    ("huge-page-does-not-fit", Condition::HugePageDoesNotFit),
    ("write-fault-base-page", Condition::WriteFaultBasePage),
    ("write-fault-pmd-thp", Condition::WriteFaultPmdThp),
    ("write-fault-mthp", Condition::WriteFaultMthp),
    ("read-fault-zero-page", Condition::ReadFaultZeroPage),
    ("read-fault-allocates", Condition::ReadFaultAllocates),
    ("overcommit-heuristic", Condition::OvercommitHeuristic),
    ("overcommit-always", Condition::OvercommitAlways),
    ("overcommit-never", Condition::OvercommitNever),
    ("memlock-exempt", Condition::MemlockExempt),
    ("memlock-enforced", Condition::MemlockEnforced),
    ("memlock-below-mapped", Condition::MemlockBelowMapped),
];

impl FromStr for Condition {
    type Err = String;
    fn from_str(s: &str) -> Result<Condition, String> {
        names::parse(NAMES, "condition", s)
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(names::name_of(NAMES, self))
    }
}

/// Whether a condition holds on this kernel for this subject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Branch {
    Applies(String),
    DoesNotApply(String),
    /// The kernel was asked for a huge page and gave none: best effort, so the claims of
    /// this branch cannot be checked this time (the kernel's own tests skip here too).
    Undecided(String),
    /// The lesson asked for something the experiment cannot answer.
    Invalid(String),
}

impl Condition {
    /// Decides the condition; those about a mapping need the block's `subject`.
    pub fn evaluate(self, probe: &KernelProbe, subject: Option<&Subject>) -> Branch {
        let mode = match self {
            Condition::OvercommitHeuristic => Some(OvercommitMode::Heuristic),
            Condition::OvercommitAlways => Some(OvercommitMode::Always),
            Condition::OvercommitNever => Some(OvercommitMode::Never),
            _ => None,
        };
        if let Some(mode) = mode {
            return decide(
                probe.overcommit == mode,
                format!(
                    "/proc/sys/vm/overcommit_memory is {}",
                    probe.overcommit.number()
                ),
            );
        }
        if matches!(self, Condition::MemlockExempt | Condition::MemlockEnforced) {
            return decide(
                probe.memlock.can_exceed == (self == Condition::MemlockExempt),
                memlock_why(probe),
            );
        }
        if self == Condition::MemlockBelowMapped {
            return below_mapped(probe);
        }
        let Some(subject) = subject else {
            return Branch::Invalid(format!(
                "condition {self} is about a mapping, and this block shows none"
            ));
        };
        match self {
            Condition::ThpEligible | Condition::ThpNotEligible => {
                let eligible = thp::eligible_sizes(probe, &subject.record);
                let holds = eligible.is_ok() == (self == Condition::ThpEligible);
                let why = match eligible {
                    Ok(sizes) => format!(
                        "THP sizes this VMA is eligible for (allowed, and an aligned range fits): {}",
                        sizes
                            .iter()
                            .map(|s| s.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    Err(why) => why,
                };
                decide(holds, why)
            }
            Condition::HugePageFits | Condition::HugePageDoesNotFit => {
                let Some(thp) = &probe.thp else {
                    return Branch::DoesNotApply("the kernel has no transparent huge pages".into());
                };
                let fits = thp::fits_somewhere(&subject.record, thp.pmd_size);
                let vma = &subject.record.vma;
                decide(
                    fits == (self == Condition::HugePageFits),
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
            Condition::WriteFaultBasePage
            | Condition::WriteFaultPmdThp
            | Condition::WriteFaultMthp => {
                let Some(addr) = subject.write_addr else {
                    return Branch::Invalid(format!(
                        "condition {self} needs a write in `{}`, and this experiment makes none",
                        subject.name
                    ));
                };
                let prediction = thp::predict_fault(probe, &subject.record, addr, Access::Write);
                let holds = matches!(
                    (self, prediction.folio),
                    (Condition::WriteFaultBasePage, Folio::Base)
                        | (Condition::WriteFaultPmdThp, Folio::Pmd(_))
                        | (Condition::WriteFaultMthp, Folio::Mthp(_))
                );
                if holds && let Some(why) = not_obtained(subject, &prediction) {
                    return Branch::Undecided(why);
                }
                decide(holds, prediction.why)
            }
            Condition::ReadFaultZeroPage | Condition::ReadFaultAllocates => {
                let Some(addr) = subject.read_addr else {
                    return Branch::Invalid(format!(
                        "condition {self} needs a read in `{}`, and this experiment makes none",
                        subject.name
                    ));
                };
                let prediction = thp::predict_fault(probe, &subject.record, addr, Access::Read);
                let zero = prediction.folio == Folio::ZeroPage;
                decide(
                    zero == (self == Condition::ReadFaultZeroPage),
                    prediction.why,
                )
            }
            Condition::OvercommitHeuristic
            | Condition::OvercommitAlways
            | Condition::OvercommitNever
            | Condition::MemlockExempt
            | Condition::MemlockEnforced
            | Condition::MemlockBelowMapped => unreachable!("decided above"),
        }
    }
}

/// Why the memlock limit binds this process or not: the capability and the limit itself.
fn memlock_why(probe: &KernelProbe) -> String {
    let limit = match probe.memlock.soft {
        Some(bytes) => bytes.to_string(),
        None => "unlimited".into(),
    };
    let capability = if probe.memlock.can_exceed {
        "has CAP_IPC_LOCK in its effective set (CapEff), so the limit does not apply to it"
    } else {
        "lacks CAP_IPC_LOCK (CapEff), so the limit applies to it"
    };
    format!("RLIMIT_MEMLOCK is {limit}; this process {capability}")
}

/// mlockall(MCL_CURRENT) is refused (ENOMEM) without CAP_IPC_LOCK when the process has
/// more mapped (its total_vm, VmSize when probed) than RLIMIT_MEMLOCK allows. A child forked
/// for the experiment has what this process had mapped at the time.
fn below_mapped(probe: &KernelProbe) -> Branch {
    let memlock = &probe.memlock;
    let Some(limit) = memlock.soft.filter(|_| !memlock.can_exceed) else {
        return Branch::DoesNotApply(memlock_why(probe));
    };
    let Some(mapped) = memlock.vm_size else {
        return Branch::Undecided("VmSize missing from /proc/self/status".into());
    };
    decide(
        limit < mapped,
        format!("{}; it has {mapped} mapped (VmSize)", memlock_why(probe)),
    )
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
    let rss = record.size("Rss")?;
    if rss.get() == 0 {
        return None;
    }
    let anon_huge = record.size("AnonHugePages");
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
