//! Lesson `shared-file-mapping`: a server and a client share one record through a file both
//! map MAP_SHARED. The server (this process) sizes the file and initialises the record, a
//! process-shared robust mutex among its fields; the client (a forked child) maps the file
//! itself and writes the record under the lock; the server waits for it with a deadline and
//! reads it. Then what the lock does across processes: EBUSY while the client holds it, and
//! EOWNERDEAD once the client has exited holding it.

use crate::experiment::{Experiment, ExperimentError, Lab, Observation, OutcomeValue, Subject};
use crate::experiments::support::{TempDir, nonzero, open, pages_word};
use crate::kernel::SmapsRecord;
use crate::kernel::procfs::Proc;
use crate::memory::child::{commands, reply};
use crate::memory::{Child, FileMapping, Mapping, record_at};
use nix::errno::Errno;
use nix::sys::mman::{MapFlags, ProtFlags};
use nix::unistd::getpid;
use std::ffi::CString;
use std::fs::OpenOptions;
use std::mem::MaybeUninit;
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

crate::experiment::declare! {
    experiment: SharedFileMapping, id: "shared-file-mapping", forks: true;
    steps {
        "server-ready": "after the server sized the file, mapped it MAP_SHARED and initialised the record",
        "client-mapped": "after the client mapped the file itself, before it touched the record",
        "client-wrote": "after the client wrote the record under the lock and the server read it",
        "client-holds-lock": "while the client holds the record's lock",
        "client-exited": "after the client exited still holding the lock",
    }
    subjects {
        SERVER = "server",
        CLIENT = "client",
    }
    outcomes {
        FILE_SIZE = text "file size after ftruncate",
        MUTEX_INIT = call "pthread_mutex_init, process-shared and robust",
        CLIENT_WRITE_ONLY = call "client maps the file from an O_WRONLY descriptor",
        CLIENT_READ_WRITE = call "client maps the file from an O_RDWR descriptor",
        CLIENT_WRITES = call "client writes the record under the lock",
        SERVER_WAITS = text "server waits for the valid flag",
        SERVER_NAME = text "server reads name",
        SERVER_VALUE = count "server reads value",
        SAME_FILE = text "both map the same file",
        CLIENT_LOCKS = call "client locks the record",
        SERVER_TRYLOCK = call "server try-locks the record",
        SERVER_LOCKS = call "server locks the record",
        CONSISTENT = call "pthread_mutex_consistent",
    }
}

/// What the client writes; the server reports what it reads.
const NAME: &[u8] = b"kitchen";
const VALUE: u64 = 21;
const NAME_CAP: usize = 32;
/// How long the server waits for the client's record, or for the lock.
const WAIT_LIMIT: Duration = Duration::from_secs(10);

/// The record both processes map: the layout is this struct's in both, as they run the same
/// program (unrelated programs would agree on a C header instead).
#[repr(C)]
struct Record {
    lock: libc::pthread_mutex_t,
    /// 0 until the record holds data; the word the server's futex waits on.
    valid: u32,
    name_len: u32,
    value: u64,
    name: [u8; NAME_CAP],
}

commands! {
    /// The client's commands; each answers 0 or the errno of the call that failed.
    enum ClientCommand {
        /// Unmap the server's mapping it inherited by fork.
        ForgetInherited,
        /// Open the file O_WRONLY and try to map it (and unmap it if that worked).
        MapWriteOnly,
        /// Open the file O_RDWR and map it MAP_SHARED over its slot: its record from now on.
        MapReadWrite,
        /// Write name and value under the record's lock, then set the flag and wake the server.
        WriteRecord,
        /// Take the record's lock and keep it.
        LockAndHold,
    }
}

