//! Checks of lesson `reclaim`'s exercises.

use super::{Rng, bytes_of, page, pages, pin_to_this_cpu, reclaim_if_unmapped, record_of};
use super::{changed_page, region, size, sizes_are, temp_dir};
use crate::Bytes;
use crate::homework::{Failure, Passed};
use crate::kernel::SmapsField;
use crate::kernel::SmapsRecord;
use crate::kernel::probe::KernelProbe;
use crate::kernel::procfs::Proc;
use crate::memory::{FileMapping, Mapped, Mapping};
use nix::sys::mman::ProtFlags;
use std::num::NonZeroUsize;
use std::os::fd::AsFd;

crate::homework::declare::exercises! {
    lesson: reclaim;

    /// Reads its own file mapping's Rss and page cache residency; the fork of another test
    /// would not copy its page table entries (a shared file mapping), but Rss is read as
    /// every non-forking check reads its own pages.
    page_out_file {
        fork_lock: shared,
        // BEGIN FAKES
        fakes: [
            "nothing" => |_| Ok(()),
            // Rss 0, but the pages stay in the page cache: no major fault to read them again.
            "MADV_DONTNEED" saying "page cache" => |r| super::fake::advise(r, nix::sys::mman::MmapAdvise::MADV_DONTNEED),
            "MADV_COLD" => |r| super::fake::advise(r, nix::sys::mman::MmapAdvise::MADV_COLD),
            "munmap" saying "no longer mapped" => super::fake::unmap,
            "munmap of a page" saying "no longer mapped" => super::fake::unmap_a_page,
        ],
        // END FAKES
    }

    /// Reads Referenced, which another exercise's clear_refs (and a fake's) clears in the
    /// whole process: it runs alone.
    mark_cold {
        fork_lock: exclusive,
        // BEGIN FAKES
        fakes: [
            "nothing" => |_| Ok(()),
            // Without swap the pages stay, still marked accessed (since 6.9); with swap
            // they leave.
            "MADV_PAGEOUT" unless pageout_looks_cold => |r| super::fake::advise(r, nix::sys::mman::MmapAdvise::MADV_PAGEOUT),
            // Clears the accessed bits, but makes the pages clean: their contents may go.
            "MADV_FREE" saying "Private_Dirty" => |r| super::fake::advise(r, nix::sys::mman::MmapAdvise::MADV_FREE),
            "MADV_DONTNEED" => |r| super::fake::advise(r, nix::sys::mman::MmapAdvise::MADV_DONTNEED),
            // Clears every page's accessed bits, the check's other region's too.
            "clear_refs" saying "other region" => |_| {
                std::fs::write("/proc/self/clear_refs", "1").map_err(|_| nix::errno::Errno::EIO)
            },
        ],
        // END FAKES
    }
}

// BEGIN FAKES
/// Why MADV_PAGEOUT leaves the traces of MADV_COLD on this kernel, if it does: before 6.9
/// it cleared the accessed bits of what it was asked to reclaim, as MADV_COLD does (6.9's
/// mm/madvise.c leaves them and has reclaim ignore them instead), and with no swap it can
/// reclaim no anonymous page: the pages stay, unreferenced, exactly as after MADV_COLD.
fn pageout_looks_cold() -> Option<String> {
    let probe = KernelProbe::probe().ok()?;
    (probe.version < (6, 9) && probe.swap.0 == 0).then(|| {
        format!(
            "on kernel {} without swap (SwapTotal 0 kB) MADV_PAGEOUT clears the accessed bits \
             and reclaims nothing, as MADV_COLD: the kernel shows both the same (6.9 keeps \
             the bits)",
            probe.release
        )
    })
}
// END FAKES

/// Why the check cannot tell reclaim from less on this machine, if it cannot.
fn pageout_unsupported(probe: &KernelProbe, of_files: bool) -> Option<String> {
    if probe.version < (5, 4) {
        return Some(format!(
            "kernel {}: MADV_PAGEOUT and MADV_COLD came in 5.4",
            probe.release
        ));
    }
    let temp = &probe.temp_files;
    (of_files && temp.in_memory).then(|| {
        format!(
            "temporary files are on {} ({}): their pages live only in memory, so a reclaimed \
             page cannot be told from one only unmapped (MADV_DONTNEED); set TMPDIR to a \
             directory on a disk to check this exercise",
            temp.filesystem,
            temp.dir.display()
        )
    })
}

