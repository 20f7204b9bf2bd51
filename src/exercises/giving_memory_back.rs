//! Exercises of lesson 09, `giving-memory-back` (lessons/09-giving-memory-back.md).

/// Gives the pages of `region` back to the kernel now, keeping the mapping: reading it
/// afterwards gives zeros. `region` starts on a page boundary.
pub fn give_back(region: &mut [u8]) -> nix::Result<()> {
    // BEGIN SOLUTION give-back
    use nix::sys::mman::{MmapAdvise, madvise};
    let start = std::ptr::NonNull::from(&mut *region).cast::<libc::c_void>();
    // SAFETY: the pages are ours; after MADV_DONTNEED they read as zeros, which the
    // caller asked for.
    unsafe { madvise(start, region.len(), MmapAdvise::MADV_DONTNEED) }
    // END SOLUTION
}

/// Tells the kernel it may take the pages of `region` back whenever memory runs short,
/// without paying for that now: until then they stay resident and keep their contents,
/// afterwards they read as zeros. `region` starts on a page boundary.
pub fn give_back_lazily(region: &mut [u8]) -> nix::Result<()> {
    // BEGIN SOLUTION give-back-lazily
    use nix::sys::mman::{MmapAdvise, madvise};
    let start = std::ptr::NonNull::from(&mut *region).cast::<libc::c_void>();
    // SAFETY: the pages are ours; MADV_FREE lets the kernel zero them later, which the
    // caller asked for.
    unsafe { madvise(start, region.len(), MmapAdvise::MADV_FREE) }
    // END SOLUTION
}
