//! Exercises of lesson 13, `process` (lessons/13-process.md).

/// The size of a mapping and how much of it is resident, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Footprint {
    /// smaps' `Size`: how long the mapping is.
    pub size: u64,
    /// smaps' `Rss`: how much of it is in RAM, mapped into this process.
    pub rss: u64,
}

/// The `Size` and `Rss`, in bytes, of the mapping that holds the machine code of this very
/// function, as /proc/self/smaps shows them.
pub fn own_code() -> std::io::Result<Footprint> {
    // BEGIN SOLUTION own-code
    use crate::kernel::SmapsField;
    use crate::kernel::procfs::{Proc, smaps_record};
    // The address of a function is where its code is; a function item casts to it.
    let addr = own_code as *const () as usize;
    let record = smaps_record(Proc::SelfProcess, addr).map_err(std::io::Error::other)?;
    let size = |field| Some(record.as_ref()?.size(field)?.0);
    match (size(SmapsField::Size), size(SmapsField::Rss)) {
        (Some(size), Some(rss)) => Ok(Footprint { size, rss }),
        _ => Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("no Size and Rss for {addr:#x} in /proc/self/smaps"),
        )),
    }
    // END SOLUTION
}

/// Clears this process's accessed bits through /proc/self/clear_refs, runs `work` on
/// `region`, and returns how many pages of `region` smaps then counts as `Referenced`: the
/// pages `work` used. `region` starts on a page boundary, and all its pages are resident.
pub fn working_set(region: &mut [u8], work: &dyn Fn(&mut [u8])) -> std::io::Result<usize> {
    // BEGIN SOLUTION working-set
    use crate::kernel::SmapsField;
    use crate::kernel::procfs::{Proc, smaps_record};
    use nix::sys::mman::{ProtFlags, mprotect};
    std::fs::write("/proc/self/clear_refs", "1")?;
    // clear_refs clears the page table's accessed bits but leaves the CPU's TLB entries, and
    // an access the TLB still remembers sets no bit. Changing the protection flushes them.
    let start = std::ptr::NonNull::from(&mut *region).cast::<libc::c_void>();
    // SAFETY: the region is this function's alone (a `&mut`), so no code of this process
    // touches it while it is read-only for a moment; then it is read-write again.
    unsafe {
        mprotect(start, region.len(), ProtFlags::PROT_READ)?;
        mprotect(
            start,
            region.len(),
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
        )?;
    }
    work(region);
    let addr = region.as_ptr() as usize;
    let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)?
        .ok_or(nix::errno::Errno::EINVAL)? as usize;
    let referenced = smaps_record(Proc::SelfProcess, addr)
        .map_err(std::io::Error::other)?
        .and_then(|record| record.size(SmapsField::Referenced))
        .ok_or_else(|| {
            std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("no Referenced for {addr:#x} in /proc/self/smaps"),
            )
        })?;
    Ok(referenced.as_usize() / page)
    // END SOLUTION
}
