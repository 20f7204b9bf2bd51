//! Lesson `posix-shm`: POSIX shared memory. A producer (this process) creates an object with
//! shm_open, sizes it with ftruncate and writes through a MAP_SHARED mapping; a consumer (a
//! forked child) opens it read-only and maps it PROT_READ. Then what kills: a write to the
//! read-only mapping (SIGSEGV), a page past the object's end (SIGBUS); shm_unlink; and
//! memfd_create, the same memory without a name.

use crate::experiment::{Experiment, ExperimentError, Lab, Observation, OutcomeValue, Subject};
use crate::experiments::support::{end_of_child_touching, nonzero, pages_word, yes_no};
use crate::kernel::Access;
use crate::kernel::Pathname;
use crate::kernel::procfs::Proc;
use crate::kernel::status::{self, StatusSize};
use crate::memory::child::{Command, reply};
use crate::memory::{Child, FileMapping, Mapping, record_at};
use nix::fcntl::OFlag;
use nix::sys::mman::{MapFlags, ProtFlags, shm_open, shm_unlink};
use nix::sys::stat::{Mode, fstat};
use nix::unistd::getpid;
use scratch::{SCRATCH_PAGES, ScratchPage};
use std::ffi::CString;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

crate::experiment::declare! {
    experiment: PosixShm, id: "posix-shm", forks: true;
    steps {
        "created": "after shm_open(O_CREAT | O_EXCL | O_RDWR) of a new object",
        "sized": "after ftruncate() of the object to one page",
        "producer-wrote": "after the producer mapped it MAP_SHARED and wrote a byte",
        "consumer-read": "after a consumer opened it O_RDONLY, mapped it PROT_READ and read the byte",
        "consumer-status": "after the consumer's read, as its /proc/PID/status counts it",
        "faults": "after children wrote to a read-only mapping and read past the object's end",
        "unlinked": "after shm_unlink() of the object, still mapped",
        "memfd": "after memfd_create(), ftruncate() and a write through a MAP_SHARED mapping",
    }
    subjects {
        PRODUCER = "producer",
        CONSUMER = "consumer",
        MEMFD = "memfd",
    }
    outcomes {
        SIZE_CREATED = count "size after shm_open, in bytes",
        IN_DEV_SHM = text "the object is a file in /dev/shm",
        DEV_SHM_FS = text "the filesystem of /dev/shm",
        SIZE_SIZED = text "size after ftruncate",
        BLOCKS = text "memory the object holds (st_blocks)",
        MAPPED_PATH = text "the mapping's path is the object's",
        RSS_SHMEM = text "the consumer's RssShmem grew by",
        CONSUMER_READS = count "consumer reads",
        WRITABLE_FROM_RDONLY = call "mmap PROT_READ | PROT_WRITE, MAP_SHARED of the O_RDONLY descriptor",
        WRITE_READ_ONLY = text "write to the consumer's PROT_READ mapping",
        PAST_THE_END = text "read of a page past the object's end",
        UNLINK = call "shm_unlink",
        PRODUCER_READS = count "producer still reads",
    }
}

/// What the producer writes and the consumer reads back.
const VALUE: u8 = 42;

/// The consumer's commands. Written out by hand rather than with `commands!`, since `Touch`
/// carries the scratch page it writes: its byte is [`Self::TOUCH_FIRST`] plus the page's
/// index, and [`ScratchPage`] can only hold an index the scratch mapping has, so every
/// `Touch` the parent can send lands inside the mapping and a byte past its last page
/// decodes to nothing (the consumer answers it as unknown).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ConsumerCommand {
    /// Open the object by its name O_RDONLY and map it PROT_READ over the slot.
    MapReadOnly,
    /// Answer with the first byte of the read-only mapping.
    Read,
    /// Write one page of its private scratch mapping.
    Touch(ScratchPage),
}

impl ConsumerCommand {
    /// The byte of `Touch` of the first scratch page; page N's is this plus N.
    const TOUCH_FIRST: u8 = 2;
}

