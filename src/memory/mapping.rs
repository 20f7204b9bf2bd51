//! An owned mapping: munmap on drop. Lesson mappings are isolated by PROT_NONE guard pages
//! so that they never merge with a neighbour's VMA (adjacent anonymous mappings with equal
//! flags merge into one VMA, and another test's pages would show up in "our" smaps record).

use super::Mapped;
use crate::kernel::SmapsRecord;
use crate::kernel::probe;
use crate::kernel::procfs::{self, Proc, ProcError};
use nix::errno::Errno;
use nix::sys::mman::{MapFlags, MmapAdvise, ProtFlags, mmap_anonymous, munmap};
use std::num::NonZeroUsize;
use std::ptr::NonNull;

/// How many placements [`Mapping::anonymous_isolated`] tries before it gives up.
pub const ISOLATION_ATTEMPTS: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("mmap of {len} bytes ({what}): {errno}")]
    Mmap {
        what: String,
        len: usize,
        errno: nix::Error,
    },
    #[error("{0}")]
    Proc(#[from] ProcError),
    #[error("no VMA contains {addr:#x} in smaps of {proc:?}")]
    NoVma { addr: usize, proc: Proc },
    #[error(
        "the VMA holding the mapping {start:#x}-{end:#x} is {vma_start:#x}-{vma_end:#x}: its bounds changed (split by a call on part of it, or merged with a neighbour), so its smaps counts are not the whole mapping's alone"
    )]
    Merged {
        start: usize,
        end: usize,
        vma_start: usize,
        vma_end: usize,
    },
    #[error(
        "could not fence a {len}-byte mapping with guard pages of its own in {attempts} placements: the kernel kept placing it against other mappings"
    )]
    Unfenced { len: usize, attempts: usize },
    #[error("madvise({advice:?}) of {len} bytes at {addr:#x}: {errno}")]
    Madvise {
        advice: MmapAdvise,
        addr: usize,
        len: usize,
        errno: nix::Error,
    },
}

pub struct Mapping {
    ptr: NonNull<libc::c_void>,
    /// The length asked for; the kernel maps whole pages ([`Mapping::mapped_len`]).
    len: usize,
    mapped_len: usize,
    /// The protection it was mapped with, which decides whether a slice over it may exist.
    prot: ProtFlags,
    /// One page right below and one right above, ours, unmapped with the mapping.
    guards: [Option<NonNull<libc::c_void>>; 2],
}

// SAFETY: a Mapping exclusively owns its pages and guard pages; nothing in it is tied to the
// thread that made it. It is not Sync: `write_byte` through a shared reference from two
// threads would be a data race.
unsafe impl Send for Mapping {}

impl Mapping {
    /// A plain `mmap(NULL, len, prot, flags, -1, 0)`, placed where the kernel chooses.
    /// Any length is accepted; the kernel rounds it up to whole pages.
    pub fn anonymous(
        len: NonZeroUsize,
        prot: ProtFlags,
        flags: MapFlags,
    ) -> Result<Mapping, MappingError> {
        // SAFETY: with no address hint and without MAP_FIXED the kernel picks a free range, so
        // the new mapping cannot replace anything else in the process.
        let ptr = unsafe { mmap_anonymous(None, len, prot, flags) }.map_err(|errno| {
            MappingError::Mmap {
                what: format!("anonymous, {prot:?}, {flags:?}"),
                len: len.get(),
                errno,
            }
        })?;
        Ok(Mapping {
            ptr,
            len: len.get(),
            mapped_len: round_up_to_page(len.get()),
            prot,
            guards: [None, None],
        })
    }

