//! Exercises of lesson 05, `file-mappings` (lessons/05-file-mappings.md).

use std::path::Path;

/// The whole contents of the file at `path`, read through a private read-only mapping of
/// it, without read(2). An empty file gives an empty vector (mmap refuses a zero length);
/// a missing file is an error.
pub fn read_through_mapping(path: &Path) -> std::io::Result<Vec<u8>> {
    // BEGIN SOLUTION read-through-mapping
    use nix::sys::mman::{MapFlags, ProtFlags, mmap, munmap};
    let file = std::fs::File::open(path)?;
    let len = file.metadata()?.len() as usize;
    let Some(nonzero) = std::num::NonZeroUsize::new(len) else {
        return Ok(Vec::new());
    };
    // SAFETY: a fresh mapping the kernel places; nothing is replaced.
    let start = unsafe {
        mmap(
            None,
            nonzero,
            ProtFlags::PROT_READ,
            MapFlags::MAP_PRIVATE,
            &file,
            0,
        )
    }?;
    // SAFETY: `len` bytes are mapped readable at `start`; the file is ours and not truncated.
    let contents = unsafe { std::slice::from_raw_parts(start.as_ptr().cast::<u8>(), len) }.to_vec();
    // SAFETY: the mapping made above, unused from here on.
    unsafe { munmap(start, len) }?;
    Ok(contents)
    // END SOLUTION
}

/// Overwrites `data.len()` bytes of the existing file at `path`, from byte `offset` on,
/// through a shared mapping of the file, without write(2), and makes sure the file has
/// them (msync) before returning. The file does not grow: `offset + data.len()` lies
/// within it. `offset` need not be a multiple of the page size, but mmap's offset must be.
pub fn write_through_mapping(path: &Path, offset: u64, data: &[u8]) -> std::io::Result<()> {
    // BEGIN SOLUTION write-through-mapping
    use nix::sys::mman::{MapFlags, MsFlags, ProtFlags, mmap, msync, munmap};
    let Some(_) = std::num::NonZeroUsize::new(data.len()) else {
        return Ok(());
    };
    let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)?
        .ok_or(nix::errno::Errno::EINVAL)? as u64;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)?;
    let map_offset = offset / page * page;
    let skip = (offset - map_offset) as usize;
    let len = skip + data.len();
    let nonzero = std::num::NonZeroUsize::new(len).expect("data is not empty");
    // SAFETY: a fresh mapping the kernel places; nothing is replaced.
    let start = unsafe {
        mmap(
            None,
            nonzero,
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_SHARED,
            &file,
            map_offset as libc::off_t,
        )
    }?;
    // SAFETY: `len` bytes are mapped writable at `start`, and the file covers them.
    unsafe {
        std::ptr::copy_nonoverlapping(
            data.as_ptr(),
            start.as_ptr().cast::<u8>().add(skip),
            data.len(),
        );
        msync(start, len, MsFlags::MS_SYNC)?;
        munmap(start, len)?;
    }
    Ok(())
    // END SOLUTION
}
