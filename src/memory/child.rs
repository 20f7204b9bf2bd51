//! A forked child for copy-on-write experiments.
//!
//! The test harness runs tests on threads, so after fork() the child may only do
//! async-signal-safe work: no allocation, no locks, no printing. The parent sends commands
//! over a pipe, one byte each; the child decodes the byte into its [`Command`] type (an enum
//! the experiment declares with [`commands!`]), runs a plain function on the command and
//! answers with one byte; it never sleeps to synchronise. A byte the type does not decode
//! is answered as unknown without running the function, so the function matches its enum
//! exhaustively and needs no arm for commands it does not know. The answer travels as two
//! bytes, whether the command was known and then the function's byte, so every byte a
//! function answers means what the function says, 255 as much as 0. A child
//! that is never sent anything is [`Child::waiting`]; tests that speak the raw protocol
//! send plain `u8`s, every one of which decodes.
//!
//! A panic in the child becomes `_exit(PANIC_STATUS)` instead of unwinding into the harness
//! (which would exit 0 and pass the test). The parent kills and reaps the child on drop, so
//! a failing assertion leaves no process behind.
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
use std::fmt::{self, Debug};
use std::marker::PhantomData;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// What a parent may tell its child to do, and how it travels: one byte on the pipe.
///
/// `from_byte` runs in the forked child, so it must be async-signal-safe: compares and
/// arithmetic on the byte, no allocation, no lock. [`commands!`] writes both methods for an
/// enum of unit variants; a command that carries data implements them by hand (posix-shm's
/// consumer does).
pub trait Command: Copy + Debug {
    /// True for the raw protocol (`u8`), whose commands are their bytes: an error names
    /// such a command by its byte alone.
    const RAW: bool = false;

    fn byte(self) -> u8;
    /// The command `byte` stands for; `None` for a byte this type never sends.
    fn from_byte(byte: u8) -> Option<Self>;
}

/// Every byte is a command: the raw protocol, for tests that send bytes a typed child
/// would refuse, or whose function looks at the byte itself.
impl Command for u8 {
    const RAW: bool = true;

    fn byte(self) -> u8 {
        self
    }

    fn from_byte(byte: u8) -> Option<u8> {
        Some(byte)
    }
}

/// The commands of a child that is never sent one: it only waits until it is finished
/// (an uninhabited enum, so its function is `|command| match command {}`).
#[derive(Clone, Copy, Debug)]
pub enum NoCommand {}

impl Command for NoCommand {
    fn byte(self) -> u8 {
        match self {}
    }

    fn from_byte(_: u8) -> Option<NoCommand> {
        None
    }
}

/// Declares an enum of a child's commands and implements [`Command`] for it: each variant
/// is written once, with its doc comment, and its byte is its place in the list.
///
/// ```text
/// crate::memory::child::commands! {
///     /// The child's commands.
///     enum ChildCommand {
///         /// Write its value into the page.
///         Write,
///         /// Answer with the byte in the page.
///         Read,
///     }
/// }
/// ```
#[doc(hidden)]
#[macro_export]
macro_rules! __child_commands {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        // repr(u8): a 257th variant is a compile error, not a byte that wraps around.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        #[repr(u8)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $crate::memory::child::Command for $name {
            fn byte(self) -> u8 {
                self as u8
            }

            fn from_byte(byte: u8) -> ::core::option::Option<Self> {
                // A variant's byte is its place in the list: one bounds check.
                const ALL: &[$name] = &[$( $name::$variant ),+];
                ALL.get(usize::from(byte)).copied()
            }
        }
    };
}

pub use crate::__child_commands as commands;

/// The answers of a child's command function, for commands that make one system call.
/// They run in the child, so they only read errno: no allocation, no lock.
pub mod reply {
    use nix::errno::Errno;

    /// 0 for a call that returned 0, else this thread's errno.
    pub fn status(rc: libc::c_int) -> u8 {
        if rc == 0 { 0 } else { errno() }
    }

    /// This thread's errno as an answer byte.
    pub fn errno() -> u8 {
        code(Errno::last_raw())
    }

