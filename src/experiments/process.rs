//! Lesson `process`: what a process is made of. This process's own code is a file mapping
//! faulted in lazily like any other; /proc/PID/status sums its resident memory by kind; and
//! in a quiet forked child, smaps_rollup is the sum of the smaps records, every smaps field
//! of one written mapping means something, and the Referenced bits clear_refs clears come
//! back with the next access.

use crate::experiment::{Experiment, ExperimentError, Lab, Observation, OutcomeValue, Subject};
use crate::experiments::support::yes_no;
use crate::kernel::SmapsField;
use crate::kernel::procfs::{self, Proc};
use crate::kernel::smaps;
use crate::kernel::status::{self, StatusSize};
use crate::memory::child::{commands, reply};
use crate::memory::counters::{read_first_bytes, write_first_bytes};
use crate::memory::{Child, Mapping, MappingError};
use nix::sys::mman::MapFlags;
use std::num::NonZeroUsize;

/// How many pages the child writes.
const PAGES: usize = 8;

crate::experiment::declare! {
    experiment: Process, id: "process", forks: true;
    steps {
        "own-code": "reading a freshly forked child's smaps record of the program's code",
        "status": "reading the child's /proc/PID/status",
        "written": "after a quiet child wrote every page of an 8-page mapping",
        "refs-cleared": "after the child wrote 1 to /proc/self/clear_refs",
        "read-again": "after the child made the MMU forget the pages (mprotect) and read every page again",
    }
    subjects {
        CODE = "code",
        REGION = "region",
    }
    outcomes {
        CODE_RESIDENT = text "the code's Rss is below its Size",
        RSS_SUM = text "VmRSS is RssAnon + RssFile + RssShmem",
        ROLLUP_SUM = text "smaps_rollup's Rss is the sum of the smaps records' Rss",
        CLEAR_REFS = call "writing 1 to /proc/self/clear_refs",
    }
}

commands! {
    enum ChildCommand {
        /// Write every page of the region.
        Write,
        /// Clear its pages' Referenced bits (`echo 1 > /proc/self/clear_refs`).
        ClearRefs,
        /// Make the MMU forget the region, then read every page.
        Read,
    }
}

impl Experiment for Process {
    fn run(&self, lab: &mut Lab<'_>) -> Result<(), ExperimentError> {
        quiet_child(lab)
    }
}

/// The child's record of the mapping that holds this very function: the program's code.
fn code_of(pid: nix::unistd::Pid) -> Result<crate::kernel::SmapsRecord, ExperimentError> {
    let addr = code_of as *const () as usize;
    let proc = Proc::Pid(pid.as_raw());
    procfs::smaps_record(proc, addr)
        .map_err(MappingError::from)?
        .ok_or(MappingError::NoVma { addr, proc })
        .map_err(ExperimentError::from)
}

/// `yes` when VmRSS, read in the same read of /proc/PID/status, is its three parts' sum.
fn rss_is_the_sum(proc: Proc) -> Result<OutcomeValue, ExperimentError> {
    let sizes = status::read_sizes(proc).map_err(ExperimentError::Setup)?;
    let field = |size| sizes.require(size).map_err(ExperimentError::Setup);
    let parts =
        field(StatusSize::RssAnon)? + field(StatusSize::RssFile)? + field(StatusSize::RssShmem)?;
    let whole = field(StatusSize::VmRss)?;
    Ok(if whole == parts {
        yes_no(true)
    } else {
        OutcomeValue::text(format!("no: VmRSS {whole}, the parts {parts}"))
    })
}