    /// Like [`Mapping::anonymous`], then fenced by one PROT_NONE guard page on each side so it
    /// cannot merge with a neighbour; retried if a neighbour merged in before the guards were
    /// in place. The address stays the kernel's choice (its THP alignment is part of what
    /// lessons show).
    ///
    /// Both guards must be this mapping's own: a neighbour that happens to be adjacent now
    /// (the kernel allocates top-down, so the mapping above is adjacent more often than not)
    /// may be unmapped later, and a new mapping filling its place could merge with ours.
    /// A failed placement is left behind as an inaccessible spacer so the kernel's next choice
    /// differs; when the next choice lies against a spacer, the spacer's page serves as guard.
    pub fn anonymous_isolated(
        len: NonZeroUsize,
        prot: ProtFlags,
        flags: MapFlags,
    ) -> Result<Mapping, MappingError> {
        let page = page();
        // A PROT_NONE mapping would merge with PROT_NONE guards; read-only ones fence it too.
        let guard_prot = if prot.is_empty() {
            ProtFlags::PROT_READ
        } else {
            ProtFlags::PROT_NONE
        };
        let mut spacers = Spacers::default();
        let mut merged = None;
        for _ in 0..ISOLATION_ATTEMPTS {
            // The kernel allocates top-down and puts a new mapping right against the one above
            // it, so a guard above would almost never fit. A one-page cap placed first takes
            // that spot, and the mapping lands right below it: the cap becomes its guard.
            spacers.map_cap(guard_prot)?;
            let mut mapping = Mapping::anonymous(len, prot, flags)?;
            let (start, end) = (mapping.addr(), mapping.addr() + mapping.mapped_len);
            let below = match start.checked_sub(page) {
                Some(addr) => match spacers.claim(addr, page) {
                    Some(claimed) => Some(claimed),
                    None => place_guard(addr, guard_prot)?,
                },
                None => None,
            };
            mapping.guards[0] = below;
            let above = match spacers.claim(end, page) {
                Some(claimed) => Some(claimed),
                None => place_guard(end, guard_prot)?,
            };
            mapping.guards[1] = above;
            // With a foreign neighbour on either side there is nothing to verify: it may go
            // away later and a new mapping in its place could merge with ours.
            if below.is_some() && above.is_some() {
                match mapping.smaps(Proc::SelfProcess) {
                    Ok(_) => return Ok(mapping),
                    Err(e @ MappingError::Merged { .. }) => merged = Some(e),
                    Err(e) => return Err(e),
                }
            }
            spacers.take_over(mapping, guard_prot);
        }
        Err(merged.unwrap_or(MappingError::Unfenced {
            len: len.get(),
            attempts: ISOLATION_ATTEMPTS,
        }))
    }

    /// An isolated private read-write mapping of base pages: MADV_NOHUGEPAGE keeps huge
    /// pages out of it, so that each page touched is one fault and one page of `Rss`
    /// whatever the THP settings.
    pub fn base_pages(len: NonZeroUsize, flags: MapFlags) -> Result<Mapping, MappingError> {
        let mapping = Mapping::anonymous_isolated(
            len,
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            flags | MapFlags::MAP_PRIVATE,
        )?;
        match super::Mapped::advise(&mapping, MmapAdvise::MADV_NOHUGEPAGE) {
            // A kernel without THP knows no such advice, and has base pages only anyway.
            Err(MappingError::Madvise {
                errno: Errno::EINVAL,
                ..
            }) if !probe::kernel_has_thp() => Ok(mapping),
            advised => advised.map(|()| mapping),
        }
    }

    /// Writes `value` into the first byte of every page: one write fault per new page.
    pub fn write_every_page(&self, value: u8) {
        for offset in (0..self.mapped_len).step_by(page()) {
            self.write_byte(offset, value);
        }
    }

    /// How many of the pages `pages` (by index) hold `value` in their first byte.
    pub fn pages_reading(&self, pages: std::ops::Range<usize>, value: u8) -> usize {
        pages
            .filter(|index| self.read_byte(index * page()) == value)
            .count()
    }

