//! Checks of lesson `realtime`'s exercise.

use super::{Rng, bytes_of, call_for_new_mapping, page, pages, record_found_at};
use super::{record_of, region, residency, size};
use crate::homework::{Failure, Passed};
use crate::kernel::probe::KernelProbe;
use crate::kernel::{SmapsField, VmFlag};
use crate::memory::{Mapped, Mapping, counters};
use nix::sys::mman::ProtFlags;
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
            // Granted as root (then the other region is locked too); refused (ENOMEM)
            // without CAP_IPC_LOCK where the process maps more than RLIMIT_MEMLOCK.
            "mlockall(MCL_CURRENT)" => |_| {
                nix::sys::mman::mlockall(nix::sys::mman::MlockAllFlags::MCL_CURRENT)
            },
            "mlock, then mlockall(MCL_FUTURE)" saying "after your call" => |region| {
                let start = std::ptr::NonNull::from(region).cast();
                // SAFETY: mlock changes no contents of the check's region.
                unsafe { nix::sys::mman::mlock(start, region.len()) }?;
                nix::sys::mman::mlockall(nix::sys::mman::MlockAllFlags::MCL_FUTURE)
            },
            "mlock of the first page" saying "split by a call on part of it" => |region| {
                let start = std::ptr::NonNull::from(region).cast();
                // SAFETY: as above, on the region's first page.
                unsafe { nix::sys::mman::mlock(start, page()) }
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
/// Nothing else is locked: not another region of the check's, mapped before the call
/// (mlockall(MCL_CURRENT) locked it too, and passed as root), nor one mapped after it
/// (mlockall(MCL_FUTURE)).
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
    let other = super::region(1)?;
    let result = f(bytes_of(&mut region))
        .map_err(|e| Failure::returned_error("lock_in_ram(region)", e))
        .and_then(|()| locked_alone(&mut region, &other, n));
    // Every lock the call left undone, mlockall's future mappings too, so that the lock
    // budget is back for the next check at once. The process is the check's own (or the
    // fakes' test, which runs alone: its fork lock is exclusive).
    let _ = nix::sys::mman::munlockall();
    result
}

/// After the student's call: `region` (`n` pages) locked and resident, writing it takes no
/// fault, and neither `other` nor a region mapped now is locked.
fn locked_alone(region: &mut Mapping, other: &Mapping, n: usize) -> Result<Passed, Failure> {
    let record = record_of(region)?;
    let (locked, rss) = (
        size(&record, SmapsField::Locked),
        size(&record, SmapsField::Rss),
    );
    let expected = format!(
        "Locked and Rss: {}, VmFlags with `lo`, no fault on writing; nothing else locked",
        pages(n)
    );
    let want = n * page();
    if locked.as_usize() != want || rss.as_usize() != want || !record.has_flag(VmFlag::Locked) {
        return Err(Failure::new(
            expected,
            format!(
                "Locked {locked}, Rss {rss}, VmFlags {}",
                record.flags_text()
            ),
        ));
    }
    let later = super::region(1).map_err(|failure| {
        Failure::new(
            expected.clone(),
            format!(
                "a region mapped after your call could not be: {} (are mappings made after \
                 it locked too, beyond RLIMIT_MEMLOCK?)",
                failure.showed
            ),
        )
    })?;
    for (which, there) in [
        ("a region of the check's you were not given", other),
        ("a region the check mapped after your call", &later),
    ] {
        let record = record_of(there)?;
        let locked = size(&record, SmapsField::Locked);
        if record.has_flag(VmFlag::Locked) || locked.0 != 0 {
            return Err(Failure::new(
                expected,
                format!(
                    "{which} is locked too: Locked {locked}, VmFlags {} (lock `region` only, \
                     not the whole process)",
                    record.flags_text()
                ),
            ));
        }
    }
    let faults = region
        .faults_writing_every_page()
        .map_err(|e| Failure::setup("count this thread's page faults", e))?
        .minor;
    if faults != 0 {
        return Err(Failure::new(
            expected,
            format!("writing the {n} pages took {faults} minor faults"),
        ));
    }
    Ok(Passed::Held(format!(
        "Locked {locked} = Rss, VmFlags `lo`, writing {n} pages took no fault; no other \
         region locked"
    )))
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
    let record = record_found_at(addr)?;
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
