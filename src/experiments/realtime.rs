//! Lesson `realtime`: memory that never faults. mlock of a range, mlockall in a child,
//! MAP_POPULATE, RLIMIT_MEMLOCK with and without CAP_IPC_LOCK, and a thread's stack used
//! fresh and prefaulted.

use crate::Bytes;
use crate::experiment::{Experiment, ExperimentError, Lab, Observation, OutcomeValue, Subject};
use crate::experiments::support::writing_faults;
use crate::kernel::probe::MemlockLimit;
use crate::kernel::vmstat;
use crate::memory::child::{commands, reply};
use crate::memory::counters::{Faults, minor_faults_during, resident_pages};
use crate::memory::{Child, Mapped, Mapping, MappingError};
use nix::errno::Errno;
use nix::sys::mman::{MapFlags, MmapAdvise, ProtFlags, mlock, munlock};
use nix::unistd::{Pid, getpid};
use std::mem::MaybeUninit;
use std::num::NonZeroUsize;
use std::ptr::NonNull;

/// Pages of the ranges that are locked or populated.
const PAGES: usize = 16;
/// The RLIMIT_MEMLOCK the child sets for itself, in pages.
const LIMIT_PAGES: usize = 4;
/// How deep into its stack a thread reaches: a whole number of pages of any size up to
/// 256 kB, so that the count of stack pages it needs does not depend on rounding.
const STACK_DEPTH: usize = 256 * 1024;
/// The thread's whole stack: the depth, plus room for glibc's thread descriptor and TLS at
/// its top and the frames above the deep one.
const STACK_LEN: usize = 4 * STACK_DEPTH;

crate::experiment::declare! {
    experiment: Realtime, id: "realtime", forks: true;
    steps {
        "locked": "after mlock() of 16 pages nobody had touched",
        "forked-while-locked": "after fork(), while the child lives, the parent wrote its locked pages again",
        "unlocked": "after munlock() of the same 16 pages",
        "mlockall": "in a child, after mlockall(MCL_CURRENT | MCL_FUTURE) and then one more mmap()",
        "munlockall": "in the same child, after munlockall()",
        "populated": "after mmap() of 16 pages with MAP_POPULATE",
        "limit-lowered": "in a child that lowered its own RLIMIT_MEMLOCK to 4 pages",
        "capability-dropped": "in the same child, after it dropped CAP_IPC_LOCK from its effective set",
        "fresh-stack": "after a new thread reached 256 kB deep into its untouched stack",
        "prefaulted-stack": "after a thread that had reached 256 kB deep once did it again",
    }
    subjects {
        LOCKED = "locked",
        EXISTING = "existing",
        NEW = "new",
        POPULATED = "populated",
        WITHIN_LIMIT = "within-limit",
    }
    outcomes {
        FAULTS_WRITING = count "minor faults writing every page",
        FAULTS_AFTER_FORK = count "minor faults writing every locked page after fork",
        DONTNEED_LOCKED = call "madvise(MADV_DONTNEED) on the locked pages",
        MLOCKALL = call "mlockall(MCL_CURRENT | MCL_FUTURE)",
        LOCK_LIMIT = call "mlock of as much as the limit",
        LOCK_TWICE = call "mlock of twice the limit",
        DROP_CAPABILITY = call "dropping CAP_IPC_LOCK",
        CAPABILITY_HELD = text "CAP_IPC_LOCK in the effective set",
        LOCK_ZERO = call "mlock with a limit of 0",
        STACK_FAULTS = count "minor faults",
        STACK_RESIDENT = count "stack pages made resident",
        FAULTS_PER_PAGE = ratio "minor faults per stack page made resident",
    }
}

/// How often [`undisturbed`] measures at most.
const ATTEMPTS: usize = 4;

/// A fault count of `measure`, taken again (with its setup: the fork too) while something
/// outside the lesson added faults to it: the thread was switched out (after a fork, the
/// kernel's write to its rseq area on the way back is a copy-on-write fault: 1 run in 400
/// counted 17 faults for 16 pages, each time with a context switch), or pages were
/// migrated (a write to a page in the middle of its migration waits in a fault, and
/// compaction moves locked pages too: `vm.compact_unevictable_allowed`).
fn undisturbed<T>(
    mut measure: impl FnMut() -> Result<(Faults, T), ExperimentError>,
) -> Result<(u64, T), ExperimentError> {
    for _ in 1..ATTEMPTS {
        let migrated = vmstat::pages_migrated();
        let (faults, value) = measure()?;
        if !faults.switched && vmstat::pages_migrated() == migrated {
            return Ok((faults.minor, value));
        }
    }
    measure().map(|(faults, value)| (faults.minor, value))
}

