//! Checks of lesson `fork-cow`'s exercise.

use super::{Rng, bytes_of, minor_faults, page, record_of, region, size};
use crate::exercises::fork_cow::Views;
use crate::homework::{Failure, Passed};
use crate::kernel::SmapsField;
use crate::memory::{Child, Mapping};
use nix::sys::mman::{MapFlags, ProtFlags};
use nix::sys::resource::UsageWho;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicPtr, AtomicU32, Ordering};

crate::homework::declare::exercises! {
    lesson: fork_cow;

    /// Its check forks: it must not overlap another test that reads its pages' sharing.
    write_in_child {
        fork_lock: exclusive,
        // BEGIN FAKES
        fakes: [
            "answering without forking" => |page, value| {
                Ok(Views {
                    child_read: value,
                    parent_read: page[0],
                })
            },
            "writing in the parent" => |page, value| {
                page[0] = value;
                Ok(Views {
                    child_read: value,
                    parent_read: value,
                })
            },
            "a child that returns" saying "came back" => |page, value| {
                child_ending(page, value, || Ok(Views { child_read: 0, parent_read: 0 }))
            },
            "a child that panics" saying "came back" => |page, value| {
                child_ending(page, value, || panic!("the child's end"))
            },
            "a child that calls exit" saying "ended with exit" => |page, value| {
                child_ending(page, value, || std::process::exit(0))
            },
        ],
        // END FAKES
    }

    /// Its check forks a child that shares the pages.
    rss_and_pss {
        fork_lock: exclusive,
        // BEGIN FAKES
        fakes: [
            "zeros" => |_| Ok((0, 0)),
            "Rss as Pss" => |addr| {
                let record = super::record_at(addr)
                    .map_err(|f| std::io::Error::other(f.showed))?
                    .ok_or_else(|| std::io::Error::other("no smaps record"))?;
                let rss = size(&record, SmapsField::Rss).0;
                Ok((rss, rss))
            },
        ],
        // END FAKES
    }
}

// BEGIN FAKES
/// Forks a child that writes `value` into `page[0]` and then ends as `end` does (the wrong
/// endings the check must see); the parent waits for it and answers as a right solution
/// would (it knows what the child wrote).
fn child_ending(page: &mut [u8], value: u8, end: fn() -> nix::Result<Views>) -> nix::Result<Views> {
    use nix::unistd::{ForkResult, fork};
    // SAFETY: the child writes memory, then ends wrongly on purpose: the check catches it.
    match unsafe { fork() }? {
        ForkResult::Child => {
            page[0] = value;
            end()
        }
        ForkResult::Parent { child } => {
            nix::sys::wait::waitpid(child, None)?;
            Ok(Views {
                child_read: value,
                parent_read: page[0],
            })
        }
    }
}
// END FAKES

/// How a child forked by the student's function ended, where it did not end with _exit:
/// written by the child into a page it shares with the check (MAP_SHARED survives fork as
/// the same memory), read by the check once the student's parent has reaped it; the page
/// holds 0 otherwise. The exit status itself is the student's parent's to reap, and never
/// reaches the check.
///
/// The child came back into the check: it returned from the student's function, or
/// unwound out of it from a panic.
const CAME_BACK: u8 = 1;
/// The child called exit() (std::process::exit): the atexit handler below ran in it.
const RAN_EXIT: u8 = 2;

/// The shared page while the student's function runs, else null; a child forked meanwhile
/// has a copy of it, and of [`CHECKING`], the check's process id.
static ENDING: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
static CHECKING: AtomicU32 = AtomicU32::new(0);

/// Registered with atexit(3) once per process; atexit cannot take a handler back, so the
/// handler does something only in a child forked during a call (the page set, another
/// process id). exit() runs it there before it flushes stdio; _exit runs nothing.
extern "C" fn note_exit_in_child() {
    let page = ENDING.load(Ordering::SeqCst);
    if !page.is_null() && std::process::id() != CHECKING.load(Ordering::SeqCst) {
        // SAFETY: the shared page the check mapped before the fork, mapped in this child
        // too whatever the parent has done since; a byte write is async-signal-safe.
        unsafe { page.write_volatile(RAN_EXIT) };
    }
}

