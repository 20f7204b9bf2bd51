//! Exercises' checks in processes of their own: the program runs itself again, asked by
//! [`CHILD`] to run some checks one after another and print each outcome as it has it. The
//! student's code is memory code, and its commonest mistakes end a process: a write past a
//! mapping (SIGSEGV), a read past a file's end (SIGBUS), a child's pipe waited on forever.
//! In the process that ran all the exercises, one such answer ended or stalled every command
//! and test, and named none of them. Here it ends its own process: the exercise whose
//! outcome did not come is told how it ended, and a new process runs the ones after it.

use super::Failure;
use super::outcome::{self, Outcome};
use super::registry::{self, Exercise};
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The environment variable that asks the program to run the checks of the exercises it
/// names (ids, comma-separated), print their outcomes and exit ([`serve_if_asked`]).
pub const CHILD: &str = "PAGELAB_EXERCISE_CHILD";

/// The environment variable that tells a program asked by [`CHILD`] which process asked it:
/// one that is gone by the time it looks is not there to read its outcomes.
pub const PARENT: &str = "PAGELAB_EXERCISE_PARENT";

/// How long one check may take. The slowest take a second or two (huge pages, reclaim); a
/// check still running after this waits for something that will not come.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// How long a check may run before standard error says it is still running: longer than
/// the slowest check that ends, so that only one that may never end is told.
const STILL_RUNNING: Duration = Duration::from_secs(5);

/// How a batch waits for each outcome: it tells `tell` once `notice` has passed without
/// one, so that a student waiting on a hang is not left with nothing for a minute, and
/// stops the check after `timeout`.
struct Waiting<'a> {
    notice: Duration,
    timeout: Duration,
    tell: &'a (dyn Fn(&str) + Sync),
}

/// How every batch of this program waits: told on standard error, stopped at [`TIMEOUT`].
const WAITING: Waiting<'static> = Waiting {
    notice: STILL_RUNNING,
    timeout: TIMEOUT,
    tell: &|line| eprintln!("{line}"),
};

/// What starts the line that carries an outcome, among whatever else the student's code
/// printed: a control character no text of theirs is likely to begin a line with.
const MARK: &str = "\u{1}pagelab-outcome ";

/// Set by [`serve_if_asked`] where it returns: this program serves checks, and [`run`] may
/// start it again for some. A program that does not would run as a whole, its own checks
/// (or tests) starting it again in turn.
static SERVES: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// In a program asked by [`CHILD`] to run checks: runs them in order, prints each outcome as
/// it comes, and exits. Elsewhere it returns at once. Every program that calls [`run`] or
/// [`run_each`] calls this first.
pub fn serve_if_asked() {
    let Some(ids) = std::env::var_os(CHILD) else {
        SERVES.store(true, std::sync::atomic::Ordering::Relaxed);
        return;
    };
    // Ended with the thread that started it (a Ctrl-C, a killed test run), so that no check
    // goes on unwatched. SAFETY: prctl with these arguments only sets this process's signal.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    // The signal is only sent for a death after the call: a death of the asking process
    // before it shows here, as another parent. (Its starting thread waits for this process.)
    let asker = std::env::var(PARENT)
        .ok()
        .and_then(|p| p.parse::<i32>().ok());
    if asker.is_some_and(|pid| nix::unistd::getppid().as_raw() != pid) {
        std::process::exit(1);
    }
    let ids = ids.to_string_lossy().into_owned();
    for id in ids.split(',') {
        let outcome = match registry::find(id) {
            Some(exercise) => outcome::run_here(exercise),
            None => Outcome::Failed(Failure::setup(
                "find the exercise it was asked to run",
                format!("{CHILD} names `{id}`, which is none"),
            )),
        };
        let text = serde_json::to_string(&outcome).expect("an outcome is plain data");
        let mut out = std::io::stdout().lock();
        if writeln!(out, "\n{MARK}{text}")
            .and_then(|()| out.flush())
            .is_err()
        {
            // No one reads the outcomes any more: the rest of the checks would run unwatched.
            std::process::exit(1);
        }
    }
    std::process::exit(0);
}