    /// A private read-write mapping whose start is a multiple of `align` (a power of two, at
    /// least a page), fenced by guard pages. Where a lesson needs a whole huge page to fit,
    /// the kernel's own placement cannot be relied on (before 6.7 it does not align), so the
    /// mapping is placed with MAP_FIXED inside a reservation of our own, which nothing else
    /// can take.
    pub fn anonymous_aligned(len: NonZeroUsize, align: usize) -> Result<Mapping, MappingError> {
        let page = page();
        assert!(
            align.is_power_of_two() && align >= page,
            "alignment {align} is not a power of two of at least a page"
        );
        let (prot, flags) = (
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_PRIVATE,
        );
        let mapped_len = round_up_to_page(len.get());
        // Room for the mapping at any alignment, with a guard page on each side.
        let reserved_len = mapped_len + align + 2 * page;
        let reserved = NonZeroUsize::new(reserved_len).expect("not zero");
        // SAFETY: no hint and no MAP_FIXED: the kernel picks a free range.
        let reservation =
            unsafe { mmap_anonymous(None, reserved, ProtFlags::PROT_NONE, MapFlags::MAP_PRIVATE) }
                .map_err(|errno| MappingError::Mmap {
                    what: "reservation for an aligned mapping".into(),
                    len: reserved_len,
                    errno,
                })?;
        let base = reservation.as_ptr() as usize;
        let start = (base + page).next_multiple_of(align);
        let (below, above) = (start - page, start + mapped_len);
        let end = base + reserved_len;
        // SAFETY: MAP_FIXED replaces only pages of our own reservation.
        let placed = unsafe {
            mmap_anonymous(
                NonZeroUsize::new(start),
                NonZeroUsize::new(mapped_len).expect("not zero"),
                prot,
                flags | MapFlags::MAP_FIXED,
            )
        };
        let ptr = match placed {
            Ok(ptr) => ptr,
            Err(errno) => {
                // SAFETY: the reservation is ours and referenced nowhere else.
                let _ = unsafe { munmap(reservation, reserved_len) };
                return Err(MappingError::Mmap {
                    what: format!("anonymous at {start:#x}, {prot:?}, {flags:?}"),
                    len: mapped_len,
                    errno,
                });
            }
        };
        // Give back the reservation around the two guard pages.
        for (from, to) in [(base, below), (above + page, end)] {
            if let (Some(ptr), true) = (NonNull::new(from as *mut libc::c_void), to > from) {
                // SAFETY: these pages are ours and nothing refers to them.
                let _ = unsafe { munmap(ptr, to - from) };
            }
        }
        let mapping = Mapping {
            ptr,
            len: len.get(),
            mapped_len,
            prot,
            guards: [
                NonNull::new(below as *mut libc::c_void),
                NonNull::new(above as *mut libc::c_void),
            ],
        };
        mapping.smaps(Proc::SelfProcess)?;
        Ok(mapping)
    }

    pub fn addr(&self) -> usize {
        self.ptr.as_ptr() as usize
    }

    /// The length asked for, which may end inside the last page.
    pub fn len(&self) -> usize {
        self.len
    }

