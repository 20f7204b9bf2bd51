//! An owned mapping: munmap on drop. Lesson mappings are isolated by PROT_NONE guard pages
//! so that they never merge with a neighbour's VMA (adjacent anonymous mappings with equal
//! flags merge into one VMA, and another test's pages would show up in "our" smaps record).

use crate::kernel::SmapsRecord;
use crate::kernel::procfs::{Proc, ProcError};
use nix::sys::mman::{MapFlags, ProtFlags};
use std::num::NonZeroUsize;
use std::ptr::NonNull;

#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("mmap of {len} bytes ({what}): {errno}")]
    Mmap { what: String, len: usize, errno: nix::Error },
    #[error("{0}")]
    Proc(#[from] ProcError),
    #[error("no VMA contains {addr:#x} in smaps of {proc:?}")]
    NoVma { addr: usize, proc: Proc },
    #[error(
        "the VMA holding the mapping {start:#x}-{end:#x} is {vma_start:#x}-{vma_end:#x}: it merged with a neighbour, so its smaps counts are not the mapping's alone"
    )]
    Merged { start: usize, end: usize, vma_start: usize, vma_end: usize },
}

pub struct Mapping {
    ptr: NonNull<libc::c_void>,
    len: usize,
}

impl Mapping {
    /// A plain `mmap(NULL, len, prot, flags, -1, 0)`, placed where the kernel chooses.
    pub fn anonymous(len: NonZeroUsize, prot: ProtFlags, flags: MapFlags) -> Result<Mapping, MappingError> {
        todo!("{len}{prot:?}{flags:?}")
    }

    /// Like [`Mapping::anonymous`], then fenced by one PROT_NONE guard page on each side so it
    /// cannot merge with a neighbour; retried if a neighbour merged in before the guards were
    /// in place. The address stays the kernel's choice (its THP alignment is part of what
    /// lessons show).
    pub fn anonymous_isolated(len: NonZeroUsize, prot: ProtFlags, flags: MapFlags) -> Result<Mapping, MappingError> {
        todo!("{len}{prot:?}{flags:?}")
    }

    pub fn addr(&self) -> usize {
        self.ptr.as_ptr() as usize
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr().cast()
    }

    /// Writes one byte with a volatile store, so the access really happens.
    /// Panics if `offset` is outside the mapping.
    pub fn write_byte(&self, offset: usize, value: u8) {
        todo!("{offset}{value}")
    }

    /// Reads one byte with a volatile load. Panics if `offset` is outside the mapping.
    pub fn read_byte(&self, offset: usize) -> u8 {
        todo!("{offset}")
    }

    /// The smaps record of this mapping's VMA in `proc`, checked to have exactly the
    /// mapping's bounds ([`MappingError::Merged`] otherwise).
    pub fn smaps(&self, proc: Proc) -> Result<SmapsRecord, MappingError> {
        todo!("{proc:?}")
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        todo!()
    }
}
