//! What the smaps benchmarks share: a process with many extra VMAs.

#![allow(dead_code)] // each bench uses a different part

/// `count` one-page VMAs in a row that the kernel cannot merge: every other page is made
/// writable, so neighbours always differ in protection.
pub struct ExtraMappings {
    pub base: *mut libc::c_void,
    pub len: usize,
}

impl ExtraMappings {
    pub fn new(count: usize) -> ExtraMappings {
        // SAFETY: sysconf has no memory-safety preconditions.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap();
        let len = count * page;
        // SAFETY: a fresh anonymous mapping at an address of the kernel's choosing.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(base, libc::MAP_FAILED);
        for i in (1..count).step_by(2) {
            // SAFETY: page `i` lies inside the mapping just made.
            let rc = unsafe {
                libc::mprotect(
                    base.cast::<u8>().add(i * page).cast(),
                    page,
                    libc::PROT_READ | libc::PROT_WRITE,
                )
            };
            assert_eq!(rc, 0);
        }
        ExtraMappings { base, len }
    }

    /// An address in the middle of the range, so about half of the extra VMAs come before
    /// it in smaps.
    pub fn middle(&self) -> usize {
        self.base as usize + self.len / 2
    }
}

impl Drop for ExtraMappings {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly what `new` mapped.
        unsafe { libc::munmap(self.base, self.len) };
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
