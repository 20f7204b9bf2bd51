//! Checks of lesson `hugetlb`'s exercises. The pool of explicit huge pages is the whole
//! machine's, and the checks never change it (no writes to /proc/sys): where it is empty, as
//! it is by default, they check what an empty pool gives (ENOMEM when reserving; a mapping
//! that reserves nothing with MAP_NORESERVE), and where it has pages, what they give too.

use super::{
    BeforeAndAfter, MappedBefore, Rng, StudentMapping, new_anonymous_mapping, page_round, record_at,
};
use crate::Bytes;
use crate::exercises::hugetlb::HugePages;
use crate::homework::{Failure, Passed};
use crate::kernel::SmapsField;
use crate::kernel::SmapsRecord;
use crate::kernel::VmFlag;
use crate::kernel::hugetlb::{self, HugePageCounters};
use crate::kernel::probe::HugetlbPool;
use nix::errno::Errno;
use nix::fcntl::Flock;
use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous};
use std::num::NonZeroUsize;
use std::ptr::NonNull;

crate::homework::declare::exercises! {
    lesson: hugetlb;

    /// Does not fork; reads its own mapping's smaps fields.
    map_hugetlb {
        fork_lock: shared,
        // BEGIN FAKES
        fakes: [
            "small pages" => |len, _| super::fake::plain_mmap(len),
            "ENOMEM, always" => |_, _| Err(Errno::ENOMEM),
            // Works with or without a pool: nothing is reserved, whatever was asked.
            "MAP_NORESERVE, always" saying "reserve" => |len, _| fake_huge(len, MapFlags::MAP_NORESERVE),
            "reserving, always" => |len, _| fake_huge(len, MapFlags::empty()),
            "small pages when the pool has none" saying "small pages" => |len, reserve| {
                let more = if reserve { MapFlags::empty() } else { MapFlags::MAP_NORESERVE };
                fake_huge(len, more).or_else(|_| super::fake::plain_mmap(len))
            },
        ],
        // END FAKES
    }

    /// Does not fork; maps and unmaps only its own huge page mappings.
    count_huge_pages {
        fork_lock: shared,
        // BEGIN FAKES
        fakes: [
            "a constant" => |_| Ok(HugePages { needed: 1, available: 0 }),
            "rounded down" => |len| {
                let huge = hugetlb_settings().ok().flatten().map_or(1, |p| p.page_size.0);
                Ok(HugePages { needed: len.get() as u64 / huge, available: pool_now()?.available() })
            },
            "in base pages" => |len| {
                let page = super::page() as u64;
                Ok(HugePages { needed: (len.get() as u64).div_ceil(page), available: pool_now()?.available() })
            },
        ],
        // END FAKES
    }
}

// BEGIN FAKES
/// A private read-write MAP_HUGETLB mapping with `more` flags, for the fakes.
fn fake_huge(len: NonZeroUsize, more: MapFlags) -> nix::Result<NonNull<u8>> {
    let flags = MapFlags::MAP_PRIVATE | MapFlags::MAP_HUGETLB | more;
    // SAFETY: a fresh mapping the kernel places.
    unsafe { mmap_anonymous(None, len, super::fake::rw(), flags) }.map(NonNull::cast)
}

fn pool_now() -> std::io::Result<HugePageCounters> {
    HugePageCounters::read().map_err(std::io::Error::other)
}
// END FAKES

/// The most address space one call is asked to map: more than any pool, far less than a
/// 64-bit address space.
const MOST_BYTES: usize = 1 << 40;

/// The pool's counters now, for the checks.
fn pool() -> Result<HugePageCounters, Failure> {
    HugePageCounters::read().map_err(|e| Failure::setup("read the huge page pool", e))
}

/// The default explicit huge page size (`Hugepagesize`) and `vm.nr_overcommit_hugepages`
/// (surplus pages the kernel may add to the pool on demand), read once per check; `None`
/// without hugetlbfs.
fn hugetlb_settings() -> Result<Option<HugetlbPool>, Failure> {
    HugetlbPool::probe().map_err(|e| Failure::setup("read the huge page pool's settings", e))
}

const NO_HUGETLB: &str = "this kernel has no hugetlbfs (CONFIG_HUGETLBFS): /proc/meminfo has no \
     Hugepagesize, and MAP_HUGETLB fails whatever the pool";