impl Experiment for SharedFileMapping {
    fn run(&self, lab: &mut Lab<'_>) -> Result<(), ExperimentError> {
        let page = lab.probe.page_size.as_usize();
        if size_of::<Record>() > page {
            return Err(ExperimentError::Setup(format!(
                "the {}-byte record does not fit in one page of {page} bytes",
                size_of::<Record>()
            )));
        }
        let server = Server::ready(lab, page)?;
        let mut client = Client::spawn(&server, page)?;
        client.map_the_file(lab, &server)?;
        client.write_record(lab, &server)?;
        client.hold_the_lock(lab, &server)?;
        client.exit_holding_the_lock(lab, &server)?;
        server.close()
    }
}

/// The server's side: the file in a private directory, and its shared mapping of it.
struct Server {
    /// Dropped on every way out, errors and panics included; the client never drops it.
    dir: TempDir,
    path: std::path::PathBuf,
    stat: std::fs::Metadata,
    mapping: FileMapping,
    record: *mut Record,
}

impl Server {
    /// Sizes the file, maps it MAP_SHARED and initialises the record: step `server-ready`.
    fn ready(lab: &mut Lab<'_>, page: usize) -> Result<Server, ExperimentError> {
        let dir = TempDir::new("pagelab-shared-file-mapping-")?;
        let path = dir.path().join("record");
        let file = open(
            &path,
            OpenOptions::new().read(true).write(true).create_new(true),
        )?;
        // A new file is empty, and a mapping of an empty file has no page to touch (SIGBUS):
        // the server gives it its size first.
        file.set_len(page as u64)
            .map_err(ExperimentError::io(format!(
                "ftruncate of {}",
                path.display()
            )))?;
        let stat = file
            .metadata()
            .map_err(ExperimentError::io(format!("fstat of {}", path.display())))?;
        let mapping = FileMapping::shared(
            file.as_fd(),
            nonzero(page)?,
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
        )
        .map_err(ExperimentError::sys("mmap MAP_SHARED of the record file"))?;
        drop(file);
        let record = mapping.addr() as *mut Record;
        // SAFETY: the record lies in our own shared mapping of a page, and no one else maps
        // the file yet.
        let init = call(unsafe { init_record(record) });
        let server = Server {
            dir,
            path,
            stat,
            mapping,
            record,
        };
        lab.step(
            "server-ready",
            Observation::of([server.view()?]).with([
                (FILE_SIZE, pages_word(server.stat.len(), page)),
                (MUTEX_INIT, init.into()),
            ]),
        )?;
        init.map_err(ExperimentError::sys(
            "initialising the record's process-shared mutex",
        ))?;
        Ok(server)
    }

    fn view(&self) -> Result<Subject, ExperimentError> {
        Ok(Subject::of(SERVER, getpid(), &self.mapping)?)
    }

    fn close(self) -> Result<(), ExperimentError> {
        drop(self.mapping);
        self.dir.close()
    }
}

/// The client: a forked child that maps the file itself, at an address the server chose.
struct Client {
    child: Child<ClientCommand>,
    /// Where the client maps the file (MAP_FIXED over its copy of this slot), so the server
    /// knows where to read the client's smaps record.
    slot: Mapping,
    page: usize,
    /// The file's path as a C string, made before fork (the client may not allocate) and
    /// kept alive while the client may use it.
    _path: CString,
}

impl Client {
    fn spawn(server: &Server, page: usize) -> Result<Client, ExperimentError> {
        let slot = Mapping::anonymous_isolated(
            nonzero(page)?,
            ProtFlags::PROT_NONE,
            MapFlags::MAP_PRIVATE,
        )?;
        let path = CString::new(server.path.as_os_str().as_bytes()).map_err(|_| {
            ExperimentError::Setup(format!(
                "{} holds a NUL byte: it has no C string",
                server.path.display()
            ))
        })?;
        let (path_ptr, server_addr, client_addr) =
            (path.as_ptr() as usize, server.mapping.addr(), slot.addr());
        let child = Child::spawn(move |command| {
            // SAFETY: raw system calls and pthread calls on the shared record, which
            // allocate nothing and take no lock but the record's own; the path is the
            // child's copy of a C string the parent keeps alive.
            unsafe {
                client_command(
                    command,
                    path_ptr as *const libc::c_char,
                    server_addr,
                    client_addr,
                    page,
                )
            }
        })?;
        Ok(Client {
            child,
            slot,
            page,
            _path: path,
        })
    }

