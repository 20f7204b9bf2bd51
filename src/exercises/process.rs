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
    // The address of a function is where its code is; a function item casts to it.
    let addr = own_code as *const () as usize;
    let text = std::fs::read_to_string("/proc/self/smaps")?;
    let mut inside = false;
    let (mut size, mut rss) = (None, None);
    for line in text.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if let Some((start, end)) = first.split_once('-') {
            if let (Ok(start), Ok(end)) = (
                usize::from_str_radix(start, 16),
                usize::from_str_radix(end, 16),
            ) {
                if inside {
                    break;
                }
                inside = start <= addr && addr < end;
                continue;
            }
        }
        let kb = |rest: &str| -> Option<u64> {
            rest.trim().strip_suffix("kB")?.trim().parse::<u64>().ok()
        };
        if inside {
            if let Some(rest) = line.strip_prefix("Size:") {
                size = kb(rest);
            } else if let Some(rest) = line.strip_prefix("Rss:") {
                rss = kb(rest);
            }
        }
    }
    match (size, rss) {
        (Some(size), Some(rss)) => Ok(Footprint {
            size: size * 1024,
            rss: rss * 1024,
        }),
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
    use nix::sys::mman::{ProtFlags, mprotect};
    std::fs::write("/proc/self/clear_refs", "1")?;
    // clear_refs clears the page table's accessed bits but leaves the CPU's TLB entries, and
    // an access the TLB still remembers sets no bit. Changing the protection flushes them.
    let start = std::ptr::NonNull::from(&mut *region).cast::<libc::c_void>();
    // SAFETY: the region's own pages, read-write again at once; nothing runs in between.
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
    let text = std::fs::read_to_string("/proc/self/smaps")?;
    let mut inside = false;
    for line in text.lines() {
        let first = line.split_whitespace().next().unwrap_or("");
        if let Some((start, end)) = first.split_once('-') {
            if let (Ok(start), Ok(end)) = (
                usize::from_str_radix(start, 16),
                usize::from_str_radix(end, 16),
            ) {
                inside = start <= addr && addr < end;
                continue;
            }
        }
        if let (true, Some(rest)) = (inside, line.strip_prefix("Referenced:")) {
            let kb: usize = rest
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse()
                .map_err(|_| {
                    std::io::Error::new(std::io::ErrorKind::InvalidData, line.to_owned())
                })?;
            return Ok(kb * 1024 / page);
        }
    }
    Err(std::io::Error::new(
        std::io::ErrorKind::NotFound,
        format!("no Referenced for {addr:#x} in /proc/self/smaps"),
    ))
    // END SOLUTION
}
