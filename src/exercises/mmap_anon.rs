//! Exercises of lesson 01, `mmap-anon` (lessons/01-mmap-anon.md).

use nix::sys::mman::ProtFlags;
use std::num::NonZeroUsize;
use std::ptr::NonNull;

/// Maps `len` bytes of fresh private anonymous memory with protections `prot`, at an
/// address the kernel chooses, and returns where it starts. The caller unmaps it.
pub fn map_anonymous(len: NonZeroUsize, prot: ProtFlags) -> nix::Result<NonNull<u8>> {
    // BEGIN SOLUTION map-anonymous
    use nix::sys::mman::{MapFlags, mmap_anonymous};
    // SAFETY: without MAP_FIXED the kernel picks a free range: nothing is replaced.
    let start = unsafe { mmap_anonymous(None, len, prot, MapFlags::MAP_PRIVATE) }?;
    Ok(start.cast())
    // END SOLUTION
}

/// Makes every page of `region` resident, with one write per page. `region` starts on a
/// page boundary.
pub fn touch_every_page(region: &mut [u8]) {
    // BEGIN SOLUTION touch-every-page
    let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .expect("sysconf(_SC_PAGESIZE)") as usize;
    for byte in region.iter_mut().step_by(page) {
        *byte = 1;
    }
    // END SOLUTION
}
