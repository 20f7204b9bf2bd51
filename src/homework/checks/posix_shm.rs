//! Checks of lesson `posix-shm`'s exercises.

use super::{Rng, file_mapping_at, page, page_round, record_found_at};
use crate::homework::{Failure, Passed};
use crate::kernel::VmFlag;
use nix::fcntl::OFlag;
use nix::sys::mman::{shm_open, shm_unlink};
use nix::sys::stat::Mode;
use std::fs::File;
use std::num::NonZeroUsize;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::PathBuf;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};

crate::homework::declare::exercises! {
    lesson: posix_shm;

    create_shm_object {
        fork_lock: shared,
        // BEGIN FAKES
        fakes: [
            "memfd_create" saying "/dev/shm" => |_, len| {
                let fd = nix::sys::memfd::memfd_create("x", nix::sys::memfd::MFdFlags::empty())?;
                nix::unistd::ftruncate(&fd, len.get() as libc::off_t)?;
                fake_map(&fd, len, nix::sys::mman::MapFlags::MAP_SHARED)
            },
            "MAP_SHARED | MAP_ANONYMOUS" saying "/dev/shm" => |_, len| {
                let (prot, flags) = (super::fake::rw(), nix::sys::mman::MapFlags::MAP_SHARED);
                // SAFETY: a fresh mapping the kernel places.
                unsafe { nix::sys::mman::mmap_anonymous(None, len, prot, flags) }.map(NonNull::cast)
            },
            // The check must see the empty object before anything touches the mapping.
            "no ftruncate" saying "0 bytes" => |name, len| {
                let fd = shm_open(name, OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_RDWR, Mode::S_IRWXU)?;
                fake_map(&fd, len, nix::sys::mman::MapFlags::MAP_SHARED)
            },
            "MAP_PRIVATE" => |name, len| {
                let fd = shm_open(name, OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_RDWR, Mode::S_IRWXU)?;
                nix::unistd::ftruncate(&fd, len.get() as libc::off_t)?;
                fake_map(&fd, len, nix::sys::mman::MapFlags::MAP_PRIVATE)
            },
            // Opens an object that exists as well: another program's, under the same name.
            "no O_EXCL" saying "EEXIST" => |name, len| {
                let fd = shm_open(name, OFlag::O_CREAT | OFlag::O_RDWR, Mode::S_IRWXU)?;
                nix::unistd::ftruncate(&fd, len.get() as libc::off_t)?;
                fake_map(&fd, len, nix::sys::mman::MapFlags::MAP_SHARED)
            },
        ],
        // END FAKES
    }

    read_only_consumer {
        fork_lock: shared,
        // BEGIN FAKES
        fakes: [
            "read(2) into a heap buffer" => |name, len| {
                let file = File::from(shm_open(name, OFlag::O_RDONLY, Mode::empty())?);
                let mut copy = vec![0u8; len.get()];
                file.read_exact_at(&mut copy, 0).map_err(|_| nix::errno::Errno::EIO)?;
                Ok(NonNull::from(copy.leak()).cast())
            },
            // The descriptor could write: an mprotect() would make the mapping writable.
            "O_RDWR, mapped PROT_READ" saying "mw" => |name, len| {
                let fd = shm_open(name, OFlag::O_RDWR, Mode::empty())?;
                // SAFETY: a fresh mapping the kernel places.
                unsafe {
                    nix::sys::mman::mmap(None, len, nix::sys::mman::ProtFlags::PROT_READ,
                        nix::sys::mman::MapFlags::MAP_SHARED, &fd, 0)
                }
                .map(NonNull::cast)
            },
            "O_RDWR, mapped read-write" => |name, len| {
                let fd = shm_open(name, OFlag::O_RDWR, Mode::empty())?;
                fake_map(&fd, len, nix::sys::mman::MapFlags::MAP_SHARED)
            },
            "MAP_PRIVATE" => |name, len| {
                let fd = shm_open(name, OFlag::O_RDONLY, Mode::empty())?;
                // SAFETY: a fresh mapping the kernel places.
                unsafe {
                    nix::sys::mman::mmap(None, len, nix::sys::mman::ProtFlags::PROT_READ,
                        nix::sys::mman::MapFlags::MAP_PRIVATE, &fd, 0)
                }
                .map(NonNull::cast)
            },
        ],
        // END FAKES
    }
}

