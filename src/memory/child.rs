//! A forked child for copy-on-write experiments.
//!
//! The test harness runs tests on threads, so after fork() the child may only do
//! async-signal-safe work: no allocation, no locks, no printing. The child runs a plain
//! function for each command byte the parent sends over a pipe and answers with one status
//! byte; it never sleeps to synchronise. A panic in the child becomes `_exit(PANIC_STATUS)`
//! instead of unwinding into the harness (which would exit 0 and pass the test). The
//! parent kills and reaps the child on drop, so a failing assertion leaves no process behind.
//!
//! The panic path itself is not async-signal-safe (the panic machinery allocates its payload
//! and runs the panic hook); if it deadlocks on a lock another thread held at fork time, the
//! parent's bounded wait turns that into [`ChildError::Timeout`] and drop kills the child.

use nix::errno::Errno;
use nix::fcntl::OFlag;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitStatus, waitpid};
use nix::unistd::{ForkResult, Pid, fork, pipe2};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// The answers of a child's command function, for commands that make one system call.
/// They run in the child, so they only read errno: no allocation, no lock.
pub mod reply {
    use nix::errno::Errno;

    /// The answer to a command the child's function does not know.
    pub const UNKNOWN: u8 = u8::MAX;

    /// 0 for a call that returned 0, else this thread's errno.
    pub fn status(rc: libc::c_int) -> u8 {
        if rc == 0 { 0 } else { errno() }
    }

    /// This thread's errno as an answer byte.
    pub fn errno() -> u8 {
        code(Errno::last_raw())
    }

    /// An error number as an answer byte, for calls that return it (pthread's): Linux's
    /// errnos all lie below 140.
    pub fn code(errno: libc::c_int) -> u8 {
        u8::try_from(errno).unwrap_or(UNKNOWN - 1)
    }
}

/// How many children this process has forked (tests hold experiments to what they say
/// of forking).
static SPAWNED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

pub fn spawned() -> usize {
    SPAWNED.load(std::sync::atomic::Ordering::SeqCst)
}

/// Exit status of a child whose command function panicked.
pub const PANIC_STATUS: i32 = 101;

/// Exit status of a child that could not read a command or write an answer.
pub const PIPE_STATUS: i32 = 102;

/// How long the parent waits for one answer before it declares the child hung.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum ChildError {
    #[error("fork: {0}")]
    Fork(nix::Error),
    #[error("pipe: {0}")]
    Pipe(nix::Error),
    #[error("child {pid}: talking over the pipe: {source}")]
    Io { pid: Pid, source: nix::Error },
    #[error("child {pid} did not answer command {command} within {timeout:?}")]
    Timeout {
        pid: Pid,
        command: u8,
        timeout: Duration,
    },
    #[error("child {pid} panicked (exit status {PANIC_STATUS})")]
    Panicked { pid: Pid },
    #[error("child {pid} ended before answering: {how}")]
    Died { pid: Pid, how: String },
    #[error("child {pid} answered command {command} with failure status {status}")]
    Failed { pid: Pid, command: u8, status: u8 },
    #[error("child {pid} does not know command {command}")]
    UnknownCommand { pid: Pid, command: u8 },
    #[error("child {pid} did not exit within {timeout:?} of its command pipe closing; killed it")]
    ExitTimeout { pid: Pid, timeout: Duration },
}

/// The parent's ends of the pipes of every live child.
///
/// A child inherits all of its parent's descriptors (O_CLOEXEC acts only on exec), so a
/// second child would hold the first one's command pipe open and the first would never see
/// EOF; each new child closes these first. The lock is held across pipe creation, fork and
/// registration, so no thread can fork a child between a pipe's creation and its listing.
static LIVE_PIPE_ENDS: Mutex<Vec<RawFd>> = Mutex::new(Vec::new());

fn live_pipe_ends() -> MutexGuard<'static, Vec<RawFd>> {
    LIVE_PIPE_ENDS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

/// The parent's handle on a forked child.
pub struct Child {
    pid: Pid,
    /// Parent's write end of the command pipe; `None` once closed.
    commands: Option<OwnedFd>,
    /// Parent's read end of the answer pipe.
    answers: Option<OwnedFd>,
    /// Readable once the child has exited (5.3+); without it, EOF on `answers` tells.
    pidfd: Option<OwnedFd>,
    /// Set once waitpid has reaped the child: the pid may then belong to someone else.
    reaped: Option<End>,
}

