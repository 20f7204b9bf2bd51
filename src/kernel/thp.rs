//! Which folio size an anonymous fault gets, predicted from the THP settings and the VMA.
//!
//! Rules (Documentation/admin-guide/mm/transhuge.rst, mm/huge_memory.c):
//! - no THP support, PR_SET_THP_DISABLE, or MADV_NOHUGEPAGE (`nh`): base pages;
//! - a size is allowed when its control says `always`, or `madvise` and the VMA has
//!   MADV_HUGEPAGE (`hg`); per-size `inherit` takes the top-level `enabled`. Before 6.8
//!   there are no per-size controls and the top-level one governs the PMD size alone;
//! - a size is *eligible* for a VMA (smaps' `THPeligible`) when it is allowed and some
//!   naturally aligned range of that size lies inside the VMA: `thp_vma_allowable_orders()`
//!   tests the highest aligned range that ends by `vm_end` (`thp_vma_suitable_order()`), so
//!   a VMA smaller than every allowed size is never eligible, whatever the settings;
//! - a write fault uses the largest allowed size whose naturally aligned range around the
//!   address lies inside the VMA (the kernel tries large orders first);
//! - a read fault never allocates a multi-size THP; for the PMD size it maps the huge zero
//!   page when `use_zero_page` is 1, and allocates a THP otherwise.
//!
//! Getting a THP is best effort (fragmentation, defrag): a prediction says what the kernel
//! tries, and callers treat "not obtained" as something to skip, as the kernel's tests do.

use crate::Bytes;
use crate::kernel::probe::{PerSizeMode, ThpMode, ThpSettings};
use crate::kernel::{KernelProbe, SmapsRecord, VmFlag};

/// What a fault is predicted to allocate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Folio {
    /// One base page.
    Base,
    /// A multi-size THP smaller than the PMD size.
    Mthp(Bytes),
    /// A PMD-sized THP.
    Pmd(Bytes),
    /// Nothing: a read fault mapped a shared zero page.
    ZeroPage,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Prediction {
    pub folio: Folio,
    /// Which settings led there, in words, for reports.
    pub why: String,
}

/// What touches a page: a read or a write. The kernel handles their faults apart
/// (`FAULT_FLAG_WRITE`): a read of anonymous memory can map the zero page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Read,
    Write,
}

/// The THP sizes the settings allow for this VMA, smallest first, with the reason when none is.
pub fn allowed_sizes(probe: &KernelProbe, vma: &SmapsRecord) -> Result<Vec<Bytes>, String> {
    let Some(thp) = &probe.thp else {
        return Err("the kernel has no transparent huge pages".into());
    };
    if !probe.process_thp_enabled {
        return Err("THP is disabled for this process (PR_SET_THP_DISABLE)".into());
    }
    if vma.has_flag(VmFlag::NoHugePageAdvised) {
        return Err("the VMA has MADV_NOHUGEPAGE (nh in VmFlags)".into());
    }
    let advised = vma.has_flag(VmFlag::HugePageAdvised);
    let allowed_by = |mode: ThpMode| match mode {
        ThpMode::Always => true,
        ThpMode::Madvise => advised,
        ThpMode::Never => false,
    };
    let sizes: Vec<Bytes> = if thp.per_size.is_empty() {
        if allowed_by(thp.enabled) {
            vec![thp.pmd_size]
        } else {
            vec![]
        }
    } else {
        thp.per_size
            .iter()
            .filter(|(_, mode)| match mode {
                PerSizeMode::Always => true,
                PerSizeMode::Madvise => advised,
                PerSizeMode::Inherit => allowed_by(thp.enabled),
                PerSizeMode::Never => false,
            })
            .map(|(size, _)| *size)
            .collect()
    };
    if sizes.is_empty() {
        Err(format!(
            "no THP size is allowed for this VMA: {}",
            describe_settings(thp, advised)
        ))
    } else {
        Ok(sizes)
    }
}

/// Whether the naturally aligned range of `size` around `addr` lies inside the VMA: the
/// one test behind both eligibility and the fault prediction (`thp_vma_suitable_order()`;
/// anonymous VMAs need no file-offset alignment).
fn fits_around(vma: &SmapsRecord, size: Bytes, addr: usize) -> bool {
    let size = size.as_usize();
    let start = addr & !(size - 1);
    start >= vma.vma.start
        && start
            .checked_add(size)
            .is_some_and(|end| end <= vma.vma.end)
}