/// The exercise's check, run by this program in a process of its own (see the module):
/// its outcome, or how the process ended without one. Whatever the student's code printed
/// goes to this process's standard error.
pub fn run(exercise: &Exercise) -> Outcome {
    let (_, outcome) = run_each(&[exercise])
        .pop()
        .expect("one outcome an exercise");
    outcome
}

/// Every exercise's outcome, in the registry's order ([`run_each`]).
pub fn run_all() -> Vec<(&'static Exercise, Outcome)> {
    let all: Vec<&'static Exercise> = registry::ALL.iter().collect();
    run_each(&all)
}

/// Each of `exercises` with its outcome, in their order. As many processes as there are
/// CPUs run them side by side, each its share one after another (a process a check costs
/// more than most checks); their processes share nothing a check measures, and the hugetlb
/// pool, which is the machine's, is locked with flock.
pub fn run_each<'e>(exercises: &[&'e Exercise]) -> Vec<(&'e Exercise, Outcome)> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let share = exercises.len().div_ceil(workers.max(1)).max(1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = exercises
            .chunks(share)
            .map(|chunk| (chunk, scope.spawn(move || batch(chunk))))
            .collect();
        handles
            .into_iter()
            .flat_map(|(chunk, h)| {
                let outcomes = h
                    .join()
                    .expect("a worker only starts processes and reads them");
                chunk.iter().copied().zip(outcomes)
            })
            .collect()
    })
}

/// The outcomes of `exercises`, run one after another by processes of this program: one,
/// and another from the exercise after where one ended without its outcome.
fn batch(exercises: &[&Exercise]) -> Vec<Outcome> {
    let ids: Vec<&str> = exercises.iter().map(|e| e.id).collect();
    batch_of(&ids, &WAITING, &|| this_program())
}

/// [`batch`] of the exercises `ids`, each process made by `program` and told the ids left.
fn batch_of(
    ids: &[&str],
    waiting: &Waiting<'_>,
    program: &dyn Fn() -> Result<Command, String>,
) -> Vec<Outcome> {
    let mut outcomes = Vec::with_capacity(ids.len());
    while outcomes.len() < ids.len() {
        let rest = &ids[outcomes.len()..];
        let mut command = match program() {
            Ok(command) => command,
            Err(why) => {
                let failed = Outcome::Failed(Failure::setup(
                    "run the exercise in a process of its own",
                    why,
                ));
                outcomes.resize(ids.len(), failed);
                break;
            }
        };
        command
            .env(CHILD, rest.join(","))
            .env(PARENT, std::process::id().to_string());
        outcomes.extend(outcomes_of(command, rest, waiting));
    }
    outcomes
}

fn this_program() -> Result<Command, String> {
    if !SERVES.load(std::sync::atomic::Ordering::Relaxed) {
        return Err("this program does not serve checks: its main calls no \
                    homework::isolated::serve_if_asked()"
            .into());
    }
    let program = std::env::current_exe().map_err(|e| format!("find this program: {e}"))?;
    Ok(Command::new(program))
}

