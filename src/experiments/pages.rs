//! Lesson `pages`: the page size, lengths and addresses in whole pages, one address with
//! different contents in parent and child, and the process's own list of mappings.

use crate::experiment::{Experiment, ExperimentError, Lab, Observation, Step, Subject, Vocabulary};
use crate::kernel::procfs::{self, Proc};
use crate::kernel::{Pathname, SmapsRecord};
use crate::memory::{Child, Mapping};
use nix::errno::Errno;
use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous, munmap};
use nix::unistd::getpid;
use std::num::NonZeroUsize;
use std::ptr::NonNull;

pub struct Pages;

const STEPS: &[Step] = &[
    Step {
        id: "one-byte-mapped",
        title: "after mapping a single byte",
    },
    Step {
        id: "unaligned-addresses",
        title: "after asking for mappings at addresses that are not page-aligned",
    },
    Step {
        id: "child-wrote",
        title: "after the child wrote at the address where the parent wrote",
    },
    Step {
        id: "listed",
        title: "reading the process's /proc/PID/maps",
    },
];

const PARENT_VALUE: u8 = b'p';
const CHILD_VALUE: u8 = b'c';
/// Child commands: write its value, or answer with the byte at the address.
const WRITE: u8 = 1;
const READ: u8 = 2;
/// Any offset that is not a multiple of any page size.
const MISALIGNMENT: usize = 123;

impl Experiment for Pages {
    fn id(&self) -> &'static str {
        "pages"
    }

    fn vocabulary(&self) -> Vocabulary {
        Vocabulary {
            steps: STEPS,
            subjects: &["mapping", "program", "heap", "stack", "vdso"],
            outcomes: &[
                "mmap MAP_FIXED at an unaligned address",
                "munmap at an unaligned address",
                "mmap with an unaligned hint",
                "parent reads",
                "child reads",
            ],
        }
    }

    fn run(&self, lab: &mut Lab<'_>) -> Result<(), ExperimentError> {
        let one_byte = NonZeroUsize::MIN;
        let rw = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
        let mapping = Mapping::anonymous_isolated(one_byte, rw, MapFlags::MAP_PRIVATE)?;
        lab.step("one-byte-mapped", observe_mapping(&mapping)?)?;

        lab.step(
            "unaligned-addresses",
            Observation {
                subjects: vec![],
                outcomes: unaligned_addresses(lab.probe.page_size.as_usize())?,
            },
        )?;

        mapping.write_byte(0, PARENT_VALUE);
        let addr = mapping.addr();
        let mut child = Child::spawn(move |command| {
            let byte = addr as *mut u8;
            // SAFETY: the child's copy of the mapping is live and one page long.
            unsafe {
                match command {
                    WRITE => {
                        byte.write_volatile(CHILD_VALUE);
                        0
                    }
                    READ => byte.read_volatile(),
                    _ => u8::MAX,
                }
            }
        })?;
        child.command(WRITE)?;
        let child_reads = child.ask(READ)?;
        let parent_reads = mapping.read_byte(0);
        child.finish()?;
        lab.step(
            "child-wrote",
            Observation {
                subjects: vec![],
                outcomes: vec![
                    ("parent reads", char::from(parent_reads).to_string()),
                    ("child reads", char::from(child_reads).to_string()),
                ],
            },
        )?;

        lab.step("listed", listed(&mapping)?)
    }
}

fn observe_mapping(mapping: &Mapping) -> Result<Observation, ExperimentError> {
    Ok(Observation {
        subjects: vec![Subject::plain(
            "mapping",
            getpid(),
            mapping.smaps(Proc::SelfProcess)?,
        )],
        outcomes: vec![],
    })
}

