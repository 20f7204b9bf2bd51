//! Exercises of lesson 03, `lazy-allocation` (lessons/03-lazy-allocation.md).

use std::num::NonZeroUsize;
use std::ptr::NonNull;

/// Reserves `len` bytes of private anonymous read-write memory that the kernel does not
/// count against its commit limit (no swap space is set aside for it), and returns where
/// it starts. `len` may be larger than RAM and swap together. The caller unmaps it.
pub fn reserve_without_commit(len: NonZeroUsize) -> nix::Result<NonNull<u8>> {
    // BEGIN SOLUTION reserve-without-commit
    use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous};
    let prot = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
    let flags = MapFlags::MAP_PRIVATE | MapFlags::MAP_NORESERVE;
    // SAFETY: without MAP_FIXED the kernel picks a free range: nothing is replaced.
    let start = unsafe { mmap_anonymous(None, len, prot, flags) }?;
    Ok(start.cast())
    // END SOLUTION
}

/// Writes one byte into every page of `region` and returns how many minor page faults this
/// thread took doing it, as getrusage(RUSAGE_THREAD) counts them. Some pages of `region` may
/// be resident already; `region` starts on a page boundary.
pub fn count_first_touch_faults(region: &mut [u8]) -> nix::Result<u64> {
    // BEGIN SOLUTION count-first-touch-faults
    use nix::sys::resource::{UsageWho, getrusage};
    let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)?
        .ok_or(nix::errno::Errno::EINVAL)? as usize;
    let before = getrusage(UsageWho::RUSAGE_THREAD)?.minor_page_faults();
    for offset in (0..region.len()).step_by(page) {
        // SAFETY: inside the region; volatile so that every write really happens.
        unsafe { std::ptr::write_volatile(region.as_mut_ptr().add(offset), 1) };
    }
    let after = getrusage(UsageWho::RUSAGE_THREAD)?.minor_page_faults();
    Ok(u64::try_from(after - before).unwrap_or(0))
    // END SOLUTION
}