impl Command for ConsumerCommand {
    fn byte(self) -> u8 {
        match self {
            ConsumerCommand::MapReadOnly => 0,
            ConsumerCommand::Read => 1,
            ConsumerCommand::Touch(page) => Self::TOUCH_FIRST + page.index(),
        }
    }

    fn from_byte(byte: u8) -> Option<ConsumerCommand> {
        match byte {
            0 => Some(ConsumerCommand::MapReadOnly),
            1 => Some(ConsumerCommand::Read),
            _ => byte
                .checked_sub(Self::TOUCH_FIRST)
                .and_then(ScratchPage::nth)
                .map(ConsumerCommand::Touch),
        }
    }
}

/// In a module of its own so that nothing else can make a [`ScratchPage`] of an index the
/// mapping does not have.
mod scratch {
    /// Scratch pages: one to warm up the command's own code and stack, two to see whether
    /// /proc/PID/status follows each fault at once.
    pub const SCRATCH_PAGES: usize = 3;

    /// A page of the consumer's scratch mapping, by its index there (below [`SCRATCH_PAGES`]).
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct ScratchPage(u8);

    impl ScratchPage {
        /// The page whose write runs the command's code and stack for the first time.
        pub const WARM_UP: ScratchPage = ScratchPage(0);

        /// Page `index`, if the mapping has one. The consumer decodes with it: a compare.
        pub fn nth(index: u8) -> Option<ScratchPage> {
            (usize::from(index) < SCRATCH_PAGES).then_some(ScratchPage(index))
        }

        /// The pages after the warm-up one, in the mapping's order.
        pub fn measured() -> impl Iterator<Item = ScratchPage> {
            (1..SCRATCH_PAGES as u8).map(ScratchPage)
        }

        pub fn index(self) -> u8 {
            self.0
        }
    }
}

impl Experiment for PosixShm {
    fn run(&self, lab: &mut Lab<'_>) -> Result<(), ExperimentError> {
        let page = lab.probe.page_size.as_usize();
        let object = Object::create()?;
        lab.step(
            "created",
            Observation::outcomes([
                (SIZE_CREATED, OutcomeValue::count(object.size()?)),
                (IN_DEV_SHM, yes_no(object.path.exists())),
                (DEV_SHM_FS, filesystem(Path::new("/dev/shm"))),
            ]),
        )?;
        nix::unistd::ftruncate(&object.fd, page as i64)
            .map_err(ExperimentError::sys("ftruncate of the object"))?;
        lab.step(
            "sized",
            Observation::outcomes([
                (SIZE_SIZED, pages_word(object.size()?, page)),
                (BLOCKS, pages_word(object.blocks()?, page)),
            ]),
        )?;
        let producer = object.map(page, ProtFlags::PROT_READ | ProtFlags::PROT_WRITE)?;
        producer.write_byte(0, VALUE);
        let seen = Subject::of(PRODUCER, getpid(), &producer)?;
        let same = yes_no(names(&seen.record.vma.pathname, &object.path, false));
        lab.step(
            "producer-wrote",
            Observation::of([seen]).with([
                (MAPPED_PATH, same),
                (BLOCKS, pages_word(object.blocks()?, page)),
            ]),
        )?;
        consumer_read(lab, &object, page)?;
        faults(lab, &object, page)?;
        let unlinked = shm_unlink(object.name.as_c_str());
        let seen = Subject::of(PRODUCER, getpid(), &producer)?;
        let same = yes_no(names(&seen.record.vma.pathname, &object.path, true));
        lab.step(
            "unlinked",
            Observation::of([seen]).with([
                (UNLINK, unlinked.into()),
                (IN_DEV_SHM, yes_no(object.path.exists())),
                (MAPPED_PATH, same),
                (PRODUCER_READS, OutcomeValue::count(producer.read_byte(0))),
            ]),
        )?;
        drop(producer);
        memfd(lab, page)
    }
}

