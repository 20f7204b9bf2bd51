use super::*;
use crate::check::{LessonReport, SkipCause};
use crate::kernel::KernelProbe;
use crate::kernel::probe::{OvercommitMode, ThpMode, ThpSettings};
use crate::results::{Checks, Libc, Machine};
use std::path::PathBuf;

fn lessons() -> LessonsDigest {
    LessonsDigest::of([("01-x.md", "x")])
}

fn claim(verdict: Verdict) -> ClaimResult {
    ClaimResult {
        place: ClaimPlace {
            lesson: "x".into(),
            file: "lessons/01-x.md".into(),
            line: 7,
            step: "s".into(),
            subject: "m".into(),
            field: "Rss".into(),
            expected: "1 page".into(),
        },
        verdict,
    }
}

fn ran(label: &str, verdict: Verdict) -> Loaded {
    let probe = KernelProbe::probe().unwrap();
    let report = LessonReport {
        id: "x".into(),
        title: "X".into(),
        file: "lessons/01-x.md".into(),
        claims: vec![claim(verdict)],
        error: None,
        core_problems: Vec::new(),
    };
    let file =
        ResultFile::of_this_machine(lessons(), &probe, Checks::Claims(vec![report]), 1.0, None);
    Loaded::new(PathBuf::from(format!("{label}.json")), file)
}

fn broken(label: &str) -> Loaded {
    let file = ResultFile {
        lessons_digest: lessons(),
        machine: Machine {
            label: None,
            arch: "aarch64".into(),
            libc: Libc::Musl,
        },
        seconds: Some(2.0),
        run: Run::Broken(Broken {
            why: "no begin marker".into(),
            console_tail: "Kernel panic - not syncing".into(),
        }),
    };
    Loaded::new(PathBuf::from(format!("{label}.json")), file)
}

fn held() -> Verdict {
    Verdict::Held {
        observed: "4 kB".into(),
        branch: None,
    }
}

fn skipped() -> Verdict {
    Verdict::Skipped {
        cause: SkipCause::Undecided,
        reason: "because".into(),
    }
}

#[test]
fn a_failed_or_broken_configuration_fails_the_matrix() {
    let failed = Verdict::Failed {
        observed: Some("8 kB".into()),
        reason: "two pages".into(),
        branch: None,
    };
    assert!(
        Matrix::of(&[ran("a", held()), ran("b", skipped())])
            .failed()
            .is_empty()
    );
    let matrix = Matrix::of(&[ran("a", held()), ran("b", failed), broken("c")]);
    let failed: Vec<&str> = matrix.failed().iter().map(|c| c.label.as_str()).collect();
    assert_eq!(failed, ["b", "c"]);
    let summary = matrix.summary();
    assert!(
        summary.starts_with("3 configuration(s), 2 failed: 2 b (0 held, 1 failed"),
        "{summary}"
    );
    assert!(
        summary.contains("3 c (broken: no begin marker)"),
        "{summary}"
    );
}

#[test]
fn columns_say_arch_libc_page_pmd_and_settings_from_the_files() {
    let mut loaded = ran("guest", held());
    let Run::Checked(checked) = &mut loaded.file.run else {
        unreachable!()
    };
    let k = &mut checked.kernel;
    k.release = "6.12.118+deb13-arm64-16k".into();
    k.page_size = Bytes(16384);
    k.overcommit = OvercommitMode::Never;
    k.thp = Some(ThpSettings {
        enabled: ThpMode::Always,
        defrag: "madvise".into(),
        use_zero_page: Some(true),
        pmd_size: Bytes(32 << 20),
        per_size: [
            (Bytes(65536), PerSizeMode::Never),
            (Bytes(262144), PerSizeMode::Always),
            (Bytes(32 << 20), PerSizeMode::Never),
        ]
        .into(),
    });
    checked.privileges.cap_ipc_lock = false;
    checked.privileges.uid = 65534;
    checked.privileges.memlock_limit = Some(Bytes(65536));
    loaded.file.machine.arch = "aarch64".into();
    loaded.file.machine.libc = Libc::Musl;
    let d = describe(&loaded.file);
    assert_eq!(
        d.cells(),
        [
            "6.12.118+deb13-arm64-16k",
            "aarch64",
            "musl",
            "16 kB",
            "32 MiB",
            "always, 256 kB always, 32 MiB never",
            "2",
            "memlock 64 kB"
        ]
    );
    assert!(
        d.privileges.starts_with("uid 65534") && d.privileges.ends_with("memlock 64 kB"),
        "{}",
        d.privileges
    );
    let Run::Checked(checked) = &mut loaded.file.run else {
        unreachable!()
    };
    checked.kernel.thp = None;
    assert_eq!(describe(&loaded.file).cells()[4..6], ["-", "none"]);
    let d = describe(&broken("b").file);
    assert_eq!(d.cells()[..3], ["?", "aarch64", "musl"]);
    let text = terminal(&Matrix::of(&[loaded]));
    assert!(
        text.lines()
            .any(|l| l.contains("aarch64") && l.contains("16 kB")),
        "{text}"
    );
}

