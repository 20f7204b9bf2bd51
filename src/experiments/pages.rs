//! Lesson `pages`: the page size, lengths and addresses in whole pages, one address with
//! different contents in parent and child, and the process's own list of mappings.

use crate::experiment::{
    Experiment, ExperimentError, Lab, Observation, OutcomeKey, OutcomeValue, Subject, SubjectName,
};
use crate::kernel::procfs::{self, Proc};
use crate::kernel::{Pathname, SmapsRecord};
use crate::memory::child::commands;
use crate::memory::{Child, Mapped, Mapping};
use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous, munmap};
use nix::unistd::getpid;
use std::num::NonZeroUsize;
use std::ptr::NonNull;

crate::experiment::declare! {
    experiment: Pages, id: "pages", forks: true;
    steps {
        "one-byte-mapped": "after mapping a single byte",
        "unaligned-addresses": "after asking for mappings at addresses that are not page-aligned",
        "child-wrote": "after the child wrote at the address where the parent wrote",
        "listed": "reading the process's /proc/PID/maps",
    }
    subjects {
        MAPPING = "mapping",
        PROGRAM = "program",
        HEAP = "heap",
        STACK = "stack",
        VDSO = "vdso",
    }
    outcomes {
        FIXED_UNALIGNED = call "mmap MAP_FIXED at an unaligned address",
        MUNMAP_UNALIGNED = call "munmap at an unaligned address",
        HINT_UNALIGNED = text "mmap with an unaligned hint",
        PARENT_READS = text "parent reads",
        CHILD_READS = text "child reads",
    }
}

const PARENT_VALUE: u8 = b'p';
const CHILD_VALUE: u8 = b'c';
/// Any offset that is not a multiple of any page size.
const MISALIGNMENT: usize = 123;

commands! {
    enum ChildCommand {
        /// Write its value at the address where the parent wrote.
        Write,
        /// Answer with the byte at the address.
        Read,
    }
}

impl Experiment for Pages {
    fn run(&self, lab: &mut Lab<'_>) -> Result<(), ExperimentError> {
        let one_byte = NonZeroUsize::MIN;
        let rw = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
        let mapping = Mapping::anonymous_isolated(one_byte, rw, MapFlags::MAP_PRIVATE)?;
        lab.step(
            "one-byte-mapped",
            Observation::of([Subject::of(MAPPING, getpid(), &mapping)?]),
        )?;
        lab.step(
            "unaligned-addresses",
            Observation::outcomes(unaligned_addresses(lab.probe.page_size.as_usize())?),
        )?;

        mapping.write_byte(0, PARENT_VALUE);
        let addr = mapping.addr();
        let mut child = Child::spawn(move |command| {
            let byte = addr as *mut u8;
            // SAFETY (both accesses): the child's copy of the mapping is live, one page long.
            match command {
                ChildCommand::Write => {
                    unsafe { byte.write_volatile(CHILD_VALUE) };
                    0
                }
                ChildCommand::Read => unsafe { byte.read_volatile() },
            }
        })?;
        child.command(ChildCommand::Write)?;
        let child_reads = child.ask(ChildCommand::Read)?;
        let parent_reads = mapping.read_byte(0);
        child.finish()?;
        lab.step(
            "child-wrote",
            Observation::outcomes([
                (PARENT_READS, OutcomeValue::letter(parent_reads)),
                (CHILD_READS, OutcomeValue::letter(child_reads)),
            ]),
        )?;

        lab.step("listed", listed(&mapping)?)
    }
}

/// Tries MAP_FIXED, munmap and a hint at a misaligned address inside a page-sized
/// reservation of our own, so nothing but our reservation could ever be touched.
fn unaligned_addresses(page: usize) -> Result<Vec<(OutcomeKey, OutcomeValue)>, ExperimentError> {
    let page_len = NonZeroUsize::new(page).expect("page size is not 0");
    let sys = ExperimentError::sys;
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
            let aligned = (ptr.as_ptr() as usize).is_multiple_of(page);
            // SAFETY: the mapping just made, unmapped once.
            unsafe { munmap(ptr, page) }.map_err(sys("unmapping the hinted mapping"))?;
            if aligned {
                OutcomeValue::text("page-aligned address")
            } else {
                OutcomeValue::text(format!("misaligned address {:p}", ptr.as_ptr()))
            }
        }
        Err(errno) => OutcomeValue::text(format!("{errno:?}")),
    };
    if let Ok(ptr) = fixed {
        // SAFETY: the kernel accepted it after all; it lies in our reservation's place.
        let _ = unsafe { munmap(ptr, page) };
    }
    Ok(vec![
        (FIXED_UNALIGNED, fixed.map(|_| ()).into()),
        (MUNMAP_UNALIGNED, unmapped.into()),
        (HINT_UNALIGNED, hint),
    ])
}

/// Finds the program, heap, stack and vDSO mappings, and ours, in /proc/self/smaps.
fn listed(mapping: &Mapping) -> Result<Observation, ExperimentError> {
    let records = procfs::smaps(Proc::SelfProcess).map_err(crate::memory::MappingError::from)?;
    let code = listed as *const () as usize;
    let find = |test: &dyn Fn(&SmapsRecord) -> bool| records.iter().find(|r| test(r)).cloned();
    let pid = getpid();
    let subject = |name, record| Subject::plain(name, pid, record);
    let wanted: [(SubjectName, Option<SmapsRecord>); 5] = [
        (PROGRAM, find(&|r| r.vma.contains(code))),
        // The writable one: musl's allocator makes the first page of the brk area
        // inaccessible (a `---p` record also named [heap]); glibc's heap is one record.
        (
            HEAP,
            find(&|r| r.vma.pathname == Pathname::Heap && r.vma.perms.write),
        ),
        (STACK, find(&|r| r.vma.pathname == Pathname::Stack)),
        (VDSO, find(&|r| r.vma.pathname == Pathname::Vdso)),
        // Read on its own, so its bounds are checked against the mapping's.
        (MAPPING, Some(mapping.smaps(Proc::SelfProcess)?)),
    ];
    Ok(Observation::of(wanted.into_iter().filter_map(
        |(name, record)| record.map(|r| subject(name, r)),
    )))
}
