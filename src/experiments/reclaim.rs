//! Lesson `reclaim`: pages the kernel takes back and what it costs to get them again.
//! MADV_PAGEOUT reclaims a range at once, as memory pressure would: clean file pages leave
//! the page cache and come back with a major fault (read from the disk); anonymous pages can
//! only go to swap, and stay where there is none. MADV_COLD only marks pages as the first
//! to go.

use crate::experiment::{
    Experiment, ExperimentError, Lab, Observation, OutcomeKey, OutcomeValue, Subject, SubjectName,
};
use crate::experiments::support::{
    PinnedToThisCpu, TempDir, nonzero, open, reading_faults, resident_count, write_file,
};
use crate::memory::{FileMapping, Mapped, Mapping, MappingError};
use nix::sys::mman::{MapFlags, MmapAdvise, ProtFlags};
use nix::unistd::getpid;
use std::fs::OpenOptions;
use std::os::fd::AsFd;

/// How many pages the file and the anonymous mapping have.
const PAGES: usize = 16;

crate::experiment::declare! {
    experiment: Reclaim, id: "reclaim", forks: false;
    steps {
        "file-read": "after reading every page of a 16-page file through a mapping",
        "file-paged-out": "after madvise(MADV_PAGEOUT) on the file mapping (asked again while pages stayed)",
        "file-read-again": "after reading every page of it again",
        "anon-written": "after writing every page of 16 anonymous pages",
        "anon-cold": "after madvise(MADV_COLD) on them",
        "anon-paged-out": "after madvise(MADV_PAGEOUT) on them (asked again while pages stayed)",
        "anon-read-again": "after reading every page of them again",
    }
    subjects {
        FILE = "file",
        ANON = "anonymous",
    }
    outcomes {
        PAGEOUT = call "madvise(MADV_PAGEOUT)",
        COLD = call "madvise(MADV_COLD)",
        RESIDENT = count "pages resident (mincore)",
        MAJOR = count "major faults reading every page",
    }
}

impl Experiment for Reclaim {
    fn run(&self, lab: &mut Lab<'_>) -> Result<(), ExperimentError> {
        let page = lab.probe.page_size.as_usize();
        let dir = TempDir::new("pagelab-reclaim-")?;
        file_pages(lab, &dir, page)?;
        anonymous_pages(lab, page)?;
        dir.close()
    }
}

/// A file written and synced to its disk (so its pages are clean), mapped, read, paged out
/// and read again.
fn file_pages(lab: &mut Lab<'_>, dir: &TempDir, page: usize) -> Result<(), ExperimentError> {
    // From the first write of the file to the pageout, on one CPU: its batch of new pages
    // is the one madvise drains (see PinnedToThisCpu).
    let pinned = PinnedToThisCpu::new()?;
    let path = dir.path().join("pages.bin");
    write_file(&path, &vec![1u8; PAGES * page])?;
    // MADV_PAGEOUT reclaims file pages only where the caller could write the file (since
    // 5.19, against a side channel): open it read-write, as its owner may.
    let file = open(&path, OpenOptions::new().read(true).write(true))?;
    file.sync_all()
        .map_err(ExperimentError::io(format!("fsync of {}", path.display())))?;
    let mapping = FileMapping::shared(file.as_fd(), nonzero(PAGES * page)?, ProtFlags::PROT_READ)
        .map_err(ExperimentError::sys("mmap of the file"))?;
    drop(file);
    reading_faults(&mapping)?;
    lab.step("file-read", observed(FILE, &mapping, [])?)?;
    if lab.probe.temp_files.unevictable() {
        // Unevictable: reclaim keeps them mapped too (shrink_folio_list() activates them
        // before it unmaps anything), unlike tmpfs's without swap.
        let why = format!(
            "the temporary directory {} is on ramfs, whose pages reclaim never takes (unevictable): set TMPDIR to a directory on tmpfs or a disk",
            lab.probe.temp_files.dir.display()
        );
        return lab.impossible_through("file-read-again", &why);
    }
    page_out_and_read_again(
        lab,
        FILE,
        &mapping,
        pinned,
        ["file-paged-out", "file-read-again"],
    )
}

