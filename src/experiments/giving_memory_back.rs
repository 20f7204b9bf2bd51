//! Lesson `giving-memory-back`: MADV_DONTNEED, MADV_FREE (and a write that cancels it), and
//! munmap, after which the address is gone from /proc/PID/maps and touching it is SIGSEGV.

use crate::experiment::{Experiment, ExperimentError, Lab, Observation, OutcomeValue, Subject};
use crate::experiments::support::{PinnedToThisCpu, no_core_dump, yes_no};
use crate::kernel::procfs::{self, Proc};
use crate::memory::child::{commands, reply};
use crate::memory::{Child, ChildError, Mapped, Mapping, MappingError};
use nix::sys::mman::{MapFlags, MmapAdvise};
use nix::unistd::{Pid, getpid};
use std::num::NonZeroUsize;

/// How many pages the lesson writes and gives back.
const PAGES: usize = 100;

const FIRST_VALUE: u8 = b'a';
const SECOND_VALUE: u8 = b'b';

crate::experiment::declare! {
    experiment: GivingMemoryBack, id: "giving-memory-back", forks: true;
    steps {
        "written": "after writing one byte into each of 100 pages",
        "dontneed": "after madvise(MADV_DONTNEED) on the 100 pages",
        "free": "after writing the 100 pages again, then madvise(MADV_FREE) on them",
        "free-flushed": "after a second madvise(MADV_FREE) call on the same CPU, elsewhere",
        "written-after-free": "after writing a new value into the first page",
        "unmapped": "in a child, after munmap() of a page it had",
        "touched-after-unmap": "after the child read the address it had unmapped",
    }
    subjects {
        MAPPING = "mapping",
    }
    outcomes {
        PAGES_READING_ZERO = count "pages reading 0",
        FIRST_PAGE_READS = text "first page reads",
        PAGES_READING_FIRST_VALUE = count "other pages reading a",
        LISTED_BEFORE = text "address in the child's maps before munmap",
        LISTED_AFTER = text "address in the child's maps after munmap",
        TOUCHED = text "reading the unmapped address",
    }
}

commands! {
    enum ChildCommand {
        /// munmap its copy of the doomed page.
        Unmap,
        /// Read the page's address, which faults once it is unmapped.
        Touch,
    }
}

impl Experiment for GivingMemoryBack {
    fn run(&self, lab: &mut Lab<'_>) -> Result<(), ExperimentError> {
        let page = lab.probe.page_size.as_usize();
        let len = NonZeroUsize::new(PAGES * page).expect("pages are not empty");
        let mapping = Mapping::base_pages(len, MapFlags::MAP_PRIVATE)?;
        let view = |mapping: &Mapping| Subject::of(MAPPING, getpid(), mapping);
        mapping.write_every_page(FIRST_VALUE);
        lab.step("written", Observation::of([view(&mapping)?]))?;

        mapping.advise(MmapAdvise::MADV_DONTNEED)?;
        // The record first: the reads below map the shared zero page, which Rss would not
        // show anyway, but the step is about what MADV_DONTNEED left.
        let after_dontneed = view(&mapping)?;
        let zeros = mapping.pages_reading(0..PAGES, 0);
        lab.step(
            "dontneed",
            Observation::of([after_dontneed])
                .with([(PAGES_READING_ZERO, OutcomeValue::count(zeros))]),
        )?;

        // Pages reach the kernel's lists through per-CPU queues: a new page through one,
        // a page MADV_FREE marks through another (LazyFree counts it only once it left
        // that), and each MADV_FREE call first flushes the queues of the CPU it runs on.
        // Pinned, the writes and both calls run on one CPU, so the second call flushes all.
        let pinned = PinnedToThisCpu::new()?;
        mapping.write_every_page(FIRST_VALUE);
        mapping.advise(MmapAdvise::MADV_FREE)?;
        lab.step("free", Observation::of([view(&mapping)?]))?;
        let other = Mapping::base_pages(NonZeroUsize::MIN, MapFlags::MAP_PRIVATE)?;
        other.advise(MmapAdvise::MADV_FREE)?;
        drop(pinned);
        lab.step("free-flushed", Observation::of([view(&mapping)?]))?;

        mapping.write_byte(0, SECOND_VALUE);
        let record = view(&mapping)?;
        let others = mapping.pages_reading(1..PAGES, FIRST_VALUE);
        lab.step(
            "written-after-free",
            Observation::of([record]).with([
                (FIRST_PAGE_READS, OutcomeValue::letter(mapping.read_byte(0))),
                (PAGES_READING_FIRST_VALUE, OutcomeValue::count(others)),
            ]),
        )?;
        drop((mapping, other));

        unmap_in_child(lab)
    }
}

/// A process that touches an unmapped address dies, so a child does it; the munmap is the
/// child's too, so that nothing else in the process can map that address in between.
fn unmap_in_child(lab: &mut Lab<'_>) -> Result<(), ExperimentError> {
    let doomed = Mapping::base_pages(NonZeroUsize::MIN, MapFlags::MAP_PRIVATE)?;
    doomed.write_byte(0, FIRST_VALUE);
    let (addr, len) = (doomed.addr(), doomed.mapped_len());
    let mut child = Child::spawn(move |command| {
        match command {
            // SAFETY: the child's own copy of `doomed`, which nothing else refers to.
            ChildCommand::Unmap => {
                reply::status(unsafe { libc::munmap(addr as *mut libc::c_void, len) })
            }
            ChildCommand::Touch => {
                // No core dump of a copy of the whole test process; set only now, since
                // a non-dumpable process's /proc files are closed to its parent.
                no_core_dump();
                // SAFETY: a read after munmap is meant to fault, which kills the child and
                // nothing else.
                unsafe { (addr as *const u8).read_volatile() };
                0
            }
        }
    })?;
    let pid = child.pid();
    let before = listed(pid, addr)?;
    child
        .call(ChildCommand::Unmap)?
        .map_err(ExperimentError::sys(format!(
            "munmap of {addr:#x} in the child"
        )))?;
    let after = listed(pid, addr)?;
    lab.step(
        "unmapped",
        Observation::outcomes([(LISTED_BEFORE, before), (LISTED_AFTER, after)]),
    )?;

    let touched = match child.ask(ChildCommand::Touch) {
        // The child's end, as the kernel reported it to waitpid ("killed by signal SIGSEGV").
        Err(ChildError::Died { how, .. }) => how,
        Ok(_) => "nothing: the read returned".to_owned(),
        Err(e) => return Err(e.into()),
    };
    drop(child);
    drop(doomed);
    lab.step(
        "touched-after-unmap",
        Observation::outcomes([(TOUCHED, OutcomeValue::text(touched))]),
    )
}

/// `yes` if a line of /proc/PID/maps holds `addr`.
fn listed(pid: Pid, addr: usize) -> Result<OutcomeValue, ExperimentError> {
    let lines = procfs::maps(Proc::Pid(pid.as_raw())).map_err(MappingError::from)?;
    let found = lines.iter().any(|line| line.contains(addr));
    Ok(yes_no(found))
}
