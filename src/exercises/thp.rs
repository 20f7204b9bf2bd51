//! Exercises of lesson 08, `thp` (lessons/08-thp.md).

use std::num::NonZeroUsize;
use std::ptr::NonNull;

/// Asks the kernel to back `region` with transparent huge pages wherever it can, even when
/// the system-wide setting is `madvise`. `region` starts on a page boundary.
pub fn advise_huge_pages(region: &mut [u8]) -> nix::Result<()> {
    // BEGIN SOLUTION advise-huge-pages
    use nix::sys::mman::{MmapAdvise, madvise};
    let start = std::ptr::NonNull::from(&mut *region).cast::<libc::c_void>();
    // SAFETY: advice about pages of ours; MADV_HUGEPAGE does not change their contents.
    unsafe { madvise(start, region.len(), MmapAdvise::MADV_HUGEPAGE) }
    // END SOLUTION
}

/// Maps `len` bytes of private anonymous read-write memory whose start is a multiple of
/// `align` (a power of two, at least a page), and returns the start. Whatever else you map
/// on the way, unmap it: only `len` bytes stay mapped. The caller unmaps those.
pub fn map_aligned(len: NonZeroUsize, align: usize) -> nix::Result<NonNull<u8>> {
    // BEGIN SOLUTION map-aligned
    use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous, munmap};
    // Map enough that an aligned start with `len` bytes after it must lie inside, then
    // unmap what lies before and after.
    let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)?
        .ok_or(nix::errno::Errno::EINVAL)? as usize;
    let len = len.get().div_ceil(page) * page;
    let total = len.checked_add(align).ok_or(nix::errno::Errno::ENOMEM)?;
    let prot = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
    // SAFETY: without MAP_FIXED the kernel picks a free range: nothing is replaced.
    let base = unsafe {
        mmap_anonymous(
            None,
            NonZeroUsize::new(total).expect("len is not zero"),
            prot,
            MapFlags::MAP_PRIVATE,
        )
    }?;
    let base_addr = base.as_ptr() as usize;
    let start = base_addr.next_multiple_of(align);
    let (before, after) = (start - base_addr, base_addr + total - (start + len));
    // SAFETY: both ranges are parts of the reservation above that the result leaves out.
    unsafe {
        if before > 0 {
            munmap(base, before)?;
        }
        if after > 0 {
            munmap(
                NonNull::new_unchecked((start + len) as *mut libc::c_void),
                after,
            )?;
        }
    }
    NonNull::new(start as *mut u8).ok_or(nix::errno::Errno::EINVAL)
    // END SOLUTION
}
