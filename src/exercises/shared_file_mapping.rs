//! Exercises of lesson 06, `shared-file-mapping` (lessons/06-shared-file-mapping.md).

use std::fs::File;
use std::num::NonZeroUsize;
use std::path::Path;
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

/// Creates the file `path` (it does not exist yet) holding `len` zero bytes, maps all of
/// it readable, writable and shared, and returns where the mapping starts. The caller
/// unmaps it.
pub fn create_shared_file(path: &Path, len: NonZeroUsize) -> std::io::Result<NonNull<u8>> {
    // BEGIN SOLUTION create-shared-file
    use nix::sys::mman::{MapFlags, ProtFlags, mmap};
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)?;
    // A mapping may reach past the end of its file, but touching a page wholly past it is
    // SIGBUS: the file must have its length first.
    file.set_len(len.get() as u64)?;
    let prot = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
    // SAFETY: a fresh mapping the kernel places; nothing is replaced.
    let start = unsafe { mmap(None, len, prot, MapFlags::MAP_SHARED, &file, 0) }?;
    Ok(start.cast())
    // END SOLUTION
}
