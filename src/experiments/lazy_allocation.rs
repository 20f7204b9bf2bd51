//! Lesson `lazy-allocation`: page faults counted while touching pages, mincore, the zero
//! page, and what each overcommit mode grants.

use crate::Bytes;
use crate::experiment::{Experiment, ExperimentError, Lab, Observation, OutcomeValue, Subject};
use crate::experiments::support::{reading_faults, resident_count, writing_faults};
use crate::kernel::meminfo::{MeminfoSize, read_meminfo};
use crate::memory::{Mapping, MappingError};
use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous, munmap};
use nix::unistd::getpid;
use std::num::NonZeroUsize;

/// How many pages the lesson touches.
const PAGES: usize = 100;

crate::experiment::declare! {
    experiment: LazyAllocation, id: "lazy-allocation", forks: false;
    steps {
        "mapped": "after mapping 100 pages, without THP",
        "touched": "after writing one byte into each of the 100 pages",
        "read": "after reading every page of a second, untouched mapping",
        "read-then-written": "after writing every page of that second mapping, which had only been read",
        "overcommit": "after asking for more memory than RAM and swap",
    }
    subjects {
        WRITTEN = "written",
        READ = "read",
        QUARTER_OF_RAM = "quarter-of-ram",
    }
    outcomes {
        RESIDENT = count "resident pages (mincore)",
        FAULTS = count "minor faults",
        BYTES_READ = text "every byte read",
        TOO_LARGE = call "larger than RAM and swap",
        TOO_LARGE_NORESERVE = call "larger than RAM and swap, MAP_NORESERVE",
        QUARTER = call "a quarter of RAM",
    }
}

impl Experiment for LazyAllocation {
    fn run(&self, lab: &mut Lab<'_>) -> Result<(), ExperimentError> {
        let page = lab.probe.page_size.as_usize();
        let len = NonZeroUsize::new(PAGES * page).expect("pages are not empty");
        let written = Mapping::base_pages(len, MapFlags::MAP_PRIVATE)?;
        lab.step(
            "mapped",
            Observation::of([Subject::of(WRITTEN, getpid(), &written)?])
                .with([(RESIDENT, resident_count(&written)?)]),
        )?;

        let faults = writing_faults(&written)?.minor;
        lab.step(
            "touched",
            Observation::of([Subject::of(WRITTEN, getpid(), &written)?]).with([
                (FAULTS, OutcomeValue::count(faults)),
                (RESIDENT, resident_count(&written)?),
            ]),
        )?;

        let read = Mapping::base_pages(len, MapFlags::MAP_PRIVATE)?;
        let faults = reading_faults(&read)?.minor;
        let zeros = read.pages_reading(0..PAGES, 0);
        let all_zero = if zeros == PAGES { "0" } else { "not all 0" };
        lab.step(
            "read",
            Observation::of([Subject::of(READ, getpid(), &read)?]).with([
                (FAULTS, OutcomeValue::count(faults)),
                (RESIDENT, resident_count(&read)?),
                (BYTES_READ, OutcomeValue::text(all_zero)),
            ]),
        )?;

        // The reads mapped the zero page read-only: each write faults again, and only then
        // does the page get memory of its own.
        let faults = writing_faults(&read)?.minor;
        lab.step(
            "read-then-written",
            Observation::of([Subject::of(READ, getpid(), &read)?])
                .with([(FAULTS, OutcomeValue::count(faults))]),
        )?;
        drop((written, read));

        overcommit(lab, page)
    }
}

fn overcommit(lab: &mut Lab<'_>, page: usize) -> Result<(), ExperimentError> {
    let meminfo = read_meminfo().map_err(|e| ExperimentError::Setup(e.to_string()))?;
    let field = |size| meminfo.require(size).map_err(ExperimentError::Setup);
    let (ram, swap) = (
        field(MeminfoSize::MemTotal)?,
        field(MeminfoSize::SwapTotal)?,
    );
    let too_large = round_to_page((ram + swap) * 2, page);
    let rw = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
    let try_map = |flags: MapFlags| -> OutcomeValue {
        let len = NonZeroUsize::new(too_large.as_usize()).expect("RAM is not zero");
        // SAFETY: no hint, no MAP_FIXED; a granted mapping is unmapped at once, never touched.
        let result = unsafe { mmap_anonymous(None, len, rw, flags) }.map(|ptr| {
            // SAFETY: just mapped, referenced nowhere.
            let _ = unsafe { munmap(ptr, len.get()) };
        });
        result.into()
    };
    let plain = try_map(MapFlags::MAP_PRIVATE);
    let noreserve = try_map(MapFlags::MAP_PRIVATE | MapFlags::MAP_NORESERVE);
    let quarter_len = NonZeroUsize::new(round_to_page(Bytes(ram.get() / 4), page).as_usize())
        .expect("RAM is not zero");
    let (quarter, subjects) =
        match Mapping::anonymous_isolated(quarter_len, rw, MapFlags::MAP_PRIVATE) {
            Ok(mapping) => (
                Ok(()),
                vec![Subject::of(QUARTER_OF_RAM, getpid(), &mapping)?],
            ),
            Err(MappingError::Mmap { errno, .. }) => (Err(errno), vec![]),
            Err(e) => return Err(e.into()),
        };
    lab.step(
        "overcommit",
        Observation::of(subjects).with([
            (TOO_LARGE, plain),
            (TOO_LARGE_NORESERVE, noreserve),
            (QUARTER, quarter.into()),
        ]),
    )
}

fn round_to_page(size: Bytes, page: usize) -> Bytes {
    Bytes(size.get().div_ceil(page as u64) * page as u64)
}
