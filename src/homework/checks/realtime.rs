//! Checks of lesson `realtime`'s exercise.

use super::{bytes_of, minor_faults, page, pages, record_of, region, size};
use crate::homework::{Failure, Passed};
use crate::kernel::probe::KernelProbe;
use nix::sys::mman::munlock;
use nix::sys::resource::UsageWho;
use std::ptr::NonNull;

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
    let (locked, rss) = (size(&record, "Locked"), size(&record, "Rss"));
    let expected = format!(
        "Locked and Rss: {}, VmFlags with `lo`, no fault on writing",
        pages(n)
    );
    let want = n * page();
    let result = if locked.as_usize() != want || rss.as_usize() != want || !record.has_flag("lo") {
        Err(Failure::new(
            expected,
            format!(
                "Locked {locked}, Rss {rss}, VmFlags {}",
                record.vm_flags.clone().unwrap_or_default().join(" ")
            ),
        ))
    } else {
        let before = minor_faults(UsageWho::RUSAGE_THREAD)?;
        for i in 0..n {
            // SAFETY: inside the region, which is ours.
            unsafe { std::ptr::write_volatile(region.as_ptr().add(i * page()), 1) };
        }
        let faults = minor_faults(UsageWho::RUSAGE_THREAD)? - before;
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