/// Both halves of the lesson end alike: MADV_PAGEOUT (then the CPU is let go), and every
/// page read back, counting the major faults that brought them in and what is resident.
fn page_out_and_read_again(
    lab: &mut Lab<'_>,
    name: SubjectName,
    mapping: &impl Mapped,
    pinned: PinnedToThisCpu,
    [paged_out, read_again]: [&str; 2],
) -> Result<(), ExperimentError> {
    let pageout = page_out(mapping)?;
    drop(pinned);
    lab.step(
        paged_out,
        observed(name, mapping, [(PAGEOUT, pageout), resident(mapping)?])?,
    )?;
    let faults = reading_faults(mapping)?;
    let major = (MAJOR, OutcomeValue::count(faults.major));
    lab.step(
        read_again,
        observed(name, mapping, [major, resident(mapping)?])?,
    )
}

fn anonymous_pages(lab: &mut Lab<'_>, page: usize) -> Result<(), ExperimentError> {
    let pinned = PinnedToThisCpu::new()?;
    let mapping = Mapping::base_pages(nonzero(PAGES * page)?, MapFlags::empty())?;
    mapping.write_every_page(1);
    lab.step("anon-written", observed(ANON, &mapping, [])?)?;
    let cold = advised(&mapping, MmapAdvise::MADV_COLD)?;
    lab.step("anon-cold", observed(ANON, &mapping, [(COLD, cold)])?)?;
    page_out_and_read_again(
        lab,
        ANON,
        &mapping,
        pinned,
        ["anon-paged-out", "anon-read-again"],
    )
}

/// How often [`page_out`] asks at most.
const PAGEOUT_ATTEMPTS: usize = 4;

/// MADV_PAGEOUT, asked again (after mapping the pages back by reading them) while some stay
/// in memory. Reclaim gives up on a page that anyone else holds a reference to at that
/// instant, and a large folio (ext4 caches files in them since 6.16) is given up whole:
/// with compaction running for another process's huge page, 2 runs in 40 kept all 16 file
/// pages. Where pages cannot go at all (no swap), every attempt keeps them, as the lesson
/// claims.
fn page_out(mapping: &impl Mapped) -> Result<OutcomeValue, ExperimentError> {
    for _ in 1..PAGEOUT_ATTEMPTS {
        let call = advised(mapping, MmapAdvise::MADV_PAGEOUT)?;
        let resident = mapping
            .resident_pages()
            .map_err(ExperimentError::sys("mincore"))?;
        if call != OutcomeValue::Call(Ok(())) || resident == 0 {
            return Ok(call);
        }
        reading_faults(mapping)?;
    }
    advised(mapping, MmapAdvise::MADV_PAGEOUT)
}

/// madvise, its errno being what the lesson shows.
fn advised(mapping: &impl Mapped, advice: MmapAdvise) -> Result<OutcomeValue, ExperimentError> {
    match mapping.advise(advice) {
        Ok(()) => Ok(OutcomeValue::Call(Ok(()))),
        Err(MappingError::Madvise { errno, .. }) => Ok(OutcomeValue::Call(Err(errno))),
        Err(e) => Err(e.into()),
    }
}

fn resident(mapping: &impl Mapped) -> Result<(OutcomeKey, OutcomeValue), ExperimentError> {
    Ok((RESIDENT, resident_count(mapping)?))
}

fn observed<const N: usize>(
    name: SubjectName,
    mapping: &impl Mapped,
    outcomes: [(OutcomeKey, OutcomeValue); N],
) -> Result<Observation, ExperimentError> {
    Ok(Observation::of([Subject::of(name, getpid(), mapping)?]).with(outcomes))
}
