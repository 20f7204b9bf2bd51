//! Checks of lesson `giving-memory-back`'s exercises.

use super::{Rng, bytes_of, changed_page, page, pages, reclaim_if_unmapped, record_at, region};
use super::{record_of, size, sizes_are};
use crate::homework::{Failure, Passed};
use crate::kernel::{SmapsField, SmapsRecord, VmFlag};
use crate::memory::{Mapped, Mapping};
use nix::sys::mman::MmapAdvise;

crate::homework::declare::exercises! {
    lesson: giving_memory_back;

    /// Reads its own pages' smaps fields, which a concurrent fork would turn shared.
    give_back {
        fork_lock: shared,
        // BEGIN FAKES
        fakes: [
            "nothing" => |_| Ok(()),
            "MADV_FREE" => |r| super::fake::advise(r, nix::sys::mman::MmapAdvise::MADV_FREE),
            "munmap" saying "no longer mapped" => |r| super::fake::unmap(r),
            "munmap of a page" saying "no longer mapped" => |r| super::fake::unmap_a_page(r),
            // Same bounds, nothing resident, zeros: only the VMA's flags tell a new mapping.
            // Same bounds, nothing resident, zeros: only the VMA's flags tell a new mapping.
            "mmap(MAP_FIXED) over the region" saying "VmFlags" => super::fake::map_over,
        ],
        // END FAKES
    }

    /// Reads its own pages' smaps fields, which a concurrent fork would turn shared.
    give_back_lazily {
        fork_lock: shared,
        // BEGIN FAKES
        fakes: [
            "nothing" => |_| Ok(()),
            "MADV_DONTNEED" => |r| {
                super::fake::advise(r, nix::sys::mman::MmapAdvise::MADV_DONTNEED)
            },
        ],
        // END FAKES
    }
}

/// A fenced region of random size, every page written with a non-zero byte, after the
/// student's function was called on it: what both checks read, once the function kept
/// the region mapped, returned Ok and left the kernel showing exactly its bounds and flags.
struct GivenBack {
    region: Mapping,
    /// Each page's first byte before the call (one a page).
    before: Vec<u8>,
    record: SmapsRecord,
}

/// Calls `f` (named `call` in failures) on a written region; `expected` words what the
/// check wants of a region of so many pages.
fn give_back_with(
    f: fn(&mut [u8]) -> nix::Result<()>,
    call: &str,
    expected: impl FnOnce(usize) -> String,
) -> Result<(GivenBack, String), Failure> {
    let mut rng = Rng::new();
    let n = rng.between(3, 24);
    let mut region = region(n)?;
    let bytes = bytes_of(&mut region);
    for i in 0..n {
        bytes[i * page()] = rng.byte_except(0);
    }
    let before: Vec<u8> = (0..n).map(|i| bytes[i * page()]).collect();
    let flags = marked_flags(&region)?;
    let result = f(bytes_of(&mut region));
    let expected = expected(n);
    reclaim_if_unmapped(region.addr(), region.mapped_len(), &expected)?;
    result.map_err(|e| Failure::returned_error(call, e))?;
    // Only a record with exactly the region's bounds says its pages may be read.
    let whole = |r: &SmapsRecord| {
        r.vma.start == region.addr() && r.vma.end == region.addr() + region.mapped_len()
    };
    let Some(record) = record_at(region.addr())?.filter(whole) else {
        return Err(Failure::new(
            expected,
            "the region is not mapped as it was: part of it was unmapped or remapped",
        ));
    };
    let now = sorted(&record);
    if now != flags {
        return Err(Failure::new(
            expected,
            format!(
                "VmFlags `{}` before the call, `{}` after: a new mapping took the region's \
                 place (mmap over it?), where advice keeps the mapping and gives its pages",
                flags.join(" "),
                now.join(" ")
            ),
        ));
    }
    let given = GivenBack {
        region,
        before,
        record,
    };
    Ok((given, expected))
}

/// The VmFlags of the check's region, marked first with MADV_DONTDUMP (`dd`, since Linux
/// 3.4), sorted. A mapping put in the region's place (mmap with MAP_FIXED) has the same
/// bounds and, once advised, the same Rss and contents, but not the region's flags: not `dd`,
/// which only advice sets, nor `nh`, which [`region`] sets where the kernel has THP. The mark
/// is made by the check because `nh` alone is missing without THP, where a new read-write
/// private mapping's flags are the region's.
fn marked_flags(region: &Mapping) -> Result<Vec<String>, Failure> {
    region
        .advise(MmapAdvise::MADV_DONTDUMP)
        .map_err(|e| Failure::setup("mark the region MADV_DONTDUMP", e))?;
    let record = record_of(region)?;
    if !record.has_flag(VmFlag::DontDump) {
        return Err(Failure::setup(
            "see the region marked `dd` in VmFlags",
            format!("VmFlags: {}", record.flags_text()),
        ));
    }
    Ok(sorted(&record))
}

/// The record's VmFlags codes, sorted (the kernel prints them in a fixed order, but the
/// comparison need not rely on it).
fn sorted(record: &SmapsRecord) -> Vec<String> {
    let mut flags = record.vm_flags.clone().unwrap_or_default();
    flags.sort();
    flags
}

/// The region must still be mapped (same bounds, same VmFlags), hold nothing (Rss 0 kB), and
/// read zeros.
pub fn give_back(f: fn(&mut [u8]) -> nix::Result<()>) -> Result<Passed, Failure> {
    let (mut given, expected) = give_back_with(f, "give_back(region)", |n| {
        format!("the {n}-page region still mapped, Rss 0 kB, reading zeros")
    })?;
    let n = given.before.len();
    let rss = size(&given.record, SmapsField::Rss);
    if rss.0 != 0 {
        return Err(Failure::new(
            expected,
            format!("Rss {rss} ({} resident)", pages(rss.as_usize() / page())),
        ));
    }
    let bytes = bytes_of(&mut given.region);
    if let Some(i) = (0..n).find(|&i| bytes[i * page()] != 0) {
        return Err(Failure::new(
            expected,
            format!("page {i} still reads {}", bytes[i * page()]),
        ));
    }
    Ok(Passed::Held(format!(
        "`{}` still mapped, Rss {rss}, every page reads 0",
        given.record.vma
    )))
}

/// The region must stay resident with its contents but turn clean: Rss all of it,
/// Private_Dirty 0 kB, Private_Clean all of it (LazyFree follows, with a lag).
pub fn give_back_lazily(f: fn(&mut [u8]) -> nix::Result<()>) -> Result<Passed, Failure> {
    let (mut given, expected) = give_back_with(f, "give_back_lazily(region)", |n| {
        format!(
            "the {n}-page region: Rss and Private_Clean {}, Private_Dirty 0 kB, contents kept \
             (unless memory ran short at this very moment)",
            pages(n)
        )
    })?;
    let all = given.before.len() * page();
    let (held, sizes) = sizes_are(
        &given.record,
        [
            (SmapsField::Rss, all),
            (SmapsField::PrivateClean, all),
            (SmapsField::PrivateDirty, 0),
        ],
    );
    if !held {
        return Err(Failure::new(expected, sizes));
    }
    if let Some(changed) = changed_page(&mut given.region, &given.before) {
        return Err(Failure::new(expected, changed));
    }
    let lazy = given
        .record
        .size(SmapsField::LazyFree)
        .map_or("absent".into(), |b| b.to_string());
    Ok(Passed::Held(format!(
        "{sizes}, LazyFree {lazy}, contents kept"
    )))
}
