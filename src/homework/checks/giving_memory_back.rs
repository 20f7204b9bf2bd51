//! Checks of lesson `giving-memory-back`'s exercises.

use super::{Rng, bytes_of, changed_page, page, pages, reclaim_if_unmapped, record_at, region};
use super::{size, sizes_are};
use crate::homework::{Failure, Passed};
use crate::kernel::{SmapsField, SmapsRecord};
use crate::memory::Mapping;

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
/// the region mapped, returned Ok and left the kernel showing exactly its bounds.
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
    let result = f(bytes);
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
    let given = GivenBack {
        region,
        before,
        record,
    };
    Ok((given, expected))
}

/// The region must still be mapped (same bounds), hold nothing (Rss 0 kB), and read zeros.
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
