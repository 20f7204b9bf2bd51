//! `pagelab watch`: reruns the current exercise's check every time a source file changes.
//!
//! Each run is `cargo run -- exercise` in the crate, so cargo rebuilds with the student's
//! edits first. File events come from inotify (through `notify`); where they do not arrive
//! (some network or container file systems), the watcher polls instead, and Enter always
//! reruns by hand.

use notify::{Event, EventKind, PollWatcher, RecommendedWatcher, RecursiveMode, Watcher};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::Duration;

/// Editors save in bursts (temporary file, rename, chmod): wait for quiet before a rerun.
const SETTLE: Duration = Duration::from_millis(300);
const POLL_INTERVAL: Duration = Duration::from_secs(1);

enum Signal {
    Changed(PathBuf),
    Rerun,
    Quit,
}

/// Watches `crate_dir`'s `src/`, `tests/` and `lessons/` until the student quits (q or EOF
/// on stdin, or Ctrl-C).
pub fn watch(crate_dir: &Path, out: &mut dyn Write) -> Result<(), String> {
    let (tx, rx) = mpsc::channel();
    let watched: Vec<PathBuf> = ["src", "tests", "lessons"]
        .iter()
        .map(|d| crate_dir.join(d))
        .filter(|d| d.is_dir())
        .collect();
    let _watcher = start_watcher(&watched, tx.clone(), out)?;
    spawn_stdin_reader(tx);
    loop {
        run_current_exercise(crate_dir, out)?;
        writeln!(
            out,
            "\nwatching {} in {} for changes: Enter reruns, q quits",
            watched
                .iter()
                .map(|d| d.strip_prefix(crate_dir).unwrap_or(d).display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
            crate_dir.display()
        )
        .map_err(|e| e.to_string())?;
        match next_rerun(&rx) {
            Some(reason) => writeln!(out, "\n--- {reason}").map_err(|e| e.to_string())?,
            None => return Ok(()),
        }
    }
}

/// The crate `watch` works on: the pagelab crate around `here` (a handout, a clone), where
/// `cargo run -- exercise` rebuilds what the student edits; else `built`, the one the binary
/// was built from, if it is still there. An installed binary run elsewhere watched the tree
/// it was built from, which may be stale or another student's.
pub fn crate_to_watch(here: &Path, built: &Path) -> Result<PathBuf, String> {
    let is_pagelab = |dir: &Path| {
        std::fs::read_to_string(dir.join("Cargo.toml"))
            .is_ok_and(|toml| toml.lines().any(|l| l.trim() == r#"name = "pagelab""#))
    };
    if let Some(dir) = here.ancestors().find(|dir| is_pagelab(dir)) {
        return Ok(dir.to_owned());
    }
    if is_pagelab(built) {
        return Ok(built.to_owned());
    }
    Err(format!(
        "watch reruns `cargo run -- exercise` in a pagelab crate: {} is in none, and {}, \
         where this binary was built, is not one any more; run it in your handout",
        here.display(),
        built.display()
    ))
}

/// Blocks until something asks for a rerun; `None` to quit. File events are collected until
/// [`SETTLE`] has passed without one.
fn next_rerun(rx: &Receiver<Signal>) -> Option<String> {
    let reason = match rx.recv().ok()? {
        Signal::Quit => return None,
        Signal::Rerun => return Some("rerun".into()),
        Signal::Changed(path) => format!("{} changed", path.display()),
    };
    loop {
        match rx.recv_timeout(SETTLE) {
            Ok(Signal::Quit) | Err(RecvTimeoutError::Disconnected) => return None,
            Ok(_) => continue,
            Err(RecvTimeoutError::Timeout) => return Some(reason),
        }
    }
}

fn forward(tx: Sender<Signal>) -> impl Fn(notify::Result<Event>) + Send + 'static {
    move |event: notify::Result<Event>| {
        let Ok(event) = event else { return };
        if !matches!(
            event.kind,
            EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_)
        ) {
            return;
        }
        // Editors' swap and backup files are not sources.
        let source = event.paths.iter().find(|p| {
            p.extension()
                .is_some_and(|x| x == "rs" || x == "md" || x == "toml")
        });
        if let Some(path) = source {
            let _ = tx.send(Signal::Changed(path.clone()));
        }
    }
}

/// inotify where it works, polling where it does not.
fn start_watcher(
    dirs: &[PathBuf],
    tx: Sender<Signal>,
    out: &mut dyn Write,
) -> Result<Box<dyn Watcher>, String> {
    let watch_all = |watcher: &mut dyn Watcher| -> notify::Result<()> {
        for dir in dirs {
            watcher.watch(dir, RecursiveMode::Recursive)?;
        }
        Ok(())
    };
    match RecommendedWatcher::new(forward(tx.clone()), notify::Config::default()) {
        Ok(mut watcher) => match watch_all(&mut watcher) {
            Ok(()) => return Ok(Box::new(watcher)),
            Err(e) => writeln!(
                out,
                "file events unavailable ({e}): polling every second instead"
            ),
        },
        Err(e) => writeln!(
            out,
            "file events unavailable ({e}): polling every second instead"
        ),
    }
    .map_err(|e| e.to_string())?;
    let config = notify::Config::default().with_poll_interval(POLL_INTERVAL);
    let mut watcher = PollWatcher::new(forward(tx), config).map_err(|e| format!("polling: {e}"))?;
    watch_all(&mut watcher).map_err(|e| format!("polling: {e}"))?;
    Ok(Box::new(watcher))
}

/// Enter reruns, `q` or end of input quits.
fn spawn_stdin_reader(tx: Sender<Signal>) {
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        for line in stdin.lock().lines() {
            let Ok(line) = line else { break };
            let signal = if line.trim() == "q" {
                Signal::Quit
            } else {
                Signal::Rerun
            };
            if tx.send(signal).is_err() {
                return;
            }
        }
        let _ = tx.send(Signal::Quit);
    });
}

