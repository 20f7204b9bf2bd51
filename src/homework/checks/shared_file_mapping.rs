//! Checks of lesson `shared-file-mapping`'s exercise.

use super::{Rng, file_mapping_at, page, page_round, temp_dir};
use crate::homework::{Failure, Passed};
use crate::memory::Child;
use crate::memory::child::commands;
use std::fs::File;
use std::num::NonZeroUsize;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::ptr::NonNull;

crate::homework::declare::exercises! {
    lesson: shared_file_mapping;

    /// Its check forks: it must not overlap another test that reads its pages' sharing.
    map_file_shared {
        fork_lock: exclusive,
        // BEGIN FAKES
        fakes: [
            "MAP_PRIVATE" => |file| {
                let len = file.metadata().map_err(|_| nix::errno::Errno::EIO)?.len();
                let len = NonZeroUsize::new(len as usize).ok_or(nix::errno::Errno::EINVAL)?;
                let (prot, flags) = (super::fake::rw(), nix::sys::mman::MapFlags::MAP_PRIVATE);
                // SAFETY: a fresh mapping the kernel places.
                unsafe { nix::sys::mman::mmap(None, len, prot, flags, file, 0) }.map(NonNull::cast)
            },
        ],
        // END FAKES
    }

    create_shared_file {
        fork_lock: shared,
        // BEGIN FAKES
        fakes: [
            "no ftruncate" => |path, len| {
                // No set_len: the file stays empty (the check must not touch the mapping).
                let file = File::options().read(true).write(true).create_new(true).open(path)?;
                let (prot, flags) = (super::fake::rw(), nix::sys::mman::MapFlags::MAP_SHARED);
                // SAFETY: a fresh mapping the kernel places.
                Ok(unsafe { nix::sys::mman::mmap(None, len, prot, flags, &file, 0) }?.cast())
            },
            "MAP_PRIVATE" => |path, len| {
                let file = File::options().read(true).write(true).create_new(true).open(path)?;
                file.set_len(len.get() as u64)?;
                let (prot, flags) = (super::fake::rw(), nix::sys::mman::MapFlags::MAP_PRIVATE);
                // SAFETY: a fresh mapping the kernel places.
                Ok(unsafe { nix::sys::mman::mmap(None, len, prot, flags, &file, 0) }?.cast())
            },
        ],
        // END FAKES
    }
}

commands! {
    enum WriterCommand {
        /// Write the chosen byte through its copy of the student's mapping.
        Write,
    }
}

/// A file of random length and contents: its mapping must be `rw-s` on the file's inode,
/// cover the file, and a forked child's write through it must show in the parent's mapping
/// and in the file.
pub fn map_file_shared(f: fn(&File) -> nix::Result<NonNull<u8>>) -> Result<Passed, Failure> {
    let mut rng = Rng::new();
    let dir = temp_dir()?;
    let path = dir.path().join("shared");
    let len = rng.between(page() + 1, 4 * page());
    let contents = rng.bytes(len);
    std::fs::write(&path, &contents).map_err(|e| Failure::setup("write the file", e))?;
    let file = File::options()
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| Failure::setup("open the file", e))?;
    let inode = file
        .metadata()
        .map_err(|e| Failure::setup("fstat the file", e))?
        .ino();
    let start = f(&file).map_err(|e| Failure::returned_error("map_file_shared(file)", e))?;
    let addr = start.as_ptr() as usize;
    let expected = format!(
        "a rw-s mapping of inode {inode} from offset 0, {} long, at the address returned",
        page_round(len)
    );
    let (line, _unmap) = file_mapping_at(start, inode, "file", &expected)?;
    let perms = line.perms;
    if !(perms.read && perms.write && perms.shared) || line.end - line.start < page_round(len) {
        return Err(Failure::new(expected, format!("`{line}`")));
    }
    let at = rng.between(0, len - 1);
    let value = rng.byte_except(contents[at]);
    let target = addr + at;
    let mut child = Child::spawn(move |WriterCommand::Write| {
        // SAFETY: the child's copy of the mapping, checked above to cover `target`.
        unsafe { std::ptr::write_volatile(target as *mut u8, value) };
        0
    })
    .map_err(|e| Failure::setup("fork a child", e))?;
    child
        .command(WriterCommand::Write)
        .map_err(|e| Failure::setup("have the child write", e))?;
    child
        .finish()
        .map_err(|e| Failure::setup("end the child", e))?;
    // SAFETY: inside the mapping, checked above.
    let seen = unsafe { std::ptr::read_volatile(target as *const u8) };
    let mut in_file = [0u8];
    file.read_exact_at(&mut in_file, at as u64)
        .map_err(|e| Failure::setup("pread the file", e))?;
    if seen != value || in_file[0] != value {
        return Err(Failure::new(
            format!(
                "the child wrote {value} at offset {at}: the parent's mapping and the file show {value}"
            ),
            format!("the parent's mapping shows {seen}, the file {}", in_file[0]),
        ));
    }
    Ok(Passed::Held(format!(
        "`{line}`; the child's {value} at offset {at} shows in the parent and in the file"
    )))
}

/// A path in a fresh private directory and a random length: the file must exist with that
/// length (checked before anything touches the mapping: a page past the end of the file is
/// SIGBUS), be mapped `rw-s` from offset 0 at the address returned, and bytes written
/// through the mapping must be in the file.
pub fn create_shared_file(
    f: fn(&Path, NonZeroUsize) -> std::io::Result<NonNull<u8>>,
) -> Result<Passed, Failure> {
    let mut rng = Rng::new();
    let dir = temp_dir()?;
    let path = dir.path().join("created");
    let len = rng.between(page() + 1, 4 * page());
    let asked = format!("create_shared_file(path, {len})");
    let start = f(&path, NonZeroUsize::new(len).expect("len >= 1"))
        .map_err(|e| Failure::returned_error(&asked, e))?;
    let expected =
        format!("{asked}: a {len}-byte file, mapped rw-s from offset 0 at the address returned");
    let written = super::write_through_shared(&path, "file", start, len, &expected, &mut rng)?;
    let (at, value) = (written.at, written.value);
    let contents = std::fs::read(&path).map_err(|e| Failure::setup("read the file", e))?;
    if contents.get(at) != Some(&value) || contents.iter().filter(|&&b| b != 0).count() != 1 {
        return Err(Failure::new(
            format!(
                "after writing {value} at offset {at} through the mapping: the file holds it, zeros elsewhere"
            ),
            format!("the file holds {:?} there", contents.get(at)),
        ));
    }
    Ok(Passed::Held(format!(
        "`{}`; {value} written at offset {at} is in the file",
        written.line
    )))
}
