//! Checks of lesson `mmap-anon`'s exercises.

use super::{Rng, bytes_of, call_for_new_mapping, page, page_round, pages};
use super::{record_of, region, residency, size};
use crate::homework::{Failure, Passed};
use crate::kernel::SmapsField;
use nix::sys::mman::ProtFlags;
use std::num::NonZeroUsize;
use std::ptr::NonNull;

crate::homework::declare::exercises! {
    lesson: mmap_anon;

    map_anonymous {
        fork_lock: shared,
        // BEGIN FAKES
        fakes: [
            "a dangling pointer" => |_, _| Ok(NonNull::dangling()),
            "a heap allocation" => |len, _| {
                let layout = std::alloc::Layout::from_size_align(len.get(), page())
                    .map_err(|_| nix::errno::Errno::EINVAL)?;
                // SAFETY: a non-zero size; the fake leaks the allocation.
                NonNull::new(unsafe { std::alloc::alloc_zeroed(layout) })
                    .ok_or(nix::errno::Errno::ENOMEM)
            },
            "read-write whatever was asked" => |len, _| super::fake::plain_mmap(len),
        ],
        // END FAKES
    }

    touch_every_page {
        fork_lock: shared,
        // BEGIN FAKES
        fakes: [
            "touching nothing" => |_| {},
            "touching the first page only" => |r| r[0] = 1,
        ],
        // END FAKES
    }
}

/// Three mappings of random lengths, inaccessible, read-only, then read-write (the cases a
/// heap allocation cannot fake come first): each must be mapped where the function says,
/// with those permissions, anonymous, over the whole length rounded up to pages, and not
/// resident yet.
pub fn map_anonymous(
    f: fn(NonZeroUsize, ProtFlags) -> nix::Result<NonNull<u8>>,
) -> Result<Passed, Failure> {
    let mut rng = Rng::new();
    let page = page();
    let cases = [
        ProtFlags::PROT_NONE,
        ProtFlags::PROT_READ,
        ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
    ];
    let mut shown = Vec::new();
    for prot in cases {
        let len = rng.between(1, 6 * page);
        let asked = format!("map_anonymous({len}, {prot:?})");
        let expected = format!(
            "{asked}: a new private anonymous {prot:?} mapping of {} at the address returned",
            pages(page_round(len) / page)
        );
        let call = || f(NonZeroUsize::new(len).expect("len >= 1"), prot);
        let (line, mapping) = match call_for_new_mapping(&asked, page_round(len), prot, call)? {
            Ok(found) => found,
            Err(shown) => return Err(Failure::new(expected, shown)),
        };
        let addr = mapping.start.as_ptr() as usize;
        let resident = residency(addr, mapping.len).unwrap_or_default();
        if resident.iter().any(|&r| r) {
            return Err(Failure::new(
                format!("{asked}: no page resident before anything touches it"),
                format!(
                    "mincore(2) reports {} of it resident",
                    pages(resident.iter().filter(|&&r| r).count())
                ),
            ));
        }
        shown.push(format!("`{line}`"));
    }
    Ok(Passed::Held(format!(
        "three fresh mappings, none resident: {}",
        shown.join(", ")
    )))
}

/// A fenced region of random size: afterwards Rss must count every page of it.
pub fn touch_every_page(f: fn(&mut [u8])) -> Result<Passed, Failure> {
    let mut rng = Rng::new();
    let n = rng.between(3, 24);
    let mut region = region(n)?;
    f(bytes_of(&mut region));
    let record = record_of(&region)?;
    let rss = size(&record, SmapsField::Rss);
    let expected = format!("Rss of the {}-page region: {}", n, pages(n));
    if rss.as_usize() != n * page() {
        return Err(Failure::new(
            expected,
            format!(
                "Rss: {rss} ({} of {n} pages resident)",
                rss.as_usize() / page()
            ),
        ));
    }
    Ok(Passed::Held(format!(
        "Rss {rss} = {n} pages, Private_Dirty {}",
        size(&record, SmapsField::PrivateDirty)
    )))
}
