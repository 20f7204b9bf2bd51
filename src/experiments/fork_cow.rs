//! Lesson `fork-cow`: one private page before and after fork, a read and a write in the
//! child; a MAP_SHARED page written by the child; a huge page split by the child's write.

use crate::experiment::{Experiment, ExperimentError, Lab, Observation, Step, Subject, Vocabulary};
use crate::kernel::SmapsRecord;
use crate::kernel::procfs::Proc;
use crate::memory::{Child, Mapping};
use nix::sys::mman::{MapFlags, MmapAdvise, ProtFlags, madvise};
use nix::unistd::{Pid, getpid};
use std::num::NonZeroUsize;
use std::ptr::NonNull;

pub struct ForkCow;

const STEPS: &[Step] = &[
    Step {
        id: "written",
        title: "after the parent wrote its page, before fork",
    },
    Step {
        id: "forked",
        title: "right after fork, before anybody writes",
    },
    Step {
        id: "child-read",
        title: "after the child read the page",
    },
    Step {
        id: "child-wrote",
        title: "after the child wrote the page",
    },
    Step {
        id: "shared-child-wrote",
        title: "after the child wrote a MAP_SHARED page",
    },
    Step {
        id: "thp-child-wrote",
        title: "after the child wrote one byte of a huge page it shares with the parent",
    },
];

const PARENT_VALUE: u8 = b'p';
const CHILD_VALUE: u8 = b'c';

/// What the parent asks the child to do; the child answers 0, or the byte it read.
const READ_PRIVATE: u8 = 1;
const WRITE_PRIVATE: u8 = 2;
const WRITE_SHARED: u8 = 3;
const WRITE_HUGE: u8 = 4;

const CHILD_READS: &str = "child reads";
const PARENT_READS: &str = "parent reads";

impl Experiment for ForkCow {
    fn id(&self) -> &'static str {
        "fork-cow"
    }

    fn vocabulary(&self) -> Vocabulary {
        Vocabulary {
            steps: STEPS,
            subjects: &["parent", "child"],
            outcomes: &[CHILD_READS, PARENT_READS],
        }
    }

    fn run(&self, lab: &mut Lab<'_>) -> Result<(), ExperimentError> {
        let page = NonZeroUsize::new(lab.probe.page_size.as_usize()).expect("not zero");
        let rw = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
        let private = Mapping::anonymous_isolated(page, rw, MapFlags::MAP_PRIVATE)?;
        private.write_byte(0, PARENT_VALUE);
        lab.step(
            "written",
            observation(vec![view("parent", getpid(), &private)?], vec![]),
        )?;

        // Everything the child touches exists before fork: it must not allocate.
        let shared = Mapping::anonymous_isolated(page, rw, MapFlags::MAP_SHARED)?;
        shared.write_byte(0, PARENT_VALUE);
        let huge = huge_page_mapping(lab)?;
        let huge_after_fault = huge.smaps(Proc::SelfProcess)?;
        let addresses = (private.addr(), shared.addr(), huge.addr());
        let mut child = Child::spawn(move |command| {
            let (private, shared, huge) = addresses;
            let byte = |addr: usize| addr as *mut u8;
            // SAFETY: the child's copies of the parent's live mappings, at least a page each.
            unsafe {
                match command {
                    READ_PRIVATE => byte(private).read_volatile(),
                    WRITE_PRIVATE => {
                        byte(private).write_volatile(CHILD_VALUE);
                        0
                    }
                    WRITE_SHARED => {
                        byte(shared).write_volatile(CHILD_VALUE);
                        0
                    }
                    WRITE_HUGE => {
                        byte(huge).write_volatile(CHILD_VALUE);
                        0
                    }
                    _ => u8::MAX,
                }
            }
        })?;
        let child_pid = child.pid();
        let both = |mapping: &Mapping| -> Result<Vec<Subject>, ExperimentError> {
            Ok(vec![
                view("parent", getpid(), mapping)?,
                view("child", child_pid, mapping)?,
            ])
        };

        lab.step("forked", observation(both(&private)?, vec![]))?;

        let read = child.ask(READ_PRIVATE)?;
        lab.step(
            "child-read",
            observation(both(&private)?, vec![(CHILD_READS, text(read))]),
        )?;

        child.command(WRITE_PRIVATE)?;
        let child_reads = child.ask(READ_PRIVATE)?;
        let parent_reads = private.read_byte(0);
        lab.step(
            "child-wrote",
            observation(
                both(&private)?,
                vec![
                    (CHILD_READS, text(child_reads)),
                    (PARENT_READS, text(parent_reads)),
                ],
            ),
        )?;

        child.command(WRITE_SHARED)?;
        lab.step(
            "shared-child-wrote",
            observation(
                both(&shared)?,
                vec![(PARENT_READS, text(shared.read_byte(0)))],
            ),
        )?;

        child.command(WRITE_HUGE)?;
        let mut subjects = both(&huge)?;
        for subject in &mut subjects {
            subject.write_addr = Some(huge.addr());
            subject.after_fault = Some(huge_after_fault.clone());
        }
        child.finish()?;
        lab.step("thp-child-wrote", observation(subjects, vec![]))
    }
}

/// One huge page's worth of memory, aligned, advised MADV_HUGEPAGE and written once, so the
/// kernel may back it with a huge page. A kernel without THP (PREEMPT_RT ones, for example)
/// gets one page, unadvised: the lesson's huge-page claims are then skipped with that reason.
fn huge_page_mapping(lab: &Lab<'_>) -> Result<Mapping, ExperimentError> {
    let size = match &lab.probe.thp {
        Some(thp) => thp.pmd_size.as_usize(),
        None => lab.probe.page_size.as_usize(),
    };
    let mapping = Mapping::anonymous_aligned(
        NonZeroUsize::new(size).expect("not zero"),
        size,
        ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
        MapFlags::MAP_PRIVATE,
    )?;
    if lab.probe.thp.is_some() {
        let ptr = NonNull::new(mapping.as_ptr().cast()).expect("mapped");
        // SAFETY: advice on our own mapping; it changes no contents.
        unsafe { madvise(ptr, size, MmapAdvise::MADV_HUGEPAGE) }.map_err(|errno| {
            ExperimentError::Sys {
                what: "madvise(MADV_HUGEPAGE)".into(),
                errno,
            }
        })?;
    }
    mapping.write_byte(0, PARENT_VALUE);
    Ok(mapping)
}

fn view(name: &'static str, pid: Pid, mapping: &Mapping) -> Result<Subject, ExperimentError> {
    let proc = if pid == getpid() {
        Proc::SelfProcess
    } else {
        Proc::Pid(pid.as_raw())
    };
    let record: SmapsRecord = mapping.smaps(proc)?;
    Ok(Subject::plain(name, pid, record))
}

fn observation(subjects: Vec<Subject>, outcomes: Vec<(&'static str, String)>) -> Observation {
    Observation { subjects, outcomes }
}

fn text(byte: u8) -> String {
    char::from(byte).to_string()
}