/// `cargo run --quiet -- exercise` in the crate: rebuilds, then checks the first exercise
/// not done yet. A build error is shown as cargo prints it.
fn run_current_exercise(crate_dir: &Path, out: &mut dyn Write) -> Result<(), String> {
    out.flush().map_err(|e| e.to_string())?;
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(crate_dir)
        .args(["run", "--quiet", "--", "exercise"])
        .status()
        .map_err(|e| format!("running cargo in {}: {e}", crate_dir.display()))?;
    if !status.success() && status.code() != Some(1) {
        writeln!(
            out,
            "(cargo exited with {status}: fix the error above, then save again)"
        )
        .map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a_crate(dir: &Path, name: &str) {
        std::fs::create_dir_all(dir).unwrap();
        let toml = format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\n");
        std::fs::write(dir.join("Cargo.toml"), toml).unwrap();
    }

    #[test]
    fn the_crate_watched_is_the_one_around_the_current_directory() {
        let root = tempfile::tempdir().unwrap();
        let (handout, built) = (root.path().join("handout"), root.path().join("built"));
        a_crate(&handout, "pagelab");
        a_crate(&built, "pagelab");
        let inside = handout.join("src/exercises");
        std::fs::create_dir_all(&inside).unwrap();
        assert_eq!(crate_to_watch(&inside, &built).unwrap(), handout);
        // Elsewhere (another crate is not a pagelab one): the one the binary was built from.
        let other = root.path().join("other");
        a_crate(&other, "other");
        assert_eq!(crate_to_watch(&other, &built).unwrap(), built);
        // Gone: said, naming both.
        let gone = root.path().join("gone");
        let error = crate_to_watch(&other, &gone).unwrap_err();
        assert!(
            error.contains(&other.display().to_string()) && error.contains("gone"),
            "{error}"
        );
    }
}
