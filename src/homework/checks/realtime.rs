//! Checks of lesson `realtime`'s exercise.

use super::{Rng, bytes_of, call_for_new_mapping, page, pages};
use super::{record_at, record_of, region, residency, size};
use crate::homework::{Failure, Passed};
use crate::kernel::probe::KernelProbe;
use crate::kernel::{SmapsField, VmFlag};
use crate::memory::{Mapped, counters};
use nix::sys::mman::ProtFlags;
use nix::sys::mman::munlock;
use std::num::NonZeroUsize;
use std::ptr::NonNull;

crate::homework::declare::exercises! {
    lesson: realtime;

    /// Uses this process's RLIMIT_MEMLOCK budget, which no other test may spend meanwhile.
    lock_in_ram {
        fork_lock: exclusive,
        // BEGIN FAKES
        fakes: [
            "nothing" => |_| Ok(()),
            "touching every page" => |region| {
                for i in (0..region.len()).step_by(page()) {
                    // SAFETY: inside the region.
                    unsafe { std::ptr::read_volatile(region.as_ptr().add(i)) };
                }
                Ok(())
            },
        ],
        // END FAKES
    }

    /// Reads its own mapping's Locked and residency.
    map_populated {
        fork_lock: shared,
        // BEGIN FAKES
        fakes: [
            "a plain mmap" => super::fake::plain_mmap,
            // Every page resident, none locked: but the allocator's memory, not a mapping.
            "a heap allocation, every page written" => |len| super::fake::allocated(len.get(), page(), true),
            "mlock" => |len| {
                let start = super::fake::plain_mmap(len)?;
                // SAFETY: the mapping just made.
                unsafe { nix::sys::mman::mlock(start.cast(), len.get()) }?;
                Ok(start)
            },
            // Resident to mincore, but as the zero page: every write still faults.
            "a plain mmap, every page read" => |len| {
                let start = super::fake::plain_mmap(len)?;
                for i in (0..len.get()).step_by(page()) {
                    // SAFETY: inside the read-write mapping just made.
                    unsafe { std::ptr::read_volatile(start.as_ptr().add(i)) };
                }
                Ok(start)
            },
        ],
        // END FAKES
    }
}

/// An untouched region of up to 4 pages (as many as RLIMIT_MEMLOCK allows): afterwards all
/// of it is Locked and resident, VmFlags has `lo`, and writing every page takes no fault.
pub fn lock_in_ram(f: fn(&[u8]) -> nix::Result<()>) -> Result<Passed, Failure> {
    let probe = KernelProbe::probe().map_err(|e| Failure::setup("probe the kernel", e))?;
    let limit = probe.memlock.soft.map(|b| b.as_usize());
    let n = match limit {
        Some(limit) if !probe.memlock.can_exceed => (limit / page()).min(4),
        _ => 4,
    };
    if n == 0 {
        return Ok(Passed::Skipped(format!(
            "RLIMIT_MEMLOCK is {} bytes, less than a page, and this process lacks CAP_IPC_LOCK",
            limit.unwrap_or(0)
        )));
    }
    let mut region = region(n)?;
    f(bytes_of(&mut region)).map_err(|e| Failure::returned_error("lock_in_ram(region)", e))?;
    let record = record_of(&region)?;
    let (locked, rss) = (
        size(&record, SmapsField::Locked),
        size(&record, SmapsField::Rss),
    );
    let expected = format!(
        "Locked and Rss: {}, VmFlags with `lo`, no fault on writing",
        pages(n)
    );
    let want = n * page();
    let result = if locked.as_usize() != want
        || rss.as_usize() != want
        || !record.has_flag(VmFlag::Locked)
    {
        Err(Failure::new(
            expected,
            format!(
                "Locked {locked}, Rss {rss}, VmFlags {}",
                record.flags_text()
            ),
        ))
    } else {
        let faults = region
            .faults_writing_every_page()
            .map_err(|e| Failure::setup("count this thread's page faults", e))?
            .minor;
        if faults == 0 {
            Ok(Passed::Held(format!(
                "Locked {locked} = Rss, VmFlags `lo`, writing {n} pages took no fault"
            )))
        } else {
            Err(Failure::new(
                expected,
                format!("writing the {n} pages took {faults} minor faults"),
            ))
        }
    };
    // Unlocked before it is unmapped, so the lock budget is back for the next check at once.
    // SAFETY: the region is ours; munlock changes no contents.
    let _ = unsafe {
        munlock(
            NonNull::new(region.as_ptr().cast()).expect("mapped"),
            region.mapped_len(),
        )
    };
    result
}

/// A random length: on return a new mapping (see [`super::new_anonymous_mapping`]: a heap
/// allocation is refused, and left alone) with every page resident (mincore) and a page of
/// its own (writing it takes no fault: a page that was only read is the shared zero page,
/// which mincore counts too), and none locked (VmFlags without `lo`, Locked 0 kB):
/// populated is not locked.
pub fn map_populated(f: fn(NonZeroUsize) -> nix::Result<NonNull<u8>>) -> Result<Passed, Failure> {
    let mut rng = Rng::new();
    let n = rng.between(3, 24);
    let len = n * page() - rng.between(0, page() - 1);
    let asked = format!("map_populated({len})");
    let rw = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
    let expected = format!(
        "{asked}: a new mapping of {}, resident at once, none locked",
        pages(n)
    );
    let call = || f(NonZeroUsize::new(len).expect("len >= 1"));
    let (_, mapping) = match call_for_new_mapping(&asked, n * page(), rw, call)? {
        Ok(found) => found,
        Err(shown) => return Err(Failure::new(expected, shown)),
    };
    let addr = mapping.start.as_ptr() as usize;
    let resident = residency(addr, n * page())
        .unwrap_or_default()
        .iter()
        .filter(|&&r| r)
        .count();
    let record =
        record_at(addr)?.ok_or_else(|| Failure::setup("find the mapping in smaps", "gone"))?;
    let locked = size(&record, SmapsField::Locked);
    if resident != n || record.has_flag(VmFlag::Locked) || locked.0 != 0 {
        return Err(Failure::new(
            expected,
            format!(
                "{resident} of {n} pages resident, Locked {locked}, VmFlags {}",
                record.flags_text()
            ),
        ));
    }
    // SAFETY: the student's new private read-write mapping (found so above), which only this
    // check uses now; its pages are written through volatile accesses.
    let faults = unsafe { counters::faults_of(counters::write_first_bytes, addr, n * page()) }
        .map_err(|e| Failure::setup("count this thread's page faults", e))?
        .minor;
    if faults != 0 {
        return Err(Failure::new(
            expected,
            format!(
                "{n} of {n} pages resident, but writing them took {faults} minor faults: a \
                 page only read is the shared zero page, which mincore counts as resident"
            ),
        ));
    }
    Ok(Passed::Held(format!(
        "{n} of {n} pages resident on return and writing them took no fault, Locked {locked}"
    )))
}