// BEGIN FAKES
/// A read-write mapping of a descriptor, for the fakes.
fn fake_map(
    fd: &std::os::fd::OwnedFd,
    len: NonZeroUsize,
    flags: nix::sys::mman::MapFlags,
) -> nix::Result<NonNull<u8>> {
    // SAFETY: a fresh mapping the kernel places.
    unsafe { nix::sys::mman::mmap(None, len, super::fake::rw(), flags, fd, 0) }.map(NonNull::cast)
}
// END FAKES

/// A name for a shared memory object of this check, removed (shm_unlink) on every way out:
/// tests run side by side, and in other processes (nextest), so it names this process, a
/// counter and a random number.
struct ShmName {
    name: String,
}

impl ShmName {
    fn new(rng: &mut Rng) -> ShmName {
        static COUNT: AtomicU64 = AtomicU64::new(0);
        ShmName {
            name: format!(
                "/pagelab-exercise-{}-{}-{:x}",
                std::process::id(),
                COUNT.fetch_add(1, Ordering::Relaxed),
                rng.next() as u32
            ),
        }
    }

    /// Where Linux keeps the object: a file of the tmpfs at /dev/shm (shm_overview(7)).
    fn path(&self) -> PathBuf {
        PathBuf::from("/dev/shm").join(&self.name[1..])
    }
}

impl Drop for ShmName {
    fn drop(&mut self) {
        // ENOENT where the student's function never created it.
        let _ = shm_unlink(self.name.as_str());
    }
}

/// A fresh name and a random length: /dev/shm must hold the object with that length
/// (checked before anything touches the mapping: a page past the object's end is SIGBUS),
/// mapped `rw-s` from offset 0 at the address returned, and a byte written through the
/// mapping must be in the object. Then a second call with the same name must fail with
/// EEXIST: the object exists now, and creating it must fail if it does.
pub fn create_shm_object(
    f: fn(&str, NonZeroUsize) -> nix::Result<NonNull<u8>>,
) -> Result<Passed, Failure> {
    let mut rng = Rng::new();
    let name = ShmName::new(&mut rng);
    let len = rng.between(page() + 1, 4 * page());
    let asked = format!("create_shm_object({:?}, {len})", name.name);
    let start = f(&name.name, NonZeroUsize::new(len).expect("len >= 1"))
        .map_err(|e| Failure::returned_error(&asked, e))?;
    let path = name.path();
    let expected = format!(
        "{asked}: {} holding {len} bytes, mapped rw-s from offset 0 at the address returned",
        path.display()
    );
    let written = super::write_through_shared(&path, "object", start, len, &expected, &mut rng)?;
    let (at, value) = (written.at, written.value);
    let mut seen = [0u8];
    File::open(&path)
        .and_then(|object| object.read_exact_at(&mut seen, at as u64))
        .map_err(|e| Failure::setup("pread the object", e))?;
    if seen[0] != value {
        return Err(Failure::new(
            format!(
                "after writing {value} at offset {at} through the mapping: the object holds it"
            ),
            format!("the object holds {} there", seen[0]),
        ));
    }
    let again = exists_already(f, &name, len, written.inode)?;
    Ok(Passed::Held(format!(
        "`{}`; {value} written at offset {at} is in the object; {again}",
        written.line
    )))
}

