use super::*;
use std::path::PathBuf;

fn digest(text: &str) -> LessonsDigest {
    LessonsDigest::of([("01-x.md", text)])
}

fn claim(line: usize, verdict: Verdict) -> ClaimResult {
    ClaimResult {
        place: ClaimPlace {
            lesson: "x".into(),
            file: "lessons/01-x.md".into(),
            line,
            step: "written".into(),
            subject: "mapping".into(),
            field: "Rss".into(),
            expected: "1 page".into(),
        },
        verdict,
    }
}

fn exercise(outcome: ExerciseOutcome) -> ExerciseResult {
    ExerciseResult {
        id: "touch-every-page".into(),
        lesson: "x".into(),
        lesson_file: Some("lessons/01-x.md".into()),
        line: Some(40),
        file: "src/exercises/x.rs".into(),
        function: "touch_every_page".into(),
        outcome,
        expected: None,
        detail: "Rss 28 kB".into(),
    }
}

/// A run of this machine with one lesson of three claims and one exercise.
fn checked(lessons: &str, label: &str) -> ResultFile {
    let probe = KernelProbe::probe().unwrap();
    let lesson = LessonReport {
        id: "x".into(),
        title: "X".into(),
        file: "lessons/01-x.md".into(),
        claims: vec![
            claim(
                7,
                Verdict::Held {
                    observed: "4 kB".into(),
                    branch: Some("base page".into()),
                },
            ),
            claim(
                8,
                Verdict::Skipped {
                    cause: SkipCause::Branch,
                    reason: "no THP".into(),
                },
            ),
            claim(
                9,
                Verdict::Failed {
                    observed: None,
                    reason: "never reached".into(),
                    branch: None,
                },
            ),
        ],
        error: None,
        core_problems: Vec::new(),
    };
    let checks = Checks::Both(vec![lesson], vec![exercise(ExerciseOutcome::Done)]);
    ResultFile::of_this_machine(digest(lessons), &probe, checks, 0.25, Some(label.into()))
}

fn broken() -> ResultFile {
    ResultFile {
        lessons_digest: digest("a"),
        machine: Machine {
            label: Some("arm64 6.12".into()),
            arch: "aarch64".into(),
            libc: Libc::Musl,
        },
        seconds: Some(180.0),
        run: Run::Broken(Broken {
            why: "no power-off within 180s: killed".into(),
            console_tail: "Kernel panic".into(),
        }),
    }
}

#[test]
fn a_result_file_reads_back_as_it_was_written() {
    for file in [checked("a", "host"), broken()] {
        let text = file.to_json();
        let back: ResultFile = serde_json::from_str(&text).unwrap();
        assert_eq!(back, file, "{text}");
    }
    let only_claims = ResultFile {
        run: match checked("a", "host").run {
            Run::Checked(mut c) => {
                c.checks = Checks::Claims(c.checks.lessons().unwrap().to_vec());
                c.setup_errors = vec!["configuration: no hugepages-64kB".into()];
                Run::Checked(c)
            }
            broken => broken,
        },
        ..checked("a", "host")
    };
    let back: ResultFile = serde_json::from_str(&only_claims.to_json()).unwrap();
    assert_eq!(back, only_claims);
}

#[test]
fn the_json_keeps_what_check_and_exercise_always_wrote() {
    let json: serde_json::Value = serde_json::from_str(&checked("a", "host").to_json()).unwrap();
    assert_eq!(json["format"], FORMAT);
    assert_eq!(json["lessons_digest"], digest("a").to_string());
    assert_eq!(json["machine"]["arch"], std::env::consts::ARCH);
    assert_eq!(json["machine"]["label"], "host");
    assert!(json["machine"]["libc"].is_string());
    assert!(json["machine"]["privileges"]["uid"].is_u64());
    assert!(json["kernel"]["page_size"].is_u64());
    assert_eq!(json["totals"]["held"], 1);
    assert_eq!(json["totals"]["failed"], 1);
    assert_eq!(json["lessons"][0]["claims"][1]["verdict"], "skipped");
    assert_eq!(json["lessons"][0]["claims"][1]["skip"], "branch");
    assert!(json["lessons"][0]["claims"][0].get("skip").is_none());
    assert_eq!(
        (json["done"].clone(), json["total"].clone()),
        (1.into(), 1.into())
    );
    assert_eq!(json["exercises"][0]["outcome"], "done");
    let broken: serde_json::Value = serde_json::from_str(&broken().to_json()).unwrap();
    assert!(broken["kernel"].is_null() && broken["lessons"].is_null());
    assert_eq!(broken["broken"]["why"], "no power-off within 180s: killed");
}

