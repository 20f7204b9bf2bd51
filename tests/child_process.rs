//! A forked child's life as the parent sees it: answers, failures, panics, deaths by exit or
//! signal, and no process left behind whichever way a test ends.
//!
//! Every test here forks, and while a forked child lives every private page of this process
//! is shared copy-on-write with it: tests in this binary that read Pss/Shared_*/Private_* of
//! their own mappings would see that. Hence the fork lock, exclusive here, shared there.

mod common;

use nix::errno::Errno;
use nix::sys::mman::{MapFlags, ProtFlags};
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::Pid;
use pagelab::Bytes;
use pagelab::kernel::probe::page_size;
use pagelab::kernel::procfs::Proc;
use pagelab::kernel::{SmapsField, SmapsRecord};
use pagelab::memory::child::{Command, PANIC_STATUS, commands};
use pagelab::memory::{Child, ChildError, Mapped, Mapping};
use rstest::rstest;
use std::num::NonZeroUsize;
use std::path::Path;
use std::time::{Duration, Instant};

fn one_page(prot: ProtFlags) -> Mapping {
    let len = NonZeroUsize::new(page_size().as_usize()).unwrap();
    Mapping::anonymous_isolated(len, prot, MapFlags::MAP_PRIVATE).unwrap()
}

fn rw() -> ProtFlags {
    ProtFlags::PROT_READ | ProtFlags::PROT_WRITE
}

/// No process with this pid, and it is not our unreaped child either.
fn assert_gone(pid: Pid) {
    assert!(
        !Path::new(&format!("/proc/{pid}")).exists(),
        "/proc/{pid} still exists: the child was left running or as a zombie"
    );
    assert_eq!(
        waitpid(pid, Some(WaitPidFlag::WNOHANG)),
        Err(Errno::ECHILD),
        "child {pid} was not reaped"
    );
}

/// A deliberate crash in the child must not write a core file of the test process.
fn no_core_dump() {
    let zero = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: setrlimit is a plain system call on a stack value.
    unsafe { libc::setrlimit(libc::RLIMIT_CORE, &zero) };
}

/// A private page the parent wrote 1 into, and its address for a child to reach it by.
fn written_page() -> (Mapping, usize) {
    let page = one_page(rw());
    page.write_byte(0, 1);
    let addr = page.as_ptr() as usize;
    (page, addr)
}

commands! {
    enum CowCommand {
        /// Write 2 into the child's copy of the page.
        Write,
        /// Fail (answer 1) unless the child's copy reads 2.
        Check,
    }
}

#[test]
fn a_child_writes_its_copy_of_a_private_page_and_the_parent_keeps_its_own() {
    let _fork = common::FORK.exclusive();
    let (page, addr) = written_page();
    let mut child = Child::spawn(move |command| {
        let byte = addr as *mut u8;
        match command {
            // SAFETY: the page is mapped in the child too (fork copies the address space).
            CowCommand::Write => unsafe { byte.write_volatile(2) },
            // SAFETY: as above.
            CowCommand::Check => return u8::from(unsafe { byte.read_volatile() } != 2),
        }
        0
    })
    .unwrap();
    child.command(CowCommand::Write).unwrap();
    child.command(CowCommand::Check).unwrap();
    assert_eq!(
        page.read_byte(0),
        1,
        "the child's write leaked into the parent's page"
    );
    child.finish().unwrap();
}

/// The record's dirty pages are `shared` Shared_Dirty and `private` Private_Dirty.
fn assert_dirty(record: &SmapsRecord, shared: Bytes, private: Bytes) {
    let dirty = |field| record.size(field);
    assert_eq!(
        (
            dirty(SmapsField::SharedDirty),
            dirty(SmapsField::PrivateDirty)
        ),
        (Some(shared), Some(private)),
        "(Shared_Dirty, Private_Dirty) of {record:?}"
    );
}

