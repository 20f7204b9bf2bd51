//! Lesson `mmap-anon`: a 16 MiB private anonymous mapping, before and after one byte is
//! written, and after an untouched page is read; then a mapping of exactly one huge page,
//! aligned to it, before and after one byte, so that the huge-page case shows on every page
//! size (16 MiB holds no 32 MiB huge page of 16 kB pages).

use crate::experiment::{Experiment, ExperimentError, Lab, Observation, Step, Subject, Vocabulary};
use crate::kernel::procfs::Proc;
use crate::memory::{Mapping, MappingError};
use nix::errno::Errno;
use nix::sys::mman::{MapFlags, ProtFlags};
use nix::unistd::getpid;
use std::num::NonZeroUsize;

pub struct MmapAnon;

/// The lesson maps 16 MiB, as the reference page does.
const LENGTH: NonZeroUsize = NonZeroUsize::new(16 << 20).unwrap();
/// Where in the first page the byte goes; any offset inside the page would do.
const WRITE_OFFSET: usize = 16;
const WRITTEN_VALUE: u8 = b'a';

const STEPS: &[Step] = &[
    Step {
        id: "mapped",
        title: "after mmap, before any access",
    },
    Step {
        id: "one-byte-written",
        title: "after writing one byte into the first page",
    },
    Step {
        id: "untouched-page-read",
        title: "after reading one byte of the last page, which nothing has touched",
    },
    Step {
        id: "huge-page-mapped",
        title: "after mmap of exactly one huge page, aligned to its size",
    },
    Step {
        id: "huge-page-byte-written",
        title: "after writing one byte into that mapping",
    },
];

impl Experiment for MmapAnon {
    fn id(&self) -> &'static str {
        "mmap-anon"
    }

    fn vocabulary(&self) -> Vocabulary {
        Vocabulary {
            steps: STEPS,
            subjects: &["mapping", "aligned-mapping"],
            outcomes: &["byte read"],
        }
    }

    fn run(&self, lab: &mut Lab<'_>) -> Result<(), ExperimentError> {
        let mapping = Mapping::anonymous_isolated(
            LENGTH,
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_PRIVATE,
        )?;
        let page = lab.probe.page_size.as_usize();
        let read_offset = mapping.len() - page;
        let view = |mapping: &Mapping| -> Result<Subject, ExperimentError> {
            Ok(Subject {
                name: "mapping",
                pid: getpid(),
                record: mapping.smaps(Proc::SelfProcess)?,
                write_addr: Some(mapping.addr() + WRITE_OFFSET),
                read_addr: Some(mapping.addr() + read_offset),
                after_fault: None,
            })
        };
        lab.step(
            "mapped",
            Observation {
                subjects: vec![view(&mapping)?],
                outcomes: vec![],
            },
        )?;
        mapping.write_byte(WRITE_OFFSET, WRITTEN_VALUE);
        lab.step(
            "one-byte-written",
            Observation {
                subjects: vec![view(&mapping)?],
                outcomes: vec![],
            },
        )?;
        let read = mapping.read_byte(read_offset);
        lab.step(
            "untouched-page-read",
            Observation {
                subjects: vec![view(&mapping)?],
                outcomes: vec![("byte read", read.to_string())],
            },
        )?;
        drop(mapping);

        // One huge page, placed at a multiple of its size. Without THP there is no huge page
        // size: one page stands in, and the claims in huge pages skip with that reason.
        let huge_page = lab
            .probe
            .thp
            .as_ref()
            .map_or(lab.probe.page_size, |t| t.pmd_size);
        let huge = huge_page.as_usize();
        let placed = Mapping::anonymous_aligned(
            NonZeroUsize::new(huge).expect("a huge page is not empty"),
            huge,
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_PRIVATE,
        );
        let aligned = match placed {
            // 512 MiB with 64 kB pages: more than a small machine's commit limit may allow.
            Err(MappingError::Mmap {
                errno: Errno::ENOMEM,
                ..
            }) => {
                let why = format!(
                    "mmap() of one huge page ({}) failed with ENOMEM: the commit limit (vm.overcommit_memory={}) or the address space leaves no room for it",
                    huge_page,
                    lab.probe.overcommit.number()
                );
                lab.impossible("huge-page-mapped", why.clone())?;
                return lab.impossible("huge-page-byte-written", why);
            }
            placed => placed?,
        };
        let view = |mapping: &Mapping| -> Result<Subject, ExperimentError> {
            let mut subject = Subject::plain(
                "aligned-mapping",
                getpid(),
                mapping.smaps(Proc::SelfProcess)?,
            );
            subject.write_addr = Some(mapping.addr() + WRITE_OFFSET);
            Ok(subject)
        };
        lab.step(
            "huge-page-mapped",
            Observation {
                subjects: vec![view(&aligned)?],
                outcomes: vec![],
            },
        )?;
        aligned.write_byte(WRITE_OFFSET, WRITTEN_VALUE);
        lab.step(
            "huge-page-byte-written",
            Observation {
                subjects: vec![view(&aligned)?],
                outcomes: vec![],
            },
        )
    }
}
