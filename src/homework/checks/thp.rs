//! Checks of lesson `thp`'s exercises.

use super::{Rng, bytes_of, call_for_new_mapping, fenced, page, page_round, pages};
use super::{record_of, residency};
use crate::Bytes;
use crate::homework::{Failure, Passed};
use crate::kernel::VmFlag;
use crate::kernel::probe::pmd_size;
use nix::sys::mman::ProtFlags;
use std::num::NonZeroUsize;
use std::ptr::NonNull;

crate::homework::declare::exercises! {
    lesson: thp;

    advise_huge_pages {
        fork_lock: shared,
        // BEGIN FAKES
        fakes: [
            "nothing" => |_| Ok(()),
            "MADV_NOHUGEPAGE" => |r| {
                super::fake::advise(r, nix::sys::mman::MmapAdvise::MADV_NOHUGEPAGE)
            },
        ],
        // END FAKES
    }

    map_aligned {
        fork_lock: shared,
        // BEGIN FAKES
        fakes: [
            // Aligned, then one page off: deterministic, unlike a plain mmap that is aligned
            // by luck once in a while.
            "one page past the alignment" => |len, align| {
                let total = len.saturating_add(align + page());
                let base = super::fake::plain_mmap(total)?.as_ptr() as usize;
                NonNull::new((base.next_multiple_of(align) + page()) as *mut u8)
                    .ok_or(nix::errno::Errno::EFAULT)
            },
            // Aligned as asked, and read-write: but the allocator's memory, not a mapping.
            "a heap allocation" => |len, align| super::fake::allocated(len.get(), align, false),
        ],
        // END FAKES
    }
}

/// A fenced region: afterwards its VmFlags carry `hg` (VM_HUGEPAGE).
pub fn advise_huge_pages(f: fn(&mut [u8]) -> nix::Result<()>) -> Result<Passed, Failure> {
    if pmd_size().is_none() {
        return Ok(Passed::Skipped(
            "this kernel has no transparent huge pages (no /sys/kernel/mm/transparent_hugepage)"
                .into(),
        ));
    }
    let mut region = fenced(4)?;
    f(bytes_of(&mut region))
        .map_err(|e| Failure::returned_error("advise_huge_pages(region)", e))?;
    let record = record_of(&region)?;
    let flags = record.flags_text();
    if !record.has_flag(VmFlag::HugePageAdvised) || record.has_flag(VmFlag::NoHugePageAdvised) {
        return Err(Failure::new(
            "VmFlags with `hg` (and no `nh`)",
            format!("VmFlags: {flags}"),
        ));
    }
    Ok(Passed::Held(format!("VmFlags: {flags}")))
}

/// Random lengths at two alignments, the huge page size and a random power of two from 8 to
/// 64 pages: the start must be a multiple, and the whole length a new mapping, read-write,
/// anonymous and private, with nothing else the call mapped left around it (see
/// [`super::new_anonymous_mapping`]: a heap allocation is refused, and left alone). Without THP the huge size is one page table's span, which is what
/// a PMD page would be: page / 8 entries of 8 bytes, each mapping a page (4 kB pages: 2 MiB;
/// 16 kB: 32 MiB).
pub fn map_aligned(
    f: fn(NonZeroUsize, usize) -> nix::Result<NonNull<u8>>,
) -> Result<Passed, Failure> {
    let mut rng = Rng::new();
    let page = page();
    let huge = pmd_size().map_or(page * (page / size_of::<u64>()), Bytes::as_usize);
    let mut shown = Vec::new();
    for align in [huge, page << rng.between(3, 6)] {
        let len = rng.between(1, 8 * page);
        let asked = format!("map_aligned({len}, {align:#x})");
        let expected = format!(
            "{asked}: a multiple of {align:#x}, {} newly mapped read-write there and nothing \
             else left mapped",
            pages(page_round(len) / page)
        );
        let rw = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
        let call = || f(NonZeroUsize::new(len).expect("len >= 1"), align);
        let (_, mapping) = match call_for_new_mapping(&asked, page_round(len), rw, call)? {
            Ok(found) => found,
            Err(shown) => return Err(Failure::new(expected, shown)),
        };
        let addr = mapping.start.as_ptr() as usize;
        if !addr.is_multiple_of(align) || residency(addr, page_round(len)).is_none() {
            return Err(Failure::new(
                expected,
                format!("{addr:#x}, {:#x} past a multiple", addr % align),
            ));
        }
        shown.push(format!("{addr:#x} for {align:#x}"));
    }
    Ok(Passed::Held(shown.join(", ")))
}