/// A file of `contents` in `dir`, written and synced (its pages are clean),
/// mapped shared and read-only, every page read in: Rss must count all of them.
fn clean_file_mapping(dir: &std::path::Path, contents: &[u8]) -> Result<FileMapping, Failure> {
    let path = dir.join("pages.bin");
    std::fs::write(&path, contents).map_err(|e| Failure::setup("write the file", e))?;
    // MADV_PAGEOUT takes a file's pages only from a caller that could write the file
    // (since 5.19): open it read-write, as its owner may.
    let file = std::fs::File::options()
        .read(true)
        .write(true)
        .open(&path)
        .map_err(|e| Failure::setup("open the file", e))?;
    file.sync_all()
        .map_err(|e| Failure::setup("fsync the file", e))?;
    let len = NonZeroUsize::new(contents.len()).expect("the file is not empty");
    let mapping = FileMapping::shared(file.as_fd(), len, ProtFlags::PROT_READ)
        .map_err(|e| Failure::setup("map the file", e))?;
    mapping
        .faults_reading_every_page()
        .map_err(|e| Failure::setup("read the file through its mapping", e))?;
    let rss = size(&file_record(&mapping)?, SmapsField::Rss);
    if rss.as_usize() != contents.len() {
        return Err(Failure::setup(
            "read every page of the file in",
            format!("Rss {rss} of {}", Bytes(contents.len() as u64)),
        ));
    }
    Ok(mapping)
}

fn file_record(mapping: &FileMapping) -> Result<SmapsRecord, Failure> {
    mapping.smaps(Proc::SelfProcess).map_err(|e| {
        Failure::new(
            "the file mapping to be mapped as the check made it",
            e.to_string(),
        )
    })
}

/// How many times a check calls the student's advice while the kernel leaves pages as they
/// were. Reclaim is best effort: it passes over a page that anyone else holds a reference to
/// at that instant (compaction moving it, a reader of the file), and a large folio (ext4
/// caches files in them since 6.16) is passed over whole, so that all of a small file's pages
/// can stay. Here, 1 run in 240 kept 2 of 19 pages; the lesson's experiment measured 2 runs
/// in 40 keeping all 16, with compaction busy for another process. Advice that cannot take
/// the pages (a fake's, or MADV_PAGEOUT without swap) keeps them every time.
const ATTEMPTS: usize = 4;

/// The student's call on the file mapping, repeated (with the pages read back in first)
/// while any of them stayed: the mapping's Rss and its pages in the page cache after the
/// last call.
fn paged_out(
    f: fn(&[u8]) -> nix::Result<()>,
    mapping: &FileMapping,
    expected: &str,
) -> Result<(Bytes, usize), Failure> {
    let n = mapping.mapped_len() / page();
    for attempt in 1..=ATTEMPTS {
        // SAFETY: the check's own mapping, `n` pages long and readable; nothing writes it.
        let region = unsafe { std::slice::from_raw_parts(mapping.addr() as *const u8, n * page()) };
        let result = f(region);
        reclaim_if_unmapped(mapping.addr(), mapping.mapped_len(), expected)?;
        result.map_err(|e| Failure::returned_error("page_out_file(region)", e))?;
        let rss = size(&file_record(mapping)?, SmapsField::Rss);
        let cached = mapping
            .resident_pages()
            .map_err(|e| Failure::setup("call mincore", e))?;
        if (rss.0 == 0 && cached == 0) || attempt == ATTEMPTS {
            return Ok((rss, cached));
        }
        mapping
            .faults_reading_every_page()
            .map_err(|e| Failure::setup("read the file back in", e))?;
    }
    unreachable!("the last attempt returns")
}

/// A clean file of random size, mapped and read in: afterwards the mapping is still there,
/// holds nothing (Rss 0 kB), the page cache has none of the file's pages (mincore), and
/// reading them again takes major faults (the disk) and gives the file's bytes.
pub fn page_out_file(f: fn(&[u8]) -> nix::Result<()>) -> Result<Passed, Failure> {
    let probe = KernelProbe::probe().map_err(|e| Failure::setup("probe the kernel", e))?;
    if let Some(why) = pageout_unsupported(&probe, true) {
        return Ok(Passed::Skipped(why));
    }
    let mut rng = Rng::new();
    let n = rng.between(4, 24);
    let contents = rng.bytes(n * page());
    let dir = temp_dir()?;
    let expected = format!(
        "the {n}-page file mapping still mapped, Rss 0 kB, none of its pages in the page cache \
         (mincore), major faults to read them again"
    );
    // From the first write of the file to the student's last call: see pin_to_this_cpu.
    let pinned = pin_to_this_cpu()?;
    let mapping = clean_file_mapping(dir.path(), &contents)?;
    let (rss, cached) = paged_out(f, &mapping, &expected)?;
    drop(pinned);
    if rss.0 != 0 || cached != 0 {
        return Err(Failure::new(
            expected,
            format!(
                "Rss {rss}; {cached} of {n} pages still in the page cache (mincore): {}",
                if rss.0 == 0 {
                    "unmapped from this process, but not reclaimed"
                } else {
                    "the pages are still mapped"
                }
            ),
        ));
    }
    let faults = mapping
        .faults_reading_every_page()
        .map_err(|e| Failure::setup("count this thread's page faults", e))?;
    if faults.major == 0 || mapping.read_bytes(0..n * page()) != contents {
        return Err(Failure::new(
            expected,
            format!(
                "reading every page again took {} major and {} minor faults{}",
                faults.major,
                faults.minor,
                if faults.major == 0 {
                    ""
                } else {
                    ", and the bytes differ from the file's"
                }
            ),
        ));
    }
    Ok(Passed::Held(format!(
        "Rss 0 kB and none of {n} pages in the page cache; reading them again took {} major \
         faults and gave the file's bytes",
        faults.major
    )))
}

