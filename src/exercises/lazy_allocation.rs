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