impl Child {
    /// Forks. In the child, runs `on_command(byte)` for every command byte the parent sends
    /// and writes back its status byte (0 is success); when the command pipe closes, the child
    /// `_exit(0)`s. `on_command` must be async-signal-safe: prepare everything before fork.
    /// It must not spawn a [`Child`] itself (the child's copy of the registry lock is held).
    pub fn spawn<F: FnMut(u8) -> u8>(mut on_command: F) -> Result<Child, ChildError> {
        let mut live = live_pipe_ends();
        let (command_read, command_write) = pipe2(OFlag::O_CLOEXEC).map_err(ChildError::Pipe)?;
        let (answer_read, answer_write) = pipe2(OFlag::O_CLOEXEC).map_err(ChildError::Pipe)?;
        SPAWNED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        // SAFETY: the child runs only `serve`, which makes raw system calls and never
        // returns; see the module documentation for its panic path.
        match unsafe { fork() }.map_err(ChildError::Fork)? {
            ForkResult::Child => {
                let close = [command_write.as_raw_fd(), answer_read.as_raw_fd()];
                // SAFETY: we are the freshly forked child; the descriptors are valid here.
                unsafe {
                    serve(
                        &live,
                        close,
                        command_read.as_raw_fd(),
                        answer_write.as_raw_fd(),
                        &mut on_command,
                    )
                }
            }
            ForkResult::Parent { child } => {
                drop((command_read, answer_write));
                live.extend([command_write.as_raw_fd(), answer_read.as_raw_fd()]);
                drop(live);
                Ok(Child {
                    pid: child,
                    commands: Some(command_write),
                    answers: Some(answer_read),
                    pidfd: pidfd_open(child),
                    reaped: None,
                })
            }
        }
    }

    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// How the child ended, once it has been reaped: after [`Child::ask`] or
    /// [`Child::command`] reported its death, for lessons whose child is meant to die (a
    /// fault that kills it is what they show). `None` while the child is not reaped.
    pub fn end(&self) -> Option<End> {
        self.reaped
    }

    /// Sends one command and waits (bounded by [`ANSWER_TIMEOUT`]) for its status.
    /// A non-zero status is [`ChildError::Failed`].
    pub fn command(&mut self, command: u8) -> Result<(), ChildError> {
        match self.ask(command)? {
            0 => Ok(()),
            status => Err(ChildError::Failed {
                pid: self.pid,
                command,
                status,
            }),
        }
    }

    /// Sends a command that makes one system call in the child and returns what the call
    /// gave: the child answers with [`reply::status`] or [`reply::errno`].
    pub fn call(&mut self, command: u8) -> Result<Result<(), Errno>, ChildError> {
        match self.ask(command)? {
            0 => Ok(Ok(())),
            reply::UNKNOWN => Err(ChildError::UnknownCommand {
                pid: self.pid,
                command,
            }),
            errno => Ok(Err(Errno::from_raw(i32::from(errno)))),
        }
    }

    /// Sends one command and returns the child's answer byte as it is (for commands that
    /// report a value, such as a byte the child read).
    pub fn ask(&mut self, command: u8) -> Result<u8, ChildError> {
        if let Some(end) = self.reaped {
            return Err(self.ended(end));
        }
        let pid = self.pid;
        let io = |source| ChildError::Io { pid, source };
        let (Some(commands), Some(answers)) = (&self.commands, &self.answers) else {
            return Err(io(Errno::EBADF));
        };
        loop {
            match nix::unistd::write(commands, &[command]) {
                Ok(1) => break,
                Ok(_) | Err(Errno::EINTR) => continue,
                // The child is gone (std ignores SIGPIPE, so this is an error, not a signal).
                Err(Errno::EPIPE) => return Err(self.reap_and_explain()),
                Err(e) => return Err(io(e)),
            }
        }
        let deadline = Instant::now() + ANSWER_TIMEOUT;
        loop {
            let ready =
                wait_readable(answers.as_fd(), self.pidfd.as_ref(), deadline).map_err(io)?;
            match ready {
                Ready::Nothing => {
                    return Err(ChildError::Timeout {
                        pid,
                        command,
                        timeout: ANSWER_TIMEOUT,
                    });
                }
                Ready::Exited => return Err(self.reap_and_explain()),
                Ready::Answer => {}
            }
            let mut status = [0u8];
            match nix::unistd::read(answers, &mut status) {
                Ok(1) => return Ok(status[0]),
                Ok(_) => return Err(self.reap_and_explain()),
                Err(Errno::EINTR | Errno::EAGAIN) => continue,
                Err(e) => return Err(io(e)),
            }
        }
    }