/// `n` pages written with random non-zero bytes; their values.
fn written(mapping: &mut Mapping, rng: &mut Rng, n: usize) -> Vec<u8> {
    let bytes = bytes_of(mapping);
    (0..n)
        .map(|i| {
            bytes[i * page()] = rng.byte_except(0);
            bytes[i * page()]
        })
        .collect()
}

/// The student's call on the region, repeated while any of its pages stayed Referenced (see
/// ATTEMPTS: MADV_COLD passes over a page that is off the kernel's lists at that instant);
/// the region's record after the last call.
fn cooled(
    f: fn(&mut [u8]) -> nix::Result<()>,
    cold: &mut Mapping,
    expected: &str,
) -> Result<SmapsRecord, Failure> {
    for attempt in 1..=ATTEMPTS {
        let result = f(bytes_of(cold));
        reclaim_if_unmapped(cold.addr(), cold.mapped_len(), expected)?;
        result.map_err(|e| Failure::returned_error("mark_cold(region)", e))?;
        let record = record_of(cold)?;
        if size(&record, SmapsField::Referenced).0 == 0 || attempt == ATTEMPTS {
            return Ok(record);
        }
    }
    unreachable!("the last attempt returns")
}

/// A region of random size, every page written, and another region of the check's, written
/// too: afterwards the region is still resident and dirty with its contents (Rss and
/// Private_Dirty all of it) but not Referenced, while the other region stays Referenced.
pub fn mark_cold(f: fn(&mut [u8]) -> nix::Result<()>) -> Result<Passed, Failure> {
    let probe = KernelProbe::probe().map_err(|e| Failure::setup("probe the kernel", e))?;
    if let Some(why) = pageout_unsupported(&probe, false) {
        return Ok(Passed::Skipped(why));
    }
    let mut rng = Rng::new();
    let (n, m) = (rng.between(4, 24), rng.between(2, 8));
    // From the first write to the student's call: see pin_to_this_cpu.
    let pinned = pin_to_this_cpu()?;
    let (mut cold, mut other) = (region(n)?, region(m)?);
    let values = written(&mut cold, &mut rng, n);
    written(&mut other, &mut rng, m);
    let referenced = size(&record_of(&cold)?, SmapsField::Referenced);
    if referenced.as_usize() != n * page() {
        return Err(Failure::setup(
            "see the written pages as Referenced",
            format!("Referenced {referenced} of {}", pages(n)),
        ));
    }
    let expected = format!(
        "the {n}-page region: Rss and Private_Dirty {}, Referenced 0 kB, contents kept; the \
         check's other region still Referenced",
        pages(n)
    );
    let record = cooled(f, &mut cold, &expected)?;
    drop(pinned);
    let all = n * page();
    let (held, sizes) = sizes_are(
        &record,
        [
            (SmapsField::Rss, all),
            (SmapsField::PrivateDirty, all),
            (SmapsField::Referenced, 0),
        ],
    );
    if !held {
        return Err(Failure::new(expected, sizes));
    }
    let kept = size(&record_of(&other)?, SmapsField::Referenced);
    if kept.as_usize() != m * page() {
        return Err(Failure::new(
            expected,
            format!(
                "the check's other region (not yours) is Referenced {kept} of {}: its accessed \
                 bits were cleared too, as for the whole process",
                pages(m)
            ),
        ));
    }
    if let Some(changed) = changed_page(&mut cold, &values) {
        return Err(Failure::new(expected, changed));
    }
    Ok(Passed::Held(format!(
        "{sizes}; the other region still Referenced {kept}"
    )))
}