commands! {
    /// The mlockall child's commands; each answers 0 or the errno of its call.
    enum MlockallCommand {
        /// mlockall(MCL_CURRENT | MCL_FUTURE).
        Mlockall,
        /// Map a new range over its copy of the slot (MAP_FIXED), after mlockall.
        MapNew,
        /// munlockall().
        Munlockall,
    }
}

commands! {
    /// The memlock child's commands; each answers 0 or the errno of the call that failed,
    /// except `CapQuery` (see there).
    enum MemlockCommand {
        /// Lower its soft RLIMIT_MEMLOCK to the limit.
        LowerLimit,
        /// mlock a range as long as the limit.
        LockWithin,
        /// mlock a range twice the limit.
        LockBeyond,
        /// Drop CAP_IPC_LOCK from its effective set.
        DropCap,
        /// Answers whether CAP_IPC_LOCK is in its effective set, with one of the bytes of
        /// [`cap_query`].
        CapQuery,
        /// Lower its soft limit to 0, then mlock one page.
        ZeroLimitLock,
    }
}

/// The answers to `MemlockCommand::CapQuery`: bytes back from the child, as those of
/// [`reply`] are, not commands.
mod cap_query {
    pub const NOT_HELD: u8 = 0;
    pub const HELD: u8 = 1;
    pub const CAPGET_FAILED: u8 = 2;
}

/// include/uapi/linux/capability.h: version 3 takes two 32-bit data words per set.
const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
const CAP_IPC_LOCK: u32 = 14;

impl Experiment for Realtime {
    fn run(&self, lab: &mut Lab<'_>) -> Result<(), ExperimentError> {
        let page = lab.probe.page_size.as_usize();
        locked(lab, page)?;
        mlockall_in_child(lab, page)?;
        populated(lab, page)?;
        memlock_limit(lab, page)?;
        stack(lab, page)
    }
}

/// Why this process's RLIMIT_MEMLOCK rules out `what` `count` pages, as `asks` (a question
/// of [`MemlockLimit`]) answers it of their size, or `None`: the steps that need them are
/// then impossible here, not failed.
fn memlock_bars(
    lab: &Lab<'_>,
    what: &str,
    count: usize,
    asks: fn(&MemlockLimit, Bytes) -> Option<String>,
) -> Option<String> {
    let why = asks(&lab.probe.memlock, lab.probe.page_size * count as u64)?;
    Some(format!("{what} {count} pages: {why}"))
}

/// mlock in this process: only its own range is locked, and unlocked before the step ends.
fn locked(lab: &mut Lab<'_>, page: usize) -> Result<(), ExperimentError> {
    if let Some(why) = memlock_bars(lab, "mlock() of", PAGES, MemlockLimit::refuses) {
        return lab.impossible_through("unlocked", &why);
    }
    let mapping = pages(PAGES, page, MapFlags::empty())?;
    let (ptr, len) = (start(&mapping), mapping.mapped_len());
    // SAFETY: locking our own mapping changes no contents.
    unsafe { mlock(ptr, len) }.map_err(ExperimentError::sys("mlock of our own 16 pages"))?;
    // Taken before anything touches the pages: mlock alone made them resident.
    let record = Subject::of(LOCKED, getpid(), &mapping)?;
    // MADV_DONTNEED would only zero our own pages; on a locked range it must refuse.
    let dontneed = match mapping.advise(MmapAdvise::MADV_DONTNEED) {
        Ok(()) => Ok(()),
        Err(MappingError::Madvise { errno, .. }) => Err(errno),
        Err(e) => return Err(e.into()),
    };
    let (faults, ()) = undisturbed(|| Ok((writing_faults(&mapping)?, ())))?;
    lab.step(
        "locked",
        Observation::of([record]).with([
            (FAULTS_WRITING, OutcomeValue::count(faults)),
            (DONTNEED_LOCKED, dontneed.into()),
        ]),
    )?;
    // A child shares every private page copy-on-write, locked ones too: the parent's next
    // write to each is a fault that copies it, lock or no lock. The child only waits.
    let (faults, record) = undisturbed(|| {
        let child = Child::waiting()?;
        let faults = writing_faults(&mapping)?;
        let record = Subject::of(LOCKED, getpid(), &mapping)?;
        child.finish()?;
        Ok((faults, record))
    })?;
    lab.step(
        "forked-while-locked",
        Observation::of([record]).with([(FAULTS_AFTER_FORK, OutcomeValue::count(faults))]),
    )?;
    // SAFETY: as for mlock.
    unsafe { munlock(ptr, len) }.map_err(ExperimentError::sys("munlock of our own 16 pages"))?;
    lab.step(
        "unlocked",
        Observation::of([Subject::of(LOCKED, getpid(), &mapping)?]),
    )
}