/// Whether some aligned range of `size` lies inside the VMA: the highest one ending by the
/// VMA's end, as smaps asks the kernel.
pub fn fits_somewhere(vma: &SmapsRecord, size: Bytes) -> bool {
    vma.vma
        .end
        .checked_sub(size.as_usize())
        .is_some_and(|addr| fits_around(vma, size, addr))
}

/// The THP sizes this VMA is eligible for, smallest first, as `THPeligible` counts them:
/// allowed by the settings, and with an aligned range of the size inside the VMA. The
/// error says which of the two is missing.
pub fn eligible_sizes(probe: &KernelProbe, vma: &SmapsRecord) -> Result<Vec<Bytes>, String> {
    let allowed = allowed_sizes(probe, vma)?;
    let eligible: Vec<Bytes> = allowed
        .iter()
        .copied()
        .filter(|size| fits_somewhere(vma, *size))
        .collect();
    if eligible.is_empty() {
        Err(format!(
            "THP sizes {} are allowed for this VMA, but no aligned range of {} lies inside the {} VMA {:#x}-{:#x}",
            list(&allowed),
            if allowed.len() == 1 {
                "that size"
            } else {
                "those sizes"
            },
            vma.vma.len(),
            vma.vma.start,
            vma.vma.end
        ))
    } else {
        Ok(eligible)
    }
}

/// Predicts what a fault at `addr` inside `vma` allocates.
pub fn predict_fault(
    probe: &KernelProbe,
    vma: &SmapsRecord,
    addr: usize,
    access: Access,
) -> Prediction {
    let base = |why: String| match access {
        Access::Write => Prediction {
            folio: Folio::Base,
            why,
        },
        Access::Read => Prediction {
            folio: Folio::ZeroPage,
            why: format!("{why}; a read fault maps the shared zero page"),
        },
    };
    let allowed = match allowed_sizes(probe, vma) {
        Ok(sizes) => sizes,
        Err(why) => return base(why),
    };
    let thp = probe
        .thp
        .as_ref()
        .expect("allowed_sizes checked THP exists");
    let pmd = thp.pmd_size;
    let Some(size) = allowed
        .iter()
        .rev()
        .copied()
        .find(|size| fits_around(vma, *size, addr))
    else {
        return base(format!(
            "THP sizes {} are allowed, but no aligned range of those sizes around {addr:#x} lies inside the VMA {:#x}-{:#x}",
            list(&allowed),
            vma.vma.start,
            vma.vma.end
        ));
    };
    let settings = describe_settings(thp, vma.has_flag(VmFlag::HugePageAdvised));
    match access {
        Access::Write if size == pmd => Prediction {
            folio: Folio::Pmd(size),
            why: format!(
                "{settings}; the {pmd}-aligned range around {addr:#x} lies inside the VMA"
            ),
        },
        Access::Write => Prediction {
            folio: Folio::Mthp(size),
            why: format!("{settings}; the largest allowed size whose aligned range fits is {size}"),
        },
        Access::Read if size == pmd && thp.use_zero_page != Some(false) => Prediction {
            folio: Folio::ZeroPage,
            why: format!("{settings}; a read fault maps the huge zero page (use_zero_page=1)"),
        },
        Access::Read if size == pmd => Prediction {
            folio: Folio::Pmd(size),
            why: format!("{settings}; use_zero_page=0, so even a read fault allocates a {pmd} THP"),
        },
        Access::Read => Prediction {
            folio: Folio::ZeroPage,
            why: format!(
                "{settings}; a read fault never allocates a multi-size THP: it maps the zero page"
            ),
        },
    }
}

/// Sizes as a list for reports: `64 kB, 2048 kB`.
pub fn list(sizes: &[Bytes]) -> String {
    sizes
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe_settings(thp: &ThpSettings, advised: bool) -> String {
    let enabled = thp.enabled.word();
    let advice = if advised {
        "the VMA has MADV_HUGEPAGE"
    } else {
        "the VMA has no MADV_HUGEPAGE"
    };
    let per_size: Vec<String> = thp
        .per_size
        .iter()
        .filter(|(_, mode)| **mode != PerSizeMode::Never)
        .map(|(size, mode)| format!("hugepages-{}kB={}", size.kib(), mode.word()))
        .collect();
    if thp.per_size.is_empty() {
        format!("THP enabled={enabled}, {advice}")
    } else if per_size.is_empty() {
        format!("THP enabled={enabled}, every per-size control is never, {advice}")
    } else {
        format!(
            "THP enabled={enabled}, {} (others never), {advice}",
            per_size.join(", ")
        )
    }
}