/// Runs `command` (a program that prints the outcomes of the exercises `ids` as
/// [`serve_if_asked`] does) in a process group of its own, each outcome due as `waiting`
/// says after the one before (whatever else it prints meanwhile): the outcomes it printed,
/// and if it ended or stalled before the last, one more that says how.
fn outcomes_of(mut command: Command, ids: &[&str], waiting: &Waiting<'_>) -> Vec<Outcome> {
    let (wanted, timeout) = (ids.len(), waiting.timeout);
    // No pre_exec, uid or groups: std then starts it with posix_spawn (CLONE_VM |
    // CLONE_VFORK), not fork, so no page of the asking process turns shared, which the
    // exercise tests rely on to run beside tests that read their own pages' sharing.
    let started = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        // Its own process group: what the student's code forked is ended with it.
        .process_group(0)
        .spawn();
    let mut child = match started {
        Ok(child) => child,
        Err(e) => {
            let why = format!("start {:?}: {e}", command.get_program());
            return vec![Outcome::Failed(Failure::setup(
                "run the exercise in a process of its own",
                why,
            ))];
        }
    };
    let lines = read_lines(&mut child);
    let mut outcomes = Vec::new();
    // Only an outcome moves the deadline: a check stuck in a loop that prints is stuck too.
    let mut deadline = Instant::now() + timeout;
    let mut notice = Some(Instant::now() + waiting.notice);
    let stalled = loop {
        if outcomes.len() == wanted {
            break false;
        }
        let until = notice.map_or(deadline, |notice| notice.min(deadline));
        match lines.recv_timeout(until.saturating_duration_since(Instant::now())) {
            Ok(line) => match line.strip_prefix(MARK) {
                Some(json) => {
                    outcomes.push(serde_json::from_str(json).unwrap_or_else(|e| {
                        Outcome::Failed(Failure::setup("read the check's outcome", e))
                    }));
                    deadline = Instant::now() + timeout;
                    notice = Some(Instant::now() + waiting.notice);
                }
                // Theirs: shown where a student looks, out of the way of machine formats.
                None if !line.is_empty() => eprintln!("{line}"),
                None => {}
            },
            Err(mpsc::RecvTimeoutError::Disconnected) => break false,
            Err(mpsc::RecvTimeoutError::Timeout)
                if Instant::now() < deadline && notice.take().is_some() =>
            {
                (waiting.tell)(&format!(
                    "pagelab: exercise `{}`: its check has run for {} s and is still running; \
                     it is stopped at {} s",
                    ids[outcomes.len()],
                    waiting.notice.as_secs(),
                    timeout.as_secs()
                ));
            }
            Err(mpsc::RecvTimeoutError::Timeout) => break true,
        }
    };
    let group = Pid::from_raw(child.id() as i32);
    if stalled {
        let _ = killpg(group, Signal::SIGKILL);
    }
    let status = child.wait();
    // Nothing of the group may outlive its checks, whatever they left running.
    let _ = killpg(group, Signal::SIGKILL);
    if outcomes.len() < wanted {
        let how = match (stalled, status) {
            (true, _) => format!(
                "still running after {} s, and stopped: does it wait for something that never \
                 comes (a read on a pipe whose write end is still open, a child never ended)?",
                timeout.as_secs()
            ),
            (false, Ok(status)) => ended(status),
            (false, Err(e)) => format!("its process could not be waited for: {e}"),
        };
        outcomes.push(Outcome::Crashed { how });
    }
    outcomes
}