    /// The length the kernel mapped: [`Mapping::len`] rounded up to whole pages, as smaps
    /// `Size` shows it.
    pub fn mapped_len(&self) -> usize {
        self.mapped_len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn as_ptr(&self) -> *mut u8 {
        self.ptr.as_ptr().cast()
    }

    /// The first [`Mapping::len`] bytes as a slice, for code that takes one (students' homework
    /// functions do). It borrows the Mapping exclusively, so no volatile access of
    /// `write_byte` or `read_byte` overlaps it. Panics unless the mapping is readable and
    /// writable: a reference to PROT_NONE or read-only pages would promise what they lack.
    pub fn bytes_mut(&mut self) -> &mut [u8] {
        assert!(
            self.prot
                .contains(ProtFlags::PROT_READ | ProtFlags::PROT_WRITE),
            "a slice over the mapping at {:#x} needs PROT_READ | PROT_WRITE, it has {:?}",
            self.addr(),
            self.prot
        );
        // SAFETY: `len` bytes from `ptr` are mapped readable and writable for as long as the
        // Mapping lives, and the exclusive borrow keeps every other access out meanwhile.
        unsafe { std::slice::from_raw_parts_mut(self.as_ptr(), self.len) }
    }

    /// The protection it was mapped with.
    pub fn prot(&self) -> ProtFlags {
        self.prot
    }

    /// Writes one byte with a volatile store, so the access really happens.
    /// Panics if `offset` is outside the mapped pages (`offset >= mapped_len()`): every
    /// byte of the last page is really mapped, even past [`Mapping::len`]; and unless the
    /// mapping is writable: a store to a PROT_NONE or read-only page is SIGSEGV.
    pub fn write_byte(&self, offset: usize, value: u8) {
        self.check_offset(offset);
        super::assert_prot(self.addr(), self.prot, ProtFlags::PROT_WRITE, "a write");
        // SAFETY: the offset lies inside pages this Mapping owns and keeps mapped, with
        // PROT_WRITE (asserted above); a volatile store to them cannot alias a Rust
        // reference: the only one, from `bytes_mut`, borrows the Mapping exclusively.
        unsafe { self.as_ptr().add(offset).write_volatile(value) }
    }

    /// Reads one byte with a volatile load. Panics if `offset` is outside the mapped pages,
    /// or unless the mapping is readable.
    pub fn read_byte(&self, offset: usize) -> u8 {
        self.check_offset(offset);
        super::assert_prot(self.addr(), self.prot, ProtFlags::PROT_READ, "a read");
        // SAFETY: as in `write_byte`, with PROT_READ.
        unsafe { self.as_ptr().add(offset).read_volatile() }
    }

    fn check_offset(&self, offset: usize) {
        assert!(
            offset < self.mapped_len,
            "offset {offset} is outside the mapping at {:#x}, which maps {} bytes ({} asked for)",
            self.addr(),
            self.mapped_len,
            self.len
        );
    }
}

/// The smaps record of the VMA that starts at `start` in `proc`, checked to span exactly
/// `len` bytes: a VMA that merged with a neighbour would count the neighbour's pages too,
/// and one split by a call on part of it (mlock, mprotect of a page) only some of its own.
pub fn record_at(proc: Proc, start: usize, len: usize) -> Result<SmapsRecord, MappingError> {
    let record =
        procfs::smaps_record(proc, start)?.ok_or(MappingError::NoVma { addr: start, proc })?;
    let end = start + len;
    if (record.vma.start, record.vma.end) != (start, end) {
        return Err(MappingError::Merged {
            start,
            end,
            vma_start: record.vma.start,
            vma_end: record.vma.end,
        });
    }
    Ok(record)
}

impl Drop for Mapping {
    fn drop(&mut self) {
        let page = page();
        // SAFETY: the mapping and its guards are owned by self and unmapped once, here.
        // Errors are ignored: nothing useful can be done about them in drop.
        unsafe {
            let _ = munmap(self.ptr, self.mapped_len);
            for guard in self.guards.iter().flatten() {
                let _ = munmap(*guard, page);
            }
        }
    }
}

fn page() -> usize {
    probe::page_size().as_usize()
}

fn round_up_to_page(len: usize) -> usize {
    len.div_ceil(page()) * page()
}

/// Maps one guard page at exactly `addr` unless something is there already (`None`).
fn place_guard(
    addr: usize,
    prot: ProtFlags,
) -> Result<Option<NonNull<libc::c_void>>, MappingError> {
    let page = page();
    let (Some(hint), Some(len)) = (NonZeroUsize::new(addr), NonZeroUsize::new(page)) else {
        return Ok(None);
    };
    let flags = MapFlags::MAP_PRIVATE | MapFlags::MAP_FIXED_NOREPLACE;
    // SAFETY: MAP_FIXED_NOREPLACE never replaces an existing mapping; it fails with EEXIST.
    match unsafe { mmap_anonymous(Some(hint), len, prot, flags) } {
        Ok(ptr) if ptr.as_ptr() as usize == addr => Ok(Some(ptr)),
        Ok(elsewhere) => {
            // Before 4.17 the flag is unknown and the address only a hint: not a guard.
            // SAFETY: `elsewhere` was just mapped by this call and is referenced nowhere.
            let _ = unsafe { munmap(elsewhere, page) };
            Ok(None)
        }
        Err(Errno::EEXIST) => Ok(None),
        Err(errno) => Err(MappingError::Mmap {
            what: format!("guard page at {addr:#x}"),
            len: page,
            errno,
        }),
    }
}

/// Inaccessible ranges left where placements failed, so that the kernel chooses elsewhere;
/// all of them that were not claimed as guards are unmapped on drop.
#[derive(Default)]
struct Spacers {
    /// `(start, len)` of private anonymous mappings of this process that only we refer to.
    ranges: Vec<(usize, usize)>,
}

impl Spacers {
    /// Maps one page where the kernel chooses, to be claimed as a guard or unmapped later.
    fn map_cap(&mut self, guard_prot: ProtFlags) -> Result<(), MappingError> {
        let page = page();
        let len = NonZeroUsize::new(page).expect("the page size is not zero");
        // SAFETY: no address hint and no MAP_FIXED: the kernel picks a free range.
        let cap = unsafe { mmap_anonymous(None, len, guard_prot, MapFlags::MAP_PRIVATE) }.map_err(
            |errno| MappingError::Mmap {
                what: "guard page".into(),
                len: page,
                errno,
            },
        )?;
        self.ranges.push((cap.as_ptr() as usize, page));
        Ok(())
    }

