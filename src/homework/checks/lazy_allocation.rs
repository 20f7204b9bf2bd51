//! Checks of lesson `lazy-allocation`'s exercise.

use super::{
    Rng, bytes_of, call_for_new_mapping, minor_faults, page, page_round, pages, record_at,
};
use super::{record_of, region, residency, size};
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

    /// Reads its own pages' smaps fields, which a concurrent fork would turn shared.
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
    let record =
        record_at(addr)?.ok_or_else(|| Failure::setup("find the mapping in smaps", "gone"))?;
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

/// A region of random size with a random set of its pages written beforehand: the count must
/// be at least the pages that were not resident (one fault each, THP off) and at most what
/// the check counted around the call, and afterwards every page is resident.
pub fn count_first_touch_faults(f: fn(&mut [u8]) -> nix::Result<u64>) -> Result<Passed, Failure> {
    let mut rng = Rng::new();
    let n = rng.between(8, 32);
    let mut region = region(n)?;
    let bytes = bytes_of(&mut region);
    // Never none and never all, and at least three: then "one fault per page" and "no
    // fault" are wrong by more than a stray fault of the call itself.
    let written: Vec<usize> = (0..n - 1)
        .filter(|&i| i < 3 || rng.next().is_multiple_of(3))
        .collect();
    for &i in &written {
        bytes[i * page()] = 1;
    }
    let fresh = (n - written.len()) as u64;
    let before = minor_faults(UsageWho::RUSAGE_THREAD)?;
    let answer = f(bytes_of(&mut region))
        .map_err(|e| Failure::returned_error("count_first_touch_faults(region)", e))?;
    let around = (minor_faults(UsageWho::RUSAGE_THREAD)? - before) as u64;
    let rss = size(&record_of(&region)?, SmapsField::Rss);
    let expected = format!(
        "{fresh} faults for the {fresh} pages of {n} not yet resident (between {fresh} and the \
         {around} the check counted around the call), then Rss {}",
        pages(n)
    );
    if rss.as_usize() != n * page() {
        return Err(Failure::new(
            expected,
            format!("Rss {rss}: not every page was written"),
        ));
    }
    if answer < fresh || answer > around {
        return Err(Failure::new(expected, format!("you returned {answer}")));
    }
    Ok(Passed::Held(format!(
        "{answer} faults for {fresh} new pages ({} were resident already), Rss {rss}",
        written.len()
    )))
}