/// The lines `child` prints, as it prints them, until its output closes.
fn read_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("piped");
    let (sent, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if sent.send(line).is_err() {
                break;
            }
        }
    });
    lines
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

    /// A stand-in for the program: `sh -c SCRIPT`, which reads the ids left from [`CHILD`]
    /// as the program does. `emit ID` prints ID's outcome, done, as the program would.
    fn sh(script: &str) -> Command {
        let done = serde_json::to_string(&Outcome::Done {
            showed: "ID".into(),
        })
        .unwrap()
        .replace("ID", "$1");
        let mut command = Command::new("sh");
        command.args([
            "-c",
            &format!(
                "emit() {{ printf '\\n{MARK}%s\\n' \"{}\"; }}\n{script}",
                done.replace('"', "\\\"")
            ),
        ]);
        command
    }

    fn done(id: &str) -> Outcome {
        Outcome::Done { showed: id.into() }
    }

    /// Waiting that stops a check after `timeout`, before anything is told.
    fn stop_after(timeout: Duration) -> Waiting<'static> {
        Waiting {
            notice: timeout,
            timeout,
            tell: &|line| panic!("told before the deadline: {line}"),
        }
    }

    #[test]
    fn outcome_lines_are_read_among_what_else_was_printed() {
        let outcomes = outcomes_of(
            sh("echo 'a line of theirs'; emit a; emit b"),
            &["a", "b"],
            &stop_after(Duration::from_secs(20)),
        );
        assert_eq!(outcomes, [done("a"), done("b")]);
    }

    /// The exercise whose process crashed is told how; a new process runs the ones after it.
    #[test]
    fn a_crash_ends_its_exercise_only_and_is_told_by_its_signal() {
        let script = "for id in $(echo \"$PAGELAB_EXERCISE_CHILD\" | tr , ' '); do \
                      if [ $id = b ]; then kill -SEGV $$; fi; emit $id; done";
        let started = std::cell::Cell::new(0);
        let program = || {
            started.set(started.get() + 1);
            Ok(sh(script))
        };
        let outcomes = batch_of(
            &["a", "b", "c"],
            &stop_after(Duration::from_secs(20)),
            &program,
        );
        assert_eq!(outcomes.len(), 3, "{outcomes:?}");
        assert_eq!((&outcomes[0], &outcomes[2]), (&done("a"), &done("c")));
        let Outcome::Crashed { how } = &outcomes[1] else {
            panic!("{outcomes:?}")
        };
        assert!(
            how.starts_with("its process was killed by SIGSEGV: a read or write"),
            "{how}"
        );
        assert_eq!(started.get(), 2, "one process, then one from `c`");
        let exited = outcomes_of(sh("exit 3"), &["a"], &stop_after(Duration::from_secs(20)));
        assert!(
            matches!(&exited[..], [Outcome::Crashed { how }] if how.contains("exited with status 3")),
            "{exited:?}"
        );
    }

    /// A check that goes on without an outcome is told once, with its exercise, and may still
    /// end with one: here `b`'s, once the test has been told of `b` (through a FIFO, so that
    /// nothing waits for a while). `a` may be told too, where the shell is slow to start.
    #[test]
    fn a_slow_check_is_told_still_running_once() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("go");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRWXU).unwrap();
        let told = std::sync::Mutex::new(Vec::new());
        let tell = |line: &str| {
            told.lock().unwrap().push(line.to_owned());
            if line.contains("exercise `b`") {
                std::fs::write(&fifo, "go\n").unwrap();
            }
        };
        let waiting = Waiting {
            notice: Duration::from_millis(10),
            timeout: Duration::from_secs(20),
            tell: &tell,
        };
        let script = format!("emit a; read go < '{}'; emit b", fifo.display());
        let outcomes = outcomes_of(sh(&script), &["a", "b"], &waiting);
        assert_eq!(outcomes, [done("a"), done("b")]);
        let told = told.into_inner().unwrap();
        let of = |id: &str| {
            let prefix = format!("pagelab: exercise `{id}`: its check has run for 0 s");
            told.iter().filter(|line| line.starts_with(&prefix)).count()
        };
        assert_eq!((of("b"), told.len() - of("a")), (1, 1), "{told:?}");
        assert!(of("a") <= 1, "{told:?}");
        assert!(
            told.iter()
                .all(|line| line.ends_with("it is stopped at 20 s")),
            "{told:?}"
        );
    }

    /// A check stuck in a loop that prints is stuck all the same: its lines do not put the
    /// deadline off, only outcomes do.
    #[test]
    fn a_check_that_prints_while_stuck_is_stopped() {
        let script = "emit a; while :; do echo still here; sleep 0.05; done";
        assert_b_stopped(script, Duration::from_millis(200));
    }

    /// Runs `script` for exercises `a` and `b`, stopped after `timeout` without an outcome:
    /// `a`'s outcome is done, and `b`'s says that its check was stopped.
    fn assert_b_stopped(script: &str, timeout: Duration) {
        let outcomes = outcomes_of(sh(script), &["a", "b"], &stop_after(timeout));
        assert_eq!(outcomes[0], done("a"));
        assert!(
            matches!(&outcomes[1..], [Outcome::Crashed { how }] if how.starts_with("still running after 0 s")),
            "{outcomes:?}"
        );
    }

    /// A check that waits forever is stopped, and so is what it left running: here a
    /// process of its group that keeps the pipe open after the check's own one ended.
    #[test]
    fn a_hang_is_stopped_with_everything_it_started() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("left");
        let script = format!("emit a; sleep 60 & echo $! > '{}'; exit 0", file.display());
        assert_b_stopped(&script, Duration::from_millis(100));
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
