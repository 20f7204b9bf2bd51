//! Lesson `thp`: one byte in a huge-page-aligned range, with MADV_HUGEPAGE, with
//! MADV_NOHUGEPAGE, in a process with PR_SET_THP_DISABLE, and in a range too small for a
//! PMD-sized huge page (where multi-size THP may apply).

use crate::experiment::{Experiment, ExperimentError, Lab, Observation, Subject, SubjectName};
use crate::memory::child::{commands, reply};
use crate::memory::{Child, Mapped, Mapping};
use nix::sys::mman::MmapAdvise;
use nix::unistd::getpid;
use std::num::NonZeroUsize;

crate::experiment::declare! {
    experiment: Thp, id: "thp", forks: true;
    steps {
        "advised-written": "after one byte into a huge-page-aligned range advised MADV_HUGEPAGE",
        "not-advised-written": "after one byte into a huge-page-aligned range advised MADV_NOHUGEPAGE",
        "disabled-written": "after one byte written by a child that set PR_SET_THP_DISABLE",
        "small-written": "after one byte into an advised range half a huge page long",
    }
    subjects {
        ADVISED = "advised",
        NOT_ADVISED = "not-advised",
        CHILD = "child",
        SMALL = "small",
    }
    outcomes {
    }
}

commands! {
    enum ChildCommand {
        /// Switch THP off for itself (PR_SET_THP_DISABLE).
        DisableThp,
        /// Write one byte into its copy of the mapping.
        Write,
    }
}

impl Experiment for Thp {
    fn run(&self, lab: &mut Lab<'_>) -> Result<(), ExperimentError> {
        let huge = lab
            .probe
            .thp
            .as_ref()
            .map(|t| t.pmd_size.as_usize())
            .ok_or_else(|| {
                ExperimentError::Setup("the THP lesson needs transparent huge pages".into())
            })?;

        let advised = aligned(huge, huge, MmapAdvise::MADV_HUGEPAGE)?;
        advised.write_byte(0, 1);
        lab.step("advised-written", written_here(ADVISED, &advised)?)?;
        // Each mapping goes once its step is seen: one huge page is 512 MiB with 64 kB
        // pages, and a commit limit may allow one but not four at once.
        drop(advised);

        let not_advised = aligned(huge, huge, MmapAdvise::MADV_NOHUGEPAGE)?;
        not_advised.write_byte(0, 1);
        lab.step(
            "not-advised-written",
            written_here(NOT_ADVISED, &not_advised)?,
        )?;
        drop(not_advised);

        // PR_SET_THP_DISABLE is per process: a child sets it, so the tests' process keeps THP.
        let for_child = aligned(huge, huge, MmapAdvise::MADV_HUGEPAGE)?;
        let addr = for_child.addr();
        let mut child = Child::spawn(move |command| match command {
            ChildCommand::DisableThp => {
                // SAFETY: a plain system call.
                reply::status(unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) })
            }
            ChildCommand::Write => {
                // SAFETY: the child's copy of a live mapping at least a page long.
                unsafe { (addr as *mut u8).write_volatile(1) };
                0
            }
        })?;
        child.command(ChildCommand::DisableThp)?;
        child.command(ChildCommand::Write)?;
        let subject = Subject::of(CHILD, child.pid(), &for_child)?.writing_at(addr);
        child.finish()?;
        lab.step("disabled-written", Observation::of([subject]))?;
        drop(for_child);

        // Half a huge page, aligned to itself: no PMD-sized page fits, smaller folios may.
        let small = aligned(huge / 2, huge / 2, MmapAdvise::MADV_HUGEPAGE)?;
        small.write_byte(0, 1);
        lab.step("small-written", written_here(SMALL, &small)?)
    }
}

/// An isolated anonymous mapping of `len` bytes aligned to `align`, with `advice` given.
fn aligned(len: usize, align: usize, advice: MmapAdvise) -> Result<Mapping, ExperimentError> {
    let mapping = Mapping::anonymous_aligned(NonZeroUsize::new(len).expect("not zero"), align)?;
    mapping.advise(advice)?;
    Ok(mapping)
}

/// This process's view of `mapping`, into whose first byte it wrote.
fn written_here(name: SubjectName, mapping: &Mapping) -> Result<Observation, ExperimentError> {
    let subject = Subject::of(name, getpid(), mapping)?.writing_at(mapping.addr());
    Ok(Observation::of([subject]))
}