/// A shared memory object of this run, unlinked on every way out. The name is this
/// process's and unique within it: tests run the experiment on several threads at once.
struct Object {
    name: CString,
    path: PathBuf,
    fd: OwnedFd,
}

impl Object {
    fn create() -> Result<Object, ExperimentError> {
        static RUNS: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "/pagelab-{}-{}",
            std::process::id(),
            RUNS.fetch_add(1, Ordering::Relaxed)
        );
        let fd = shm_open(
            name.as_str(),
            OFlag::O_CREAT | OFlag::O_EXCL | OFlag::O_RDWR,
            Mode::S_IRUSR | Mode::S_IWUSR,
        )
        .map_err(ExperimentError::sys(format!("shm_open of {name}")))?;
        // Linux keeps POSIX shared memory objects as files of the tmpfs at /dev/shm
        // (shm_overview(7)), under the name without its leading slash.
        let path = Path::new("/dev/shm").join(&name[1..]);
        let name = CString::new(name).expect("no NUL in the name");
        Ok(Object { name, path, fd })
    }

    fn size(&self) -> Result<u64, ExperimentError> {
        let stat = fstat(&self.fd).map_err(ExperimentError::sys("fstat of the object"))?;
        Ok(stat.st_size as u64)
    }

    /// The memory the object holds, from the 512-byte blocks fstat counts.
    fn blocks(&self) -> Result<u64, ExperimentError> {
        let stat = fstat(&self.fd).map_err(ExperimentError::sys("fstat of the object"))?;
        Ok(stat.st_blocks as u64 * 512)
    }

    fn map(&self, len: usize, prot: ProtFlags) -> Result<FileMapping, ExperimentError> {
        FileMapping::shared(self.fd.as_fd(), nonzero(len)?, prot)
            .map_err(ExperimentError::sys("mmap MAP_SHARED of the object"))
    }
}

impl Drop for Object {
    fn drop(&mut self) {
        // Gone already where the lesson unlinked it; nothing to do about an error here.
        let _ = shm_unlink(self.name.as_c_str());
    }
}

/// A consumer opens the object by its name, read-only, and maps it where the parent chose
/// (MAP_FIXED over its copy of a slot), so the parent can read its smaps record.
fn consumer_read(lab: &mut Lab<'_>, object: &Object, page: usize) -> Result<(), ExperimentError> {
    let slot =
        Mapping::anonymous_isolated(nonzero(page)?, ProtFlags::PROT_NONE, MapFlags::MAP_PRIVATE)?;
    let at = slot.addr();
    // Untouched here: each page the consumer writes is a new anonymous page of its own.
    let scratch = Mapping::base_pages(nonzero(SCRATCH_PAGES * page)?, MapFlags::empty())?;
    let scratch_at = scratch.addr();
    let name = object.name.as_ptr() as usize;
    let mut child = Child::spawn(move |command| match command {
        ConsumerCommand::MapReadOnly => map_read_only(name as *const libc::c_char, at, page),
        // SAFETY: the consumer's own mapping of a page, made by MapReadOnly.
        ConsumerCommand::Read => unsafe { (at as *const u8).read_volatile() },
        ConsumerCommand::Touch(scratch_page) => {
            let offset = usize::from(scratch_page.index()) * page;
            // SAFETY: a page of the consumer's copy of the scratch mapping (a ScratchPage's
            // index is below SCRATCH_PAGES).
            unsafe { ((scratch_at + offset) as *mut u8).write_volatile(1) };
            0
        }
    })?;
    let pid = child.pid();
    child
        .call(ConsumerCommand::MapReadOnly)?
        .map_err(ExperimentError::sys("the consumer's shm_open and mmap"))?;
    let lag = status_lag(&mut child, page)?;
    // Around the read only: a forked child may hold shared memory pages from the start (see
    // the lesson), and the calls before ran code of its own for the first time.
    let before = status_bytes(pid, StatusSize::RssShmem)?;
    let read = child.ask(ConsumerCommand::Read)?;
    let after = status_bytes(pid, StatusSize::RssShmem)?;
    let record = record_at(Proc::Pid(pid.as_raw()), at, page)?;
    child.finish()?;
    drop((slot, scratch));
    lab.step(
        "consumer-read",
        Observation::of([Subject::plain(CONSUMER, pid, record)])
            .with([(CONSUMER_READS, OutcomeValue::count(read))]),
    )?;
    if let Some(lag) = lag {
        return lab.impossible("consumer-status", lag);
    }
    let shmem = match (before, after) {
        (Some(before), Some(after)) => match after.checked_sub(before) {
            Some(grown) => pages_word(grown, page),
            None => OutcomeValue::text(format!("shrank from {before} to {after} bytes")),
        },
        _ => OutcomeValue::text("not in /proc/PID/status"),
    };
    lab.step(
        "consumer-status",
        Observation::outcomes([(RSS_SHMEM, shmem)]),
    )
}

