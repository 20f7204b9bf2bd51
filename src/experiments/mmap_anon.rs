//! Lesson `mmap-anon`: a 16 MiB private anonymous mapping, before and after one byte is
//! written, and after an untouched page is read; then a mapping of exactly one huge page,
//! aligned to it, before and after one byte, so that the huge-page case shows on every page
//! size (16 MiB holds no 32 MiB huge page of 16 kB pages).

use crate::experiment::{Experiment, ExperimentError, Lab, Observation, OutcomeValue, Subject};
use crate::memory::Mapping;
use nix::sys::mman::{MapFlags, ProtFlags};
use nix::unistd::getpid;
use std::num::NonZeroUsize;

/// The lesson maps 16 MiB, as the reference page does.
const LENGTH: NonZeroUsize = NonZeroUsize::new(16 << 20).unwrap();
/// Where in the first page the byte goes; any offset inside the page would do.
const WRITE_OFFSET: usize = 16;
const WRITTEN_VALUE: u8 = b'a';

crate::experiment::declare! {
    experiment: MmapAnon, id: "mmap-anon", forks: false;
    steps {
        "mapped": "after mmap, before any access",
        "one-byte-written": "after writing one byte into the first page",
        "untouched-page-read": "after reading one byte of the last page, which nothing has touched",
        "huge-page-mapped": "after mmap of exactly one huge page, aligned to its size",
        "huge-page-byte-written": "after writing one byte into that mapping",
    }
    subjects {
        MAPPING = "mapping",
        ALIGNED = "aligned-mapping",
    }
    outcomes {
        BYTE_READ = count "byte read",
    }
}

impl Experiment for MmapAnon {
    fn run(&self, lab: &mut Lab<'_>) -> Result<(), ExperimentError> {
        let mapping = Mapping::anonymous_isolated(
            LENGTH,
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_PRIVATE,
        )?;
        let page = lab.probe.page_size.as_usize();
        let read_offset = mapping.len() - page;
        let view = |mapping: &Mapping| -> Result<Subject, ExperimentError> {
            let mut subject =
                Subject::of(MAPPING, getpid(), mapping)?.writing_at(mapping.addr() + WRITE_OFFSET);
            subject.read_addr = Some(mapping.addr() + read_offset);
            Ok(subject)
        };
        lab.step("mapped", Observation::of([view(&mapping)?]))?;
        mapping.write_byte(WRITE_OFFSET, WRITTEN_VALUE);
        lab.step("one-byte-written", Observation::of([view(&mapping)?]))?;
        let read = mapping.read_byte(read_offset);
        lab.step(
            "untouched-page-read",
            Observation::of([view(&mapping)?]).with([(BYTE_READ, OutcomeValue::count(read))]),
        )?;
        drop(mapping);
        one_huge_page(lab)
    }
}

/// One huge page, placed at a multiple of its size. Without THP there is no huge page size:
/// one page stands in, and the claims in huge pages skip with that reason.
fn one_huge_page(lab: &mut Lab<'_>) -> Result<(), ExperimentError> {
    let huge_page = lab
        .probe
        .thp
        .as_ref()
        .map_or(lab.probe.page_size, |t| t.pmd_size);
    let huge = huge_page.as_usize();
    // 512 MiB with 64 kB pages: more than a small machine's commit limit may allow, and then
    // the checker reports the two steps impossible under that limit.
    let aligned = Mapping::anonymous_aligned(
        NonZeroUsize::new(huge).expect("a huge page is not empty"),
        huge,
    )?;
    let view = |mapping: &Mapping| -> Result<Subject, ExperimentError> {
        Ok(Subject::of(ALIGNED, getpid(), mapping)?.writing_at(mapping.addr() + WRITE_OFFSET))
    };
    lab.step("huge-page-mapped", Observation::of([view(&aligned)?]))?;
    aligned.write_byte(WRITE_OFFSET, WRITTEN_VALUE);
    lab.step("huge-page-byte-written", Observation::of([view(&aligned)?]))
}