/// A private page holding a random byte, a random other byte for the child to write: the
/// child must have read its own write, the parent must still see the old byte (in what it
/// returned and in memory), a child must have been reaped (its page faults, the
/// copy-on-write one among them, now count in RUSAGE_CHILDREN), and it must have ended with
/// _exit: a child that returns (or panics) runs the rest of the caller in a copy of the
/// process, and exit() runs the parent's atexit handlers and flushes its stdio buffers.
pub fn write_in_child(f: fn(&mut [u8], u8) -> nix::Result<Views>) -> Result<Passed, Failure> {
    let mut rng = Rng::new();
    let mut region = region(1)?;
    let shared = Mapping::anonymous(
        NonZeroUsize::new(page()).expect("a page"),
        ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
        MapFlags::MAP_SHARED,
    )
    .map_err(|e| Failure::setup("map a shared page", e))?;
    let ending = shared.as_ptr();
    static REGISTERED: std::sync::Once = std::sync::Once::new();
    REGISTERED.call_once(|| {
        // SAFETY: a handler that only reads atomics and writes a byte (see there).
        unsafe { libc::atexit(note_exit_in_child) };
    });
    let page = bytes_of(&mut region);
    let old = rng.next() as u8;
    let new = rng.byte_except(old);
    page[0] = old;
    let before = minor_faults(UsageWho::RUSAGE_CHILDREN)?;
    let pid = std::process::id();
    CHECKING.store(pid, Ordering::SeqCst);
    ENDING.store(ending, Ordering::SeqCst);
    let called = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(page, new)));
    if std::process::id() != pid {
        // A child came back here: it tells the check, and ends at once (whatever else it
        // did would run the rest of the tests in a copy of the process).
        // SAFETY: the shared page, mapped in this child too; _exit is async-signal-safe.
        unsafe {
            ending.write_volatile(CAME_BACK);
            libc::_exit(crate::memory::child::PANIC_STATUS)
        }
    }
    ENDING.store(std::ptr::null_mut(), Ordering::SeqCst);
    let called = called.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
    // SAFETY: the shared page is ours and mapped; a volatile read sees what a child wrote.
    let ended = unsafe { ending.read_volatile() };
    let expected = format!(
        "the child reads back {new}, the parent still reads {old}, the child ends with \
         _exit(0) and is reaped"
    );
    if ended == CAME_BACK {
        return Err(Failure::new(
            expected,
            "your child came back from write_in_child (it returned or panicked) instead of \
             ending with _exit: it would have gone on running the caller's code in a copy of \
             the process",
        ));
    }
    if ended == RAN_EXIT {
        return Err(Failure::new(
            expected,
            "your child ended with exit() (std::process::exit?), which runs the process's \
             atexit handlers and flushes its stdio buffers, copies of the parent's: end it \
             with _exit(0)",
        ));
    }
    let views =
        called.map_err(|e| Failure::returned_error(&format!("write_in_child(page, {new})"), e))?;
    let after = minor_faults(UsageWho::RUSAGE_CHILDREN)?;
    // SAFETY: the page is ours and mapped; a volatile read sees what memory holds now.
    let now = unsafe { std::ptr::read_volatile(region.as_ptr()) };
    if after <= before {
        return Err(Failure::new(
            expected,
            "no child was reaped: RUSAGE_CHILDREN's minor faults did not move (did you fork, \
             and wait for the child?)",
        ));
    }
    if views.child_read != new || views.parent_read != old || now != old {
        return Err(Failure::new(
            expected,
            format!(
                "the child read {}, the parent read {} (memory holds {now})",
                views.child_read, views.parent_read
            ),
        ));
    }
    Ok(Passed::Held(format!(
        "child read {new}, parent still reads {old}; the reaped child took {} minor faults",
        after - before
    )))
}

/// A region of random size, written, while a forked child shares its pages: the answer must
/// be the record's Rss and Pss as the kernel shows them, and the kernel's Pss must be below
/// its Rss (the child holds a share).
pub fn rss_and_pss(f: fn(usize) -> std::io::Result<(u64, u64)>) -> Result<Passed, Failure> {
    let mut rng = Rng::new();
    let n = rng.between(2, 16);
    let mut region = region(n)?;
    let bytes = bytes_of(&mut region);
    for i in 0..n {
        bytes[i * page()] = 1;
    }
    let child = Child::waiting().map_err(|e| Failure::setup("fork a child", e))?;
    let addr = region.addr() + rng.between(0, n * page() - 1);
    let answer = f(addr);
    let truth = record_of(&region);
    child
        .finish()
        .map_err(|e| Failure::setup("end the child", e))?;
    let truth = truth?;
    let (rss, pss) = (
        size(&truth, SmapsField::Rss).0,
        size(&truth, SmapsField::Pss).0,
    );
    let asked = format!("rss_and_pss({addr:#x})");
    let answer = answer.map_err(|e| Failure::returned_error(&asked, e))?;
    if pss >= rss {
        return Err(Failure::setup(
            "see the pages shared with its child",
            format!("Rss {rss} bytes, Pss {pss} bytes"),
        ));
    }
    if answer != (rss, pss) {
        return Err(Failure::new(
            format!("{asked}: ({rss}, {pss}), the record's Rss and Pss in bytes"),
            format!("you returned {answer:?}"),
        ));
    }
    Ok(Passed::Held(format!(
        "Rss {rss} bytes, Pss {pss} bytes: {n} pages shared with one child count half"
    )))
}