    /// Takes the page `[addr, addr + page)` out of a spacer, to be a mapping's guard.
    fn claim(&mut self, addr: usize, page: usize) -> Option<NonNull<libc::c_void>> {
        let index = self
            .ranges
            .iter()
            .position(|&(start, len)| start <= addr && addr + page <= start + len)?;
        let (start, len) = self.ranges.swap_remove(index);
        if addr > start {
            self.ranges.push((start, addr - start));
        }
        if addr + page < start + len {
            self.ranges.push((addr + page, start + len - addr - page));
        }
        NonNull::new(addr as *mut libc::c_void)
    }

    /// Turns a failed placement into spacers: its guards stay as they are, and the mapping's
    /// range is remapped as a fresh private PROT_NONE mapping (a fresh one can be split at any
    /// page, whatever flags the failed mapping had).
    fn take_over(&mut self, mut mapping: Mapping, guard_prot: ProtFlags) {
        let page = page();
        for guard in mapping.guards.iter_mut().filter_map(Option::take) {
            self.ranges.push((guard.as_ptr() as usize, page));
        }
        let (start, len) = (mapping.addr(), mapping.mapped_len);
        drop(mapping);
        // The range may be taken by another thread in between; then it needs no spacer.
        let (Some(hint), Some(len_nz)) = (NonZeroUsize::new(start), NonZeroUsize::new(len)) else {
            return;
        };
        let flags = MapFlags::MAP_PRIVATE | MapFlags::MAP_FIXED_NOREPLACE;
        // SAFETY: MAP_FIXED_NOREPLACE never replaces an existing mapping.
        match unsafe { mmap_anonymous(Some(hint), len_nz, guard_prot, flags) } {
            Ok(ptr) if ptr.as_ptr() as usize == start => self.ranges.push((start, len)),
            // SAFETY: mapped just now at an address nothing refers to.
            Ok(elsewhere) => unsafe {
                let _ = munmap(elsewhere, len);
            },
            Err(_) => {}
        }
    }
}

impl Drop for Spacers {
    fn drop(&mut self) {
        for &(start, len) in &self.ranges {
            if let Some(ptr) = NonNull::new(start as *mut libc::c_void) {
                // SAFETY: spacer ranges are ours and nothing refers to them.
                let _ = unsafe { munmap(ptr, len) };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::panics::assert_panics;

    fn rw() -> ProtFlags {
        ProtFlags::PROT_READ | ProtFlags::PROT_WRITE
    }

    #[test]
    fn one_byte_maps_a_whole_page() {
        let m = Mapping::anonymous(NonZeroUsize::MIN, rw(), MapFlags::MAP_PRIVATE).unwrap();
        assert_eq!(m.len(), 1);
        assert_eq!(m.mapped_len(), page());
        m.write_byte(page() - 1, 7);
        assert_eq!(m.read_byte(page() - 1), 7);
        assert_eq!(m.read_byte(0), 0);
    }

    /// One private anonymous page with `prot`.
    fn one_page(prot: ProtFlags) -> Mapping {
        Mapping::anonymous(NonZeroUsize::MIN, prot, MapFlags::MAP_PRIVATE).unwrap()
    }

    #[test]
    fn writing_past_the_last_page_panics() {
        let m = Mapping::anonymous(NonZeroUsize::MIN, rw(), MapFlags::MAP_PRIVATE).unwrap();
        let write = || m.write_byte(page(), 1);
        assert_panics("writing past the page", write, "is outside the mapping");
    }

    #[test]
    fn accessing_what_the_protection_forbids_panics() {
        let read = |m: &Mapping| {
            m.read_byte(0);
        };
        crate::memory::assert_forbidden_accesses_panic(one_page, read, |m| m.write_byte(0, 1));
    }

    #[test]
    fn spacers_give_up_a_page_and_keep_the_rest() {
        let page = page();
        let mut spacers = Spacers::default();
        // Addresses that are never dereferenced nor unmapped: the ranges are cleared first.
        spacers.ranges.push((100 * page, 4 * page));
        assert!(spacers.claim(99 * page, page).is_none());
        assert!(spacers.claim(101 * page, page).is_some());
        spacers.ranges.sort();
        assert_eq!(spacers.ranges, [(100 * page, page), (102 * page, 2 * page)]);
        assert!(spacers.claim(103 * page, page).is_some());
        spacers.ranges.sort();
        assert_eq!(spacers.ranges, [(100 * page, page), (102 * page, page)]);
        spacers.ranges.clear();
    }
}
