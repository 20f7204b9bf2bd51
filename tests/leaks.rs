//! A lesson test whose parent-side assertion fails while a forked child lives must leave
//! nothing behind: no process, no temporary file.
//!
//! The failing test (`a_failing_test_with_a_child_and_temporary_files`) is `#[ignore]`d and
//! does nothing unless `PAGELAB_LEAKS_SCENARIO` is set. The real test runs it in a separate
//! run of this very test binary, as a child subreaper (so every process the run leaves
//! behind becomes this process's child, however deep it was), with `TMPDIR` pointing into a
//! fresh private directory. After the run has failed as it should, no process may have
//! this process as its parent and the private directory must be empty.
//!
//! Keep this file to these two tests: being a subreaper is process-wide and lasts for the
//! life of the process, so any other test here would have its orphans counted too.

use nix::sys::prctl::set_child_subreaper;
use nix::sys::wait::{WaitPidFlag, WaitStatus, waitpid};
use nix::unistd::{Pid, getpid};
use pagelab::memory::child::Child;
use std::io::Write;
use std::process::Command;

const SCENARIO_ENV: &str = "PAGELAB_LEAKS_SCENARIO";
const SCENARIO: &str = "a_failing_test_with_a_child_and_temporary_files";
const FAILS_ON_PURPOSE: &str = "this assertion fails on purpose";

/// What a lesson test looks like when it goes wrong: temporary files, a forked child that
/// has answered a command, and then a failing assertion in the parent.
#[test]
#[ignore = "fails on purpose; run by the_failing_test_leaves_no_process_and_no_temporary_file"]
fn a_failing_test_with_a_child_and_temporary_files() {
    if std::env::var_os(SCENARIO_ENV).is_none() {
        return; // run by hand with --ignored: nothing to show
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("data.bin"), [1u8; 4096]).unwrap();
    let file = tempfile::NamedTempFile::new().unwrap();
    let mut child = Child::spawn(|command| command).unwrap();
    child.command(0).unwrap();
    // The parent can see its child's pid; the real test checks it is gone afterwards.
    println!("child pid {}", child.pid());
    println!(
        "temporary {} and {}",
        dir.path().display(),
        file.path().display()
    );
    assert_eq!(1 + 1, 3, "{FAILS_ON_PURPOSE}");
    drop((child, file, dir));
}

/// The processes whose parent is this process, from `/proc/*/status`.
fn children() -> Vec<Pid> {
    let me = getpid().as_raw().to_string();
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| {
            let pid: i32 = e.ok()?.file_name().to_str()?.parse().ok()?;
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
            let ppid = status.lines().find_map(|l| l.strip_prefix("PPid:"))?.trim();
            (ppid == me).then_some(Pid::from_raw(pid))
        })
        .collect()
}

/// What a leftover process is: its name and state line from `/proc/PID/status`.
fn describe(pid: Pid) -> String {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .map_or("?".to_owned(), |v| v.trim().to_owned())
    };
    format!("pid {pid} ({}, {})", field("Name:"), field("State:"))
}

#[test]
fn the_failing_test_leaves_no_process_and_no_temporary_file() {
    set_child_subreaper(true).unwrap();
    let known = children();
    let tmp = tempfile::tempdir().unwrap();
    let private = tmp.path().join("tmp");
    std::fs::create_dir(&private).unwrap();

    let output = Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            SCENARIO,
            "--nocapture",
            "--test-threads=1",
        ])
        .env(SCENARIO_ENV, "1")
        .env("TMPDIR", &private)
        .env_remove("RUST_BACKTRACE")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let run = format!("stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(!output.status.success(), "the scenario passed:\n{run}");
    assert!(
        stderr.contains(FAILS_ON_PURPOSE) && stdout.contains("1 failed"),
        "the scenario did not fail where it should:\n{run}"
    );
    let child_pid = stdout
        .lines()
        .find_map(|l| l.split_once("child pid ")?.1.split_whitespace().next())
        .unwrap_or_else(|| panic!("the scenario forked no child:\n{run}"));

    // The run has exited, so anything it left has been handed to this subreaper already.
    let mut leftovers = Vec::new();
    for pid in children().into_iter().filter(|p| !known.contains(p)) {
        leftovers.push(describe(pid));
        // Reap it if it has exited (a zombie), so that it does not outlive the test.
        if let Ok(WaitStatus::StillAlive) = waitpid(pid, Some(WaitPidFlag::WNOHANG)) {
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGKILL);
            let _ = waitpid(pid, None);
        }
    }
    assert!(
        leftovers.is_empty(),
        "the failed test left {} process(es) behind (its forked child was {child_pid}): {}\n{run}",
        leftovers.len(),
        leftovers.join(", ")
    );

    let left: Vec<String> = std::fs::read_dir(&private)
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    assert!(
        left.is_empty(),
        "the failed test left temporary files behind: {}\n{run}",
        left.join(", ")
    );
    let _ = writeln!(
        std::io::stderr(),
        "leaks: the failed test (child {child_pid}) left no process and no temporary file"
    );
}
