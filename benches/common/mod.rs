//! What the smaps benchmarks share: a process with many extra VMAs.

#![allow(dead_code)] // each bench uses a different part

use nix::sys::mman::{MapFlags, ProtFlags, mprotect};
use pagelab::kernel::probe::page_size;
use pagelab::memory::Mapping;
use std::num::NonZeroUsize;
use std::ptr::NonNull;

/// `count` one-page VMAs in a row that the kernel cannot merge: every other page is made
/// writable, so neighbours always differ in protection. Unmapped on drop.
pub struct ExtraMappings {
    mapping: Mapping,
}

impl ExtraMappings {
    pub fn new(count: usize) -> ExtraMappings {
        let page = page_size().as_usize();
        let len = NonZeroUsize::new(count * page).expect("at least one extra VMA");
        let mapping = Mapping::anonymous(len, ProtFlags::PROT_READ, MapFlags::MAP_PRIVATE)
            .expect("mmap of the extra VMAs");
        let base = NonNull::new(mapping.as_ptr()).expect("mmap returned null");
        for i in (1..count).step_by(2) {
            // SAFETY: page `i` lies inside the mapping just made; adding write permission
            // breaks no access. (`Mapping` keeps PROT_READ as its record of the whole
            // range, which the benches never ask for.)
            unsafe {
                mprotect(
                    base.add(i * page).cast(),
                    page,
                    ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                )
            }
            .expect("mprotect of an extra VMA");
        }
        ExtraMappings { mapping }
    }

    /// An address in the middle of the range, so about half of the extra VMAs come before
    /// it in smaps.
    pub fn middle(&self) -> usize {
        self.mapping.addr() + self.mapping.len() / 2
    }
}

/// The procfs crate's way to one VMA's record: parse the whole file, then search.
pub fn procfs_crate_lookup(addr: usize) -> Option<procfs::process::MemoryMap> {
    let addr = addr as u64;
    procfs::process::Process::myself()
        .unwrap()
        .smaps()
        .unwrap()
        .into_iter()
        .find(|m| m.address.0 <= addr && addr < m.address.1)
}