/// mlockall locks the whole process, and the test harness runs tests as threads of one
/// process: a child does it, on its copies of mappings the parent made before fork.
/// MCL_CURRENT faults in everything the child inherited, writable private memory as private
/// copies: a few megabytes for a test process. Where every experiment shares one process
/// (`pagelab check`, tests/all_lessons.rs) they run one after the other, so no other
/// lesson's large mapping (lazy-allocation maps up to a quarter of RAM) is alive at this point.
fn mlockall_in_child(lab: &mut Lab<'_>, page: usize) -> Result<(), ExperimentError> {
    let existing = pages(PAGES, page, MapFlags::empty())?;
    // The child maps its new range exactly here (MAP_FIXED over its copy), between this
    // mapping's guard pages: the parent then knows where to look, and the child, which may
    // not allocate or print, need not report an address.
    let slot = pages(PAGES, page, MapFlags::empty())?;
    let (new_addr, new_len) = (slot.addr(), slot.mapped_len());
    let mut child = Child::spawn(move |command| match command {
        // SAFETY: a plain system call.
        MlockallCommand::Mlockall => {
            reply::status(unsafe { libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE) })
        }
        MlockallCommand::MapNew => {
            // SAFETY: MAP_FIXED replaces only the child's copy of `slot`.
            let placed = unsafe {
                libc::mmap(
                    new_addr as *mut libc::c_void,
                    new_len,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                    -1,
                    0,
                )
            };
            if placed == libc::MAP_FAILED {
                reply::errno()
            } else {
                0
            }
        }
        // SAFETY: a plain system call.
        MlockallCommand::Munlockall => reply::status(unsafe { libc::munlockall() }),
    })?;
    let pid = child.pid();
    let locked_all = child.call(MlockallCommand::Mlockall)?;
    child
        .call(MlockallCommand::MapNew)?
        .map_err(ExperimentError::sys(
            "mmap(MAP_FIXED) of a new range in the child, after mlockall",
        ))?;
    let both = |child_pid: Pid| -> Result<Vec<Subject>, ExperimentError> {
        Ok(vec![
            Subject::of(EXISTING, child_pid, &existing)?,
            Subject::of(NEW, child_pid, &slot)?,
        ])
    };
    lab.step(
        "mlockall",
        Observation::of(both(pid)?).with([(MLOCKALL, locked_all.into())]),
    )?;
    child
        .call(MlockallCommand::Munlockall)?
        .map_err(ExperimentError::sys("munlockall in the child"))?;
    let subjects = both(pid)?;
    child.finish()?;
    lab.step("munlockall", Observation::of(subjects))
}

fn populated(lab: &mut Lab<'_>, page: usize) -> Result<(), ExperimentError> {
    // MADV_NOHUGEPAGE would come too late: MAP_POPULATE faults everything in inside mmap.
    // 16 pages are too few for a PMD-sized huge page, and Rss counts the same either way.
    let mapping = Mapping::anonymous_isolated(
        NonZeroUsize::new(PAGES * page).expect("not zero"),
        ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
        MapFlags::MAP_PRIVATE | MapFlags::MAP_POPULATE,
    )?;
    let record = Subject::of(POPULATED, getpid(), &mapping)?;
    let faults = writing_faults(&mapping)?.minor;
    lab.step(
        "populated",
        Observation::of([record]).with([(FAULTS_WRITING, OutcomeValue::count(faults))]),
    )
}

