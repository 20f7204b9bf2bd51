//! Lesson `thp`: one byte in a huge-page-aligned range, with MADV_HUGEPAGE, with
//! MADV_NOHUGEPAGE, in a process with PR_SET_THP_DISABLE, and in a range too small for a
//! PMD-sized huge page (where multi-size THP may apply).

use crate::experiment::{Experiment, ExperimentError, Lab, Observation, Step, Subject, Vocabulary};
use crate::kernel::procfs::Proc;
use crate::memory::{Child, Mapping};
use nix::sys::mman::{MapFlags, MmapAdvise, ProtFlags, madvise};
use nix::unistd::{Pid, getpid};
use std::num::NonZeroUsize;
use std::ptr::NonNull;

pub struct Thp;

const STEPS: &[Step] = &[
    Step {
        id: "advised-written",
        title: "after one byte into a huge-page-aligned range advised MADV_HUGEPAGE",
    },
    Step {
        id: "not-advised-written",
        title: "after one byte into a huge-page-aligned range advised MADV_NOHUGEPAGE",
    },
    Step {
        id: "disabled-written",
        title: "after one byte written by a child that set PR_SET_THP_DISABLE",
    },
    Step {
        id: "small-written",
        title: "after one byte into an advised range half a huge page long",
    },
];

/// The child's commands: switch THP off for itself, write one byte.
const DISABLE_THP: u8 = 1;
const WRITE: u8 = 2;

impl Experiment for Thp {
    fn id(&self) -> &'static str {
        "thp"
    }

    fn vocabulary(&self) -> Vocabulary {
        Vocabulary {
            steps: STEPS,
            subjects: &["advised", "not-advised", "child", "small"],
            outcomes: &[],
        }
    }

    fn run(&self, lab: &mut Lab<'_>) -> Result<(), ExperimentError> {
        let huge = lab
            .probe
            .thp
            .as_ref()
            .map(|t| t.pmd_size.as_usize())
            .ok_or_else(|| ExperimentError::Sys {
                what: "the THP lesson needs transparent huge pages".into(),
                errno: nix::errno::Errno::ENOTSUP,
            })?;

        let advised = aligned(huge, huge, MmapAdvise::MADV_HUGEPAGE)?;
        advised.write_byte(0, 1);
        lab.step("advised-written", one("advised", &advised)?)?;

        let not_advised = aligned(huge, huge, MmapAdvise::MADV_NOHUGEPAGE)?;
        not_advised.write_byte(0, 1);
        lab.step("not-advised-written", one("not-advised", &not_advised)?)?;

        // PR_SET_THP_DISABLE is per process: a child sets it, so the tests' process keeps THP.
        let for_child = aligned(huge, huge, MmapAdvise::MADV_HUGEPAGE)?;
        let addr = for_child.addr();
        let mut child = Child::spawn(move |command| match command {
            DISABLE_THP => {
                // SAFETY: a plain system call.
                let rc = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
                if rc == 0 {
                    0
                } else {
                    nix::errno::Errno::last_raw() as u8
                }
            }
            WRITE => {
                // SAFETY: the child's copy of a live mapping at least a page long.
                unsafe { (addr as *mut u8).write_volatile(1) };
                0
            }
            _ => u8::MAX,
        })?;
        child.command(DISABLE_THP)?;
        child.command(WRITE)?;
        let subject = view(
            "child",
            child.pid(),
            &for_child,
            Proc::Pid(child.pid().as_raw()),
        )?;
        child.finish()?;
        lab.step(
            "disabled-written",
            Observation {
                subjects: vec![subject],
                outcomes: vec![],
            },
        )?;

        // Half a huge page, aligned to itself: no PMD-sized page fits, smaller folios may.
        let small = aligned(huge / 2, huge / 2, MmapAdvise::MADV_HUGEPAGE)?;
        small.write_byte(0, 1);
        lab.step("small-written", one("small", &small)?)
    }
}

/// An isolated anonymous mapping of `len` bytes aligned to `align`, with `advice` given.
fn aligned(len: usize, align: usize, advice: MmapAdvise) -> Result<Mapping, ExperimentError> {
    let mapping = Mapping::anonymous_aligned(
        NonZeroUsize::new(len).expect("not zero"),
        align,
        ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
        MapFlags::MAP_PRIVATE,
    )?;
    let ptr = NonNull::new(mapping.as_ptr().cast()).expect("mapped");
    // SAFETY: advice on our own mapping; it changes no contents.
    unsafe { madvise(ptr, mapping.mapped_len(), advice) }.map_err(|errno| {
        ExperimentError::Sys {
            what: format!("madvise({advice:?})"),
            errno,
        }
    })?;
    Ok(mapping)
}

fn view(
    name: &'static str,
    pid: Pid,
    mapping: &Mapping,
    proc: Proc,
) -> Result<Subject, ExperimentError> {
    let mut subject = Subject::plain(name, pid, mapping.smaps(proc)?);
    subject.write_addr = Some(mapping.addr());
    Ok(subject)
}

fn one(name: &'static str, mapping: &Mapping) -> Result<Observation, ExperimentError> {
    Ok(Observation {
        subjects: vec![view(name, getpid(), mapping, Proc::SelfProcess)?],
        outcomes: vec![],
    })
}
