//! Exercises of lesson 07, `realtime` (lessons/07-realtime.md).

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