    /// The server's and the client's view of the record's page.
    fn both(&self, server: &Server) -> Result<Vec<Subject>, ExperimentError> {
        let pid = self.child.pid();
        let record = record_at(Proc::Pid(pid.as_raw()), self.slot.addr(), self.page)?;
        Ok(vec![server.view()?, Subject::plain(CLIENT, pid, record)])
    }

    fn map_the_file(&mut self, lab: &mut Lab<'_>, server: &Server) -> Result<(), ExperimentError> {
        self.child
            .call(ClientCommand::ForgetInherited)?
            .map_err(ExperimentError::sys(
                "the client unmapping the server's mapping it inherited",
            ))?;
        let write_only = self.child.call(ClientCommand::MapWriteOnly)?;
        let read_write = self.child.call(ClientCommand::MapReadWrite)?;
        read_write.map_err(ExperimentError::sys("the client mapping the file O_RDWR"))?;
        lab.step(
            "client-mapped",
            Observation::of(self.both(server)?).with([
                (CLIENT_WRITE_ONLY, write_only.into()),
                (CLIENT_READ_WRITE, read_write.into()),
            ]),
        )
    }

    fn write_record(&mut self, lab: &mut Lab<'_>, server: &Server) -> Result<(), ExperimentError> {
        let wrote = self.child.call(ClientCommand::WriteRecord)?;
        let deadline = Instant::now() + WAIT_LIMIT;
        // SAFETY (both): the record lies in the server's live shared mapping.
        let waited = unsafe { wait_for_record(server.record, deadline) };
        let (name, value) = unsafe { read_record(server.record, deadline) }?;
        let subjects = self.both(server)?;
        let same_file = same_file(&subjects[0].record, &subjects[1].record, &server.stat);
        let waited = if waited {
            "set".to_owned()
        } else {
            format!("still 0 after {WAIT_LIMIT:?}")
        };
        lab.step(
            "client-wrote",
            Observation::of(subjects).with([
                (CLIENT_WRITES, wrote.into()),
                (SERVER_WAITS, OutcomeValue::text(waited)),
                (SERVER_NAME, OutcomeValue::text(name)),
                (SERVER_VALUE, OutcomeValue::count(value)),
                (SAME_FILE, same_file),
            ]),
        )
    }

    fn hold_the_lock(&mut self, lab: &mut Lab<'_>, server: &Server) -> Result<(), ExperimentError> {
        let client_locks = self.child.call(ClientCommand::LockAndHold)?;
        let record = server.record;
        // SAFETY (both): the record lies in the server's live shared mapping, which outlives
        // the guard. Were the lock taken after all (the client did not get it), it is
        // released at once.
        let trylock = unsafe { libc::pthread_mutex_trylock(&raw mut (*record).lock) };
        drop(unsafe { Held::taken(record, trylock) });
        lab.step(
            "client-holds-lock",
            Observation::of(self.both(server)?).with([
                (CLIENT_LOCKS, client_locks.into()),
                (SERVER_TRYLOCK, call(trylock).into()),
            ]),
        )
    }

    /// The client exits on its own, the lock still held: nothing unlocked it.
    fn exit_holding_the_lock(
        self,
        lab: &mut Lab<'_>,
        server: &Server,
    ) -> Result<(), ExperimentError> {
        self.child.finish()?;
        let record = server.record;
        // SAFETY (both): as above; `held` is dropped before the server's mapping.
        let locked = unsafe { lock_until(record, Instant::now() + WAIT_LIMIT) };
        let held = unsafe { Held::taken(record, locked) };
        let consistent = match &held {
            // SAFETY: we hold the lock, whose previous owner died.
            Some(_) if locked == libc::EOWNERDEAD => OutcomeValue::Call(call(unsafe {
                libc::pthread_mutex_consistent(&raw mut (*record).lock)
            })),
            _ => OutcomeValue::text("not called: the lock had no dead owner"),
        };
        drop(held);
        lab.step(
            "client-exited",
            Observation::of([server.view()?]).with([
                (SERVER_LOCKS, call(locked).into()),
                (CONSISTENT, consistent),
            ]),
        )
    }
}