/// See [`hugetlb::lock_pool`]: these checks and the lesson's experiment take turns.
fn lock_pool() -> Result<Flock<std::fs::File>, Failure> {
    hugetlb::lock_pool().map_err(|e| Failure::setup("lock the huge page pool", e))
}

/// What the student's function mapped, unmapped when dropped where it is safe to.
enum Got {
    /// A huge page mapping of the length asked for (whole huge pages) at the address.
    Huge(SmapsRecord, StudentMapping),
    /// Small pages instead.
    Small(StudentMapping),
    /// Something else, as the kernel shows it.
    Other(String),
}

/// Tells what the mapping at `start`, asked for `len` bytes, is; `maps`, read right before
/// the call and right after, tell a new mapping from one the process had (only a new one is
/// unmapped). No call is repeated here (see [`super::NEW_MAPPING_ATTEMPTS`]): the pool's
/// lock keeps this process's other huge page mappings away meanwhile, and small pages fail
/// the check whatever they are.
fn what_was_mapped(
    maps: &BeforeAndAfter,
    start: NonNull<u8>,
    len: usize,
    huge: usize,
) -> Result<Got, Failure> {
    let addr = start.as_ptr() as usize;
    let Some(record) = record_at(addr)? else {
        return Ok(Got::Other(format!("nothing is mapped at {addr:#x}")));
    };
    let whole = len.next_multiple_of(huge);
    if record.has_flag(VmFlag::HugeTlb) {
        let page = record.size(SmapsField::KernelPageSize);
        if record.vma.start != addr
            || record.vma.end - addr != whole
            || page != Some(Bytes(huge as u64))
        {
            return Ok(Got::Other(format!(
                "the mapping at {addr:#x} is `{}`",
                record.vma
            )));
        }
        if let Some(was) = maps.had(addr, addr + whole) {
            return Ok(Got::Other(format!(
                "the mapping at {addr:#x} lies in `{was}`, mapped before the call and still \
                 around it"
            )));
        }
        let unmap = StudentMapping { start, len: whole };
        return Ok(Got::Huge(record, unmap));
    }
    let rw = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
    Ok(
        match new_anonymous_mapping(maps, start, page_round(len), rw) {
            Ok((_, unmap)) => Got::Small(unmap),
            Err(not) => Got::Other(not.shown),
        },
    )
}

/// Calls the student's function (`asked`) for `len` bytes, reserving or not: the record of
/// the huge page mapping it made, which is unmapped by the time this returns, and the pool
/// after the call; a failure against `expected` where it mapped anything else.
fn huge_record(
    f: Student,
    len: usize,
    reserve: bool,
    huge: usize,
    asked: &str,
    expected: &str,
) -> Result<(SmapsRecord, HugePageCounters), Failure> {
    let mapped = MappedBefore::now()?;
    let start = f(NonZeroUsize::new(len).expect("len >= 1"), reserve)
        .map_err(|e| Failure::returned_error(asked, e))?;
    let maps = mapped.after()?;
    let after = pool()?;
    match what_was_mapped(&maps, start, len, huge)? {
        Got::Huge(record, _unmap) => Ok((record, after)),
        Got::Small(_unmap) => Err(Failure::new(expected, "small pages: no `ht` in VmFlags")),
        Got::Other(shown) => Err(Failure::new(expected, shown)),
    }
}

/// `n` huge pages, in words.
fn huge_pages(n: usize) -> String {
    format!("{n} huge page{}", if n == 1 { "" } else { "s" })
}

/// A length of `n` huge pages, less a random part of the last one.
fn length(rng: &mut Rng, n: usize, huge: usize) -> usize {
    n * huge - rng.between(1, huge - 1)
}

/// The first call, without a reservation: a huge page mapping with `nr` in VmFlags, and the
/// pool's reservations unchanged, with or without a pool.
fn unreserved(f: Student, rng: &mut Rng, huge: usize) -> Result<String, Failure> {
    let n = rng.between(1, 3);
    let len = length(rng, n, huge);
    let asked = format!("map_hugetlb({len}, false)");
    let expected = format!(
        "{asked}: {} of {} mapped (KernelPageSize, `ht` and `nr` in VmFlags), none reserved \
         from the pool",
        huge_pages(n),
        Bytes(huge as u64)
    );
    let before = pool()?;
    let (record, after) = huge_record(f, len, false, huge, &asked, &expected)?;
    let flags = record.flags_text();
    if !record.has_flag(VmFlag::NoReserve) || after.reserved != before.reserved {
        return Err(Failure::new(
            expected,
            format!(
                "VmFlags {flags}; HugePages_Rsvd {} before, {} after: it reserved",
                before.reserved, after.reserved
            ),
        ));
    }
    Ok(format!("{asked}: `{}` {flags}", record.vma))
}

