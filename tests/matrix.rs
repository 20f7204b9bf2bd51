//! `pagelab matrix`: result files from several machines merged into one claim ×
//! configuration table, and the kernel matrix's own table made the same way.

mod common;

use common::run::exited_saying;
use pagelab::matrix::{self, Column, Configured, build};
use pagelab::results::{LessonsDigest, ResultFile};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn pagelab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pagelab"))
        .args(args)
        .env_remove("PAGELAB_LESSONS")
        .stdin(Stdio::null())
        .output()
        .expect("pagelab runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

/// This host's result file, claims and exercises, as a CI job writes it: made once a test
/// binary, as making it performs every experiment and exercise.
fn host_result() -> serde_json::Value {
    static HOST: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    HOST.get_or_init(check_this_host).clone()
}

fn check_this_host() -> serde_json::Value {
    let output = pagelab(&[
        "check",
        "--format",
        "json",
        "--exercises",
        "--label",
        "this host",
    ]);
    // 1 where an exercise is not done yet: a student's handout, where these tests run too.
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "{}",
        text(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("a result file")
}

/// Whether a result file fails its column: a claim failed, an exercise not done.
fn fails(result: &serde_json::Value) -> bool {
    let undone = result["exercises"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|e| !["done", "skipped"].contains(&e["outcome"].as_str().unwrap_or("")));
    result["totals"]["failed"] != 0 || undone
}

/// The exit status `pagelab matrix` owes a set of files made from `host`.
fn expected_status(host: &serde_json::Value) -> Option<i32> {
    Some(if fails(host) { 1 } else { 0 })
}

/// The same checks, as if made on an arm64 machine with 16 kB pages by an unprivileged
/// user: another machine description with the same lessons.
fn faked_arm64(host: &serde_json::Value) -> serde_json::Value {
    let mut arm = host.clone();
    arm["machine"]["label"] = "faked arm64 board".into();
    arm["machine"]["arch"] = "aarch64".into();
    arm["machine"]["libc"] = "musl".into();
    arm["machine"]["privileges"] = serde_json::json!({
        "uid": 1000, "cap_ipc_lock": false, "cap_sys_admin": false, "memlock_limit": 65536
    });
    arm["kernel"]["release"] = "6.12.118+deb13-arm64-16k".into();
    arm["kernel"]["page_size"] = 16384.into();
    arm
}

fn write(dir: &Path, name: &str, json: &serde_json::Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(json).unwrap()).unwrap();
    path
}

fn matrix_of(args: &[&str]) -> (String, Output) {
    let output = pagelab(&[&["matrix"], args].concat());
    (text(&output.stdout), output)
}

#[test]
fn result_files_of_two_machines_merge_into_one_table_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let host = host_result();
    let here = write(dir.path(), "here.json", &host);
    let arm = write(dir.path(), "arm.json", &faked_arm64(&host));
    let (here, arm) = (here.to_str().unwrap(), arm.to_str().unwrap());
    let claims = host["lessons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["claims"].as_array().unwrap().len())
        .sum::<usize>();
    let exercises = host["exercises"].as_array().unwrap().len();

    let (table, output) = matrix_of(&[here, arm]);
    let summary = text(&output.stderr);
    assert_eq!(output.status.code(), expected_status(&host), "{summary}");
    assert!(summary.contains("2 configuration(s), "), "{summary}");
    assert_eq!(summary.contains("none failed"), !fails(&host), "{summary}");
    let rows: Vec<&str> = table
        .lines()
        .filter(|l| l.starts_with("lessons/"))
        .collect();
    assert_eq!(rows.len(), claims + exercises, "{table}");
    assert!(
        rows.iter()
            .any(|r| r.contains(" exercise touch-every-page ")),
        "{table}"
    );
    let described = table
        .lines()
        .find(|l| l.starts_with("2 faked arm64 board"))
        .unwrap_or_default();
    for word in [
        "6.12.118+deb13-arm64-16k",
        "aarch64",
        "musl",
        "16 kB",
        "memlock 64 kB",
    ] {
        assert!(described.contains(word), "{word}: {described}");
    }

    let (markdown, output) = matrix_of(&["--format", "markdown", here, arm]);
    assert_eq!(output.status.code(), expected_status(&host));
    assert!(
        markdown.contains(
            "| 2 | faked arm64 board | 6.12.118+deb13-arm64-16k | aarch64 | musl | 16 kB |"
        ),
        "{markdown}"
    );
    assert!(markdown.contains(&format!("From `{arm}`.")), "{markdown}");

    let (json, output) = matrix_of(&["--format", "json", dir.path().to_str().unwrap()]);
    assert_eq!(output.status.code(), expected_status(&host));
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(json["lessons_digest"], host["lessons_digest"]);
    // A directory is its files in name order: arm.json, then here.json.
    let labels: Vec<&str> = json["configurations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels, ["faked arm64 board", "this host"]);
    assert_eq!(
        json["configurations"][0]["description"]["privileges"],
        "uid 1000, memlock 64 kB"
    );
    assert_eq!(json["claims"].as_array().unwrap().len(), claims + exercises);
    assert_eq!(json["claims"][0]["cells"].as_array().unwrap().len(), 2);
}

#[test]
fn files_that_checked_other_lessons_are_refused_naming_both() {
    let dir = tempfile::tempdir().unwrap();
    let host = host_result();
    let mut other = faked_arm64(&host);
    let older = LessonsDigest::of([("01-mmap-anon.md", "an older lesson 01")]);
    other["lessons_digest"] = older.to_string().into();
    let here = write(dir.path(), "here.json", &host);
    let elsewhere = write(dir.path(), "older-lessons.json", &other);
    let (out, output) = matrix_of(&[here.to_str().unwrap(), elsewhere.to_str().unwrap()]);
    let needles = [
        "here.json",
        "older-lessons.json",
        host["lessons_digest"].as_str().unwrap(),
        &older.to_string(),
        "not merged",
    ];
    exited_saying(&output, 2, &needles);
    assert!(out.is_empty(), "nothing rendered: {out}");
}

/// JSON that is not an object (an array, which serde would read field by field) is not
/// taken for a result file with a wrong field: the error names the file and what a result
/// file is.
#[test]
fn a_json_array_is_refused_as_not_a_result_file() {
    let dir = tempfile::tempdir().unwrap();
    let array = write(dir.path(), "array.json", &serde_json::json!([1, 2]));
    let (_, output) = matrix_of(&[array.to_str().unwrap()]);
    let error = exited_saying(&output, 2, &[]);
    let expected = format!(
        "pagelab: {}: not a result file: expected a JSON object, the output of `pagelab check --format json`, and found an array\n",
        array.display()
    );
    assert_eq!(error, expected);
}

/// A result file named twice, as itself or once more through its directory, is refused
/// naming it: merged, its configuration would count twice.
#[test]
fn a_result_file_named_twice_is_refused_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let host = write(dir.path(), "host.json", &host_result());
    let host = host.to_str().unwrap();
    let (out, output) = matrix_of(&[host, host]);
    exited_saying(&output, 2, &[&format!("{host} is named twice")]);
    assert!(out.is_empty(), "nothing rendered: {out}");
    let listed = dir.path().to_str().unwrap();
    let spelled_otherwise = format!("{listed}/.");
    let (_, output) = matrix_of(&[host, &spelled_otherwise]);
    let again = format!("{host} is named twice (again as {spelled_otherwise}/host.json)");
    exited_saying(&output, 2, &[&again]);
    let (_, once) = matrix_of(&[listed]);
    assert_eq!(
        once.status.code(),
        expected_status(&host_result()),
        "{}",
        text(&once.stderr)
    );
}

#[test]
fn a_failed_configuration_makes_the_exit_status_non_zero_with_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    // Claims only: they hold here, and in a handout, whose exercises are still to do.
    let output = pagelab(&["check", "--format", "json"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let host: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let mut failing = faked_arm64(&host);
    failing["lessons"][0]["claims"][0]["verdict"] = "failed".into();
    failing["lessons"][0]["claims"][0]["reason"] = "faked for the test".into();
    write(dir.path(), "1-here.json", &host);
    write(dir.path(), "2-failing.json", &failing);
    let (_, output) = matrix_of(&[dir.path().to_str().unwrap()]);
    let summary = [
        "2 configuration(s), 1 failed: 2 faked arm64 board (",
        " 1 failed,",
    ];
    exited_saying(&output, 1, &summary);
}

/// The kernel matrix writes a result file per configuration and renders its table from
/// them: `pagelab matrix` on that directory prints the very same table.
#[test]
fn the_runners_table_and_pagelab_matrix_are_the_same_table() {
    // What a guest prints: `check --format json --exercises`.
    let check = pagelab(&["check", "--format", "json", "--exercises"]);
    let mut guest = Column::from_json(&text(&check.stdout), 7.5).unwrap();
    guest.add_errors(vec!["configuration: no hugepages-64kB/enabled".into()]);
    let host: ResultFile = serde_json::from_value(faked_arm64(&host_result())).unwrap();
    let digest = host.lessons_digest;
    let target = build::GuestTarget::new;
    let configured = vec![
        Configured {
            name: "host".into(),
            target: target(build::Arch::X86_64, build::Libc::Glibc),
            column: Column::Ran(Box::new(host)),
        },
        Configured {
            name: "x86 6.12 mTHP 16 pages".into(),
            target: target(build::Arch::X86_64, build::Libc::Glibc),
            column: guest,
        },
        Configured {
            name: "arm64 musl 7.2 always".into(),
            target: target(build::Arch::Aarch64, build::Libc::Musl),
            column: Column::Broken {
                why: "no power-off within 180s: killed".into(),
                console_tail: "Kernel panic".into(),
                seconds: 180.0,
            },
        },
    ];
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("stale-from-an-earlier-run.json"), "{}").unwrap();
    let written = matrix::write_results(dir.path(), configured, digest).unwrap();
    let names: Vec<String> = written
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        [
            "01-host.json",
            "02-x86-6.12-mthp-16-pages.json",
            "03-arm64-musl-7.2-always.json"
        ]
    );
    assert!(!dir.path().join("stale-from-an-earlier-run.json").exists());

    let runner = matrix::table_of(dir.path()).unwrap();
    let dir_arg = dir.path().to_str().unwrap();
    let (table, output) = matrix_of(&[dir_arg]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "the broken and misconfigured columns fail"
    );
    assert_eq!(table, matrix::table::terminal(&runner));
    let (markdown, _) = matrix_of(&["--format", "markdown", dir_arg]);
    assert_eq!(markdown, matrix::table::markdown(&runner));
    assert!(
        markdown.contains("problems: configuration: no hugepages-64kB/enabled"),
        "{markdown}"
    );
    assert!(
        markdown.contains("Broken: no power-off within 180s: killed"),
        "{markdown}"
    );
    let broken = table
        .lines()
        .find(|l| l.starts_with("3 arm64 musl 7.2 always"))
        .unwrap();
    assert!(
        broken.contains("aarch64") && broken.contains("musl") && broken.contains("180.0s"),
        "{broken}"
    );
}

#[test]
fn exercises_and_label_belong_to_a_result_file() {
    for args in [
        ["check", "--format", "ktap", "--exercises"],
        ["check", "--format", "text", "--label"],
    ] {
        let mut args = args.to_vec();
        if args[3] == "--label" {
            args.push("x");
        }
        let output = pagelab(&args);
        exited_saying(&output, 2, &["go with --format json"]);
    }
}