/// Sets up the record's mutex for use by several processes (PTHREAD_PROCESS_SHARED: its
/// state lives wholly in the shared memory) and robust (PTHREAD_MUTEX_ROBUST: if its owner
/// dies, the next locker learns it instead of waiting forever). Returns 0 or an errno.
///
/// # Safety
/// `record` must point to a writable page-sized shared mapping nobody else uses yet.
unsafe fn init_record(record: *mut Record) -> libc::c_int {
    let mut attr = MaybeUninit::<libc::pthread_mutexattr_t>::uninit();
    let attr = attr.as_mut_ptr();
    // SAFETY (each call): pthread calls on the stack attribute object, initialised first,
    // and on the record's mutex, which the contract says is ours.
    let rc = unsafe { libc::pthread_mutexattr_init(attr) };
    if rc != 0 {
        return rc;
    }
    let mut rc = unsafe { libc::pthread_mutexattr_setpshared(attr, libc::PTHREAD_PROCESS_SHARED) };
    if rc == 0 {
        rc = unsafe { libc::pthread_mutexattr_setrobust(attr, libc::PTHREAD_MUTEX_ROBUST) };
    }
    if rc == 0 {
        rc = unsafe { libc::pthread_mutex_init(&raw mut (*record).lock, attr) };
    }
    unsafe { libc::pthread_mutexattr_destroy(attr) };
    // SAFETY: the record is live, as the contract says.
    unsafe { valid_flag(record) }.store(0, Ordering::Release);
    rc
}

/// The client's side of the protocol, one command at a time. Runs in the forked child:
/// system calls and pthread calls on the shared record only.
///
/// # Safety
/// Call only in the forked child, with `path` a live C string and the addresses those the
/// parent mapped before fork.
unsafe fn client_command(
    command: ClientCommand,
    path: *const libc::c_char,
    inherited: usize,
    at: usize,
    page: usize,
) -> u8 {
    let record = at as *mut Record;
    // SAFETY (every unsafe call below): see the function's contract; the client's record
    // mapping is made by MapReadWrite before any command touches the record.
    match command {
        // A forked client inherited the server's mapping; an unrelated client would not
        // have it, and the lesson's client uses only the mapping it makes itself.
        ClientCommand::ForgetInherited => {
            reply::status(unsafe { libc::munmap(inherited as *mut libc::c_void, page) })
        }
        ClientCommand::MapWriteOnly => {
            match unsafe { map_file(path, libc::O_WRONLY, std::ptr::null_mut(), 0, page) } {
                Ok(addr) => reply::status(unsafe { libc::munmap(addr, page) }),
                Err(errno) => errno,
            }
        }
        ClientCommand::MapReadWrite => {
            let fixed = at as *mut libc::c_void;
            match unsafe { map_file(path, libc::O_RDWR, fixed, libc::MAP_FIXED, page) } {
                Ok(_) => 0,
                Err(errno) => errno,
            }
        }
        ClientCommand::WriteRecord => unsafe { write_record(record) },
        ClientCommand::LockAndHold => {
            reply::code(unsafe { libc::pthread_mutex_lock(&raw mut (*record).lock) })
        }
    }
}