/// RLIMIT_MEMLOCK is per process and the capability per thread: a child lowers its own
/// limit and drops CAP_IPC_LOCK, so this process keeps both.
fn memlock_limit(lab: &mut Lab<'_>, page: usize) -> Result<(), ExperimentError> {
    let limit = LIMIT_PAGES * page;
    if let Some(why) = memlock_bars(
        lab,
        "a limit of",
        LIMIT_PAGES,
        MemlockLimit::cannot_lower_to,
    ) {
        return lab.impossible_through("capability-dropped", &why);
    }
    let within = pages(LIMIT_PAGES, page, MapFlags::empty())?;
    let beyond = pages(2 * LIMIT_PAGES, page, MapFlags::empty())?;
    let (within_addr, beyond_addr) = (within.addr(), beyond.addr());
    let mut child = Child::spawn(move |command| {
        let lock = |addr: usize, len: usize| {
            // SAFETY (both): plain system calls on the child's copies of our mappings. Each
            // attempt stands alone: what an earlier one locked must not count.
            unsafe { libc::munlockall() };
            reply::status(unsafe { libc::mlock(addr as *const libc::c_void, len) })
        };
        match command {
            MemlockCommand::LowerLimit => set_memlock_soft_limit(limit as libc::rlim_t),
            MemlockCommand::LockWithin => lock(within_addr, limit),
            MemlockCommand::LockBeyond => lock(beyond_addr, 2 * limit),
            MemlockCommand::DropCap => drop_cap_ipc_lock(),
            MemlockCommand::CapQuery => match effective_capabilities() {
                Some(effective) if effective & (1 << CAP_IPC_LOCK) != 0 => cap_query::HELD,
                Some(_) => cap_query::NOT_HELD,
                None => cap_query::CAPGET_FAILED,
            },
            MemlockCommand::ZeroLimitLock => match set_memlock_soft_limit(0) {
                0 => lock(within_addr, page),
                failed => failed,
            },
        }
    })?;
    let pid = child.pid();
    child
        .call(MemlockCommand::LowerLimit)?
        .map_err(ExperimentError::sys(
            "setrlimit(RLIMIT_MEMLOCK) in the child",
        ))?;
    let within_locked = child.call(MemlockCommand::LockWithin)?;
    let within_view = Subject::of(WITHIN_LIMIT, pid, &within)?;
    let beyond_locked = child.call(MemlockCommand::LockBeyond)?;
    lab.step(
        "limit-lowered",
        Observation::of([within_view]).with([
            (LOCK_LIMIT, within_locked.into()),
            (LOCK_TWICE, beyond_locked.into()),
        ]),
    )?;

    let dropped = child.call(MemlockCommand::DropCap)?;
    let held = match child.ask(MemlockCommand::CapQuery)? {
        cap_query::NOT_HELD => "no",
        cap_query::HELD => "yes",
        _ => "unknown: capget failed",
    };
    let beyond_locked = child.call(MemlockCommand::LockBeyond)?;
    let zero_locked = child.call(MemlockCommand::ZeroLimitLock)?;
    child.finish()?;
    lab.step(
        "capability-dropped",
        Observation::outcomes([
            (DROP_CAPABILITY, dropped.into()),
            (CAPABILITY_HELD, OutcomeValue::text(held)),
            (LOCK_TWICE, beyond_locked.into()),
            (LOCK_ZERO, zero_locked.into()),
        ]),
    )
}

/// Sets the soft RLIMIT_MEMLOCK, keeping the hard one: plain system calls, async-signal-safe.
fn set_memlock_soft_limit(soft: libc::rlim_t) -> u8 {
    let mut limits = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: the structure is ours, on the stack.
    if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut limits) } != 0 {
        return reply::errno();
    }
    limits.rlim_cur = soft;
    // SAFETY: as above.
    reply::status(unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &limits) })
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: libc::c_int,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// The calling thread's capability sets, by the raw capget system call (no allocation).
fn capabilities() -> Result<(CapHeader, [CapData; 2]), u8> {
    let mut header = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let mut data = [CapData {
        effective: 0,
        permitted: 0,
        inheritable: 0,
    }; 2];
    // SAFETY: header and data are ours and of the layout version 3 describes.
    let rc = unsafe { libc::syscall(libc::SYS_capget, &raw mut header, data.as_mut_ptr()) };
    if rc == 0 {
        Ok((header, data))
    } else {
        Err(reply::errno())
    }
}

/// The low 32 capabilities of the effective set (CAP_IPC_LOCK is among them).
fn effective_capabilities() -> Option<u32> {
    capabilities().ok().map(|(_, data)| data[0].effective)
}

/// Clears CAP_IPC_LOCK from the effective set only: the kernel always lets a thread lower
/// its own effective set, unless a seccomp filter or a security module forbids capset.
fn drop_cap_ipc_lock() -> u8 {
    match capabilities() {
        Ok((mut header, mut data)) => {
            data[0].effective &= !(1 << CAP_IPC_LOCK);
            // SAFETY: as in `capabilities`.
            let rc = unsafe { libc::syscall(libc::SYS_capset, &raw mut header, data.as_ptr()) };
            if rc == 0 { 0 } else { reply::errno() }
        }
        Err(errno) => errno,
    }
}

