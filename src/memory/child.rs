//! A forked child for copy-on-write experiments.
//!
//! The test harness runs tests on threads, so after fork() the child may only do
//! async-signal-safe work: no allocation, no locks, no printing. The child runs a plain
//! function for each command byte the parent sends over a pipe and answers with one status
//! byte; it never sleeps to synchronise. A panic in the child becomes `_exit(PANIC_STATUS)`
//! instead of unwinding into the harness (which would exit 0 and pass the test). The
//! parent kills and reaps the child on drop, so a failing assertion leaves no process behind.

use nix::unistd::Pid;
use std::time::Duration;

/// Exit status of a child whose command function panicked.
pub const PANIC_STATUS: i32 = 101;

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
    Timeout { pid: Pid, command: u8, timeout: Duration },
    #[error("child {pid} panicked (exit status {PANIC_STATUS})")]
    Panicked { pid: Pid },
    #[error("child {pid} ended before answering: {how}")]
    Died { pid: Pid, how: String },
    #[error("child {pid} answered command {command} with failure status {status}")]
    Failed { pid: Pid, command: u8, status: u8 },
}

/// The parent's handle on a forked child.
pub struct Child {
    pid: Pid,
    // private fields as needed
}

impl Child {
    /// Forks. In the child, runs `on_command(byte)` for every command byte the parent sends
    /// and writes back its status byte (0 is success); when the command pipe closes, the child
    /// `_exit(0)`s. `on_command` must be async-signal-safe: prepare everything before fork.
    pub fn spawn<F: FnMut(u8) -> u8>(on_command: F) -> Result<Child, ChildError> {
        let _ = on_command;
        todo!()
    }

    pub fn pid(&self) -> Pid {
        self.pid
    }

    /// Sends one command and waits (bounded by [`ANSWER_TIMEOUT`]) for its status.
    /// A non-zero status is [`ChildError::Failed`].
    pub fn command(&mut self, command: u8) -> Result<(), ChildError> {
        todo!("{command}")
    }

    /// Closes the command pipe and reaps the child; Ok if it exited 0.
    pub fn finish(self) -> Result<(), ChildError> {
        todo!()
    }
}

impl Drop for Child {
    /// Kills (SIGKILL) and reaps the child unless [`Child::finish`] already reaped it.
    fn drop(&mut self) {
        todo!()
    }
}