    /// An error number as an answer byte, for calls that return it (pthread's): Linux's
    /// errnos all lie below 140, so the saturation never shows.
    pub fn code(errno: libc::c_int) -> u8 {
        u8::try_from(errno).unwrap_or(u8::MAX)
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
        command: SentCommand,
        timeout: Duration,
    },
    #[error("child {pid} panicked (exit status {PANIC_STATUS})")]
    Panicked { pid: Pid },
    #[error("child {pid} ended before answering: {how}")]
    Died { pid: Pid, how: String },
    #[error("child {pid} answered command {command} with failure status {status}")]
    Failed {
        pid: Pid,
        command: SentCommand,
        status: u8,
    },
    #[error("child {pid} does not know command {command}")]
    UnknownCommand { pid: Pid, command: SentCommand },
    #[error("child {pid} sent {bytes:?} for command {command}, which is no answer")]
    Garbled {
        pid: Pid,
        command: SentCommand,
        bytes: Vec<u8>,
    },
    #[error("child {pid} did not exit within {timeout:?} of its command pipe closing; killed it")]
    ExitTimeout { pid: Pid, timeout: Duration },
}

/// A command as an error names it: what the experiment called it, and the byte it was sent
/// as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SentCommand {
    /// Its `Debug` form: `Write`, `Touch(ScratchPage(1))`; `None` for a raw `u8` command,
    /// whose name would only repeat its byte.
    pub name: Option<String>,
    pub byte: u8,
}

impl SentCommand {
    pub fn of<C: Command>(command: C) -> SentCommand {
        SentCommand {
            name: (!C::RAW).then(|| format!("{command:?}")),
            byte: command.byte(),
        }
    }
}

impl fmt::Display for SentCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.name {
            Some(name) => write!(f, "{name} (byte {})", self.byte),
            None => write!(f, "byte {}", self.byte),
        }
    }
}

/// The two bytes a child sends for each command: whether its type knew the command, then
/// the function's answer (0 where it did not run). Two bytes are less than PIPE_BUF, so
/// they travel in one piece.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Answer {
    Ran(u8),
    Unknown,
}

impl Answer {
    const RAN: u8 = 0;
    const UNKNOWN: u8 = 1;

    fn bytes(self) -> [u8; 2] {
        match self {
            Answer::Ran(byte) => [Answer::RAN, byte],
            Answer::Unknown => [Answer::UNKNOWN, 0],
        }
    }

