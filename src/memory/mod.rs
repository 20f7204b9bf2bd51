//! Memory the lessons act on: owned mappings, and forked children that act on them.

pub mod child;
pub mod counters;
pub mod file_mapping;
pub mod mapping;
pub mod residency;

pub use child::{Child, ChildError};
pub use file_mapping::FileMapping;
pub use mapping::{Mapping, MappingError, record_at};

use crate::kernel::SmapsRecord;
use crate::kernel::procfs::Proc;
use nix::sys::mman::{MmapAdvise, ProtFlags, madvise};
use nix::unistd::{Pid, getpid};
use std::ptr::NonNull;

/// What the lessons do with any mapping they own, anonymous or of a file.
pub trait Mapped {
    fn addr(&self) -> usize;
    /// Whole pages: what the kernel mapped.
    fn mapped_len(&self) -> usize;
    /// The protection it was mapped with.
    fn prot(&self) -> ProtFlags;
    /// Its smaps record in `proc`, checked to have exactly the mapping's bounds
    /// ([`MappingError::Merged`] otherwise).
    fn smaps(&self, proc: Proc) -> Result<SmapsRecord, MappingError> {
        record_at(proc, self.addr(), self.mapped_len())
    }

    /// Its record as process `pid` sees it: this process's own, or a child's copy.
    fn smaps_of(&self, pid: Pid) -> Result<SmapsRecord, MappingError> {
        let proc = if pid == getpid() {
            Proc::SelfProcess
        } else {
            Proc::Pid(pid.as_raw())
        };
        self.smaps(proc)
    }

    /// madvise(2) of the whole mapping.
    fn advise(&self, advice: MmapAdvise) -> Result<(), MappingError> {
        let (addr, len) = (self.addr(), self.mapped_len());
        let ptr = NonNull::new(addr as *mut libc::c_void).expect("a mapping is not at 0");
        // SAFETY: advice about pages this mapping owns, of which no Rust reference exists
        // (they are only read and written through volatile accesses): even advice that drops
        // their contents (MADV_DONTNEED, MADV_PAGEOUT) surprises no one.
        unsafe { madvise(ptr, len, advice) }.map_err(|errno| MappingError::Madvise {
            advice,
            addr,
            len,
            errno,
        })
    }

    /// How many of its pages are resident (mincore): for a file, in the page cache.
    fn resident_pages(&self) -> Result<usize, nix::Error> {
        let page = crate::kernel::probe::page_size().as_usize();
        let mut vector = vec![0u8; self.mapped_len().div_ceil(page)];
        counters::resident_pages(self.addr(), self.mapped_len(), &mut vector)
    }

    /// The faults of writing the first byte of every page, and only those (see
    /// [`counters::faults_of`]). Panics unless the mapping is writable.
    fn faults_writing_every_page(&self) -> Result<counters::Faults, nix::Error> {
        assert_prot(self.addr(), self.prot(), ProtFlags::PROT_WRITE, "a write");
        // SAFETY: our own pages, writable (asserted above), reached only through volatile
        // accesses.
        unsafe { counters::faults_of(counters::write_first_bytes, self.addr(), self.mapped_len()) }
    }

    /// The faults of reading the first byte of every page, and only those. Panics unless
    /// the mapping is readable.
    fn faults_reading_every_page(&self) -> Result<counters::Faults, nix::Error> {
        assert_prot(self.addr(), self.prot(), ProtFlags::PROT_READ, "a read");
        // SAFETY: our own pages, readable (asserted above), reached only through volatile
        // accesses.
        unsafe { counters::faults_of(counters::read_first_bytes, self.addr(), self.mapped_len()) }
    }
}

/// [`Mapped`] for owned mappings that answer its three questions with inherent methods of
/// the same names (which callers reach without the trait in scope).
macro_rules! mapped_by_inherent_methods {
    ($($owner:ty),+) => {$(
        impl Mapped for $owner {
            fn addr(&self) -> usize {
                <$owner>::addr(self)
            }
            fn mapped_len(&self) -> usize {
                <$owner>::mapped_len(self)
            }
            fn prot(&self) -> ProtFlags {
                <$owner>::prot(self)
            }
        }
    )+};
}

mapped_by_inherent_methods!(Mapping, FileMapping);

/// For each owner's tests: every access that `prot` forbids panics, naming what it needs,
/// before it touches the page. `map` makes a one-page mapping with a protection; `read` and
/// `write` access its first byte.
#[cfg(test)]
pub(crate) fn assert_forbidden_accesses_panic<M: Mapped>(
    map: impl Fn(ProtFlags) -> M,
    read: fn(&M),
    write: fn(&M),
) {
    use crate::panics::assert_panics;
    let count_write_faults = |m: &M| {
        let _ = m.faults_writing_every_page();
    };
    let count_read_faults = |m: &M| {
        let _ = m.faults_reading_every_page();
    };
    let (none, read_only) = (ProtFlags::PROT_NONE, ProtFlags::PROT_READ);
    // What is done, to a page of which protection, and the protection it needs.
    type Case<'a, M> = (&'a str, ProtFlags, &'a dyn Fn(&M), &'a str);
    let cases: [Case<'_, M>; 5] = [
        ("writing", none, &write, "PROT_WRITE"),
        ("writing", read_only, &write, "PROT_WRITE"),
        ("reading", none, &read, "PROT_READ"),
        (
            "counting write faults of",
            read_only,
            &count_write_faults,
            "PROT_WRITE",
        ),
        (
            "counting read faults of",
            none,
            &count_read_faults,
            "PROT_READ",
        ),
    ];
    for (what, prot, access, needed) in cases {
        let expected = format!("needs ProtFlags({needed}), it has {prot:?}");
        let what = format!("{what} a page of {prot:?}");
        assert_panics(&what, || access(&map(prot)), &expected);
    }
}

/// Panics unless `prot` (of the mapping at `addr`) has `needed`: an access through a raw
/// pointer to a page without it is SIGSEGV, which safe code must never reach. `access` words
/// it: "a read", "a write".
fn assert_prot(addr: usize, prot: ProtFlags, needed: ProtFlags, access: &str) {
    assert!(
        prot.contains(needed),
        "{access} of the mapping at {addr:#x} needs {needed:?}, it has {prot:?}"
    );
}
