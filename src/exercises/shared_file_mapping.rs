//! Exercises of lesson 06, `shared-file-mapping` (lessons/06-shared-file-mapping.md).

use std::fs::File;
use std::ptr::NonNull;

/// Maps all of `file` (its current length, not zero) readable, writable and shared, so
/// that what any process mapping it writes shows in the others and in the file. Returns
/// where the mapping starts; the caller unmaps it.
pub fn map_file_shared(file: &File) -> nix::Result<NonNull<u8>> {
    // BEGIN SOLUTION map-file-shared
    use nix::sys::mman::{MapFlags, ProtFlags, mmap};
    let len = file
        .metadata()
        .map_err(|e| nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?
        .len() as usize;
    let len = std::num::NonZeroUsize::new(len).ok_or(nix::errno::Errno::EINVAL)?;
    let prot = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
    // SAFETY: a fresh mapping the kernel places; nothing is replaced.
    let start = unsafe { mmap(None, len, prot, MapFlags::MAP_SHARED, file, 0) }?;
    Ok(start.cast())
    // END SOLUTION
}
