//! Lesson `giving-memory-back`: MADV_DONTNEED, MADV_FREE (and a write that cancels it), and
//! munmap, after which the address is gone from /proc/PID/maps and touching it is SIGSEGV.

use crate::experiment::{Experiment, ExperimentError, Lab, Observation, Step, Subject, Vocabulary};
use crate::kernel::procfs::{self, Proc};
use crate::memory::{Child, ChildError, Mapping, MappingError};
use nix::errno::Errno;
use nix::sys::mman::{MapFlags, MmapAdvise, ProtFlags, madvise};
use nix::unistd::{Pid, getpid};
use std::num::NonZeroUsize;
use std::ptr::NonNull;

pub struct GivingMemoryBack;

/// How many pages the lesson writes and gives back.
const PAGES: usize = 100;

const FIRST_VALUE: u8 = b'a';
const SECOND_VALUE: u8 = b'b';

const STEPS: &[Step] = &[
    Step {
        id: "written",
        title: "after writing one byte into each of 100 pages",
    },
    Step {
        id: "dontneed",
        title: "after madvise(MADV_DONTNEED) on the 100 pages",
    },
    Step {
        id: "free",
        title: "after writing the 100 pages again, then madvise(MADV_FREE) on them",
    },
    Step {
        id: "free-flushed",
        title: "after a second madvise(MADV_FREE) call on the same CPU, elsewhere",
    },
    Step {
        id: "written-after-free",
        title: "after writing a new value into the first page",
    },
    Step {
        id: "unmapped",
        title: "in a child, after munmap() of a page it had",
    },
    Step {
        id: "touched-after-unmap",
        title: "after the child read the address it had unmapped",
    },
];

const PAGES_READING_ZERO: &str = "pages reading 0";
const FIRST_PAGE_READS: &str = "first page reads";
const PAGES_READING_FIRST_VALUE: &str = "other pages reading a";
const LISTED_BEFORE: &str = "address in the child's maps before munmap";
const LISTED_AFTER: &str = "address in the child's maps after munmap";
const TOUCHED: &str = "reading the unmapped address";

/// The child's commands.
const UNMAP: u8 = 1;
const TOUCH: u8 = 2;

impl Experiment for GivingMemoryBack {
    fn id(&self) -> &'static str {
        "giving-memory-back"
    }

    fn vocabulary(&self) -> Vocabulary {
        Vocabulary {
            steps: STEPS,
            subjects: &["mapping"],
            outcomes: &[
                PAGES_READING_ZERO,
                FIRST_PAGE_READS,
                PAGES_READING_FIRST_VALUE,
                LISTED_BEFORE,
                LISTED_AFTER,
                TOUCHED,
            ],
        }
    }

    fn run(&self, lab: &mut Lab<'_>) -> Result<(), ExperimentError> {
        let page = lab.probe.page_size.as_usize();
        let has_thp = lab.probe.thp.is_some();
        let mapping = base_page_mapping(PAGES * page, has_thp)?;
        write_every_page(&mapping, page, FIRST_VALUE);
        lab.step("written", one(subject(&mapping)?, vec![]))?;

        advise(&mapping, MmapAdvise::MADV_DONTNEED, "MADV_DONTNEED")?;
        // The record first: the reads below map the shared zero page, which Rss would not
        // show anyway, but the step is about what MADV_DONTNEED left.
        let after_dontneed = subject(&mapping)?;
        let zeros = count_pages(&mapping, page, 0..PAGES, 0);
        lab.step(
            "dontneed",
            one(
                after_dontneed,
                vec![(PAGES_READING_ZERO, zeros.to_string())],
            ),
        )?;

        // Pages reach the kernel's lists through per-CPU queues: a new page through one,
        // a page MADV_FREE marks through another (LazyFree counts it only once it left
        // that), and each MADV_FREE call first flushes the queues of the CPU it runs on.
        // Pinned, the writes and both calls run on one CPU, so the second call flushes all.
        let pinned = PinnedToThisCpu::new()?;
        write_every_page(&mapping, page, FIRST_VALUE);
        advise(&mapping, MmapAdvise::MADV_FREE, "MADV_FREE")?;
        lab.step("free", one(subject(&mapping)?, vec![]))?;
        let other = base_page_mapping(page, has_thp)?;
        advise(&other, MmapAdvise::MADV_FREE, "MADV_FREE of another page")?;
        drop(pinned);
        lab.step("free-flushed", one(subject(&mapping)?, vec![]))?;

        mapping.write_byte(0, SECOND_VALUE);
        let record = subject(&mapping)?;
        let others = count_pages(&mapping, page, 1..PAGES, FIRST_VALUE);
        lab.step(
            "written-after-free",
            one(
                record,
                vec![
                    (FIRST_PAGE_READS, text(mapping.read_byte(0))),
                    (PAGES_READING_FIRST_VALUE, others.to_string()),
                ],
            ),
        )?;
        drop((mapping, other));

        unmap_in_child(lab, page, has_thp)
    }
}

