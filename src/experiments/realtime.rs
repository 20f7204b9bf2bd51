//! Lesson `realtime`: memory that never faults. mlock of a range, mlockall in a child,
//! MAP_POPULATE, RLIMIT_MEMLOCK with and without CAP_IPC_LOCK, and a thread's stack used
//! fresh and prefaulted.

use crate::experiment::{Experiment, ExperimentError, Lab, Observation, Step, Subject, Vocabulary};
use crate::experiments::pages::result_word;
use crate::kernel::procfs::Proc;
use crate::memory::{Child, Mapping};
use nix::errno::Errno;
use nix::sys::mman::{MapFlags, MmapAdvise, ProtFlags, madvise, mlock, munlock};
use nix::sys::resource::{UsageWho, getrusage};
use nix::unistd::{Pid, getpid};
use std::mem::MaybeUninit;
use std::num::NonZeroUsize;
use std::ptr::NonNull;

pub struct Realtime;

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

const STEPS: &[Step] = &[
    Step {
        id: "locked",
        title: "after mlock() of 16 pages nobody had touched",
    },
    Step {
        id: "unlocked",
        title: "after munlock() of the same 16 pages",
    },
    Step {
        id: "mlockall",
        title: "in a child, after mlockall(MCL_CURRENT | MCL_FUTURE) and then one more mmap()",
    },
    Step {
        id: "munlockall",
        title: "in the same child, after munlockall()",
    },
    Step {
        id: "populated",
        title: "after mmap() of 16 pages with MAP_POPULATE",
    },
    Step {
        id: "limit-lowered",
        title: "in a child that lowered its own RLIMIT_MEMLOCK to 4 pages",
    },
    Step {
        id: "capability-dropped",
        title: "in the same child, after it dropped CAP_IPC_LOCK from its effective set",
    },
    Step {
        id: "fresh-stack",
        title: "after a new thread reached 256 kB deep into its untouched stack",
    },
    Step {
        id: "prefaulted-stack",
        title: "after a thread that had reached 256 kB deep once did it again",
    },
];

const FAULTS_WRITING: &str = "minor faults writing every page";
const DONTNEED_LOCKED: &str = "madvise(MADV_DONTNEED) on the locked pages";
const MLOCKALL: &str = "mlockall(MCL_CURRENT | MCL_FUTURE)";
const LOCK_LIMIT: &str = "mlock of as much as the limit";
const LOCK_TWICE: &str = "mlock of twice the limit";
const DROP_CAPABILITY: &str = "dropping CAP_IPC_LOCK";
const CAPABILITY_HELD: &str = "CAP_IPC_LOCK in the effective set";
const LOCK_ZERO: &str = "mlock with a limit of 0";
const STACK_FAULTS: &str = "minor faults";
const STACK_RESIDENT: &str = "stack pages made resident";
const FAULTS_PER_PAGE: &str = "minor faults per stack page made resident";

/// The mlockall child's commands; each answers 0 or the errno of its call.
const MLOCKALL_CMD: u8 = 1;
const MAP_NEW: u8 = 2;
const MUNLOCKALL: u8 = 3;

/// The memlock child's commands; each answers 0 or the errno of the call that failed,
/// except CAP_QUERY (see there).
const LOWER_LIMIT: u8 = 1;
const LOCK_WITHIN: u8 = 2;
const LOCK_BEYOND: u8 = 3;
const DROP_CAP: u8 = 4;
/// Answers 1 if CAP_IPC_LOCK is in the effective set, 0 if not, u8::MAX if capget failed.
const CAP_QUERY: u8 = 5;
const ZERO_LIMIT_LOCK: u8 = 6;

/// include/uapi/linux/capability.h: version 3 takes two 32-bit data words per set.
const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
const CAP_IPC_LOCK: u32 = 14;

impl Experiment for Realtime {
    fn id(&self) -> &'static str {
        "realtime"
    }

    fn vocabulary(&self) -> Vocabulary {
        Vocabulary {
            steps: STEPS,
            subjects: &["locked", "existing", "new", "populated", "within-limit"],
            outcomes: &[
                FAULTS_WRITING,
                DONTNEED_LOCKED,
                MLOCKALL,
                LOCK_LIMIT,
                LOCK_TWICE,
                DROP_CAPABILITY,
                CAPABILITY_HELD,
                LOCK_ZERO,
                STACK_FAULTS,
                STACK_RESIDENT,
                FAULTS_PER_PAGE,
            ],
        }
    }

    fn run(&self, lab: &mut Lab<'_>) -> Result<(), ExperimentError> {
        let page = lab.probe.page_size.as_usize();
        let has_thp = lab.probe.thp.is_some();
        locked(lab, page, has_thp)?;
        mlockall_in_child(lab, page, has_thp)?;
        populated(lab, page)?;
        memlock_limit(lab, page, has_thp)?;
        stack(lab, page, has_thp)
    }
}

