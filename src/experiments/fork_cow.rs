//! Lesson `fork-cow`: one private page before and after fork, a read and a write in the
//! child; a MAP_SHARED page written by the child; a huge page split by the child's write.

use crate::experiment::{Experiment, ExperimentError, Lab, Observation, OutcomeValue, Subject};
use crate::kernel::procfs::Proc;
use crate::memory::child::commands;
use crate::memory::{Child, Mapped, Mapping};
use nix::sys::mman::{MapFlags, MmapAdvise, ProtFlags};
use nix::unistd::getpid;
use std::num::NonZeroUsize;

crate::experiment::declare! {
    experiment: ForkCow, id: "fork-cow", forks: true;
    steps {
        "written": "after the parent wrote its page, before fork",
        "forked": "right after fork, before anybody writes",
        "child-read": "after the child read the page",
        "child-wrote": "after the child wrote the page",
        "shared-child-wrote": "after the child wrote a MAP_SHARED page",
        "thp-child-wrote": "after the child wrote one byte of a huge page it shares with the parent",
    }
    subjects {
        PARENT = "parent",
        CHILD = "child",
    }
    outcomes {
        CHILD_READS = text "child reads",
        PARENT_READS = text "parent reads",
        /// How many physical frames back the page the child touches, in parent and child together:
        /// 1 while they share it, 2 once the child has its copy. Told by pagemap's frame numbers,
        /// so reported only where they are visible (CAP_SYS_ADMIN).
        FRAMES = count "frames behind the page",
    }
}

const PARENT_VALUE: u8 = b'p';
const CHILD_VALUE: u8 = b'c';

commands! {
    /// What the parent asks the child to do; the child answers 0, or the byte it read.
    enum ChildCommand {
        /// Answer with the first byte of its copy of the private page.
        ReadPrivate,
        /// Write its value into the private page (a copy-on-write fault).
        WritePrivate,
        /// Write its value into the MAP_SHARED page.
        WriteShared,
        /// Write one byte of the huge page it shares with the parent.
        WriteHuge,
    }
}

impl Experiment for ForkCow {
    fn run(&self, lab: &mut Lab<'_>) -> Result<(), ExperimentError> {
        let page = NonZeroUsize::new(lab.probe.page_size.as_usize()).expect("not zero");
        let rw = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
        let private = Mapping::anonymous_isolated(page, rw, MapFlags::MAP_PRIVATE)?;
        private.write_byte(0, PARENT_VALUE);
        lab.step(
            "written",
            Observation::of([Subject::of(PARENT, getpid(), &private)?]),
        )?;

        // Everything the child touches exists before fork: it must not allocate.
        let shared = Mapping::anonymous_isolated(page, rw, MapFlags::MAP_SHARED)?;
        shared.write_byte(0, PARENT_VALUE);
        let huge = huge_page_mapping(lab)?;
        let huge_after_fault = huge.smaps(Proc::SelfProcess)?;
        let mut child = spawn_child(private.addr(), shared.addr(), huge.addr())?;
        let child_pid = child.pid();
        let both = |mapping: &Mapping| -> Result<Vec<Subject>, ExperimentError> {
            Ok(vec![
                Subject::of(PARENT, getpid(), mapping)?,
                Subject::of(CHILD, child_pid, mapping)?,
            ])
        };

        lab.step("forked", with_frames(both(&private)?))?;

        let read = child.ask(ChildCommand::ReadPrivate)?;
        lab.step(
            "child-read",
            with_frames(both(&private)?).with([(CHILD_READS, OutcomeValue::letter(read))]),
        )?;

        child.command(ChildCommand::WritePrivate)?;
        let child_reads = child.ask(ChildCommand::ReadPrivate)?;
        let parent_reads = private.read_byte(0);
        lab.step(
            "child-wrote",
            with_frames(both(&private)?).with([
                (CHILD_READS, OutcomeValue::letter(child_reads)),
                (PARENT_READS, OutcomeValue::letter(parent_reads)),
            ]),
        )?;

        child.command(ChildCommand::WriteShared)?;
        lab.step(
            "shared-child-wrote",
            with_frames(both(&shared)?)
                .with([(PARENT_READS, OutcomeValue::letter(shared.read_byte(0)))]),
        )?;

        child.command(ChildCommand::WriteHuge)?;
        let subjects: Vec<Subject> = both(&huge)?
            .into_iter()
            .map(|subject| Subject {
                after_fault: Some(huge_after_fault.clone()),
                ..subject.writing_at(huge.addr())
            })
            .collect();
        child.finish()?;
        lab.step("thp-child-wrote", Observation::of(subjects))
    }
}

/// The subjects, and how many distinct frames back their first page (the page the child
/// reads and writes) where pagemap shows frame numbers for all of them.
fn with_frames(subjects: Vec<Subject>) -> Observation {
    let frames: Option<std::collections::BTreeSet<u64>> = subjects
        .iter()
        .map(|s| s.residency.as_ref()?.map()?.frame_of(0))
        .collect();
    let count = frames.map(|f| (FRAMES, OutcomeValue::count(f.len())));
    Observation::of(subjects).with(count)
}

/// The child, which reads and writes the parent's three mappings on command (its copies:
/// it may not allocate, so they all exist before fork).
fn spawn_child(
    private: usize,
    shared: usize,
    huge: usize,
) -> Result<Child<ChildCommand>, ExperimentError> {
    let write = |addr: usize| {
        // SAFETY: the child's copy of one of the parent's live mappings, a page or more.
        unsafe { (addr as *mut u8).write_volatile(CHILD_VALUE) };
        0
    };
    Ok(Child::spawn(move |command| match command {
        // SAFETY: as for `write`.
        ChildCommand::ReadPrivate => unsafe { (private as *const u8).read_volatile() },
        ChildCommand::WritePrivate => write(private),
        ChildCommand::WriteShared => write(shared),
        ChildCommand::WriteHuge => write(huge),
    })?)
}

/// One huge page's worth of memory, aligned, advised MADV_HUGEPAGE and written once, so the
/// kernel may back it with a huge page. A kernel without THP (PREEMPT_RT ones, for example)
/// gets one page, unadvised: the lesson's huge-page claims are then skipped with that reason.
fn huge_page_mapping(lab: &Lab<'_>) -> Result<Mapping, ExperimentError> {
    let size = match &lab.probe.thp {
        Some(thp) => thp.pmd_size.as_usize(),
        None => lab.probe.page_size.as_usize(),
    };
    let mapping = Mapping::anonymous_aligned(NonZeroUsize::new(size).expect("not zero"), size)?;
    if lab.probe.thp.is_some() {
        mapping.advise(MmapAdvise::MADV_HUGEPAGE)?;
    }
    mapping.write_byte(0, PARENT_VALUE);
    Ok(mapping)
}
