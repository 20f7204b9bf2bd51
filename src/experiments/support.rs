//! What experiments share besides mappings: a private temporary directory, file calls
//! whose errors say which file and what was being done, and a child that touches memory it
//! may not touch.

use crate::experiment::{ExperimentError, OutcomeValue};
use crate::kernel::Access;
use crate::memory::child::{End, commands};
use crate::memory::counters::Faults;
use crate::memory::{Child, ChildError, Mapped};
use nix::sched::{CpuSet, sched_getaffinity, sched_getcpu, sched_setaffinity};
use nix::unistd::Pid;
use std::fs::{File, OpenOptions};
use std::num::NonZeroUsize;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// A private temporary directory, removed on every way out (errors and panics included;
/// forked children never drop it, they only `_exit`), so no file outlives the experiment.
pub struct TempDir(tempfile::TempDir);

impl TempDir {
    pub fn new(prefix: &str) -> Result<TempDir, ExperimentError> {
        tempfile::Builder::new()
            .prefix(prefix)
            .tempdir()
            .map(TempDir)
            .map_err(ExperimentError::io("creating a temporary directory"))
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// Removes it now, reporting what a drop would have to ignore.
    pub fn close(self) -> Result<(), ExperimentError> {
        self.0
            .close()
            .map_err(ExperimentError::io("removing the temporary directory"))
    }
}

pub fn open(path: &Path, options: &OpenOptions) -> Result<File, ExperimentError> {
    options.open(path).map_err(ExperimentError::io(format!(
        "opening {} ({options:?})",
        path.display()
    )))
}

pub fn write_file(path: &Path, contents: &[u8]) -> Result<(), ExperimentError> {
    std::fs::write(path, contents)
        .map_err(ExperimentError::io(format!("writing {}", path.display())))
}

/// The file's first `size` bytes, read with pread(2) rather than through any mapping.
pub fn pread_text(file: &File, path: &Path, size: usize) -> Result<String, ExperimentError> {
    let mut buf = vec![0u8; size];
    file.read_exact_at(&mut buf, 0)
        .map_err(ExperimentError::io(format!("pread of {}", path.display())))?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// A size in pages, as lessons write it (`1 page`, `2 pages`), or in bytes where it is no
/// whole number of pages.
pub fn pages_word(bytes: u64, page: usize) -> OutcomeValue {
    let page = page as u64;
    OutcomeValue::text(match (bytes / page, bytes % page) {
        (1, 0) => "1 page".into(),
        (n, 0) => format!("{n} pages"),
        _ => format!("{bytes} bytes, not a whole number of pages"),
    })
}

/// The faults this thread takes writing the first byte of every page of `mapping`.
pub fn writing_faults(mapping: &impl Mapped) -> Result<Faults, ExperimentError> {
    mapping
        .faults_writing_every_page()
        .map_err(ExperimentError::sys("getrusage(RUSAGE_THREAD)"))
}

/// The faults this thread takes reading the first byte of every page of `mapping`.
pub fn reading_faults(mapping: &impl Mapped) -> Result<Faults, ExperimentError> {
    mapping
        .faults_reading_every_page()
        .map_err(ExperimentError::sys("getrusage(RUSAGE_THREAD)"))
}

/// How many of `mapping`'s pages mincore() says are resident, as an outcome.
pub fn resident_count(mapping: &impl Mapped) -> Result<OutcomeValue, ExperimentError> {
    let pages = mapping
        .resident_pages()
        .map_err(ExperimentError::sys("mincore"))?;
    Ok(OutcomeValue::count(pages))
}

/// A yes-or-no outcome, as lessons write it.
pub fn yes_no(yes: bool) -> OutcomeValue {
    OutcomeValue::text(if yes { "yes" } else { "no" })
}

/// A mapping length the experiment computed; a zero one is the experiment's own mistake.
pub fn nonzero(len: usize) -> Result<NonZeroUsize, ExperimentError> {
    NonZeroUsize::new(len)
        .ok_or_else(|| ExperimentError::Setup("a mapping of 0 bytes was asked for".into()))
}

commands! {
    enum FaultCommand {
        /// Touch the address it was given.
        Touch,
    }
}

/// Forks a child that reads or writes `addr` (its copy of a mapping of ours) and reports
/// how it ended as the lessons word it: `killed by SIGSEGV`, or what happened instead.
pub fn end_of_child_touching(addr: usize, access: Access) -> Result<String, ExperimentError> {
    let mut child = Child::spawn(move |FaultCommand::Touch| {
        no_core_dump();
        // SAFETY: a deliberate access to the child's copy of a live mapping: the kernel
        // either allows it or kills the child with a signal. std's SIGSEGV/SIGBUS handler
        // finds no stack guard at the address, restores the default action and returns, so
        // the access faults again and the default action kills.
        unsafe {
            let byte = addr as *mut u8;
            match access {
                Access::Read => {
                    byte.read_volatile();
                }
                Access::Write => byte.write_volatile(0),
            }
        }
        0
    })?;
    match child.ask(FaultCommand::Touch) {
        Ok(_) => {
            child.finish()?;
            Ok("not killed: the access worked".into())
        }
        Err(ChildError::Died { .. } | ChildError::Panicked { .. }) => Ok(match child.end() {
            Some(end) => end_words(end),
            None => "ended, but how is unknown".into(),
        }),
        Err(e) => Err(e.into()),
    }
}

/// How a child ended, as the lesson words it.
pub fn end_words(end: End) -> String {
    match end {
        End::Exited(status) => format!("exited with status {status}"),
        End::Signaled(signal, _) => format!("killed by {}", signal.as_str()),
        End::Lost(errno) => format!("could not be reaped: {errno}"),
    }
}

/// A child that is meant to crash must leave no core file behind (with `core_pattern`
/// `core` it would land in the working directory, the repository): a limit of 0 stops a
/// plain core file, and not being dumpable also stops a core_pattern pipe handler, which
/// ignores the limit. Only for forked children: it changes process-wide settings. Plain
/// system calls, async-signal-safe.
pub fn no_core_dump() {
    let zero = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain system calls on a stack value.
    unsafe {
        libc::setrlimit(libc::RLIMIT_CORE, &zero);
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

/// Pins the calling thread to the CPU it runs on, until dropped. Pages reach the kernel's
/// LRU lists through per-CPU batches, and madvise drains only the batch of the CPU it runs
/// on: MADV_FREE and MADV_PAGEOUT see pages another CPU still holds in its batch as not on
/// a list yet, and leave them alone.
pub struct PinnedToThisCpu {
    previous: CpuSet,
}

impl PinnedToThisCpu {
    pub fn new() -> Result<PinnedToThisCpu, ExperimentError> {
        let this_thread = Pid::from_raw(0);
        let previous = sched_getaffinity(this_thread)
            .map_err(ExperimentError::sys("sched_getaffinity of this thread"))?;
        let cpu = sched_getcpu().map_err(ExperimentError::sys("sched_getcpu"))?;
        let mut only = CpuSet::new();
        only.set(cpu)
            .map_err(ExperimentError::sys(format!("a CPU set holding CPU {cpu}")))?;
        sched_setaffinity(this_thread, &only).map_err(ExperimentError::sys(format!(
            "sched_setaffinity of this thread to CPU {cpu}"
        )))?;
        Ok(PinnedToThisCpu { previous })
    }
}

impl Drop for PinnedToThisCpu {
    fn drop(&mut self) {
        // Restores the set read in `new`; that cannot fail for a set the thread had.
        let _ = sched_setaffinity(Pid::from_raw(0), &self.previous);
    }
}