/// A process that touches an unmapped address dies, so a child does it; the munmap is the
/// child's too, so that nothing else in the process can map that address in between.
fn unmap_in_child(lab: &mut Lab<'_>, page: usize, has_thp: bool) -> Result<(), ExperimentError> {
    let doomed = base_page_mapping(page, has_thp)?;
    doomed.write_byte(0, FIRST_VALUE);
    let (addr, len) = (doomed.addr(), doomed.mapped_len());
    let mut child = Child::spawn(move |command| {
        // SAFETY: plain system calls on the child's own copy of `doomed`; the read after
        // munmap is meant to fault, which kills the child and nothing else.
        unsafe {
            match command {
                UNMAP => {
                    if libc::munmap(addr as *mut libc::c_void, len) == 0 {
                        0
                    } else {
                        u8::try_from(Errno::last_raw()).unwrap_or(u8::MAX)
                    }
                }
                TOUCH => {
                    // No core dump of a copy of the whole test process; set only now, since
                    // a non-dumpable process's /proc files are closed to its parent.
                    libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
                    (addr as *const u8).read_volatile();
                    0
                }
                _ => u8::MAX,
            }
        }
    })?;
    let pid = child.pid();
    let before = listed(pid, addr)?;
    match child.ask(UNMAP)? {
        0 => {}
        errno => {
            return Err(ExperimentError::Sys {
                what: format!("munmap of {addr:#x} in the child"),
                errno: Errno::from_raw(i32::from(errno)),
            });
        }
    }
    let after = listed(pid, addr)?;
    lab.step(
        "unmapped",
        Observation {
            subjects: vec![],
            outcomes: vec![(LISTED_BEFORE, before), (LISTED_AFTER, after)],
        },
    )?;

    let touched = match child.ask(TOUCH) {
        // The child's end, as the kernel reported it to waitpid ("killed by signal SIGSEGV").
        Err(ChildError::Died { how, .. }) => how,
        Ok(_) => "nothing: the read returned".to_owned(),
        Err(e) => return Err(e.into()),
    };
    drop(child);
    drop(doomed);
    lab.step(
        "touched-after-unmap",
        Observation {
            subjects: vec![],
            outcomes: vec![(TOUCHED, touched)],
        },
    )
}

/// `yes` if a line of /proc/PID/maps holds `addr`.
fn listed(pid: Pid, addr: usize) -> Result<String, ExperimentError> {
    let lines = procfs::maps(Proc::Pid(pid.as_raw())).map_err(MappingError::from)?;
    let found = lines.iter().any(|line| line.contains(addr));
    Ok(if found { "yes" } else { "no" }.to_owned())
}

/// Pins the calling thread to the CPU it runs on, until dropped.
struct PinnedToThisCpu {
    previous: libc::cpu_set_t,
}

impl PinnedToThisCpu {
    fn new() -> Result<PinnedToThisCpu, ExperimentError> {
        let sys = |what: &str| ExperimentError::Sys {
            what: what.into(),
            errno: Errno::last(),
        };
        // SAFETY: cpu_set_t is plain data; all-zero is the empty set.
        let mut previous: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<libc::cpu_set_t>();
        // SAFETY: the set is ours and `size` is its size; 0 is the calling thread.
        if unsafe { libc::sched_getaffinity(0, size, &mut previous) } != 0 {
            return Err(sys("sched_getaffinity of this thread"));
        }
        // SAFETY: no arguments.
        let cpu = unsafe { libc::sched_getcpu() };
        let cpu = usize::try_from(cpu).map_err(|_| sys("sched_getcpu"))?;
        // SAFETY: as above.
        let mut only: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        // SAFETY: CPU_SET checks the index against the set's size.
        unsafe { libc::CPU_SET(cpu, &mut only) };
        // SAFETY: as for sched_getaffinity.
        if unsafe { libc::sched_setaffinity(0, size, &only) } != 0 {
            return Err(sys(&format!(
                "sched_setaffinity of this thread to CPU {cpu}"
            )));
        }
        Ok(PinnedToThisCpu { previous })
    }
}

impl Drop for PinnedToThisCpu {
    fn drop(&mut self) {
        // SAFETY: restores the set read in `new`. It cannot fail for a set the thread had.
        unsafe {
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &self.previous)
        };
    }
}

/// An isolated mapping where THP is switched off, so that each page is one base page.
fn base_page_mapping(len: usize, has_thp: bool) -> Result<Mapping, ExperimentError> {
    let mapping = Mapping::anonymous_isolated(
        NonZeroUsize::new(len).expect("not zero"),
        ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
        MapFlags::MAP_PRIVATE,
    )?;
    if has_thp {
        advise(&mapping, MmapAdvise::MADV_NOHUGEPAGE, "MADV_NOHUGEPAGE")?;
    }
    Ok(mapping)
}

fn advise(mapping: &Mapping, advice: MmapAdvise, name: &str) -> Result<(), ExperimentError> {
    let ptr = NonNull::new(mapping.as_ptr().cast()).expect("mapped");
    // SAFETY: advice on our own mapping, of which no Rust reference exists (it is only
    // read and written through volatile accesses), so dropped contents surprise no one.
    unsafe { madvise(ptr, mapping.mapped_len(), advice) }.map_err(|errno| ExperimentError::Sys {
        what: format!(
            "madvise({name}) of {} bytes at {:#x}",
            mapping.mapped_len(),
            mapping.addr()
        ),
        errno,
    })
}

fn write_every_page(mapping: &Mapping, page: usize, value: u8) {
    for index in 0..PAGES.min(mapping.mapped_len() / page) {
        mapping.write_byte(index * page, value);
    }
}

/// How many of the pages `indices` have `value` in their first byte.
fn count_pages(
    mapping: &Mapping,
    page: usize,
    indices: std::ops::Range<usize>,
    value: u8,
) -> usize {
    indices
        .filter(|index| mapping.read_byte(index * page) == value)
        .count()
}

fn subject(mapping: &Mapping) -> Result<Subject, ExperimentError> {
    Ok(Subject::plain(
        "mapping",
        getpid(),
        mapping.smaps(Proc::SelfProcess)?,
    ))
}

fn one(subject: Subject, outcomes: Vec<(&'static str, String)>) -> Observation {
    Observation {
        subjects: vec![subject],
        outcomes,
    }
}

fn text(byte: u8) -> String {
    char::from(byte).to_string()
}
