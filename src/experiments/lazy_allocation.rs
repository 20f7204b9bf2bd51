//! Lesson `lazy-allocation`: page faults counted while touching pages, mincore, the zero
//! page, and what each overcommit mode grants.

use crate::Bytes;
use crate::experiment::{Experiment, ExperimentError, Lab, Observation, Step, Subject, Vocabulary};
use crate::experiments::pages::result_word;
use crate::kernel::meminfo::read_meminfo;
use crate::kernel::procfs::Proc;
use crate::memory::Mapping;
use nix::sys::mman::{MapFlags, MmapAdvise, ProtFlags, madvise, mmap_anonymous, munmap};
use nix::sys::resource::{UsageWho, getrusage};
use nix::unistd::getpid;
use std::num::NonZeroUsize;

pub struct LazyAllocation;

/// How many pages the lesson touches.
const PAGES: usize = 100;

const STEPS: &[Step] = &[
    Step {
        id: "mapped",
        title: "after mapping 100 pages, without THP",
    },
    Step {
        id: "touched",
        title: "after writing one byte into each of the 100 pages",
    },
    Step {
        id: "read",
        title: "after reading every page of a second, untouched mapping",
    },
    Step {
        id: "overcommit",
        title: "after asking for more memory than RAM and swap",
    },
];

const RESIDENT: &str = "resident pages (mincore)";
const FAULTS: &str = "minor faults";
const BYTES_READ: &str = "every byte read";
const TOO_LARGE: &str = "larger than RAM and swap";
const TOO_LARGE_NORESERVE: &str = "larger than RAM and swap, MAP_NORESERVE";
const QUARTER: &str = "a quarter of RAM";

impl Experiment for LazyAllocation {
    fn id(&self) -> &'static str {
        "lazy-allocation"
    }

    fn vocabulary(&self) -> Vocabulary {
        Vocabulary {
            steps: STEPS,
            subjects: &["written", "read", "quarter-of-ram"],
            outcomes: &[
                RESIDENT,
                FAULTS,
                BYTES_READ,
                TOO_LARGE,
                TOO_LARGE_NORESERVE,
                QUARTER,
            ],
        }
    }

    fn run(&self, lab: &mut Lab<'_>) -> Result<(), ExperimentError> {
        let page = lab.probe.page_size.as_usize();
        let has_thp = lab.probe.thp.is_some();
        let written = base_page_mapping(PAGES * page, has_thp)?;
        let mut residency = vec![0u8; PAGES];
        lab.step(
            "mapped",
            Observation {
                subjects: vec![subject("written", &written)?],
                outcomes: vec![(
                    RESIDENT,
                    resident_pages(&written, &mut residency)?.to_string(),
                )],
            },
        )?;

        let faults = count_minor_faults(|| {
            for index in 0..PAGES {
                written.write_byte(index * page, 1);
            }
        })?;
        lab.step(
            "touched",
            Observation {
                subjects: vec![subject("written", &written)?],
                outcomes: vec![
                    (FAULTS, faults.to_string()),
                    (
                        RESIDENT,
                        resident_pages(&written, &mut residency)?.to_string(),
                    ),
                ],
            },
        )?;

        let read = base_page_mapping(PAGES * page, has_thp)?;
        let mut all_zero = true;
        let faults = count_minor_faults(|| {
            for index in 0..PAGES {
                all_zero &= read.read_byte(index * page) == 0;
            }
        })?;
        lab.step(
            "read",
            Observation {
                subjects: vec![subject("read", &read)?],
                outcomes: vec![
                    (FAULTS, faults.to_string()),
                    (RESIDENT, resident_pages(&read, &mut residency)?.to_string()),
                    (BYTES_READ, if all_zero { "0" } else { "not all 0" }.into()),
                ],
            },
        )?;
        drop((written, read));

        overcommit(lab, page)
    }
}

/// An isolated mapping where THP is switched off, so that each touch is one base page.
fn base_page_mapping(len: usize, has_thp: bool) -> Result<Mapping, ExperimentError> {
    let len = NonZeroUsize::new(len).expect("not zero");
    let mapping = Mapping::anonymous_isolated(
        len,
        ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
        MapFlags::MAP_PRIVATE,
    )?;
    if has_thp {
        let ptr = std::ptr::NonNull::new(mapping.as_ptr().cast()).expect("mapped");
        // SAFETY: advice on our own mapping; MADV_NOHUGEPAGE changes no contents.
        unsafe { madvise(ptr, mapping.mapped_len(), MmapAdvise::MADV_NOHUGEPAGE) }.map_err(
            |errno| ExperimentError::Sys {
                what: "madvise(MADV_NOHUGEPAGE)".into(),
                errno,
            },
        )?;
    }
    Ok(mapping)
}

