//! Each exercise's check in a process of its own: the program runs itself again, asked by
//! [`CHILD`] to run one check and print its outcome. The student's code is memory code, and
//! its commonest mistakes end a process: a write past a mapping (SIGSEGV), a read past a
//! file's end (SIGBUS), a child's pipe waited on forever. In the process that runs all the
//! exercises, one such answer ended or stalled every command and test, and named none of
//! them; here it ends its own process, and its outcome says how and which exercise.

use super::Failure;
use super::outcome::{self, Outcome};
use super::registry::{self, Exercise};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The environment variable that asks the program to run the check of the exercise it
/// names, print the outcome and exit ([`serve_if_asked`]).
pub const CHILD: &str = "PAGELAB_EXERCISE_CHILD";

/// How long a check may take. The slowest take a second or two (huge pages, reclaim); a
/// check still running after this waits for something that will not come.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// What starts the line that carries the outcome, among whatever else the student's code
/// printed: a control character no text of theirs is likely to begin a line with.
const MARK: &str = "\u{1}pagelab-outcome ";

/// In a program asked by [`CHILD`] to run one check: runs it, prints the outcome and exits.
/// Elsewhere it returns at once. Every program that calls [`run`] calls this first.
pub fn serve_if_asked() {
    let Some(id) = std::env::var_os(CHILD) else {
        return;
    };
    let found = id.to_str().and_then(registry::find);
    let outcome = match found {
        Some(exercise) => outcome::run_here(exercise),
        None => Outcome::Failed(Failure::setup(
            "find the exercise it was asked to run",
            format!("{CHILD}={} names none", id.to_string_lossy()),
        )),
    };
    let text = serde_json::to_string(&outcome).expect("an outcome is plain data");
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "\n{MARK}{text}").and_then(|()| out.flush());
    std::process::exit(0);
}

/// The exercise's check, run by this program in a process of its own (see the module):
/// its outcome, or how the process ended without one. Whatever the student's code printed
/// goes to this process's standard error.
pub fn run(exercise: &Exercise) -> Outcome {
    match spawn(exercise) {
        Ok(outcome) => outcome,
        Err(e) => Outcome::Failed(Failure::setup(
            "run the exercise in a process of its own",
            e,
        )),
    }
}

fn spawn(exercise: &Exercise) -> Result<Outcome, String> {
    let program = std::env::current_exe().map_err(|e| format!("find this program: {e}"))?;
    let mut command = Command::new(&program);
    command.env(CHILD, exercise.id);
    outcome_of(command, TIMEOUT)
}

/// Runs `command` (a program that prints its outcome as [`serve_if_asked`] does) in a
/// process group of its own, for at most `timeout`.
fn outcome_of(mut command: Command, timeout: Duration) -> Result<Outcome, String> {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        // Its own process group: what the student's code forked is ended with it.
        .process_group(0)
        .spawn()
        .map_err(|e| format!("start {:?}: {e}", command.get_program()))?;
    let group = Pid::from_raw(child.id() as i32);
    let mut stdout = child.stdout.take().expect("piped above");
    let (sent, printed) = mpsc::channel();
    std::thread::spawn(move || {
        let mut text = Vec::new();
        let read = stdout.read_to_end(&mut text).map(|_| text);
        let _ = sent.send(read);
    });
    // The pipe closes when every process of the group has ended or closed it.
    let (text, stalled) = match printed.recv_timeout(timeout) {
        Ok(read) => (read, false),
        Err(_) => {
            let _ = killpg(group, Signal::SIGKILL);
            (printed.recv().map_err(|e| e.to_string())?, true)
        }
    };
    let status = child
        .wait()
        .map_err(|e| format!("wait for the check: {e}"))?;
    // Nothing of the group may outlive the check, whatever it left running.
    let _ = killpg(group, Signal::SIGKILL);
    let text =
        String::from_utf8_lossy(&text.map_err(|e| format!("read its output: {e}"))?).into_owned();
    let (printed, verdict) = match text.rfind(MARK) {
        Some(at) => (&text[..at], Some(text[at + MARK.len()..].trim_end())),
        None => (text.as_str(), None),
    };
    if !printed.trim().is_empty() {
        let _ = std::io::stderr().write_all(printed.as_bytes());
    }
    if stalled {
        return Ok(Outcome::Crashed {
            how: format!(
                "still running after {} s, and stopped: does it wait for something that never \
                 comes (a read on a pipe whose write end is still open, a child never ended)?",
                timeout.as_secs()
            ),
        });
    }
    if let Some(verdict) = verdict.filter(|_| status.success()) {
        return serde_json::from_str(verdict).map_err(|e| format!("read its outcome: {e}"));
    }
    Ok(Outcome::Crashed { how: ended(status) })
}