    fn from_bytes([tag, byte]: [u8; 2]) -> Option<Answer> {
        match tag {
            Answer::RAN => Some(Answer::Ran(byte)),
            Answer::UNKNOWN => Some(Answer::Unknown),
            _ => None,
        }
    }
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

/// The parent's handle on a forked child, which takes commands of type `C`.
pub struct Child<C: Command> {
    pid: Pid,
    /// Parent's write end of the command pipe; `None` once closed.
    commands: Option<OwnedFd>,
    /// Parent's read end of the answer pipe.
    answers: Option<OwnedFd>,
    /// Readable once the child has exited (5.3+); without it, EOF on `answers` tells.
    pidfd: Option<OwnedFd>,
    /// Set once waitpid has reaped the child: the pid may then belong to someone else.
    reaped: Option<End>,
    /// `fn(C)`: the parent only sends `C`s, it holds none (and stays Send and Sync).
    commands_of: PhantomData<fn(C)>,
}

impl Child<NoCommand> {
    /// A child that is sent no command and only waits to be finished (or dropped): for
    /// lessons about what a child's mere existence does to the parent's memory.
    pub fn waiting() -> Result<Child<NoCommand>, ChildError> {
        Child::spawn(|command: NoCommand| match command {})
    }
}

impl<C: Command> Child<C> {
    /// Forks. In the child, runs `on_command` on every command the parent sends and writes
    /// back its status byte (0 is success); a byte that `C` does not decode is answered
    /// as unknown and `on_command` does not run. When the command pipe closes, the
    /// child `_exit(0)`s. `on_command` must be async-signal-safe: prepare everything before
    /// fork. It must not spawn a [`Child`] itself (the child's copy of the registry lock is
    /// held).
    pub fn spawn<F: FnMut(C) -> u8>(mut on_command: F) -> Result<Child<C>, ChildError> {
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
                    commands_of: PhantomData,
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
    pub fn command(&mut self, command: C) -> Result<(), ChildError> {
        match self.ask(command)? {
            0 => Ok(()),
            status => Err(ChildError::Failed {
                pid: self.pid,
                command: SentCommand::of(command),
                status,
            }),
        }
    }

    /// Sends a command that makes one system call in the child and returns what the call
    /// gave: the child answers with [`reply::status`] or [`reply::errno`].
    pub fn call(&mut self, command: C) -> Result<Result<(), Errno>, ChildError> {
        match self.ask(command)? {
            0 => Ok(Ok(())),
            errno => Ok(Err(Errno::from_raw(i32::from(errno)))),
        }
    }

    /// Sends one command and returns the child's answer byte as it is (for commands that
    /// report a value, such as a byte the child read). A command the child's type does
    /// not decode is [`ChildError::UnknownCommand`].
    pub fn ask(&mut self, command: C) -> Result<u8, ChildError> {
        if let Some(end) = self.reaped {
            return Err(self.ended(end));
        }
        let pid = self.pid;
        let io = |source| ChildError::Io { pid, source };
        let (Some(commands), Some(answers)) = (&self.commands, &self.answers) else {
            return Err(io(Errno::EBADF));
        };
        loop {
            match nix::unistd::write(commands, &[command.byte()]) {
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
                        command: SentCommand::of(command),
                        timeout: ANSWER_TIMEOUT,
                    });
                }
                Ready::Exited => return Err(self.reap_and_explain()),
                Ready::Answer => {}
            }
            let mut answer = [0u8; 2];
            let garbled = |bytes: &[u8]| ChildError::Garbled {
                pid,
                command: SentCommand::of(command),
                bytes: bytes.to_vec(),
            };
            match nix::unistd::read(answers, &mut answer) {
                Ok(2) => {}
                // One write of two bytes is atomic on a pipe and never arrives as one:
                // a child that sent half an answer is not speaking this protocol.
                Ok(1) => return Err(garbled(&answer[..1])),
                Ok(_) => return Err(self.reap_and_explain()),
                Err(Errno::EINTR | Errno::EAGAIN) => continue,
                Err(e) => return Err(io(e)),
            }
            return match Answer::from_bytes(answer) {
                Some(Answer::Ran(byte)) => Ok(byte),
                Some(Answer::Unknown) => Err(ChildError::UnknownCommand {
                    pid,
                    command: SentCommand::of(command),
                }),
                None => Err(garbled(&answer)),
            };
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

impl<C: Command> Drop for Child<C> {
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
unsafe fn serve<C: Command, F: FnMut(C) -> u8>(
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
        // Decoding runs inside catch_unwind too: a hand-written `from_byte` is the
        // experiment's code as much as its function is.
        let decoded = || match C::from_byte(command) {
            Some(command) => Answer::Ran(on_command(command)),
            None => Answer::Unknown,
        };
        let answer = match catch_unwind(AssertUnwindSafe(decoded)) {
            Ok(answer) => answer.bytes(),
            Err(_) => unsafe { libc::_exit(PANIC_STATUS) },
        };
        loop {
            match unsafe { libc::write(answers, answer.as_ptr().cast(), answer.len()) } {
                2 => break,
                n if n < 0 && interrupted() => continue,
                _ => unsafe { libc::_exit(PIPE_STATUS) },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    commands! {
        enum Sample {
            First,
            Second,
        }
    }

    #[test]
    fn a_declared_command_is_sent_as_its_place_and_no_other_byte_decodes() {
        assert_eq!((Sample::First.byte(), Sample::Second.byte()), (0, 1));
        for byte in 0..=u8::MAX {
            let expected = match byte {
                0 => Some(Sample::First),
                1 => Some(Sample::Second),
                _ => None,
            };
            assert_eq!(Sample::from_byte(byte), expected, "byte {byte}");
        }
    }

    #[test]
    fn an_error_names_a_typed_command_and_its_byte_and_a_raw_one_by_its_byte() {
        assert_eq!(
            SentCommand::of(Sample::Second).to_string(),
            "Second (byte 1)"
        );
        assert_eq!(SentCommand::of(7u8).to_string(), "byte 7");
    }

    #[test]
    fn every_answer_byte_survives_the_trip_and_no_other_tag_is_an_answer() {
        for byte in 0..=u8::MAX {
            let answer = Answer::Ran(byte);
            assert_eq!(Answer::from_bytes(answer.bytes()), Some(answer));
        }
        assert_eq!(
            Answer::from_bytes(Answer::Unknown.bytes()),
            Some(Answer::Unknown)
        );
        for tag in 2..=u8::MAX {
            assert_eq!(Answer::from_bytes([tag, 0]), None, "tag {tag}");
        }
    }
}