/// A child that does nothing while the parent reads it, so that two reads of its memory
/// agree; it writes, clears its Referenced bits and reads when told.
fn quiet_child(lab: &mut Lab<'_>) -> Result<(), ExperimentError> {
    let page = lab.probe.page_size.as_usize();
    let len = NonZeroUsize::new(PAGES * page).expect("pages are not empty");
    let region = Mapping::base_pages(len, MapFlags::empty())?;
    let (addr, mapped) = (region.addr(), region.mapped_len());
    let mut child = Child::spawn(move |command| match command {
        ChildCommand::Write => {
            write_first_bytes(addr, mapped);
            0
        }
        ChildCommand::ClearRefs => clear_refs(),
        ChildCommand::Read => forget_and_read(addr, mapped),
    })?;
    let pid = child.pid();
    // fork() copies no page table entries of a file mapping (`vma_needs_copy()` in
    // mm/memory.c): the child's code mapping holds only what it ran since.
    let code = code_of(pid)?;
    let below = code.size(SmapsField::Rss) < code.size(SmapsField::Size);
    lab.step(
        "own-code",
        Observation::of([Subject::plain(CODE, pid, code)]).with([(CODE_RESIDENT, yes_no(below))]),
    )?;
    lab.step(
        "status",
        Observation::outcomes([(RSS_SUM, rss_is_the_sum(Proc::Pid(pid.as_raw()))?)]),
    )?;
    child.command(ChildCommand::Write)?;
    let rollup = rollup_is_the_sum(Proc::Pid(pid.as_raw()))?;
    lab.step(
        "written",
        Observation::of([Subject::of(REGION, pid, &region)?]).with([(ROLLUP_SUM, rollup)]),
    )?;
    let cleared = child.call(ChildCommand::ClearRefs)?;
    lab.step(
        "refs-cleared",
        Observation::of([Subject::of(REGION, pid, &region)?]).with([(CLEAR_REFS, cleared.into())]),
    )?;
    child
        .call(ChildCommand::Read)?
        .map_err(ExperimentError::sys("mprotect of the region in the child"))?;
    let again = Subject::of(REGION, pid, &region)?;
    child.finish()?;
    lab.step("read-again", Observation::of([again]))
}

/// In the child: makes the MMU forget the region's translations, then reads every page.
/// clear_refs clears the pages' accessed bits without flushing the TLB (`clear_refs_write()`
/// in fs/proc/task_mmu.c), and the MMU sets a bit only when it walks the page table: an
/// access the TLB still remembers sets nothing (measured here: 5 of 8 pages marked again).
/// mprotect() flushes the range's TLB entries.
fn forget_and_read(addr: usize, len: usize) -> u8 {
    let range = addr as *mut libc::c_void;
    // SAFETY: the child's own copy of the region; the protections go back as they were.
    let rc = unsafe { libc::mprotect(range, len, libc::PROT_READ) };
    if rc != 0 {
        return reply::errno();
    }
    // SAFETY: as above.
    let rc = unsafe { libc::mprotect(range, len, libc::PROT_READ | libc::PROT_WRITE) };
    if rc != 0 {
        return reply::errno();
    }
    read_first_bytes(addr, len);
    0
}

/// In the child: `echo 1 > /proc/self/clear_refs` with raw calls.
fn clear_refs() -> u8 {
    // SAFETY: a literal path.
    let fd = unsafe { libc::open(c"/proc/self/clear_refs".as_ptr(), libc::O_WRONLY) };
    if fd < 0 {
        return reply::errno();
    }
    // SAFETY: a one-byte buffer of ours, to the descriptor just opened.
    let written = unsafe { libc::write(fd, b"1".as_ptr().cast(), 1) };
    let answer = if written == 1 { 0 } else { reply::errno() };
    // SAFETY: our own descriptor, used by nothing else.
    unsafe { libc::close(fd) };
    answer
}

/// `yes` when the Rss of /proc/PID/smaps_rollup is the sum of the Rss of every record of
/// /proc/PID/smaps (the process must be quiet between the two reads).
fn rollup_is_the_sum(proc: Proc) -> Result<OutcomeValue, ExperimentError> {
    let records = procfs::smaps(proc).map_err(MappingError::from)?;
    let sum: u64 = records
        .iter()
        .filter_map(|r| r.size(SmapsField::Rss))
        .map(|rss| rss.get())
        .sum();
    let total = rollup_rss(proc)?;
    Ok(if total == sum {
        yes_no(true)
    } else {
        OutcomeValue::text(format!(
            "no: smaps_rollup says {total} bytes, the records add up to {sum}"
        ))
    })
}

/// The Rss of /proc/PID/smaps_rollup (4.14+): a record of its own, whose header line names
/// the whole address space `[rollup]`.
fn rollup_rss(proc: Proc) -> Result<u64, ExperimentError> {
    let path = proc.path("smaps_rollup");
    let text = std::fs::read_to_string(&path)
        .map_err(ExperimentError::io(format!("reading {}", path.display())))?;
    let records = smaps::parse_smaps(&text)
        .map_err(|e| ExperimentError::Setup(format!("parsing {}: {e}", path.display())))?;
    records
        .first()
        .and_then(|r| r.size(SmapsField::Rss))
        .map(|rss| rss.get())
        .ok_or_else(|| ExperimentError::Setup(format!("{} has no Rss", path.display())))
}