/// What one thread measures about its own stack while it reaches STACK_DEPTH into it.
struct StackRun {
    page: usize,
    /// Reach the depth once before measuring, as a realtime thread prefaults its stack.
    prefault: bool,
    stack_addr: usize,
    stack_len: usize,
    /// One byte a page of the stack, for mincore; allocated before the thread starts.
    residency: Vec<u8>,
    faults: Result<u64, Errno>,
    made_resident: Result<usize, Errno>,
}

/// Each run gets a stack mapping of its own, new and untouched. A thread from
/// `std::thread` would not do: glibc caches the stacks of finished threads and hands them
/// to new ones, so a "new" stack may already be resident.
fn stack(lab: &mut Lab<'_>, page: usize) -> Result<(), ExperimentError> {
    // Once here, on this thread's own stack, so that the instructions of the deep call are
    // mapped before the fresh thread counts its faults: a first run can fault on its own
    // code (a guest once counted 65 faults for 64 new stack pages).
    reach_deep_into_stack(page);
    let (faults, resident) = run_on_own_stack(page, false)?.counts()?;
    let per_page = (FAULTS_PER_PAGE, OutcomeValue::Ratio(faults, resident));
    lab.step(
        "fresh-stack",
        stack_outcomes(faults, resident).with([per_page]),
    )?;
    let (faults, resident) = run_on_own_stack(page, true)?.counts()?;
    lab.step("prefaulted-stack", stack_outcomes(faults, resident))
}

/// What both stack steps report: the faults the thread took and the stack pages it made
/// resident.
fn stack_outcomes(faults: u64, resident: u64) -> Observation {
    Observation::outcomes([
        (STACK_FAULTS, OutcomeValue::count(faults)),
        (STACK_RESIDENT, OutcomeValue::count(resident)),
    ])
}

impl StackRun {
    /// The faults the thread counted and the stack pages it saw made resident.
    fn counts(&self) -> Result<(u64, u64), ExperimentError> {
        let faults = self.faults.map_err(ExperimentError::sys(
            "getrusage(RUSAGE_THREAD) in the stack thread",
        ))?;
        let resident = self.made_resident.map_err(ExperimentError::sys(
            "mincore of the stack in the stack thread",
        ))?;
        Ok((faults, resident as u64))
    }
}

fn run_on_own_stack(page: usize, prefault: bool) -> Result<StackRun, ExperimentError> {
    // Base pages, so that each page of stack is one fault however THP is configured.
    let len = NonZeroUsize::new(STACK_LEN).expect("a stack is not empty");
    let stack = Mapping::base_pages(len, MapFlags::MAP_STACK)?;
    let mut run = StackRun {
        page,
        prefault,
        stack_addr: stack.addr(),
        stack_len: stack.mapped_len(),
        residency: vec![0; stack.mapped_len() / page],
        faults: Err(Errno::UnknownErrno),
        made_resident: Err(Errno::UnknownErrno),
    };
    run_thread_on(&stack, &mut run)?;
    drop(stack);
    Ok(run)
}

/// The error of a pthread call, which returns its errno rather than setting it.
fn pthread(what: &'static str) -> impl Fn(libc::c_int) -> ExperimentError {
    move |rc| ExperimentError::Sys {
        what: format!("{what} for a thread on a stack of our own"),
        errno: Errno::from_raw(rc),
    }
}

/// Runs [`stack_thread`] on `stack` with `run` as its argument, and joins it.
fn run_thread_on(stack: &Mapping, run: &mut StackRun) -> Result<(), ExperimentError> {
    let mut attr = MaybeUninit::<libc::pthread_attr_t>::uninit();
    // SAFETY: initialises the attribute object on our stack.
    check_rc(unsafe { libc::pthread_attr_init(attr.as_mut_ptr()) })
        .map_err(pthread("pthread_attr_init"))?;
    let created = start_thread(&mut attr, stack, run);
    // SAFETY: initialised above and destroyed once; a created thread no longer needs it.
    unsafe { libc::pthread_attr_destroy(attr.as_mut_ptr()) };
    let thread = created?;
    // SAFETY: a thread we created and have not joined yet.
    check_rc(unsafe { libc::pthread_join(thread, std::ptr::null_mut()) })
        .map_err(pthread("pthread_join"))
}