/// mlock in this process: only its own range is locked, and unlocked before the step ends.
fn locked(lab: &mut Lab<'_>, page: usize, has_thp: bool) -> Result<(), ExperimentError> {
    if let Some(why) = lab
        .probe
        .memlock
        .refuses(lab.probe.page_size * PAGES as u64)
    {
        let why = format!("mlock() of {PAGES} pages: {why}");
        lab.impossible("locked", why.clone())?;
        return lab.impossible("unlocked", why);
    }
    let mapping = base_page_mapping(PAGES * page, MapFlags::MAP_PRIVATE, has_thp)?;
    let ptr = start(&mapping);
    // SAFETY: locking our own mapping changes no contents.
    unsafe { mlock(ptr, mapping.mapped_len()) }.map_err(sys("mlock of our own 16 pages"))?;
    // Taken before anything touches the pages: mlock alone made them resident.
    let record = mapping.smaps(Proc::SelfProcess)?;
    // SAFETY: MADV_DONTNEED would only zero our own pages; on a locked range it must refuse.
    let dontneed = unsafe { madvise(ptr, mapping.mapped_len(), MmapAdvise::MADV_DONTNEED) };
    let faults = count_minor_faults(|| write_every_page(&mapping, page))?;
    lab.step(
        "locked",
        Observation {
            subjects: vec![Subject::plain("locked", getpid(), record)],
            outcomes: vec![
                (FAULTS_WRITING, faults.to_string()),
                (DONTNEED_LOCKED, result_word(dontneed)),
            ],
        },
    )?;
    // SAFETY: as for mlock.
    unsafe { munlock(ptr, mapping.mapped_len()) }.map_err(sys("munlock of our own 16 pages"))?;
    lab.step("unlocked", one(view("locked", getpid(), &mapping)?))
}

/// mlockall locks the whole process, and the test harness runs tests as threads of one
/// process: a child does it, on its copies of mappings the parent made before fork.
/// MCL_CURRENT faults in everything the child inherited, writable private memory as private
/// copies: a few megabytes for a test process. Where every experiment shares one process
/// (`pagelab check`, tests/all_lessons.rs) they run one after the other, so no other
/// lesson's large mapping (lazy-allocation maps a quarter of RAM) is alive at this point.
fn mlockall_in_child(lab: &mut Lab<'_>, page: usize, has_thp: bool) -> Result<(), ExperimentError> {
    let private = MapFlags::MAP_PRIVATE;
    let existing = base_page_mapping(PAGES * page, private, has_thp)?;
    // The child maps its new range exactly here (MAP_FIXED over its copy), between this
    // mapping's guard pages: the parent then knows where to look, and the child, which may
    // not allocate or print, need not report an address.
    let slot = base_page_mapping(PAGES * page, private, has_thp)?;
    let (new_addr, new_len) = (slot.addr(), slot.mapped_len());
    let mut child = Child::spawn(move |command| {
        // SAFETY: plain system calls; MAP_FIXED replaces only the child's copy of `slot`.
        unsafe {
            match command {
                MLOCKALL_CMD => status(libc::mlockall(libc::MCL_CURRENT | libc::MCL_FUTURE)),
                MAP_NEW => {
                    let placed = libc::mmap(
                        new_addr as *mut libc::c_void,
                        new_len,
                        libc::PROT_READ | libc::PROT_WRITE,
                        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED,
                        -1,
                        0,
                    );
                    if placed == libc::MAP_FAILED {
                        errno_byte()
                    } else {
                        0
                    }
                }
                MUNLOCKALL => status(libc::munlockall()),
                _ => u8::MAX,
            }
        }
    })?;
    let pid = child.pid();
    let locked_all = child.ask(MLOCKALL_CMD)?;
    expect_ok(
        child.ask(MAP_NEW)?,
        "mmap(MAP_FIXED) of a new range in the child, after mlockall",
    )?;
    let both = |child_pid: Pid| -> Result<Vec<Subject>, ExperimentError> {
        Ok(vec![
            view("existing", child_pid, &existing)?,
            view("new", child_pid, &slot)?,
        ])
    };
    lab.step(
        "mlockall",
        Observation {
            subjects: both(pid)?,
            outcomes: vec![(MLOCKALL, answer_word(locked_all))],
        },
    )?;
    expect_ok(child.ask(MUNLOCKALL)?, "munlockall in the child")?;
    let subjects = both(pid)?;
    child.finish()?;
    lab.step(
        "munlockall",
        Observation {
            subjects,
            outcomes: vec![],
        },
    )
}

