//! Owned mappings of files: the file-mapping lessons map files with every combination of
//! protections, flags and descriptors, and show what the kernel says about each.

use nix::errno::Errno;
use nix::sys::mman::{MapFlags, MsFlags, ProtFlags, mmap, msync, munmap};
use std::num::NonZeroUsize;
use std::ops::Range;
use std::os::fd::AsFd;
use std::ptr::NonNull;

/// An owned mapping of a file, unmapped on drop. The mapping holds its own reference to the
/// open file: the descriptor it was made from may be closed right away.
pub struct FileMapping {
    ptr: NonNull<libc::c_void>,
    /// Whole pages: what the kernel mapped, as smaps `Size` shows it.
    mapped_len: usize,
    /// The protection it was mapped with, which decides what `read_byte` and `write_byte`
    /// may do.
    prot: ProtFlags,
}

impl FileMapping {
    /// `mmap(NULL, len, prot, MAP_SHARED, fd, 0)`: the file from its start, shared with every
    /// other mapping of it (the mapping most lessons make).
    pub fn shared(fd: impl AsFd, len: NonZeroUsize, prot: ProtFlags) -> Result<FileMapping, Errno> {
        FileMapping::map(fd, len, prot, MapFlags::MAP_SHARED, 0)
    }

    /// `mmap(NULL, len, prot, flags, fd, offset)`; the errno as it is, for lessons that show it.
    pub fn map(
        fd: impl AsFd,
        len: NonZeroUsize,
        prot: ProtFlags,
        flags: MapFlags,
        offset: u64,
    ) -> Result<FileMapping, Errno> {
        let page = crate::kernel::probe::page_size().as_usize();
        let offset = libc::off_t::try_from(offset).map_err(|_| Errno::EOVERFLOW)?;
        // SAFETY: no address and no MAP_FIXED: the kernel picks a free range, so the new
        // mapping replaces nothing.
        let ptr = unsafe { mmap(None, len, prot, flags, fd, offset) }?;
        Ok(FileMapping {
            ptr,
            mapped_len: len.get().next_multiple_of(page),
            prot,
        })
    }

    pub fn addr(&self) -> usize {
        self.ptr.as_ptr() as usize
    }

    pub fn mapped_len(&self) -> usize {
        self.mapped_len
    }

    /// The protection it was mapped with.
    pub fn prot(&self) -> ProtFlags {
        self.prot
    }

    /// Reads one byte with a volatile load. The byte must lie in a page that holds part of
    /// the file: beyond the file's last page the kernel sends SIGBUS. Panics unless the
    /// mapping is readable.
    pub fn read_byte(&self, offset: usize) -> u8 {
        self.check_offset(offset);
        super::assert_prot(self.addr(), self.prot, ProtFlags::PROT_READ, "a read");
        // SAFETY: inside pages this FileMapping owns and keeps mapped, with PROT_READ
        // (asserted above); no Rust reference to them exists.
        unsafe { self.ptr.as_ptr().cast::<u8>().add(offset).read_volatile() }
    }

    /// Writes one byte with a volatile store. Panics unless the mapping is writable: a store
    /// to a read-only page is SIGSEGV.
    pub fn write_byte(&self, offset: usize, value: u8) {
        self.check_offset(offset);
        super::assert_prot(self.addr(), self.prot, ProtFlags::PROT_WRITE, "a write");
        // SAFETY: as in `read_byte`, with PROT_WRITE.
        unsafe {
            self.ptr
                .as_ptr()
                .cast::<u8>()
                .add(offset)
                .write_volatile(value)
        }
    }

    pub fn read_bytes(&self, range: Range<usize>) -> Vec<u8> {
        range.map(|offset| self.read_byte(offset)).collect()
    }

    /// The bytes in `range` as text, the way lessons write what was read.
    pub fn text(&self, range: Range<usize>) -> String {
        String::from_utf8_lossy(&self.read_bytes(range)).into_owned()
    }

    /// msync(MS_SYNC) of the whole mapping: written back to the file before it returns.
    pub fn msync(&self) -> Result<(), Errno> {
        // SAFETY: our own mapping; msync changes no contents.
        unsafe { msync(self.ptr, self.mapped_len, MsFlags::MS_SYNC) }
    }

    fn check_offset(&self, offset: usize) {
        assert!(
            offset < self.mapped_len,
            "offset {offset} is outside the file mapping at {:#x} of {} bytes",
            self.addr(),
            self.mapped_len
        );
    }
}

impl Drop for FileMapping {
    fn drop(&mut self) {
        // SAFETY: owned by self and unmapped once, here; nothing useful can be done about an
        // error in drop.
        let _ = unsafe { munmap(self.ptr, self.mapped_len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A one-page file of its own, mapped shared with `prot`.
    fn mapped(prot: ProtFlags) -> (tempfile::NamedTempFile, FileMapping) {
        let page = crate::kernel::probe::page_size().as_usize();
        let file = tempfile::NamedTempFile::new().unwrap();
        file.as_file().set_len(page as u64).unwrap();
        let len = NonZeroUsize::new(page).unwrap();
        let mapping = FileMapping::shared(file.as_file().as_fd(), len, prot).unwrap();
        (file, mapping)
    }

    #[test]
    fn accessing_what_the_protection_forbids_panics() {
        // The mapping outlives the file's name and descriptor: it holds the file itself.
        let map = |prot| mapped(prot).1;
        let read = |m: &FileMapping| {
            m.read_byte(0);
        };
        crate::memory::assert_forbidden_accesses_panic(map, read, |m| m.write_byte(0, 1));
    }

    #[test]
    fn a_writable_file_mapping_reads_what_was_written() {
        let (_file, mapping) = mapped(ProtFlags::PROT_READ | ProtFlags::PROT_WRITE);
        mapping.write_byte(1, 7);
        assert_eq!(mapping.read_byte(1), 7);
    }
}