type Student = fn(NonZeroUsize, bool) -> nix::Result<NonNull<u8>>;

/// A reserving call for more pages than the pool (and its overcommit) can give: ENOMEM.
fn too_many(f: Student, rng: &mut Rng, huge: usize, overcommit: u64) -> Result<String, Failure> {
    if overcommit > 0 {
        // The kernel would allocate surplus pages from memory to try, up to the limit.
        return Ok(
            "not asked for more than the pool has: vm.nr_overcommit_hugepages is set".into(),
        );
    }
    let room = pool()?.available();
    let n = room as usize + 1;
    if n.saturating_mul(huge) > MOST_BYTES {
        return Ok(format!(
            "not asked for more than the pool has: {} free",
            huge_pages(room as usize)
        ));
    }
    let len = length(rng, n, huge);
    let asked = format!("map_hugetlb({len}, true)");
    let expected = format!(
        "{asked}: ENOMEM, the pool can give {} (HugePages_Free - HugePages_Rsvd) and it takes {n}",
        huge_pages(room as usize)
    );
    let mapped = MappedBefore::now()?;
    let start = match f(NonZeroUsize::new(len).expect("len >= 1"), true) {
        Err(Errno::ENOMEM) => return Ok(format!("{asked}: ENOMEM, the pool has {room}")),
        Err(errno) => {
            return Err(Failure::new(
                expected,
                format!("your function returned {errno}"),
            ));
        }
        Ok(start) => start,
    };
    let shown = match what_was_mapped(&mapped.after()?, start, len, huge)? {
        Got::Huge(record, _unmap) if record.has_flag(VmFlag::NoReserve) => {
            "a huge page mapping that does not reserve its pages (`nr`)".to_owned()
        }
        Got::Huge(record, _unmap) => format!("a mapping: `{}`", record.vma),
        Got::Small(_unmap) => "a mapping of small pages instead".to_owned(),
        Got::Other(shown) => shown,
    };
    Err(Failure::new(expected, shown))
}

/// Where the pool has pages free: a reserving call within them maps huge pages and reserves
/// them all at once (HugePages_Rsvd).
fn within_pool(f: Student, rng: &mut Rng, huge: usize) -> Result<String, Failure> {
    let before = pool()?;
    let free = (before.available() as usize).min(3);
    if free == 0 {
        return Ok("the pool has no huge page free: a reservation cannot succeed here".into());
    }
    let n = rng.between(1, free);
    let len = length(rng, n, huge);
    let asked = format!("map_hugetlb({len}, true)");
    let expected = format!(
        "{asked}: {} mapped, and reserved (HugePages_Rsvd +{n})",
        huge_pages(n)
    );
    let (record, after) = huge_record(f, len, true, huge, &asked, &expected)?;
    let grew = after.reserved_since(&before);
    if record.has_flag(VmFlag::NoReserve) || grew != n as u64 {
        return Err(Failure::new(
            expected,
            format!("HugePages_Rsvd grew by {grew}; `{}`", record.vma),
        ));
    }
    Ok(format!("{asked}: reserved {grew}"))
}

/// Three calls: without a reservation (works with any pool), reserving more than the pool
/// has (ENOMEM), and reserving what the pool has (where it has any).
pub fn map_hugetlb(f: Student) -> Result<Passed, Failure> {
    let Some(settings) = hugetlb_settings()? else {
        return Ok(Passed::Skipped(NO_HUGETLB.into()));
    };
    let huge = settings.page_size.as_usize();
    let _pool = lock_pool()?;
    let mut rng = Rng::new();
    let shown = [
        unreserved(f, &mut rng, huge)?,
        too_many(f, &mut rng, huge, settings.overcommit)?,
        within_pool(f, &mut rng, huge)?,
    ];
    Ok(Passed::Held(shown.join("; ")))
}

