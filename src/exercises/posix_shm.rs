//! Exercises of lesson 11, `posix-shm` (lessons/11-posix-shm.md).

use std::num::NonZeroUsize;
use std::ptr::NonNull;

/// Creates the POSIX shared memory object `name` (such as `/pagelab-1234`; it does not exist
/// yet, and creating it must fail if it does), gives it `len` bytes, and maps all of them
/// readable, writable and shared, so that another process opening the same name sees what
/// this one writes. Returns where the mapping starts; the caller unmaps it and removes the
/// name.
pub fn create_shm_object(name: &str, len: NonZeroUsize) -> nix::Result<NonNull<u8>> {
    // BEGIN SOLUTION create-shm-object
    use nix::fcntl::OFlag;
    use nix::sys::mman::{MapFlags, ProtFlags, mmap, shm_open};
    use nix::sys::stat::Mode;
    let flags = OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_RDWR;
    let fd = shm_open(name, flags, Mode::S_IRUSR | Mode::S_IWUSR)?;
    // A new object is empty: a page of the mapping with no object behind it is SIGBUS.
    let size = libc::off_t::try_from(len.get()).map_err(|_| nix::errno::Errno::EFBIG)?;
    nix::unistd::ftruncate(&fd, size)?;
    let prot = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
    // SAFETY: a fresh mapping the kernel places; nothing is replaced. The mapping keeps the
    // object open once the descriptor is closed.
    let start = unsafe { mmap(None, len, prot, MapFlags::MAP_SHARED, &fd, 0) }?;
    Ok(start.cast())
    // END SOLUTION
}

/// Opens the existing POSIX shared memory object `name` for reading only, and maps its first
/// `len` bytes shared, so that this process sees what the producer writes and can never write
/// them: not through this mapping, and not after an mprotect() either. Returns where the
/// mapping starts; the caller unmaps it.
pub fn read_only_consumer(name: &str, len: NonZeroUsize) -> nix::Result<NonNull<u8>> {
    // BEGIN SOLUTION read-only-consumer
    use nix::fcntl::OFlag;
    use nix::sys::mman::{MapFlags, ProtFlags, mmap, shm_open};
    use nix::sys::stat::Mode;
    let fd = shm_open(name, OFlag::O_RDONLY, Mode::empty())?;
    // SAFETY: a fresh mapping the kernel places; nothing is replaced.
    let start = unsafe {
        mmap(
            None,
            len,
            ProtFlags::PROT_READ,
            MapFlags::MAP_SHARED,
            &fd,
            0,
        )
    }?;
    Ok(start.cast())
    // END SOLUTION
}
