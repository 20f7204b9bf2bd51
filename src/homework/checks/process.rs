//! Checks of lesson `process`' exercises.

use super::{Rng, bytes_of, page, pages, record_at, record_of, region, size};
use crate::exercises::process::Footprint;
use crate::homework::{Failure, Passed};
use crate::kernel::SmapsField;
use crate::kernel::SmapsRecord;

crate::homework::declare::exercises! {
    lesson: process;

    /// Reads the Rss of the code mapping, which only grows while tests run beside it (they
    /// fault in code they had not run yet); a fork copies no entries of a file mapping.
    own_code {
        fork_lock: shared,
        // BEGIN FAKES
        fakes: [
            "zeros" => || Ok(Footprint { size: 0, rss: 0 }),
            "kB, not bytes" => || {
                let code = code_record(own_code_fake as *const () as usize)?;
                Ok(Footprint { size: code.size / 1024, rss: code.rss / 1024 })
            },
            // RssFile counts every file page of the process: the code's and all the others.
            "RssFile of /proc/self/status" => || {
                let size = code_record(own_code_fake as *const () as usize)?.size;
                let sizes = crate::kernel::status::read_sizes(crate::kernel::procfs::Proc::SelfProcess)
                    .map_err(std::io::Error::other)?;
                let rss = sizes.get(crate::kernel::status::StatusSize::RssFile).map_or(0, |b| b.0);
                Ok(Footprint { size, rss })
            },
            "the heap's mapping" => || {
                let on_heap = Box::new(0u8);
                code_record(&*on_heap as *const u8 as usize)
            },
            // The vdso (or the dynamic loader): executable, but not this program's code.
            "the last executable mapping" => || {
                let maps = std::fs::read_to_string("/proc/self/maps")?;
                let start = maps
                    .lines()
                    .filter(|l| l.split_whitespace().nth(1).is_some_and(|p| p.contains('x')))
                    .filter_map(|l| usize::from_str_radix(l.split('-').next()?, 16).ok())
                    .next_back()
                    .ok_or_else(|| std::io::Error::other("no executable mapping"))?;
                code_record(start)
            },
        ],
        // END FAKES
    }

    /// Clears the accessed bits of the whole process (clear_refs), which other checks read:
    /// it runs alone.
    working_set {
        fork_lock: exclusive,
        // BEGIN FAKES
        fakes: [
            "every resident page" => |region, work| {
                work(region);
                Ok(super::residency(region.as_ptr() as usize, region.len())
                    .unwrap_or_default()
                    .iter()
                    .filter(|&&r| r)
                    .count())
            },
            "no clear_refs" => |region, work| {
                work(region);
                referenced_pages(region)
            },
            // Clears (and flushes) only the region's bits: the check's other region keeps its.
            "MADV_COLD instead of clear_refs" saying "other region" => |region, work| {
                super::fake::advise(region, nix::sys::mman::MmapAdvise::MADV_COLD)?;
                work(region);
                referenced_pages(region)
            },
        ],
        // END FAKES
    }
}

// BEGIN FAKES
/// A function of the test binary's code, for the fakes: the same mapping as the student's.
fn own_code_fake() {}

/// The footprint of the mapping at `addr`, for the fakes.
fn code_record(addr: usize) -> std::io::Result<Footprint> {
    let record = record_at(addr)
        .map_err(|f| std::io::Error::other(f.showed))?
        .ok_or_else(|| std::io::Error::other("no smaps record"))?;
    Ok(Footprint {
        size: size(&record, SmapsField::Size).0,
        rss: size(&record, SmapsField::Rss).0,
    })
}

/// The region's Referenced, in pages, for the fakes.
fn referenced_pages(region: &[u8]) -> std::io::Result<usize> {
    let record = record_at(region.as_ptr() as usize)
        .map_err(|f| std::io::Error::other(f.showed))?
        .ok_or_else(|| std::io::Error::other("no smaps record"))?;
    Ok(size(&record, SmapsField::Referenced).as_usize() / page())
}
// END FAKES

/// The record of the mapping at `addr`, which the check knows exists (its own code).
fn record_of_code(addr: usize) -> Result<SmapsRecord, Failure> {
    record_at(addr)?.ok_or_else(|| Failure::setup("find the code's mapping in smaps", "none"))
}