/// The client's write: name and value under the lock, then the flag, then a futex wake.
///
/// # Safety
/// `record` must point into the client's live shared mapping of the record.
unsafe fn write_record(record: *mut Record) -> u8 {
    // SAFETY (every unsafe call below): the record is live, as the contract says.
    let lock = unsafe { &raw mut (*record).lock };
    let rc = unsafe { libc::pthread_mutex_lock(lock) };
    if rc == libc::EOWNERDEAD {
        unsafe { libc::pthread_mutex_consistent(lock) };
    } else if rc != 0 {
        return reply::code(rc);
    }
    unsafe {
        let name = &raw mut (*record).name;
        (name as *mut u8).copy_from_nonoverlapping(NAME.as_ptr(), NAME.len());
        (&raw mut (*record).name_len).write(NAME.len() as u32);
        (&raw mut (*record).value).write(VALUE);
    }
    // Release: whoever sees the flag set also sees the name and value.
    unsafe { valid_flag(record) }.store(1, Ordering::Release);
    let rc = unsafe { libc::pthread_mutex_unlock(lock) };
    unsafe { futex_wake(record) };
    reply::code(rc)
}

/// open + mmap(MAP_SHARED, PROT_READ | PROT_WRITE) + close, with raw calls: the descriptor
/// is not needed once mapped. The errno of the first call that failed.
///
/// # Safety
/// With MAP_FIXED, `addr` must be a range of ours that may be replaced.
unsafe fn map_file(
    path: *const libc::c_char,
    access: libc::c_int,
    addr: *mut libc::c_void,
    extra_flags: libc::c_int,
    len: usize,
) -> Result<*mut libc::c_void, u8> {
    // SAFETY: `path` is a live C string (the caller's contract).
    let fd = unsafe { libc::open(path, access | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(reply::errno());
    }
    let (prot, flags) = (
        libc::PROT_READ | libc::PROT_WRITE,
        libc::MAP_SHARED | extra_flags,
    );
    // SAFETY: a new mapping, or with MAP_FIXED one over a range the contract makes ours.
    let mapped = unsafe { libc::mmap(addr, len, prot, flags, fd, 0) };
    let errno = Errno::last_raw();
    // SAFETY: the descriptor just opened, which nothing else uses.
    unsafe { libc::close(fd) };
    if mapped == libc::MAP_FAILED {
        Err(reply::code(errno))
    } else {
        Ok(mapped)
    }
}

/// The server's wait: until the client sets the valid flag or the deadline passes. A futex
/// sleeps in the kernel until woken, so the wait costs nothing and needs no guessed sleep.
/// It is a shared (not FUTEX_PRIVATE) futex: the waker is another process, and the kernel
/// finds the waiter by the file page both map.
///
/// # Safety
/// `record` must point into a live shared mapping of the record.
unsafe fn wait_for_record(record: *mut Record, deadline: Instant) -> bool {
    // SAFETY: see the contract.
    let valid = unsafe { valid_flag(record) };
    loop {
        if valid.load(Ordering::Acquire) != 0 {
            return true;
        }
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return false;
        }
        let timeout = timespec(remaining);
        // SAFETY: FUTEX_WAIT on a live u32 in shared memory, with a stack timeout; it
        // returns at once unless the flag is still 0 (checked by the kernel atomically).
        unsafe {
            libc::syscall(
                libc::SYS_futex,
                valid.as_ptr(),
                libc::FUTEX_WAIT,
                0u32,
                &raw const timeout,
                std::ptr::null::<u32>(),
                0u32,
            );
        }
    }
}

/// # Safety
/// `record` must point into a live shared mapping of the record.
unsafe fn futex_wake(record: *mut Record) {
    // SAFETY: FUTEX_WAKE on a live u32; it only wakes waiters.
    unsafe {
        libc::syscall(
            libc::SYS_futex,
            (&raw mut (*record).valid),
            libc::FUTEX_WAKE,
            libc::c_int::MAX,
        );
    }
}

/// Reads name and value under the lock, bounded by the deadline.
///
/// # Safety
/// `record` must point into a live shared mapping of the record.
unsafe fn read_record(
    record: *mut Record,
    deadline: Instant,
) -> Result<(String, u64), ExperimentError> {
    // SAFETY (every unsafe call below): the record is live, as the contract says.
    let rc = unsafe { lock_until(record, deadline) };
    let Some(_held) = (unsafe { Held::taken(record, rc) }) else {
        return Err(ExperimentError::Sys {
            what: "the server locking the record to read it".into(),
            errno: Errno::from_raw(rc),
        });
    };
    let (len, name, value) = unsafe {
        (
            (&raw const (*record).name_len).read() as usize,
            (&raw const (*record).name).read(),
            (&raw const (*record).value).read(),
        )
    };
    let len = len.min(NAME_CAP);
    Ok((String::from_utf8_lossy(&name[..len]).into_owned(), value))
}

