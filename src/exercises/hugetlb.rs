//! Exercises of lesson 12, `hugetlb` (lessons/12-hugetlb.md).

use std::num::NonZeroUsize;
use std::ptr::NonNull;

/// Maps `len` bytes of private anonymous read-write memory backed by explicit huge pages of
/// the default size (hugetlbfs), and returns where it starts, or the kernel's error as it is:
/// never small pages instead. With `reserve`, the kernel sets aside the pool's pages for the
/// mapping at once (and refuses it when the pool has too few); without, it reserves nothing,
/// and touching a page the pool cannot give is SIGBUS. `len` need not be a multiple of the
/// huge page size. The caller unmaps it.
pub fn map_hugetlb(len: NonZeroUsize, reserve: bool) -> nix::Result<NonNull<u8>> {
    // BEGIN SOLUTION map-hugetlb
    use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous};
    let mut flags = MapFlags::MAP_PRIVATE | MapFlags::MAP_HUGETLB;
    if !reserve {
        flags |= MapFlags::MAP_NORESERVE;
    }
    let prot = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
    // SAFETY: without MAP_FIXED the kernel picks a free range: nothing is replaced.
    let start = unsafe { mmap_anonymous(None, len, prot, flags) }?;
    Ok(start.cast())
    // END SOLUTION
}

/// What the pool of explicit huge pages means for one mapping.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HugePages {
    /// How many huge pages a MAP_HUGETLB mapping of the length asked about takes.
    pub needed: u64,
    /// How many the pool could give a new mapping now: free, and not reserved for another.
    pub available: u64,
}

/// From /proc/meminfo: how many explicit huge pages of the default size a MAP_HUGETLB mapping
/// of `len` bytes takes, and how many the pool has free that no mapping has reserved yet.
pub fn count_huge_pages(len: NonZeroUsize) -> std::io::Result<HugePages> {
    // BEGIN SOLUTION count-huge-pages
    let text = std::fs::read_to_string("/proc/meminfo")?;
    // `Hugepagesize:    2048 kB`, `HugePages_Free:    0`: the first number after the name.
    let number = |name: &str| -> std::io::Result<u64> {
        text.lines()
            .find_map(|line| {
                line.strip_prefix(name)?
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()
            })
            .ok_or_else(|| {
                std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    format!("no number for {name} in /proc/meminfo"),
                )
            })
    };
    let huge_page = number("Hugepagesize:")? * 1024;
    let free = number("HugePages_Free:")?;
    let reserved = number("HugePages_Rsvd:")?;
    Ok(HugePages {
        needed: (len.get() as u64).div_ceil(huge_page),
        available: free.saturating_sub(reserved),
    })
    // END SOLUTION
}