#[test]
fn tables_show_each_claim_in_each_column_with_reasons() {
    let columns = [
        ran("host", held()),
        ran("guest", skipped()),
        broken("panicked"),
    ];
    let matrix = Matrix::of(&columns);
    let text = terminal(&matrix);
    assert!(text.contains("lessons/01-x.md:7 s m Rss"), "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("lessons/01-x.md:7") && l.contains(" ✓  ·  !")),
        "{text}"
    );
    let report = markdown(&matrix);
    assert!(report.contains("· because (lessons/01-x.md:7)"), "{report}");
    assert!(report.contains("Kernel panic - not syncing"), "{report}");
    assert!(report.contains("From `guest.json`."), "{report}");
    assert!(report.contains(&lessons().to_string()), "{report}");
    let json = serde_json::to_value(&matrix).unwrap();
    assert_eq!(json["claims"][0]["cells"][1]["mark"], "skipped");
    assert_eq!(json["claims"][0]["cells"][1]["why"], "because");
    assert_eq!(
        json["configurations"][2]["broken"]["why"],
        "no begin marker"
    );
    assert_eq!(
        json["configurations"][0]["description"]["arch"],
        std::env::consts::ARCH
    );
}

#[test]
fn a_claim_a_file_does_not_report_is_missing_and_says_why() {
    let mut exercises_only = ran("exercises", held());
    let Run::Checked(checked) = &mut exercises_only.file.run else {
        unreachable!()
    };
    checked.checks = Checks::Exercises(Vec::new());
    let matrix = Matrix::of(&[ran("host", held()), exercises_only]);
    let cell = &matrix.claims[0].cells[1];
    assert_eq!(cell.mark, Mark::Missing);
    assert_eq!(
        cell.why.as_deref(),
        Some("only the exercises were checked there")
    );
}

/// The claims of one file, changed by `edit` (a claim each, as `ran` makes them).
fn ran_with(label: &str, edit: impl FnOnce(&mut Vec<ClaimResult>)) -> Loaded {
    let mut loaded = ran(label, held());
    let Run::Checked(checked) = &mut loaded.file.run else {
        unreachable!()
    };
    let Checks::Claims(reports) = &mut checked.checks else {
        unreachable!()
    };
    edit(&mut reports[0].claims);
    loaded
}

#[test]
fn a_lesson_checked_from_another_directory_is_the_same_row() {
    let elsewhere = ran_with("elsewhere", |claims| {
        claims[0].place.file = "/home/student/course/lessons/01-x.md".into();
    });
    let matrix = Matrix::of(&[ran("host", held()), elsewhere]);
    assert_eq!(matrix.claims.len(), 1, "one claim, one row");
    let marks: Vec<Mark> = matrix.claims[0].cells.iter().map(|c| c.mark).collect();
    assert_eq!(marks, [Mark::Held, Mark::Held]);
    assert!(matrix.failed().is_empty(), "{}", matrix.summary());
}

#[test]
fn a_claim_a_file_checked_and_does_not_report_fails_that_configuration() {
    let cut = ran_with("cut", |claims| {
        let mut other = claims[0].clone();
        other.place.line = 9;
        claims.push(other);
    });
    let matrix = Matrix::of(&[cut, ran("short", held())]);
    let marks: Vec<Mark> = matrix.claims.iter().map(|r| r.cells[1].mark).collect();
    assert_eq!(marks, [Mark::Held, Mark::Unreported]);
    let failed: Vec<&str> = matrix.failed().iter().map(|c| c.label.as_str()).collect();
    assert_eq!(failed, ["short"]);
    let errors = &matrix.configurations[1].errors;
    assert!(
        errors.iter().any(|e| e.contains("1 claim(s) that other result files report are not in this one (first: lessons/01-x.md:9)")),
        "{errors:?}"
    );
}

#[test]
fn a_label_with_a_bar_stays_in_its_cell_of_the_markdown_report() {
    let mut labelled = ran("a", held());
    labelled.label = "lab | board".into();
    let report = markdown(&Matrix::of(&[labelled]));
    let row = report
        .lines()
        .find(|l| l.starts_with("| 1 |"))
        .expect("the configuration's row");
    assert!(row.starts_with("| 1 | lab \\| board |"), "{row}");
}
