//! Exercises of lesson 07, `realtime` (lessons/07-realtime.md).

use std::num::NonZeroUsize;
use std::ptr::NonNull;

/// Locks `region` in RAM: every page resident now, and none paged out or faulted in again
/// until it is unlocked or unmapped. `region` starts on a page boundary and fits within
/// this process's RLIMIT_MEMLOCK.
pub fn lock_in_ram(region: &[u8]) -> nix::Result<()> {
    // BEGIN SOLUTION lock-in-ram
    let start = std::ptr::NonNull::from(region).cast::<libc::c_void>();
    // SAFETY: mlock only changes how the kernel treats these pages, which we may read.
    unsafe { nix::sys::mman::mlock(start, region.len()) }
    // END SOLUTION
}

/// Maps `len` bytes of private anonymous read-write memory that is all resident when this
/// returns, without locking it, and returns where it starts. The caller unmaps it.
pub fn map_populated(len: NonZeroUsize) -> nix::Result<NonNull<u8>> {
    // BEGIN SOLUTION map-populated
    use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous};
    let prot = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
    let flags = MapFlags::MAP_PRIVATE | MapFlags::MAP_POPULATE;
    // SAFETY: without MAP_FIXED the kernel picks a free range: nothing is replaced.
    let start = unsafe { mmap_anonymous(None, len, prot, flags) }?;
    Ok(start.cast())
    // END SOLUTION
}