#[test]
fn after_the_childs_write_its_smaps_shows_a_private_copy() {
    let _fork = common::FORK.exclusive();
    let (page, addr) = written_page();
    let size = page_size();
    let mut child = Child::spawn(move |command| {
        match command {
            // SAFETY: the page is mapped in the child too.
            CowCommand::Write => unsafe { (addr as *mut u8).write_volatile(2) },
            // The smaps records tell here, not the child.
            CowCommand::Check => {}
        }
        0
    })
    .unwrap();
    let proc = Proc::Pid(child.pid().as_raw());
    assert_dirty(&page.smaps(proc).unwrap(), size, Bytes::ZERO);
    child.command(CowCommand::Write).unwrap();
    assert_dirty(&page.smaps(proc).unwrap(), Bytes::ZERO, size);
    child.finish().unwrap();
}

#[test]
fn a_panic_in_the_child_is_reported_not_passed() {
    let _fork = common::FORK.exclusive();
    // Raw bytes (`u8` commands): the function sees every byte, 1 included.
    let mut child = Child::spawn(|command: u8| {
        assert_eq!(command, 0, "the child's assertion fails");
        0
    })
    .unwrap();
    let pid = child.pid();
    match child.command(1) {
        Err(ChildError::Panicked { pid: reported }) => assert_eq!(reported, pid),
        other => panic!("a panicking child must be Panicked (exit {PANIC_STATUS}), got {other:?}"),
    }
    assert!(matches!(child.finish(), Err(ChildError::Panicked { .. })));
    assert_gone(pid);
}

#[test]
fn a_parent_that_panics_leaves_no_child_behind() {
    let _fork = common::FORK.exclusive();
    let mut pid = None;
    let outcome = pagelab::panics::caught(|| {
        let mut child = Child::spawn(|_| 0).unwrap();
        pid = Some(child.pid());
        child.command(0).unwrap();
        panic!("the parent fails while holding the child");
    });
    assert_eq!(
        outcome.unwrap_err().message,
        "the parent fails while holding the child"
    );
    assert_gone(pid.expect("the child was spawned"));
}

commands! {
    /// Ways for a child to end before it answers.
    enum Ending {
        Exit3,
        RaiseSigsegv,
        WriteReadOnly,
        RaiseSigkill,
    }
}

#[rstest]
#[case::exits_by_itself(Ending::Exit3, "exited with status 3")]
#[case::raises_sigsegv(Ending::RaiseSigsegv, "killed by signal SIGSEGV")]
#[case::writes_a_read_only_page(Ending::WriteReadOnly, "killed by signal SIGSEGV")]
#[case::raises_sigkill(Ending::RaiseSigkill, "killed by signal SIGKILL")]
fn a_child_that_ends_before_answering_is_reported_as_died(
    #[case] command: Ending,
    #[case] expected: &str,
) {
    let _fork = common::FORK.exclusive();
    let read_only = one_page(ProtFlags::PROT_READ);
    let addr = read_only.as_ptr() as usize;
    let mut child = Child::spawn(move |command| {
        // SAFETY (all arms): plain system calls or a deliberate faulting store in the child.
        unsafe {
            match command {
                Ending::Exit3 => libc::_exit(3),
                Ending::RaiseSigsegv => {
                    no_core_dump();
                    // std's SIGSEGV handler (stack overflow detection) swallows a raised
                    // SIGSEGV: it restores the default action and returns, counting on the
                    // faulting instruction to fault again, and raise() has none.
                    libc::signal(libc::SIGSEGV, libc::SIG_DFL);
                    libc::raise(libc::SIGSEGV);
                }
                Ending::WriteReadOnly => {
                    no_core_dump();
                    (addr as *mut u8).write_volatile(1);
                }
                Ending::RaiseSigkill => {
                    libc::raise(libc::SIGKILL);
                }
            }
        }
        0
    })
    .unwrap();
    let pid = child.pid();
    match child.command(command) {
        Err(ChildError::Died { pid: reported, how }) => {
            assert_eq!(reported, pid);
            assert_eq!(how, expected);
        }
        other => panic!("expected the child to die ({expected}), got {other:?}"),
    }
    // The end is remembered: asking again does not wait on a reaped pid.
    assert!(matches!(
        child.command(command),
        Err(ChildError::Died { .. })
    ));
    drop(child);
    assert_gone(pid);
}

