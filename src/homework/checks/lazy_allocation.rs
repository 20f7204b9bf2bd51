//! Checks of lesson `lazy-allocation`'s exercise.

use super::{Rng, bytes_of, call_for_new_mapping, minor_faults, page, page_round, pages};
use super::{record_found_at, record_of, region, residency, size};
use crate::Bytes;
use crate::homework::{Failure, Passed};
use crate::kernel::meminfo::{MeminfoSize, read_meminfo};
use crate::kernel::probe::{KernelProbe, OvercommitMode};
use crate::kernel::{SmapsField, VmFlag};
use nix::sys::mman::ProtFlags;
use nix::sys::resource::UsageWho;
use std::num::NonZeroUsize;
use std::ptr::NonNull;

crate::homework::declare::exercises! {
    lesson: lazy_allocation;

    reserve_without_commit {
        fork_lock: shared,
        // BEGIN FAKES
        fakes: [
            "a mapping without MAP_NORESERVE" => super::fake::plain_mmap,
        ],
        // END FAKES
    }

    /// Counts its own thread's faults and reads its own pages' Rss.
    count_first_touch_faults {
        fork_lock: shared,
        // BEGIN FAKES
        fakes: [
            "one fault per page, resident or not" => |r| {
                for i in (0..r.len()).step_by(page()) {
                    r[i] = 1;
                }
                Ok((r.len() / page()) as u64)
            },
            "0 and no writes" => |_| Ok(0),
            "a large count" => |_| Ok(1 << 20),
            // Every page reads 0 at its start, so this counts them all.
            "pages that read 0" => |r| {
                let mut zeros = 0;
                for i in (0..r.len()).step_by(page()) {
                    zeros += u64::from(r[i] == 0);
                    r[i] = 1;
                }
                Ok(zeros)
            },
            // The pages only read are the zero page: resident, and faulting on a write.
            "pages mincore says are not resident" saying "only read" => |r| {
                let resident = residency(r.as_ptr() as usize, r.len())
                    .ok_or(nix::errno::Errno::ENOMEM)?;
                for i in (0..r.len()).step_by(page()) {
                    r[i] = 1;
                }
                Ok(resident.iter().filter(|&&page| !page).count() as u64)
            },
        ],
        // END FAKES
    }
}

/// Twice the machine's RAM and swap: the mapping must be new (see
/// [`super::new_anonymous_mapping`]), carry VmFlags `nr` (no reservation), be read-write and
/// private, and hold nothing yet.
pub fn reserve_without_commit(
    f: fn(NonZeroUsize) -> nix::Result<NonNull<u8>>,
) -> Result<Passed, Failure> {
    let probe = KernelProbe::probe().map_err(|e| Failure::setup("probe the kernel", e))?;
    if probe.overcommit == OvercommitMode::Never {
        return Ok(Passed::Skipped(
            "overcommit mode 2 (vm.overcommit_memory = 2): the kernel ignores MAP_NORESERVE and \
             sets no `nr` flag, so a reservation cannot be told from a commitment"
                .into(),
        ));
    }
    let meminfo = read_meminfo().map_err(|e| Failure::setup("read /proc/meminfo", e))?;
    let total = |size| {
        let bytes = meminfo.require(size);
        bytes
            .map(Bytes::as_usize)
            .map_err(|e| Failure::setup("read /proc/meminfo", e))
    };
    let len = page_round(2 * (total(MeminfoSize::MemTotal)? + total(MeminfoSize::SwapTotal)?));
    let asked = format!("reserve_without_commit({})", Bytes(len as u64));
    let expected =
        format!("{asked}: a new read-write private mapping with VmFlags `nr`, nothing resident");
    let rw = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
    let call = || f(NonZeroUsize::new(len).expect("RAM is not empty"));
    let (_, mapping) = match call_for_new_mapping(&asked, len, rw, call)? {
        Ok(found) => found,
        Err(shown) => return Err(Failure::new(expected, shown)),
    };
    let addr = mapping.start.as_ptr() as usize;
    let record = record_found_at(addr)?;
    let flags = record.flags_text();
    if !record.has_flag(VmFlag::NoReserve) {
        return Err(Failure::new(expected, format!("VmFlags: {flags}")));
    }
    // The kernel may merge the reservation with a neighbour that has `nr` too (glibc's
    // malloc arenas do), so the record's Rss is not only ours: ask mincore about our ends.
    let page = super::page();
    for at in [addr, addr + len - page] {
        if residency(at, page).is_none_or(|r| r[0]) {
            return Err(Failure::new(
                expected,
                format!("the page at {at:#x} is resident"),
            ));
        }
    }
    Ok(Passed::Held(format!(
        "{} reserved (RAM + swap twice over), VmFlags: {flags}, nothing resident",
        Bytes(len as u64)
    )))
}