/// How many huge pages the kernel maps for `len` bytes: the Size of a MAP_HUGETLB mapping of
/// that length over its KernelPageSize. Without a reservation, so that it works whatever the
/// pool holds; nothing touches it.
fn pages_mapped_for(len: usize, huge: usize) -> Result<u64, Failure> {
    let flags = MapFlags::MAP_PRIVATE | MapFlags::MAP_HUGETLB | MapFlags::MAP_NORESERVE;
    let rw = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
    let len = NonZeroUsize::new(len).expect("len >= 1");
    // SAFETY: a fresh mapping the kernel places; unmapped below, never touched.
    let start = unsafe { mmap_anonymous(None, len, rw, flags) }
        .map_err(|e| Failure::setup("map huge pages without a reservation", e))?;
    let record = record_at(start.as_ptr() as usize);
    // SAFETY: the mapping made above, whole huge pages long; unmapped whatever smaps said.
    let _ = unsafe { nix::sys::mman::munmap(start, len.get().next_multiple_of(huge)) };
    let record = record?.ok_or_else(|| {
        Failure::setup(
            "find the huge page mapping in smaps",
            "no record holds its address",
        )
    })?;
    let kernel_page = record
        .size(SmapsField::KernelPageSize)
        .unwrap_or(Bytes(1))
        .get()
        .max(1);
    Ok((record.vma.end - record.vma.start) as u64 / kernel_page)
}

/// Whether a reserving MAP_HUGETLB mapping of `len` bytes is refused (ENOMEM) now.
fn reserving_refused(len: usize, huge: usize) -> Result<bool, Failure> {
    let flags = MapFlags::MAP_PRIVATE | MapFlags::MAP_HUGETLB;
    let rw = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
    let len = NonZeroUsize::new(len).expect("len >= 1");
    // SAFETY: a fresh mapping the kernel places; unmapped at once, never touched.
    match unsafe { mmap_anonymous(None, len, rw, flags) } {
        Err(Errno::ENOMEM) => Ok(true),
        Err(errno) => Err(Failure::setup("map huge pages with a reservation", errno)),
        Ok(start) => {
            // SAFETY: the mapping just made, whole huge pages long.
            let _ = unsafe { nix::sys::mman::munmap(start, len.get().next_multiple_of(huge)) };
            Ok(false)
        }
    }
}

/// Lengths of random numbers of huge pages, never whole ones: `needed` must be what a
/// mapping of that length takes (its Size in huge pages, as smaps shows it) and `available`
/// HugePages_Free less HugePages_Rsvd; and the answer must mean what it says: a reserving
/// mmap is refused exactly when more are needed than available (where no overcommit blurs it).
pub fn count_huge_pages(
    f: fn(NonZeroUsize) -> std::io::Result<HugePages>,
) -> Result<Passed, Failure> {
    let Some(settings) = hugetlb_settings()? else {
        return Ok(Passed::Skipped(NO_HUGETLB.into()));
    };
    let huge = settings.page_size.as_usize();
    let _pool = lock_pool()?;
    let mut rng = Rng::new();
    let mut shown = Vec::new();
    for low in [2, 1, 1] {
        let n = rng.between(low, 5);
        let len = length(&mut rng, n, huge);
        let asked = format!("count_huge_pages({len})");
        let before = pool()?;
        let answer = f(NonZeroUsize::new(len).expect("len >= 1"))
            .map_err(|e| Failure::returned_error(&asked, e))?;
        let truth = HugePages {
            needed: pages_mapped_for(len, huge)?,
            available: before.available(),
        };
        if pool()? != before {
            return Err(Failure::setup(
                "read a quiet pool",
                "it changed while the check ran",
            ));
        }
        if answer != truth {
            return Err(Failure::new(
                format!(
                    "{asked}: {truth:?}, with huge pages of {}",
                    Bytes(huge as u64)
                ),
                format!("you returned {answer:?}"),
            ));
        }
        shown.push(format!("{} for {len} bytes", truth.needed));
        if settings.overcommit == 0
            && reserving_refused(len, huge)? != (truth.needed > truth.available)
        {
            return Err(Failure::setup(
                "see mmap(MAP_HUGETLB) refused exactly when the pool is short",
                format!("{truth:?}, but the kernel decided otherwise"),
            ));
        }
    }
    Ok(Passed::Held(format!(
        "huge pages needed: {}; available: {}",
        shown.join(", "),
        pool()?.available()
    )))
}