fn populated(lab: &mut Lab<'_>, page: usize) -> Result<(), ExperimentError> {
    // MADV_NOHUGEPAGE would come too late: MAP_POPULATE faults everything in inside mmap.
    // 16 pages are too few for a PMD-sized huge page, and Rss counts the same either way.
    let mapping = Mapping::anonymous_isolated(
        NonZeroUsize::new(PAGES * page).expect("not zero"),
        ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
        MapFlags::MAP_PRIVATE | MapFlags::MAP_POPULATE,
    )?;
    let record = mapping.smaps(Proc::SelfProcess)?;
    let faults = count_minor_faults(|| write_every_page(&mapping, page))?;
    lab.step(
        "populated",
        Observation {
            subjects: vec![Subject::plain("populated", getpid(), record)],
            outcomes: vec![(FAULTS_WRITING, faults.to_string())],
        },
    )
}

/// RLIMIT_MEMLOCK is per process and the capability per thread: a child lowers its own
/// limit and drops CAP_IPC_LOCK, so this process keeps both.
fn memlock_limit(lab: &mut Lab<'_>, page: usize, has_thp: bool) -> Result<(), ExperimentError> {
    let limit = LIMIT_PAGES * page;
    if let Some(why) = lab
        .probe
        .memlock
        .cannot_lower_to(lab.probe.page_size * LIMIT_PAGES as u64)
    {
        let why = format!("a limit of {LIMIT_PAGES} pages: {why}");
        lab.impossible("limit-lowered", why.clone())?;
        return lab.impossible("capability-dropped", why);
    }
    let within = base_page_mapping(limit, MapFlags::MAP_PRIVATE, has_thp)?;
    let beyond = base_page_mapping(2 * limit, MapFlags::MAP_PRIVATE, has_thp)?;
    let (within_addr, beyond_addr) = (within.addr(), beyond.addr());
    let mut child = Child::spawn(move |command| {
        // SAFETY: plain system calls on the child's copies of the two mappings and on
        // structures on its stack.
        unsafe {
            let lock = |addr: usize, len: usize| {
                // Each attempt stands alone: what an earlier one locked must not count.
                libc::munlockall();
                status(libc::mlock(addr as *const libc::c_void, len))
            };
            match command {
                LOWER_LIMIT => set_memlock_soft_limit(limit as libc::rlim_t),
                LOCK_WITHIN => lock(within_addr, limit),
                LOCK_BEYOND => lock(beyond_addr, 2 * limit),
                DROP_CAP => drop_cap_ipc_lock(),
                CAP_QUERY => match effective_capabilities() {
                    Some(effective) => u8::from(effective & (1 << CAP_IPC_LOCK) != 0),
                    None => u8::MAX,
                },
                ZERO_LIMIT_LOCK => match set_memlock_soft_limit(0) {
                    0 => lock(within_addr, page),
                    failed => failed,
                },
                _ => u8::MAX,
            }
        }
    })?;
    let pid = child.pid();
    expect_ok(
        child.ask(LOWER_LIMIT)?,
        "setrlimit(RLIMIT_MEMLOCK) in the child",
    )?;
    let within_word = answer_word(child.ask(LOCK_WITHIN)?);
    let within_view = view("within-limit", pid, &within)?;
    let beyond_word = answer_word(child.ask(LOCK_BEYOND)?);
    lab.step(
        "limit-lowered",
        Observation {
            subjects: vec![within_view],
            outcomes: vec![(LOCK_LIMIT, within_word), (LOCK_TWICE, beyond_word)],
        },
    )?;

    let dropped = answer_word(child.ask(DROP_CAP)?);
    let held = match child.ask(CAP_QUERY)? {
        0 => "no".to_owned(),
        1 => "yes".to_owned(),
        _ => "unknown: capget failed".to_owned(),
    };
    let beyond_word = answer_word(child.ask(LOCK_BEYOND)?);
    let zero_word = answer_word(child.ask(ZERO_LIMIT_LOCK)?);
    child.finish()?;
    lab.step(
        "capability-dropped",
        Observation {
            subjects: vec![],
            outcomes: vec![
                (DROP_CAPABILITY, dropped),
                (CAPABILITY_HELD, held),
                (LOCK_TWICE, beyond_word),
                (LOCK_ZERO, zero_word),
            ],
        },
    )
}