/// How a check's process ended without an outcome, in words a student can act on.
fn ended(status: std::process::ExitStatus) -> String {
    let Some(number) = status.signal() else {
        return format!(
            "its process exited with status {} before the check was done: does your function \
             end the process (std::process::exit, _exit outside a child)?",
            status.code().unwrap_or(-1)
        );
    };
    let signal = Signal::try_from(number)
        .map_or_else(|_| format!("signal {number}"), |s| s.as_str().to_owned());
    let why = match Signal::try_from(number) {
        Ok(Signal::SIGSEGV) => {
            ": a read or write at an address with no mapping, or against its protection (past \
             the end of a region, after munmap, a write to a read-only page)?"
        }
        Ok(Signal::SIGBUS) => {
            ": an access to a page of a mapping past the end of its file (a file shorter than \
             the mapping)?"
        }
        _ => "",
    };
    format!("its process was killed by {signal}{why}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_cross_the_pipe_unchanged() {
        let outcomes = [
            Outcome::Done {
                showed: "Rss 1 page".into(),
            },
            Outcome::Failed(Failure::new("1 page", "2 pages")),
            Outcome::Todo {
                at: "src/exercises/x.rs:3:5".into(),
            },
            Outcome::Crashed {
                how: "killed".into(),
            },
        ];
        for outcome in outcomes {
            let text = serde_json::to_string(&outcome).unwrap();
            assert_eq!(serde_json::from_str::<Outcome>(&text).unwrap(), outcome);
        }
    }

    /// `sh -c SCRIPT` as the check's program.
    fn sh(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.args(["-c", script]);
        command
    }

    #[test]
    fn the_outcome_line_is_read_among_what_else_was_printed() {
        let done = serde_json::to_string(&Outcome::Done {
            showed: "ok".into(),
        })
        .unwrap();
        let script = format!("echo 'a line of theirs'; printf '\\n{MARK}%s\\n' '{done}'");
        let outcome = outcome_of(sh(&script), Duration::from_secs(20)).unwrap();
        assert_eq!(
            outcome,
            Outcome::Done {
                showed: "ok".into()
            }
        );
    }

    #[test]
    fn a_crash_is_told_by_its_signal_and_what_usually_causes_it() {
        let outcome = outcome_of(sh("kill -SEGV $$"), Duration::from_secs(20)).unwrap();
        let Outcome::Crashed { how } = outcome else {
            panic!("{outcome:?}")
        };
        assert!(
            how.starts_with("its process was killed by SIGSEGV: a read or write"),
            "{how}"
        );
        let outcome = outcome_of(sh("exit 3"), Duration::from_secs(20)).unwrap();
        assert!(
            matches!(&outcome, Outcome::Crashed { how } if how.contains("exited with status 3")),
            "{outcome:?}"
        );
    }

    /// A check that waits forever is stopped, and so is what it left running: here a
    /// process of its group that keeps the pipe open after the check's own one ended.
    #[test]
    fn a_hang_is_stopped_with_everything_it_started() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("left");
        let script = format!("sleep 60 & echo $! > '{}'; exit 0", file.display());
        let outcome = outcome_of(sh(&script), Duration::from_millis(300)).unwrap();
        assert!(
            matches!(&outcome, Outcome::Crashed { how } if how.starts_with("still running after 0 s")),
            "{outcome:?}"
        );
        let pid: i32 = std::fs::read_to_string(&file)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        // Killed, it ends once it runs again: wait for that, on a pidfd (readable when the
        // process has ended), not for a while.
        // SAFETY: a system call that only makes a descriptor.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
        if fd < 0 {
            let errno = nix::errno::Errno::last();
            assert_eq!(errno, nix::errno::Errno::ESRCH, "pidfd_open of sleep {pid}");
            return;
        }
        let mut ended = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one pollfd, ours; the descriptor is closed right after.
        let ready = unsafe { libc::poll(&mut ended, 1, 10_000) };
        // SAFETY: the descriptor made above, used no more.
        unsafe { libc::close(fd) };
        assert_eq!(
            ready, 1,
            "sleep {pid} still running 10 s after the check was stopped"
        );
    }
}