/// What the check did to a page of the region before the call.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Before {
    /// Nothing: the first write allocates it, one fault.
    Untouched,
    /// Read: mapped to the shared zero page, which mincore counts resident, and which the
    /// first write copies, one fault.
    Read,
    /// Written with a 0: resident, the write takes no fault.
    Written,
}

/// Faults a right answer may count besides the region's: its own code's first run (a page
/// of text faulted in), a new stack page. Fewer than the pages written before (at least 4),
/// so that counting every page is wrong by more than these.
const STRAY_FAULTS: u64 = 3;

/// A region of random size, its pages in random order untouched, only read (the zero page)
/// or written with a 0 (so that every page reads as zeros, and only the fault count tells a
/// resident page from another: a page written with a 1 let "count the pages reading 0"
/// pass): the count must be the pages whose first write faults, give or take
/// [`STRAY_FAULTS`] more, and at most what the check counted around the call; afterwards
/// every page is resident.
pub fn count_first_touch_faults(f: fn(&mut [u8]) -> nix::Result<u64>) -> Result<Passed, Failure> {
    let mut rng = Rng::new();
    let n = rng.between(8, 32);
    let mut region = region(n)?;
    // At least 4 written, one read and one untouched: then "every page", "the pages
    // mincore shows absent" and "no fault" are all wrong by more than a stray fault.
    let mut before: Vec<Before> = (0..n)
        .map(|i| match i {
            0..4 => Before::Written,
            4 => Before::Read,
            5 => Before::Untouched,
            _ => [Before::Untouched, Before::Read, Before::Written][rng.between(0, 2)],
        })
        .collect();
    rng.shuffle(&mut before);
    let base = region.as_ptr();
    for (i, kind) in before.iter().enumerate() {
        // Anywhere in the page: the student cannot know where to look.
        let at = i * page() + rng.between(0, page() - 1);
        // SAFETY: inside the region, which is ours and read-write; volatile so that the
        // access happens (a write of 0 to memory the compiler may think holds 0 already).
        unsafe {
            match kind {
                Before::Untouched => {}
                Before::Read => {
                    let _ = std::ptr::read_volatile(base.add(at));
                }
                Before::Written => std::ptr::write_volatile(base.add(at), 0),
            }
        }
    }
    let count = |kind| before.iter().filter(|&&k| k == kind).count() as u64;
    let (read, written) = (count(Before::Read), count(Before::Written));
    let faulting = n as u64 - written;
    let start = minor_faults(UsageWho::RUSAGE_THREAD)?;
    let answer = f(bytes_of(&mut region))
        .map_err(|e| Failure::returned_error("count_first_touch_faults(region)", e))?;
    let around = (minor_faults(UsageWho::RUSAGE_THREAD)? - start) as u64;
    let rss = size(&record_of(&region)?, SmapsField::Rss);
    let most = around.min(faulting + STRAY_FAULTS);
    let expected = format!(
        "{faulting} faults, one for each of the {n} pages but the {written} written before \
         (their first write takes none), {read} of them only read before (the shared zero \
         page, copied on the first write); at most {most} (the check counted {around} around \
         the call); then Rss {}",
        pages(n)
    );
    if rss.as_usize() != n * page() {
        return Err(Failure::new(
            expected,
            format!("Rss {rss}: not every page was written"),
        ));
    }
    if answer < faulting || answer > most {
        let why = if answer == faulting - read {
            ": the pages only read before are resident to mincore, yet their first write \
             faults (count the faults, not the pages)"
        } else if answer == n as u64 {
            ": every page, but those written before were resident and took no fault (every \
             page reads 0: only the fault count tells)"
        } else {
            ""
        };
        return Err(Failure::new(
            expected,
            format!("you returned {answer}{why}"),
        ));
    }
    Ok(Passed::Held(format!(
        "{answer} faults for {faulting} pages whose first write faults ({read} only read \
         before, {written} written before), Rss {rss}"
    )))
}