/// Starts the thread; the caller joins it before `stack` or `run` go away.
fn start_thread(
    attr: &mut MaybeUninit<libc::pthread_attr_t>,
    stack: &Mapping,
    run: &mut StackRun,
) -> Result<libc::pthread_t, ExperimentError> {
    // SAFETY: the attribute object is initialised; the mapping outlives the thread.
    check_rc(unsafe {
        libc::pthread_attr_setstack(attr.as_mut_ptr(), stack.as_ptr().cast(), stack.mapped_len())
    })
    .map_err(pthread("pthread_attr_setstack"))?;
    // pthread_t is an integer in glibc and a pointer in musl: let pthread_create write it
    // rather than spelling an initial value.
    let mut thread = MaybeUninit::<libc::pthread_t>::uninit();
    let arg: *mut StackRun = run;
    // SAFETY: `run` is touched only by the new thread until the caller has joined it.
    check_rc(unsafe {
        libc::pthread_create(thread.as_mut_ptr(), attr.as_ptr(), stack_thread, arg.cast())
    })
    .map_err(pthread("pthread_create"))?;
    // SAFETY: pthread_create succeeded, so it wrote the thread's id.
    Ok(unsafe { thread.assume_init() })
}

fn check_rc(rc: libc::c_int) -> Result<(), libc::c_int> {
    if rc == 0 { Ok(()) } else { Err(rc) }
}

/// The thread's body. It must not unwind out of an `extern "C"` function, so it only
/// makes system calls and stores their results.
extern "C" fn stack_thread(arg: *mut libc::c_void) -> *mut libc::c_void {
    // SAFETY: `arg` is the StackRun the creating thread keeps alive and leaves alone until
    // it has joined this thread.
    let run = unsafe { &mut *arg.cast::<StackRun>() };
    if run.prefault {
        // The prefaulting call goes through `measure` too, so that it starts exactly as deep
        // in the stack as the measured one: called from here directly, it starts above the
        // frames of `measure` and its closure, reaches as much less deep, and the measured
        // call can find one page it never touched (x86-64 guests counted 1 fault and 1 page).
        let _ = measure(run, reach_deep_into_stack);
    }
    // Once with nothing to touch: the measuring calls' own frames use stack pages too, and
    // whether one of them is new depends on how the compiler laid out the frames (a 6.12
    // guest once counted 63 faults for 64 new pages). Afterwards they are resident.
    let _ = measure(run, touch_nothing);
    let (faults, made_resident) = measure(run, reach_deep_into_stack);
    run.faults = faults;
    run.made_resident = made_resident;
    std::ptr::null_mut()
}

/// This thread's minor faults and the stack pages made resident while `touch` ran. The fault
/// count encloses the residency count, so a page made resident in between is a fault
/// counted; with the frames of this function and its calls already resident, a fault
/// counted is a page made resident.
#[inline(never)]
fn measure(run: &mut StackRun, touch: fn(usize)) -> (Result<u64, Errno>, Result<usize, Errno>) {
    let (addr, len, page) = (run.stack_addr, run.stack_len, run.page);
    let mut before = Err(Errno::UnknownErrno);
    let mut after = Err(Errno::UnknownErrno);
    let faults = minor_faults_during(|| {
        before = resident_pages(addr, len, &mut run.residency);
        touch(page);
        after = resident_pages(addr, len, &mut run.residency);
    });
    let made_resident = before.and_then(|b| after.map(|a| a.saturating_sub(b)));
    (faults, made_resident)
}

fn touch_nothing(_page: usize) {}

/// Uses STACK_DEPTH bytes of stack: a local array, one byte written per page (the
/// compiler's stack probes touch the frame page by page on entry, as they must).
#[inline(never)]
fn reach_deep_into_stack(page: usize) {
    let mut frame = MaybeUninit::<[u8; STACK_DEPTH]>::uninit();
    let base = frame.as_mut_ptr().cast::<u8>();
    for offset in (0..STACK_DEPTH).step_by(page) {
        // SAFETY: the offset lies inside the local array.
        unsafe { base.add(offset).write_volatile(1) };
    }
    std::hint::black_box(&frame);
}

/// An isolated mapping of `n` base pages (THP kept out), so each page is one fault.
fn pages(n: usize, page: usize, flags: MapFlags) -> Result<Mapping, ExperimentError> {
    let len = NonZeroUsize::new(n * page).expect("pages are not empty");
    Ok(Mapping::base_pages(len, flags)?)
}

fn start(mapping: &Mapping) -> NonNull<libc::c_void> {
    NonNull::new(mapping.as_ptr().cast()).expect("mapped")
}