/// The student's function called again with the name of the object it created (inode
/// `inode`), which must fail with EEXIST; worded for the check's success. The name is
/// removed by its owner, the check, on every way out.
fn exists_already(
    f: fn(&str, NonZeroUsize) -> nix::Result<NonNull<u8>>,
    name: &ShmName,
    len: usize,
    inode: u64,
) -> Result<String, Failure> {
    let asked = format!("create_shm_object({:?}, {len}) again", name.name);
    let expected = format!(
        "{asked}, the object existing: EEXIST (creating it must fail if it exists;          shm_open(3) with O_CREAT | O_EXCL)"
    );
    match f(&name.name, NonZeroUsize::new(len).expect("len >= 1")) {
        Err(nix::errno::Errno::EEXIST) => Ok(format!("{asked}: EEXIST")),
        Err(errno) => Err(Failure::new(
            expected,
            format!("your function returned {errno}"),
        )),
        Ok(start) => {
            let addr = start.as_ptr() as usize;
            // Unmapped where it is a mapping of the object from its start, as the first
            // call's was: the student's own; anything else is left as it is.
            let shown = match file_mapping_at(start, inode, "object", &expected) {
                Ok((line, _unmap)) => {
                    format!(
                        "no EEXIST: it opened the existing object and mapped it again, `{line}`"
                    )
                }
                Err(failure) => format!("no EEXIST: it returned {addr:#x}; {}", failure.showed),
            };
            Err(Failure::new(expected, shown))
        }
    }
}

/// A new object the check made, holding `contents`; its inode.
fn filled_object(name: &ShmName, contents: &[u8]) -> Result<u64, Failure> {
    let fd = shm_open(
        name.name.as_str(),
        OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_RDWR,
        Mode::S_IRUSR | Mode::S_IWUSR,
    )
    .map_err(|e| Failure::setup(&format!("shm_open {}", name.name), e))?;
    let object = File::from(fd);
    object
        .write_all_at(contents, 0)
        .map_err(|e| Failure::setup("fill the object", e))?;
    object
        .metadata()
        .map(|m| m.ino())
        .map_err(|e| Failure::setup("fstat the object", e))
}

/// An object of random size and contents: the mapping must be the object's from offset 0,
/// `r--s`, show the object's bytes, and lack `mw` (may write) in VmFlags: with a descriptor
/// opened read-only, the kernel lets no mprotect() make it writable.
pub fn read_only_consumer(
    f: fn(&str, NonZeroUsize) -> nix::Result<NonNull<u8>>,
) -> Result<Passed, Failure> {
    let mut rng = Rng::new();
    let name = ShmName::new(&mut rng);
    let size = rng.between(2 * page(), 5 * page());
    let contents = rng.bytes(size);
    let inode = filled_object(&name, &contents)?;
    let len = rng.between(1, contents.len());
    let asked = format!("read_only_consumer({:?}, {len})", name.name);
    let start = f(&name.name, NonZeroUsize::new(len).expect("len >= 1"))
        .map_err(|e| Failure::returned_error(&asked, e))?;
    let addr = start.as_ptr() as usize;
    let expected = format!(
        "{asked}: the object mapped r--s from offset 0, without `mw` (may write) in VmFlags"
    );
    let (line, _unmap) = file_mapping_at(start, inode, "object", &expected)?;
    let perms = line.perms;
    if !(perms.read && !perms.write && perms.shared) || line.end - line.start < page_round(len) {
        return Err(Failure::new(expected, format!("`{line}`")));
    }
    let record = record_found_at(addr)?;
    if record.has_flag(VmFlag::MayWrite) {
        return Err(Failure::new(
            expected,
            format!(
                "VmFlags: {}: `mw` says an mprotect() could make it writable (the descriptor \
                 was opened for writing)",
                record.flags_text()
            ),
        ));
    }
    // SAFETY: `len` bytes mapped readable at `addr`, checked above; the object covers them.
    let seen = unsafe { std::slice::from_raw_parts(addr as *const u8, len) };
    if contents[..len] != *seen {
        let first = seen.iter().zip(&contents).position(|(a, b)| a != b);
        return Err(Failure::new(
            expected,
            format!("the mapping differs from the object from byte {first:?} on"),
        ));
    }
    Ok(Passed::Held(format!(
        "`{line}`, VmFlags without `mw`, {len} bytes as the producer wrote them"
    )))
}