/// The answer against the code mapping's record read right before and right after the call:
/// the same Size, and an Rss between the two (the process may fault in more of its code in
/// between, never less).
pub fn own_code(f: fn() -> std::io::Result<Footprint>) -> Result<Passed, Failure> {
    let addr = f as usize;
    // Once first, so that the reads around the call fault in no code of their own.
    record_of_code(addr)?;
    let before = record_of_code(addr)?;
    let answer = f().map_err(|e| Failure::returned_error("own_code()", e))?;
    let after = record_of_code(addr)?;
    let (size_now, low, high) = (
        size(&after, SmapsField::Size).0,
        size(&before, SmapsField::Rss).0,
        size(&after, SmapsField::Rss).0,
    );
    let expected = format!(
        "the code's mapping `{}`: Size {size_now} bytes, Rss between {low} and {high} bytes \
         (before and after your call)",
        after.vma
    );
    if before.vma != after.vma {
        return Err(Failure::setup(
            "see the code's mapping stay put",
            "it changed",
        ));
    }
    if answer.size != size_now || answer.rss < low || answer.rss > high {
        return Err(Failure::new(expected, format!("you returned {answer:?}")));
    }
    Ok(Passed::Held(format!(
        "`{}`: Size {} bytes, Rss {} bytes ({}% of the code mapped in so far)",
        after.vma,
        answer.size,
        answer.rss,
        answer.rss * 100 / answer.size.max(1)
    )))
}

/// The student's `working_set`: the region, and the work to watch.
type WorkingSet = fn(&mut [u8], &dyn Fn(&mut [u8])) -> std::io::Result<usize>;

/// A region whose every page is written, another region of the check's, written too, and a
/// `work` that reads a random set of the region's pages (never none, never all): the answer
/// and the region's Referenced must be those pages, the other region's Referenced 0 (the
/// bits of the whole process were cleared), and the region read-write as it was.
pub fn working_set(f: WorkingSet) -> Result<Passed, Failure> {
    if !std::path::Path::new("/proc/self/clear_refs").exists() {
        return Ok(Passed::Skipped(
            "this kernel has no /proc/PID/clear_refs (CONFIG_PROC_PAGE_MONITOR)".into(),
        ));
    }
    let mut rng = Rng::new();
    let (n, m) = (rng.between(6, 24), rng.between(2, 6));
    let (mut watched, mut other) = (region(n)?, region(m)?);
    for region in [&mut watched, &mut other] {
        let bytes = bytes_of(region);
        for i in (0..bytes.len()).step_by(page()) {
            bytes[i] = 1;
        }
    }
    let mut used: Vec<usize> = (0..n).filter(|_| rng.next().is_multiple_of(2)).collect();
    if used.is_empty() || used.len() == n {
        used = vec![rng.between(0, n - 1)];
    }
    let work = |bytes: &mut [u8]| {
        for &i in &used {
            // SAFETY: inside the region; volatile, so that the read really happens.
            std::hint::black_box(unsafe { std::ptr::read_volatile(&bytes[i * page()]) });
        }
    };
    let answer = f(bytes_of(&mut watched), &work)
        .map_err(|e| Failure::returned_error("working_set(region, work)", e))?;
    let record = record_of(&watched)?;
    let (referenced, others) = (
        size(&record, SmapsField::Referenced),
        size(&record_of(&other)?, SmapsField::Referenced),
    );
    let k = used.len();
    let expected = format!(
        "{k} of {n} pages used ({used:?}): Referenced {}, the check's other region Referenced \
         0 kB, the region still rw",
        pages(k)
    );
    if !(record.vma.perms.read && record.vma.perms.write) {
        return Err(Failure::new(
            expected,
            format!("the region is `{}`", record.vma),
        ));
    }
    if referenced.as_usize() != k * page() || answer != k {
        return Err(Failure::new(
            expected,
            format!("Referenced {referenced}; you returned {answer}"),
        ));
    }
    if others.0 != 0 {
        return Err(Failure::new(
            expected,
            format!(
                "the check's other region is still Referenced {others}: the accessed bits of \
                 the rest of the process were not cleared"
            ),
        ));
    }
    Ok(Passed::Held(format!(
        "{answer} pages of {n} Referenced after clear_refs and work, the other region 0 kB"
    )))
}