#[test]
fn a_file_counts_claims_and_exercises_and_fails_on_either() {
    let file = checked("a", "host");
    assert_eq!(file.claims().len(), 4);
    let row = &file.claims()[3];
    assert_eq!(
        (row.place.step.as_str(), row.place.subject.as_str()),
        ("exercise", "touch-every-page")
    );
    assert_eq!(
        file.counts(),
        Counts {
            held: 2,
            failed: 1,
            skipped: 1
        }
    );
    assert!(file.failed());
    assert!(broken().failed() && broken().claims().is_empty());
}

#[test]
fn a_file_that_reports_nothing_fails() {
    let mut file = checked("a", "host");
    let Run::Checked(checked) = &mut file.run else {
        unreachable!()
    };
    checked.checks = Checks::Claims(Vec::new());
    assert_eq!(file.errors(), ["the file reports no claim and no exercise"]);
    assert!(file.failed());
}

fn write(dir: &std::path::Path, name: &str, file: &ResultFile) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, file.to_json()).unwrap();
    path
}

#[test]
fn files_of_different_lessons_are_refused_naming_both_files_and_digests() {
    let dir = tempfile::tempdir().unwrap();
    let one = write(dir.path(), "one.json", &checked("a", "one"));
    let same = write(dir.path(), "same.json", &broken());
    let other = write(dir.path(), "other.json", &checked("b", "other"));
    let loaded = load(&[one.clone(), same]).unwrap();
    assert_eq!(
        loaded.iter().map(|l| l.label.as_str()).collect::<Vec<_>>(),
        ["one", "arm64 6.12"]
    );
    let error = load(&[one, other]).unwrap_err();
    for needle in [
        "one.json",
        "other.json",
        &digest("a").to_string(),
        &digest("b").to_string(),
    ] {
        assert!(error.contains(needle), "{needle} missing from: {error}");
    }
    // A directory is its files in name order: the same refusal.
    let error = load(&[dir.path().to_owned()]).unwrap_err();
    assert!(
        error.contains("other.json") && error.contains("one.json"),
        "{error}"
    );
}

#[test]
fn a_file_that_is_not_a_result_file_says_which_and_why() {
    let dir = tempfile::tempdir().unwrap();
    let mut old: serde_json::Value = serde_json::from_str(&checked("a", "x").to_json()).unwrap();
    old.as_object_mut().unwrap().remove("lessons_digest");
    let cases = [
        ("old.json", old.to_string(), "no `lessons_digest`"),
        (
            "newer.json",
            checked("a", "x")
                .to_json()
                .replace("\"format\": 1", "\"format\": 99"),
            "format 99 is newer",
        ),
        (
            "both.json",
            {
                let mut both: serde_json::Value =
                    serde_json::from_str(&checked("a", "x").to_json()).unwrap();
                both["broken"] = serde_json::json!({"why": "hung"});
                both.to_string()
            },
            "both `broken` (hung)",
        ),
        (
            "nothing.json",
            {
                let mut none: serde_json::Value =
                    serde_json::from_str(&checked("a", "x").to_json()).unwrap();
                none.as_object_mut()
                    .unwrap()
                    .retain(|k, _| !["lessons", "exercises"].contains(&k.as_str()));
                none.to_string()
            },
            "nothing was checked",
        ),
        (
            "digest.json",
            checked("a", "x").to_json().replace("sha256:", "sha1:"),
            "lessons_digest \"sha1:",
        ),
        ("bad.json", "{\"kernel\": {}}".into(), "bad.json"),
    ];
    for (name, text, needle) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let error = read(&path).unwrap_err();
        assert!(
            error.contains(name) && error.contains(needle),
            "{needle}: {error}"
        );
    }
    let error = load(&[dir.path().join("missing.json")]).unwrap_err();
    assert!(error.contains("missing.json"), "{error}");
    let empty = tempfile::tempdir().unwrap();
    let error = load(&[empty.path().to_owned()]).unwrap_err();
    assert!(error.contains("no result files"), "{error}");
}

#[test]
fn a_skip_written_before_its_cause_was_recorded_reads_as_undecided() {
    let mut json: serde_json::Value =
        serde_json::from_str(&checked("a", "host").to_json()).unwrap();
    let claim = &mut json["lessons"][0]["claims"][1];
    claim.as_object_mut().unwrap().remove("skip");
    let read: ClaimResult = serde_json::from_value(claim.clone()).unwrap();
    assert_eq!(read.verdict.skip_cause(), Some(SkipCause::Undecided));
    assert_eq!(read.verdict.reason(), Some("no THP"));
}

#[test]
fn an_exercise_outcome_is_written_in_json_as_the_terminal_words_it() {
    for outcome in ExerciseOutcome::ALL {
        assert_eq!(
            serde_json::to_value(outcome).unwrap(),
            outcome.word(),
            "{outcome:?}"
        );
    }
}