/// Whether the consumer's /proc/PID/status follows each of its faults at once: `None` if
/// two pages written one after the other each grew its `RssAnon` by exactly one page, else
/// what was seen. Not everywhere: before 6.2 a thread batches its counts and hands them to
/// the process every 64 faults; since, the counters are per-CPU, and /proc has read them with
/// or without summing the CPUs' parts, by version (proc_pid_status(5): "inaccurate because of
/// a kernel-internal scalability optimization"). Two in a row, since a batch handed in at one
/// fault is not handed in at the next.
fn status_lag(
    child: &mut Child<ConsumerCommand>,
    page: usize,
) -> Result<Option<String>, ExperimentError> {
    let pid = child.pid();
    child
        .call(ConsumerCommand::Touch(ScratchPage::WARM_UP))?
        .map_err(ExperimentError::sys("the consumer's write"))?;
    for scratch_page in ScratchPage::measured() {
        let before = status_bytes(pid, StatusSize::RssAnon)?;
        child
            .call(ConsumerCommand::Touch(scratch_page))?
            .map_err(ExperimentError::sys("the consumer's write"))?;
        let after = status_bytes(pid, StatusSize::RssAnon)?;
        match (before, after) {
            (Some(before), Some(after)) if after == before + page as u64 => {}
            (Some(before), Some(after)) => {
                return Ok(Some(format!(
                    "/proc/PID/status lags behind faults on this kernel: one page written grew the consumer's RssAnon from {before} to {after} bytes (its counters are batched, proc_pid_status(5))"
                )));
            }
            _ => return Ok(Some("/proc/PID/status has no RssAnon".into())),
        }
    }
    Ok(None)
}

/// A size line of a process's /proc/PID/status in bytes (`RssShmem`); `None` where the
/// kernel has no such line (`RssShmem` and `RssAnon` came in 4.5).
fn status_bytes(pid: nix::unistd::Pid, size: StatusSize) -> Result<Option<u64>, ExperimentError> {
    let sizes = status::read_sizes(Proc::Pid(pid.as_raw())).map_err(ExperimentError::Setup)?;
    Ok(sizes.get(size).map(|b| b.get()))
}

/// In the consumer: shm_open(name, O_RDONLY) and mmap PROT_READ, MAP_SHARED at `at`. Plain
/// calls (shm_open builds its path on the stack), async-signal-safe.
fn map_read_only(name: *const libc::c_char, at: usize, len: usize) -> u8 {
    // SAFETY: `name` is the consumer's copy of a C string the parent keeps alive.
    let fd = unsafe { libc::shm_open(name, libc::O_RDONLY, 0) };
    if fd < 0 {
        return reply::errno();
    }
    // SAFETY: MAP_FIXED replaces only the consumer's copy of the slot at `at`.
    let mapped = unsafe {
        libc::mmap(
            at as *mut libc::c_void,
            len,
            libc::PROT_READ,
            libc::MAP_SHARED | libc::MAP_FIXED,
            fd,
            0,
        )
    };
    let errno = reply::errno();
    // SAFETY: our own descriptor; the mapping keeps the object open.
    unsafe { libc::close(fd) };
    if mapped == libc::MAP_FAILED { errno } else { 0 }
}