    /// Closes the command pipe and reaps the child; Ok if it exited 0.
    pub fn finish(mut self) -> Result<(), ChildError> {
        let end = match self.reaped {
            Some(end) => end,
            None => {
                self.close_pipe(PipeEnd::Commands);
                let pid = self.pid;
                let deadline = Instant::now() + ANSWER_TIMEOUT;
                if !self
                    .wait_exit(deadline)
                    .map_err(|source| ChildError::Io { pid, source })?
                {
                    // Drop kills and reaps it.
                    return Err(ChildError::ExitTimeout {
                        pid,
                        timeout: ANSWER_TIMEOUT,
                    });
                }
                self.reap()
            }
        };
        match end {
            End::Exited(0) => Ok(()),
            end => Err(self.ended(end)),
        }
    }

    /// Waits until the child has exited (true) or the deadline passed (false).
    fn wait_exit(&mut self, deadline: Instant) -> Result<bool, Errno> {
        let Some(answers) = &self.answers else {
            return Err(Errno::EBADF);
        };
        loop {
            match wait_readable(answers.as_fd(), self.pidfd.as_ref(), deadline)? {
                Ready::Nothing => return Ok(false),
                Ready::Exited => return Ok(true),
                Ready::Answer => {
                    // Without a pidfd, EOF on the answer pipe is the sign of exit; stray
                    // bytes are answers nobody asked for and are dropped.
                    let mut byte = [0u8];
                    match nix::unistd::read(answers, &mut byte) {
                        Ok(0) => return Ok(true),
                        Ok(_) | Err(Errno::EINTR | Errno::EAGAIN) => continue,
                        Err(e) => return Err(e),
                    }
                }
            }
        }
    }

    /// Blocking waitpid: only called once the child has exited or was killed.
    fn reap(&mut self) -> End {
        if let Some(end) = self.reaped {
            return end;
        }
        let end = loop {
            match waitpid(self.pid, None) {
                Ok(WaitStatus::Exited(_, code)) => break End::Exited(code),
                Ok(WaitStatus::Signaled(_, signal, core)) => break End::Signaled(signal, core),
                Ok(_) | Err(Errno::EINTR) => continue,
                // ECHILD: reaped elsewhere (SIGCHLD set to SIG_IGN, or a stray wait()).
                Err(e) => break End::Lost(e),
            }
        };
        self.reaped = Some(end);
        self.close_pipe(PipeEnd::Both);
        self.pidfd = None;
        end
    }

    fn reap_and_explain(&mut self) -> ChildError {
        let end = self.reap();
        self.ended(end)
    }

    fn ended(&self, end: End) -> ChildError {
        let pid = self.pid;
        let how = match end {
            End::Exited(PANIC_STATUS) => return ChildError::Panicked { pid },
            End::Exited(code) => format!("exited with status {code}"),
            End::Signaled(signal, core) => format!(
                "killed by signal {}{}",
                signal.as_str(),
                if core { " (core dumped)" } else { "" }
            ),
            End::Lost(e) => format!("could not be reaped: {e}"),
        };
        ChildError::Died { pid, how }
    }

    /// Unlists and closes pipe ends, under the registry lock so that a descriptor number is
    /// never unlisted after it was reused by a new pipe.
    fn close_pipe(&mut self, which: PipeEnd) {
        let mut live = live_pipe_ends();
        let mut closing = vec![self.commands.take()];
        if which == PipeEnd::Both {
            closing.push(self.answers.take());
        }
        for fd in closing.into_iter().flatten() {
            live.retain(|&listed| listed != fd.as_raw_fd());
            drop(fd);
        }
    }
}