#[test]
fn a_failure_status_is_failed_and_the_child_lives_on() {
    let _fork = common::FORK.exclusive();
    let mut child = Child::spawn(|command: u8| command).unwrap();
    match child.command(7) {
        Err(ChildError::Failed {
            command, status: 7, ..
        }) if command.byte == 7 => {}
        other => panic!("expected status 7 to be Failed, got {other:?}"),
    }
    child.command(0).unwrap();
    child.finish().unwrap();
}

/// Commands whose `Undecodable` is sent as a byte their own `from_byte` refuses: the
/// parent sends a byte the child's type does not know.
#[derive(Clone, Copy, Debug)]
enum Lopsided {
    Count,
    Undecodable,
}

impl Command for Lopsided {
    fn byte(self) -> u8 {
        match self {
            Lopsided::Count => 0,
            Lopsided::Undecodable => 1,
        }
    }

    fn from_byte(byte: u8) -> Option<Lopsided> {
        (byte == 0).then_some(Lopsided::Count)
    }
}

#[test]
fn a_byte_the_childs_type_does_not_decode_is_unknown_and_runs_nothing() {
    let _fork = common::FORK.exclusive();
    let mut calls = 0u8;
    let mut child = Child::spawn(move |command| {
        calls += 1;
        match command {
            Lopsided::Count => calls,
            Lopsided::Undecodable => unreachable!("from_byte never decodes it"),
        }
    })
    .unwrap();
    let pid = child.pid();
    match child.call(Lopsided::Undecodable) {
        Err(error @ ChildError::UnknownCommand { .. }) => assert_eq!(
            error.to_string(),
            format!("child {pid} does not know command Undecodable (byte 1)")
        ),
        other => panic!("an undecodable byte must be UnknownCommand, got {other:?}"),
    }
    assert_eq!(
        child.ask(Lopsided::Count).unwrap(),
        1,
        "the child's function ran for the byte it does not know"
    );
    child.finish().unwrap();
}

#[test]
fn every_answer_byte_reaches_the_parent_as_itself_255_too() {
    let _fork = common::FORK.exclusive();
    let mut child = Child::spawn(|byte: u8| byte).unwrap();
    for byte in 0..=u8::MAX {
        assert_eq!(child.ask(byte).unwrap(), byte, "the child echoed {byte}");
    }
    // Through `call` an answer is an errno, whatever its value.
    assert_eq!(child.call(u8::MAX).unwrap(), Err(Errno::from_raw(255)));
    child.finish().unwrap();
}

#[test]
fn finish_reaps_a_normal_child() {
    let _fork = common::FORK.exclusive();
    let mut child = Child::spawn(|_| 0).unwrap();
    let pid = child.pid();
    child.command(0).unwrap();
    child.finish().unwrap();
    assert_gone(pid);
}

#[test]
fn finish_reports_a_child_that_already_died() {
    let _fork = common::FORK.exclusive();
    let mut child = Child::spawn(|_| unsafe { libc::_exit(3) }).unwrap();
    let pid = child.pid();
    assert!(child.command(0).is_err());
    match child.finish() {
        Err(ChildError::Died { how, .. }) => assert_eq!(how, "exited with status 3"),
        other => panic!("finish must report the earlier death, got {other:?}"),
    }
    assert_gone(pid);
}

/// A second child inherits the parent's end of the first one's command pipe; unless it
/// closes it, the first child never sees EOF and `finish` waits for its timeout.
#[test]
fn finishing_one_child_does_not_wait_for_its_sibling() {
    let _fork = common::FORK.exclusive();
    let mut first = Child::spawn(|_| 0).unwrap();
    let mut second = Child::spawn(|_| 0).unwrap();
    first.command(0).unwrap();
    second.command(0).unwrap();
    let (first_pid, second_pid) = (first.pid(), second.pid());
    let started = Instant::now();
    first.finish().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "finish took {:?}: the sibling kept the command pipe open",
        started.elapsed()
    );
    assert_gone(first_pid);
    second.command(0).unwrap();
    second.finish().unwrap();
    assert_gone(second_pid);
}
