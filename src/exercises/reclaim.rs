//! Exercises of lesson 10, `reclaim` (lessons/10-reclaim.md).

/// Has the kernel reclaim the pages of `region` now, as memory pressure would. `region` is a
/// shared, read-only mapping of a file whose pages are clean (the disk has them): they are to
/// leave RAM altogether, not only this process's page tables, and come back from the disk on
/// the next access. The mapping stays. `region` starts on a page boundary.
pub fn page_out_file(region: &[u8]) -> nix::Result<()> {
    // BEGIN SOLUTION page-out-file
    use nix::sys::mman::{MmapAdvise, madvise};
    let start = std::ptr::NonNull::from(region).cast::<libc::c_void>();
    // SAFETY: reclaim changes no contents: the file has them, and the next access reads
    // them back.
    unsafe { madvise(start, region.len(), MmapAdvise::MADV_PAGEOUT) }
    // END SOLUTION
}

/// Marks the pages of `region` as the first to go when memory runs short, without taking any
/// of them now: they stay resident, dirty and with their contents, but no longer count as
/// recently used (smaps' `Referenced` drops to 0). Only `region`: the rest of the process's
/// memory keeps its accessed bits. `region` starts on a page boundary.
pub fn mark_cold(region: &mut [u8]) -> nix::Result<()> {
    // BEGIN SOLUTION mark-cold
    use nix::sys::mman::{MmapAdvise, madvise};
    let start = std::ptr::NonNull::from(&mut *region).cast::<libc::c_void>();
    // SAFETY: MADV_COLD only moves the pages on the kernel's lists; it changes no contents.
    unsafe { madvise(start, region.len(), MmapAdvise::MADV_COLD) }
    // END SOLUTION
}