impl Drop for Child {
    /// Kills (SIGKILL) and reaps the child unless [`Child::finish`] already reaped it.
    fn drop(&mut self) {
        if self.reaped.is_none() {
            // The child is ours and unreaped, so the pid cannot have been reused.
            let _ = kill(self.pid, Signal::SIGKILL);
            self.reap();
        }
        self.close_pipe(PipeEnd::Both);
    }
}

/// How a reaped child ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum End {
    /// It called `_exit` (or returned from main) with this status.
    Exited(i32),
    /// A signal killed it; `true` if the kernel dumped core.
    Signaled(Signal, bool),
    /// waitpid failed, so the child's end is unknown.
    Lost(Errno),
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum PipeEnd {
    Commands,
    Both,
}

enum Ready {
    Answer,
    Exited,
    Nothing,
}

/// Polls the answer pipe (and the pidfd, if any) until one is ready or the deadline passes.
/// An answer is preferred over exit: a child may answer and then exit.
fn wait_readable(
    answers: BorrowedFd<'_>,
    pidfd: Option<&OwnedFd>,
    deadline: Instant,
) -> Result<Ready, Errno> {
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        if remaining.is_zero() {
            return Ok(Ready::Nothing);
        }
        // Rounded up, so the last wait does not spin on a zero timeout.
        let timeout = PollTimeout::try_from(remaining.as_millis() + 1).unwrap_or(PollTimeout::MAX);
        let mut fds = [PollFd::new(answers, PollFlags::POLLIN)]
            .into_iter()
            .chain(pidfd.map(|fd| PollFd::new(fd.as_fd(), PollFlags::POLLIN)))
            .collect::<Vec<_>>();
        match poll(&mut fds, timeout) {
            Ok(0) | Err(Errno::EINTR) => continue,
            Ok(_) => {}
            Err(e) => return Err(e),
        }
        // Flags nix does not know count as an event: the read that follows tells what it was.
        let fired = |fd: &PollFd| fd.revents().is_none_or(|r| !r.is_empty());
        if fired(&fds[0]) {
            return Ok(Ready::Answer);
        }
        if fds.get(1).is_some_and(fired) {
            return Ok(Ready::Exited);
        }
    }
}

/// A descriptor that becomes readable when the process exits; `None` before 5.3.
fn pidfd_open(pid: Pid) -> Option<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid.as_raw(), 0) };
    let fd = RawFd::try_from(fd).ok().filter(|&fd| fd >= 0)?;
    // SAFETY: the descriptor was just returned to us and nothing else owns it (pidfd_open
    // sets O_CLOEXEC itself).
    Some(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// The child's whole life: raw system calls only, on memory that exists already.
///
/// # Safety
/// Call only in a freshly forked child, with valid descriptors.
unsafe fn serve<F: FnMut(u8) -> u8>(
    inherited: &[RawFd],
    parent_ends: [RawFd; 2],
    commands: RawFd,
    answers: RawFd,
    on_command: &mut F,
) -> ! {
    // SAFETY (every unsafe call below): plain system calls on descriptors this process owns
    // and on stack buffers; _exit ends the child without running anything of the parent's.
    for &fd in inherited.iter().chain(parent_ends.iter()) {
        unsafe { libc::close(fd) };
    }
    let interrupted = || Errno::last() == Errno::EINTR;
    loop {
        let mut command = 0u8;
        let n = loop {
            let n = unsafe { libc::read(commands, (&raw mut command).cast(), 1) };
            if n >= 0 || !interrupted() {
                break n;
            }
        };
        match n {
            0 => unsafe { libc::_exit(0) },
            1 => {}
            _ => unsafe { libc::_exit(PIPE_STATUS) },
        }
        let status = match catch_unwind(AssertUnwindSafe(|| on_command(command))) {
            Ok(status) => status,
            Err(_) => unsafe { libc::_exit(PANIC_STATUS) },
        };
        loop {
            match unsafe { libc::write(answers, (&raw const status).cast(), 1) } {
                1 => break,
                n if n < 0 && interrupted() => continue,
                _ => unsafe { libc::_exit(PIPE_STATUS) },
            }
        }
    }
}