fn subject(name: &'static str, mapping: &Mapping) -> Result<Subject, ExperimentError> {
    Ok(Subject::plain(
        name,
        getpid(),
        mapping.smaps(Proc::SelfProcess)?,
    ))
}

/// Minor faults this thread took while `touch` ran. The thread's own count, so faults of
/// other threads (other tests) are not in it; nothing in `touch` allocates.
fn count_minor_faults(touch: impl FnOnce()) -> Result<u64, ExperimentError> {
    let sys = |errno| ExperimentError::Sys {
        what: "getrusage(RUSAGE_THREAD)".into(),
        errno,
    };
    let before = getrusage(UsageWho::RUSAGE_THREAD)
        .map_err(sys)?
        .minor_page_faults();
    touch();
    let after = getrusage(UsageWho::RUSAGE_THREAD)
        .map_err(sys)?
        .minor_page_faults();
    Ok(u64::try_from(after - before).unwrap_or(0))
}

/// How many pages of the mapping mincore() reports resident; `vector` has one byte a page.
fn resident_pages(mapping: &Mapping, vector: &mut [u8]) -> Result<usize, ExperimentError> {
    // SAFETY: the range is our mapping, and `vector` has one byte for each of its pages.
    let rc = unsafe {
        libc::mincore(
            mapping.as_ptr().cast(),
            mapping.mapped_len(),
            vector.as_mut_ptr(),
        )
    };
    if rc != 0 {
        return Err(ExperimentError::Sys {
            what: "mincore".into(),
            errno: nix::errno::Errno::last(),
        });
    }
    Ok(vector.iter().filter(|v| **v & 1 == 1).count())
}

fn overcommit(lab: &mut Lab<'_>, page: usize) -> Result<(), ExperimentError> {
    let meminfo = read_meminfo().map_err(|e| ExperimentError::Io(std::io::Error::other(e)))?;
    let field = |name: &str| {
        meminfo.get(name).copied().ok_or_else(|| {
            ExperimentError::Io(std::io::Error::other(format!(
                "/proc/meminfo has no {name}"
            )))
        })
    };
    let (ram, swap) = (field("MemTotal")?, field("SwapTotal")?);
    let too_large = round_to_page((ram + swap) * 2, page);
    let rw = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
    let try_map = |flags: MapFlags| -> String {
        let len = NonZeroUsize::new(too_large.as_usize()).expect("RAM is not zero");
        // SAFETY: no hint, no MAP_FIXED; a granted mapping is unmapped at once, never touched.
        let result = unsafe { mmap_anonymous(None, len, rw, flags) }.map(|ptr| {
            // SAFETY: just mapped, referenced nowhere.
            let _ = unsafe { munmap(ptr, len.get()) };
        });
        result_word(result)
    };
    let plain = try_map(MapFlags::MAP_PRIVATE);
    let noreserve = try_map(MapFlags::MAP_PRIVATE | MapFlags::MAP_NORESERVE);
    let quarter_len = NonZeroUsize::new(round_to_page(Bytes(ram.get() / 4), page).as_usize())
        .expect("RAM is not zero");
    let quarter = Mapping::anonymous_isolated(quarter_len, rw, MapFlags::MAP_PRIVATE);
    let (quarter_word, subjects) = match &quarter {
        Ok(mapping) => ("ok".to_owned(), vec![subject("quarter-of-ram", mapping)?]),
        Err(crate::memory::MappingError::Mmap { errno, .. }) => (result_word(Err(*errno)), vec![]),
        Err(e) => return Err(ExperimentError::Io(std::io::Error::other(e.to_string()))),
    };
    lab.step(
        "overcommit",
        Observation {
            subjects,
            outcomes: vec![
                (TOO_LARGE, plain),
                (TOO_LARGE_NORESERVE, noreserve),
                (QUARTER, quarter_word),
            ],
        },
    )
}

fn round_to_page(size: Bytes, page: usize) -> Bytes {
    Bytes(size.get().div_ceil(page as u64) * page as u64)
}
