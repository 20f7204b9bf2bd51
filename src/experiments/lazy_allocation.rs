//! Lesson `lazy-allocation`: page faults counted while touching pages, mincore, the zero
//! page, and what each overcommit mode grants.

use crate::Bytes;
use crate::experiment::{Experiment, ExperimentError, Lab, Observation, OutcomeValue, Subject};
use crate::experiments::support::{reading_faults, resident_count, writing_faults};
use crate::kernel::meminfo::{MeminfoSize, read_meminfo};
use crate::kernel::probe::OvercommitMode;
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
        FITTING = "fitting",
    }
    outcomes {
        RESIDENT = count "resident pages (mincore)",
        FAULTS = count "minor faults",
        BYTES_READ = text "every byte read",
        TOO_LARGE = call "larger than RAM and swap",
        TOO_LARGE_NORESERVE = call "larger than RAM and swap, MAP_NORESERVE",
        FITS = call "a mapping that fits",
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
    let strict = match lab.probe.overcommit {
        OvercommitMode::Never => Some((
            field(MeminfoSize::CommitLimit)?,
            field(MeminfoSize::CommittedAs)?,
        )),
        _ => None,
    };
    let Some(fitting_len) = fitting_len(ram, strict, page) else {
        let why = match strict {
            Some((limit, committed)) => format!(
                "strict overcommit (mode 2) leaves no page to commit: CommitLimit {limit}, Committed_AS {committed}"
            ),
            None => format!("a quarter of RAM ({ram}) is less than a page"),
        };
        return lab.impossible_through("overcommit", &why);
    };
    let (fits, subjects) = match Mapping::anonymous_isolated(fitting_len, rw, MapFlags::MAP_PRIVATE)
    {
        Ok(mapping) => (Ok(()), vec![Subject::of(FITTING, getpid(), &mapping)?]),
        Err(MappingError::Mmap { errno, .. }) => (Err(errno), vec![]),
        Err(e) => return Err(e.into()),
    };
    lab.step(
        "overcommit",
        Observation::of(subjects).with([
            (TOO_LARGE, plain),
            (TOO_LARGE_NORESERVE, noreserve),
            (FITS, fits.into()),
        ]),
    )
}

/// The length of a mapping every mode grants: a quarter of RAM, or under strict overcommit
/// (mode 2, `strict` holding CommitLimit and Committed_AS) at most half of what CommitLimit
/// leaves beyond Committed_AS, which other processes may have taken most of
/// (`overcommit-accounting.rst`); `None` where that leaves not one page.
fn fitting_len(ram: Bytes, strict: Option<(Bytes, Bytes)>, page: usize) -> Option<NonZeroUsize> {
    let quarter = ram.get() / 4;
    let len = match strict {
        Some((limit, committed)) => quarter.min(limit.get().saturating_sub(committed.get()) / 2),
        None => quarter,
    };
    NonZeroUsize::new((len - len % page as u64) as usize)
}

fn round_to_page(size: Bytes, page: usize) -> Bytes {
    Bytes(size.get().div_ceil(page as u64) * page as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1 << 20;

    #[test]
    fn the_mapping_that_fits_is_a_quarter_of_ram_or_half_the_commit_room() {
        let page = 16384;
        let ram = Bytes(8192 * MIB);
        let len = |strict| fitting_len(ram, strict, page).map(NonZeroUsize::get);
        assert_eq!(len(None), Some(2048 * MIB as usize));
        // Mode 2 on an idle machine: room for more than a quarter.
        assert_eq!(
            len(Some((Bytes(6000 * MIB), Bytes(500 * MIB)))),
            Some(2048 * MIB as usize)
        );
        // A busy one: half the room, in whole pages.
        let busy = len(Some((Bytes(4096 * MIB), Bytes(4000 * MIB + 5)))).unwrap();
        assert!(busy.is_multiple_of(page) && busy <= 48 * MIB as usize && busy > 47 * MIB as usize);
        // Committed beyond the limit (root may commit past it): nothing fits.
        assert_eq!(len(Some((Bytes(4096 * MIB), Bytes(5000 * MIB)))), None);
    }
}