/// # Safety
/// A plain system call; async-signal-safe.
unsafe fn set_memlock_soft_limit(soft: libc::rlim_t) -> u8 {
    let mut limits = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: the structure is ours, on the stack.
    if unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut limits) } != 0 {
        return errno_byte();
    }
    limits.rlim_cur = soft;
    // SAFETY: as above.
    status(unsafe { libc::setrlimit(libc::RLIMIT_MEMLOCK, &limits) })
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
        Err(errno_byte())
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
            if rc == 0 { 0 } else { errno_byte() }
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
fn stack(lab: &mut Lab<'_>, page: usize, has_thp: bool) -> Result<(), ExperimentError> {
    let fresh = run_on_own_stack(page, false, has_thp)?;
    let faults = fresh
        .faults
        .map_err(sys("getrusage(RUSAGE_THREAD) in the stack thread"))?;
    let resident = fresh
        .made_resident
        .map_err(sys("mincore of the stack in the stack thread"))?;
    lab.step(
        "fresh-stack",
        Observation {
            subjects: vec![],
            outcomes: vec![
                (STACK_FAULTS, faults.to_string()),
                (STACK_RESIDENT, resident.to_string()),
                (FAULTS_PER_PAGE, ratio(faults, resident)),
            ],
        },
    )?;
    let prefaulted = run_on_own_stack(page, true, has_thp)?;
    let faults = prefaulted
        .faults
        .map_err(sys("getrusage(RUSAGE_THREAD) in the stack thread"))?;
    let resident = prefaulted
        .made_resident
        .map_err(sys("mincore of the stack in the stack thread"))?;
    lab.step(
        "prefaulted-stack",
        Observation {
            subjects: vec![],
            outcomes: vec![
                (STACK_FAULTS, faults.to_string()),
                (STACK_RESIDENT, resident.to_string()),
            ],
        },
    )
}

/// `faults / pages` as exact text: `1`, or `65/64` where they differ.
fn ratio(faults: u64, pages: usize) -> String {
    let pages = pages as u64;
    match pages {
        0 => format!("{faults} faults, no page made resident"),
        _ if faults % pages == 0 => (faults / pages).to_string(),
        _ => format!("{faults}/{pages}"),
    }
}

fn run_on_own_stack(
    page: usize,
    prefault: bool,
    has_thp: bool,
) -> Result<StackRun, ExperimentError> {
    // Base pages, so that each page of stack is one fault however THP is configured.
    let stack = base_page_mapping(
        STACK_LEN,
        MapFlags::MAP_PRIVATE | MapFlags::MAP_STACK,
        has_thp,
    )?;
    let mut run = StackRun {
        page,
        prefault,
        stack_addr: stack.addr(),
        stack_len: stack.mapped_len(),
        residency: vec![0; stack.mapped_len() / page],
        faults: Err(Errno::UnknownErrno),
        made_resident: Err(Errno::UnknownErrno),
    };
    let pthread = |what: &'static str| {
        move |rc: libc::c_int| ExperimentError::Sys {
            what: format!("{what} for a thread on a stack of our own"),
            errno: Errno::from_raw(rc),
        }
    };
    let mut attr = MaybeUninit::<libc::pthread_attr_t>::uninit();
    // SAFETY: attr is initialised by pthread_attr_init before any other use and destroyed
    // once; the stack mapping outlives the thread (joined below); `run` is only touched by
    // the thread until it is joined.
    unsafe {
        check_rc(libc::pthread_attr_init(attr.as_mut_ptr()))
            .map_err(pthread("pthread_attr_init"))?;
        let created = check_rc(libc::pthread_attr_setstack(
            attr.as_mut_ptr(),
            stack.as_ptr().cast(),
            stack.mapped_len(),
        ))
        .map_err(pthread("pthread_attr_setstack"))
        .and_then(|()| {
            // pthread_t is an integer in glibc and a pointer in musl: let pthread_create
            // write it rather than spelling an initial value.
            let mut thread = MaybeUninit::<libc::pthread_t>::uninit();
            check_rc(libc::pthread_create(
                thread.as_mut_ptr(),
                attr.as_ptr(),
                stack_thread,
                (&raw mut run).cast(),
            ))
            .map_err(pthread("pthread_create"))
            .map(|()| thread.assume_init())
        });
        libc::pthread_attr_destroy(attr.as_mut_ptr());
        let thread = created?;
        check_rc(libc::pthread_join(thread, std::ptr::null_mut()))
            .map_err(pthread("pthread_join"))?;
    }
    drop(stack);
    Ok(run)
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
        reach_deep_into_stack(run.page);
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
    let minor = || getrusage(UsageWho::RUSAGE_THREAD).map(|u| u.minor_page_faults());
    let faults_before = minor();
    let before = resident_stack_pages(run);
    touch(run.page);
    let after = resident_stack_pages(run);
    let faults_after = minor();
    let faults =
        faults_before.and_then(|b| faults_after.map(|a| u64::try_from(a - b).unwrap_or(0)));
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