/// The accesses that kill, each in a child of its own; and the write access a read-only
/// descriptor cannot give.
fn faults(lab: &mut Lab<'_>, object: &Object, page: usize) -> Result<(), ExperimentError> {
    let read_only = nix::fcntl::open(
        &object.path,
        OFlag::O_RDONLY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(ExperimentError::sys("opening the object O_RDONLY"))?;
    let writable = FileMapping::shared(
        read_only.as_fd(),
        nonzero(page)?,
        ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
    );
    let consumer = FileMapping::shared(read_only.as_fd(), nonzero(page)?, ProtFlags::PROT_READ)
        .map_err(ExperimentError::sys(
            "mmap PROT_READ, MAP_SHARED of the O_RDONLY descriptor",
        ))?;
    let two_pages = object.map(2 * page, ProtFlags::PROT_READ)?;
    let write = end_of_child_touching(consumer.addr(), Access::Write)?;
    let past = end_of_child_touching(two_pages.addr() + page, Access::Read)?;
    lab.step(
        "faults",
        Observation::outcomes([
            (
                WRITABLE_FROM_RDONLY,
                OutcomeValue::Call(writable.map(|_| ())),
            ),
            (WRITE_READ_ONLY, OutcomeValue::text(write)),
            (PAST_THE_END, OutcomeValue::text(past)),
        ]),
    )
}

/// memfd_create: the same shared memory, with no name in any directory; the descriptor is
/// what processes pass on.
fn memfd(lab: &mut Lab<'_>, page: usize) -> Result<(), ExperimentError> {
    use nix::sys::memfd::{MFdFlags, memfd_create};
    let fd = memfd_create("pagelab", MFdFlags::MFD_CLOEXEC)
        .map_err(ExperimentError::sys("memfd_create"))?;
    nix::unistd::ftruncate(&fd, page as i64)
        .map_err(ExperimentError::sys("ftruncate of the memfd"))?;
    let mapping = FileMapping::shared(
        fd.as_fd(),
        nonzero(page)?,
        ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
    )
    .map_err(ExperimentError::sys("mmap MAP_SHARED of the memfd"))?;
    mapping.write_byte(0, VALUE);
    lab.step(
        "memfd",
        Observation::of([Subject::of(MEMFD, getpid(), &mapping)?]),
    )
}

/// Whether a maps path names the object (as deleted, once unlinked).
fn names(pathname: &Pathname, object: &Path, deleted: bool) -> bool {
    matches!(pathname, Pathname::File { path, deleted: d } if path == object && *d == deleted)
}

/// A directory's filesystem by name (`tmpfs`), as statfs tells it.
fn filesystem(dir: &Path) -> OutcomeValue {
    OutcomeValue::text(match crate::kernel::probe::filesystem_of(dir) {
        Ok(name) => name,
        Err(errno) => format!("statfs failed: {errno}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_consumer_command_is_the_byte_it_decodes_from_and_no_touch_leaves_the_scratch() {
        let touches = u8::try_from(SCRATCH_PAGES).unwrap();
        for byte in 0..=u8::MAX {
            let decoded = ConsumerCommand::from_byte(byte);
            if let Some(command) = decoded {
                assert_eq!(command.byte(), byte, "{command:?}");
            }
            let known = byte < ConsumerCommand::TOUCH_FIRST + touches;
            assert_eq!(
                decoded.is_some(),
                known,
                "byte {byte} decodes to {decoded:?}"
            );
        }
        assert_eq!(ScratchPage::nth(touches), None);
        assert_eq!(ScratchPage::measured().count(), SCRATCH_PAGES - 1);
    }
}