/// Tries MAP_FIXED, munmap and a hint at a misaligned address inside a page-sized
/// reservation of our own, so nothing but our reservation could ever be touched.
fn unaligned_addresses(page: usize) -> Result<Vec<(&'static str, String)>, ExperimentError> {
    let page_len = NonZeroUsize::new(page).expect("page size is not 0");
    let sys = |what: &str| {
        let what = what.to_owned();
        move |errno| ExperimentError::Sys { what, errno }
    };
    // SAFETY: a fresh anonymous reservation; nothing else refers to it.
    let reservation =
        unsafe { mmap_anonymous(None, page_len, ProtFlags::PROT_NONE, MapFlags::MAP_PRIVATE) }
            .map_err(sys("reserving a page"))?;
    let misaligned =
        NonZeroUsize::new(reservation.as_ptr() as usize + MISALIGNMENT).expect("not null");
    // SAFETY: MAP_FIXED at a misaligned address is refused before anything is replaced; were
    // it not, it would replace only our own reservation.
    let fixed = unsafe {
        mmap_anonymous(
            Some(misaligned),
            page_len,
            ProtFlags::PROT_READ,
            MapFlags::MAP_PRIVATE | MapFlags::MAP_FIXED,
        )
    };
    let misaligned_ptr = NonNull::new(misaligned.get() as *mut libc::c_void).expect("not null");
    // SAFETY: as above: refused, or it unmaps part of our own reservation.
    let unmapped = unsafe { munmap(misaligned_ptr, page) };
    // SAFETY: our reservation, unmapped once.
    unsafe { munmap(reservation, page) }.map_err(sys("unmapping the reservation"))?;
    // SAFETY: without MAP_FIXED the address is only a hint; the kernel picks a free place.
    let hinted = unsafe {
        mmap_anonymous(
            Some(misaligned),
            page_len,
            ProtFlags::PROT_READ,
            MapFlags::MAP_PRIVATE,
        )
    };
    let hint = match hinted {
        Ok(ptr) => {
            let aligned = ptr.as_ptr() as usize % page == 0;
            // SAFETY: the mapping just made, unmapped once.
            unsafe { munmap(ptr, page) }.map_err(sys("unmapping the hinted mapping"))?;
            if aligned {
                "page-aligned address".to_owned()
            } else {
                format!("misaligned address {:p}", ptr.as_ptr())
            }
        }
        Err(errno) => errno_name(errno),
    };
    if let Ok(ptr) = fixed {
        // SAFETY: the kernel accepted it after all; it lies in our reservation's place.
        let _ = unsafe { munmap(ptr, page) };
    }
    Ok(vec![
        (
            "mmap MAP_FIXED at an unaligned address",
            result_word(fixed.map(|_| ())),
        ),
        ("munmap at an unaligned address", result_word(unmapped)),
        ("mmap with an unaligned hint", hint),
    ])
}

/// `ok`, or the errno's name (`EINVAL`), as lessons write them.
pub fn result_word(result: Result<(), Errno>) -> String {
    match result {
        Ok(()) => "ok".into(),
        Err(errno) => errno_name(errno),
    }
}

fn errno_name(errno: Errno) -> String {
    format!("{errno:?}")
}

/// Finds the program, heap, stack and vDSO mappings, and ours, in /proc/self/smaps.
fn listed(mapping: &Mapping) -> Result<Observation, ExperimentError> {
    let records = procfs::smaps(Proc::SelfProcess).map_err(crate::memory::MappingError::from)?;
    let code = listed as *const () as usize;
    let find = |test: &dyn Fn(&SmapsRecord) -> bool| records.iter().find(|r| test(r)).cloned();
    let pid = getpid();
    let subject = |name: &'static str, record: SmapsRecord| Subject::plain(name, pid, record);
    let wanted: [(&'static str, Option<SmapsRecord>); 5] = [
        ("program", find(&|r| r.vma.contains(code))),
        // The writable one: musl's allocator makes the first page of the brk area
        // inaccessible (a `---p` record also named [heap]); glibc's heap is one record.
        (
            "heap",
            find(&|r| r.vma.pathname == Pathname::Heap && r.vma.perms.write),
        ),
        ("stack", find(&|r| r.vma.pathname == Pathname::Stack)),
        ("vdso", find(&|r| r.vma.pathname == Pathname::Vdso)),
        // Read on its own, so its bounds are checked against the mapping's.
        ("mapping", Some(mapping.smaps(Proc::SelfProcess)?)),
    ];
    Ok(Observation {
        subjects: wanted
            .into_iter()
            .filter_map(|(name, record)| record.map(|r| subject(name, r)))
            .collect(),
        outcomes: vec![],
    })
}