fn resident_stack_pages(run: &mut StackRun) -> Result<usize, Errno> {
    // SAFETY: the range is the thread's own stack mapping; the vector has a byte a page.
    let rc = unsafe {
        libc::mincore(
            run.stack_addr as *mut libc::c_void,
            run.stack_len,
            run.residency.as_mut_ptr(),
        )
    };
    if rc != 0 {
        return Err(Errno::last());
    }
    Ok(run.residency.iter().filter(|v| **v & 1 == 1).count())
}

/// Minor faults this thread took while `touch` ran; other threads' faults are not in it.
fn count_minor_faults_raw(touch: impl FnOnce()) -> Result<u64, Errno> {
    let before = getrusage(UsageWho::RUSAGE_THREAD)?.minor_page_faults();
    touch();
    let after = getrusage(UsageWho::RUSAGE_THREAD)?.minor_page_faults();
    Ok(u64::try_from(after - before).unwrap_or(0))
}

fn count_minor_faults(touch: impl FnOnce()) -> Result<u64, ExperimentError> {
    count_minor_faults_raw(touch).map_err(sys("getrusage(RUSAGE_THREAD)"))
}

fn write_every_page(mapping: &Mapping, page: usize) {
    for offset in (0..mapping.mapped_len()).step_by(page) {
        mapping.write_byte(offset, 1);
    }
}

/// An isolated mapping where THP is switched off, so each page is one base page.
fn base_page_mapping(
    len: usize,
    flags: MapFlags,
    has_thp: bool,
) -> Result<Mapping, ExperimentError> {
    let mapping = Mapping::anonymous_isolated(
        NonZeroUsize::new(len).expect("not zero"),
        ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
        flags,
    )?;
    if has_thp {
        // SAFETY: advice on our own mapping; MADV_NOHUGEPAGE changes no contents.
        unsafe {
            madvise(
                start(&mapping),
                mapping.mapped_len(),
                MmapAdvise::MADV_NOHUGEPAGE,
            )
        }
        .map_err(sys("madvise(MADV_NOHUGEPAGE)"))?;
    }
    Ok(mapping)
}

fn start(mapping: &Mapping) -> NonNull<libc::c_void> {
    NonNull::new(mapping.as_ptr().cast()).expect("mapped")
}

fn view(name: &'static str, pid: Pid, mapping: &Mapping) -> Result<Subject, ExperimentError> {
    let proc = if pid == getpid() {
        Proc::SelfProcess
    } else {
        Proc::Pid(pid.as_raw())
    };
    Ok(Subject::plain(name, pid, mapping.smaps(proc)?))
}

fn one(subject: Subject) -> Observation {
    Observation {
        subjects: vec![subject],
        outcomes: vec![],
    }
}

fn sys(what: &'static str) -> impl Fn(Errno) -> ExperimentError {
    move |errno| ExperimentError::Sys {
        what: what.into(),
        errno,
    }
}

/// A child's answer: 0 for success, else the errno of its call.
fn answer_word(answer: u8) -> String {
    match answer {
        0 => result_word(Ok(())),
        u8::MAX => "no answer: the child did not know the command".into(),
        errno => result_word(Err(Errno::from_raw(i32::from(errno)))),
    }
}

fn expect_ok(answer: u8, what: &'static str) -> Result<(), ExperimentError> {
    match answer {
        0 => Ok(()),
        errno => Err(ExperimentError::Sys {
            what: what.into(),
            errno: Errno::from_raw(i32::from(errno)),
        }),
    }
}

/// 0 for a call that returned 0, else this thread's errno as the child's answer byte.
fn status(rc: libc::c_int) -> u8 {
    if rc == 0 { 0 } else { errno_byte() }
}

/// errno fits a byte: Linux's largest is below 140.
fn errno_byte() -> u8 {
    u8::try_from(Errno::last_raw()).unwrap_or(u8::MAX - 1)
}
