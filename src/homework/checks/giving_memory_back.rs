//! Checks of lesson `giving-memory-back`'s exercises.

use super::{Rng, bytes_of, changed_page, page, pages, reclaim_if_unmapped, record_at, region};
use super::{record_of, size, sizes_are};
use crate::homework::{Failure, Passed};
use crate::kernel::{SmapsField, SmapsRecord, VmFlag};
use crate::memory::{Mapped, Mapping};
use nix::sys::mman::MmapAdvise;

crate::homework::declare::exercises! {
    lesson: giving_memory_back;

    give_back {
        fork_lock: shared,
        // BEGIN FAKES
        fakes: [
            "nothing" => |_| Ok(()),
            "MADV_FREE" => |r| super::fake::advise(r, nix::sys::mman::MmapAdvise::MADV_FREE),
            "munmap" saying "no longer mapped" => |r| super::fake::unmap(r),
            "munmap of a page" saying "no longer mapped" => |r| super::fake::unmap_a_page(r),
            "mmap(MAP_FIXED) over the region" saying "no longer the mapping" =>
                super::fake::map_over,
            // The new mapping with the region's flags again: it still cannot merge with the
            // page after it, which the check moved there (another page offset).
            "MAP_FIXED over it, its advice again" saying "no longer the mapping" => |r| {
                super::fake::map_over(r)?;
                let _ = super::fake::advise(r, nix::sys::mman::MmapAdvise::MADV_NOHUGEPAGE);
                super::fake::advise(r, nix::sys::mman::MmapAdvise::MADV_DONTDUMP)
            },
        ],
        // END FAKES
    }

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
/// student's function was called on it (on all of it, or on all but its last page): what
/// both checks read, once the function kept the region mapped, returned Ok and left the
/// kernel showing exactly its bounds and flags.
struct GivenBack {
    region: Mapping,
    /// How many of its pages the student's function was given, from the first.
    given: usize,
    /// Each page's first byte before the call (one a page).
    before: Vec<u8>,
    record: SmapsRecord,
}

/// Calls `f` (named `call` in failures) on a written region; `expected` words what the
/// check wants of a region of so many pages. With `keep_one`, the region has a page more,
/// after those the function is given, and is moved where it is from elsewhere (see
/// [`written_elsewhere`]), so that a new mapping put over the pages given cannot become one
/// VMA with it again, whatever its flags.
fn give_back_with(
    f: fn(&mut [u8]) -> nix::Result<()>,
    call: &str,
    expected: impl FnOnce(usize) -> String,
    keep_one: bool,
) -> Result<(GivenBack, String), Failure> {
    let mut rng = Rng::new();
    let given = rng.between(3, 24);
    let n = given + usize::from(keep_one);
    let mut region = region(n)?;
    if keep_one {
        written_elsewhere(&region, &mut rng)?;
    } else {
        let bytes = bytes_of(&mut region);
        for i in 0..n {
            bytes[i * page()] = rng.byte_except(0);
        }
    }
    let bytes = bytes_of(&mut region);
    let before: Vec<u8> = (0..n).map(|i| bytes[i * page()]).collect();
    let flags = marked_flags(&region)?;
    let result = f(&mut bytes_of(&mut region)[..given * page()]);
    let expected = expected(given);
    reclaim_if_unmapped(region.addr(), region.mapped_len(), &expected)?;
    result.map_err(|e| Failure::returned_error(call, e))?;
    // Only a record with exactly the region's bounds says its pages may be read.
    let (start, end) = (region.addr(), region.addr() + region.mapped_len());
    let record = record_at(start)?;
    let Some(record) = record.filter(|r| (r.vma.start, r.vma.end) == (start, end)) else {
        let beyond = if keep_one {
            ", with the page after yours, which you were not given"
        } else {
            ""
        };
        return Err(Failure::new(
            expected,
            format!(
                "the region is no longer the mapping the check made ({start:#x}-{end:#x}{beyond}): \
                 part of it was unmapped, or a new mapping put over it (mmap?), where advice \
                 keeps the mapping and gives its pages"
            ),
        ));
    };
    if sorted(&record) != flags {
        return Err(Failure::new(
            expected,
            "the region's VmFlags changed across your call: a new mapping took the region's \
             place (mmap over it?), or other advice changed it, where the advice asked for \
             keeps the mapping as it is and gives its pages",
        ));
    }
    let given = GivenBack {
        region,
        given,
        before,
        record,
    };
    Ok((given, expected))
}

/// Puts in `region`'s place a mapping of as many pages, each written with a non-zero byte,
/// made elsewhere and moved there with mremap(2). An anonymous VMA's page offset is its
/// address when it is mapped (in pages) and stays so when it moves: this one's is not its
/// address. A mapping put over part of it with MAP_FIXED gets its address as offset, and the
/// kernel merges two VMAs only where the offsets follow on, so it stays a VMA apart from the
/// rest of the region, whatever flags it is given: the region's bounds tell it. (Its flags
/// alone could be copied: advice sets them.) Written before it moves: a VMA that never had
/// a page takes its new address as offset (copy_vma in mm/vma.c).
fn written_elsewhere(region: &Mapping, rng: &mut Rng) -> Result<(), Failure> {
    use nix::sys::mman::{MRemapFlags, MapFlags, ProtFlags, mmap_anonymous, mremap, munmap};
    let len = region.mapped_len();
    let rw = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
    let nonzero = std::num::NonZeroUsize::new(len).expect("a region is not empty");
    // SAFETY: without MAP_FIXED the kernel picks a free range: nothing is replaced.
    let elsewhere = unsafe { mmap_anonymous(None, nonzero, rw, MapFlags::MAP_PRIVATE) }
        .map_err(|e| Failure::setup("map a region", e))?;
    for offset in (0..len).step_by(page()) {
        // SAFETY: inside the read-write mapping just made, which nothing else knows of.
        unsafe {
            elsewhere
                .cast::<u8>()
                .add(offset)
                .write_volatile(rng.byte_except(0))
        };
    }
    let flags = MRemapFlags::MREMAP_MAYMOVE | MRemapFlags::MREMAP_FIXED;
    let target = std::ptr::NonNull::new(region.addr() as *mut libc::c_void).expect("mapped");
    // With MREMAP_FIXED a move that succeeds is to `target`.
    // SAFETY: moves the mapping just made onto the check's own region, which it replaces
    // (the same length; `region` unmaps it with its guards when dropped).
    if let Err(e) = unsafe { mremap(elsewhere, len, len, flags, Some(target)) } {
        // SAFETY: the mapping made above, still where it was: nobody else's.
        let _ = unsafe { munmap(elsewhere, len) };
        return Err(Failure::setup("move a written region in place (mremap)", e));
    }
    // EINVAL only means the kernel has no THP, as in `region`.
    let _ = region.advise(MmapAdvise::MADV_NOHUGEPAGE);
    Ok(())
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

/// The pages given must still be mapped as they were (the same VMA as the page after them,
/// which they are not given: same bounds, same VmFlags), hold nothing, and read zeros; the
/// page after them stays resident and keeps its byte.
pub fn give_back(f: fn(&mut [u8]) -> nix::Result<()>) -> Result<Passed, Failure> {
    let (mut given, expected) = give_back_with(
        f,
        "give_back(region)",
        |n| {
            format!(
                "the {n}-page region still mapped as it was, none of it resident (Rss {}: only \
                 the page after it, which you were not given), reading zeros",
                pages(1)
            )
        },
        true,
    )?;
    let n = given.given;
    let rss = size(&given.record, SmapsField::Rss);
    if rss.as_usize() != page() {
        let resident = (rss.as_usize() / page()).saturating_sub(1);
        return Err(Failure::new(
            expected,
            format!("Rss {rss}: {} of yours resident", pages(resident)),
        ));
    }
    let bytes = bytes_of(&mut given.region);
    if let Some(i) = (0..n).find(|&i| bytes[i * page()] != 0) {
        return Err(Failure::new(
            expected,
            format!("page {i} still reads {}", bytes[i * page()]),
        ));
    }
    let (kept, was) = (bytes[n * page()], given.before[n]);
    if kept != was {
        return Err(Failure::new(
            expected,
            format!(
                "the page after yours, which you were not given, reads {kept}, not the {was} \
                 the check wrote"
            ),
        ));
    }
    Ok(Passed::Held(format!(
        "`{}` still mapped, Rss {rss} (the page after yours), your {n} pages read 0",
        given.record.vma
    )))
}

/// The region must stay resident with its contents but turn clean: Rss all of it,
/// Private_Dirty 0 kB, Private_Clean all of it (LazyFree follows, with a lag).
pub fn give_back_lazily(f: fn(&mut [u8]) -> nix::Result<()>) -> Result<Passed, Failure> {
    let (mut given, expected) = give_back_with(
        f,
        "give_back_lazily(region)",
        |n| {
            format!(
                "the {n}-page region: Rss and Private_Clean {}, Private_Dirty 0 kB, contents \
                 kept (unless memory ran short at this very moment)",
                pages(n)
            )
        },
        false,
    )?;
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