/// pthread_mutex_timedlock with an absolute CLOCK_REALTIME deadline, as POSIX defines it.
///
/// # Safety
/// `record` must point into a live shared mapping of the record.
unsafe fn lock_until(record: *mut Record, deadline: Instant) -> libc::c_int {
    let mut now = MaybeUninit::<libc::timespec>::uninit();
    // SAFETY: clock_gettime fills the stack value.
    if unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, now.as_mut_ptr()) } != 0 {
        return Errno::last_raw();
    }
    // SAFETY: clock_gettime succeeded, so it wrote the value.
    let now = unsafe { now.assume_init() };
    let remaining = timespec(deadline.saturating_duration_since(Instant::now()));
    let mut until = libc::timespec {
        tv_sec: now.tv_sec + remaining.tv_sec,
        tv_nsec: now.tv_nsec + remaining.tv_nsec,
    };
    if until.tv_nsec >= 1_000_000_000 {
        until.tv_sec += 1;
        until.tv_nsec -= 1_000_000_000;
    }
    // SAFETY: the lock is in the live record (the contract); `until` is on the stack.
    unsafe { libc::pthread_mutex_timedlock(&raw mut (*record).lock, &raw const until) }
}

/// The server holding the record's lock: unlocked on drop, also when an error or a panic
/// leaves early. Releasing it matters beyond the record: glibc links a held robust mutex
/// into the thread's list, and a list entry in memory unmapped later would make glibc's
/// next robust lock on this thread write to that memory.
struct Held {
    record: *mut Record,
}

impl Held {
    /// The guard, if `rc` (of a lock call) means we hold the lock: 0, or EOWNERDEAD.
    ///
    /// # Safety
    /// `record` must stay mapped while the guard lives.
    unsafe fn taken(record: *mut Record, rc: libc::c_int) -> Option<Held> {
        (rc == 0 || rc == libc::EOWNERDEAD).then_some(Held { record })
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        // SAFETY: we hold the lock, and the record is mapped (see `taken`).
        unsafe { libc::pthread_mutex_unlock(&raw mut (*self.record).lock) };
    }
}

/// # Safety
/// `record` must point into a live mapping of the record, for as long as the result is used.
unsafe fn valid_flag<'a>(record: *mut Record) -> &'a AtomicU32 {
    // SAFETY: the field is a u32, aligned for AtomicU32, and every process accesses it
    // atomically only.
    unsafe { AtomicU32::from_ptr(&raw mut (*record).valid) }
}

/// `yes` if the server's and the client's mappings show the same device and inode, and
/// those are the file's (fstat).
fn same_file(server: &SmapsRecord, client: &SmapsRecord, stat: &std::fs::Metadata) -> OutcomeValue {
    let id = |r: &SmapsRecord| (r.vma.device.major, r.vma.device.minor, r.vma.inode);
    let file = (libc::major(stat.dev()), libc::minor(stat.dev()), stat.ino());
    OutcomeValue::text(if id(server) == file && id(client) == file {
        "yes".into()
    } else {
        format!(
            "no: server maps {:?}, client maps {:?}, the file is {file:?} (major, minor, inode)",
            id(server),
            id(client)
        )
    })
}

/// What a pthread call returned: 0, or its error number.
fn call(rc: libc::c_int) -> Result<(), Errno> {
    if rc == 0 {
        Ok(())
    } else {
        Err(Errno::from_raw(rc))
    }
}

/// nix converts for us: the width of `time_t` differs between libcs (and musl versions).
fn timespec(duration: Duration) -> libc::timespec {
    *nix::sys::time::TimeSpec::from(duration).as_ref()
}
