//! The suite's own promises over every lesson: each claim block is evaluated (held, failed
//! or skipped with a reason), each lesson has its test file, and changing any expected value
//! in a lesson's markdown makes that claim fail.

mod common;

use common::{catalog, probe};
use pagelab::catalog::Catalog;
use pagelab::check::{self, VerdictKind};
use pagelab::experiment::{Step, StepReport};
use pagelab::kernel::smaps_fields::FieldName;
use pagelab::kernel::{KernelProbe, SmapsField};
use pagelab::lesson::Lesson;
use pagelab::report;
use rstest::rstest;
use std::path::Path;

#[rstest]
fn every_lesson_has_its_test_file(catalog: Catalog) {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    for lesson in &catalog.lessons {
        let stem = lesson.path.file_stem().unwrap().to_string_lossy();
        let slug = stem.split_once('-').map_or(&*stem, |(_, slug)| slug);
        let file = tests.join(format!("{}.rs", slug.replace('-', "_")));
        assert!(
            file.exists(),
            "lesson {} has no test {}",
            lesson.path.display(),
            file.display()
        );
    }
}

/// Changes each held claim's expected value in the markdown, one at a time, and checks that
/// the very same observations now fail that claim at that line: the markdown, not Rust
/// code, holds the expected values. (Each lesson's own test checks that every claim gets a
/// verdict; this one also holds each experiment to what it says of forking, which decides
/// the lock its test takes.)
#[rstest]
fn changing_an_expected_value_in_the_markdown_fails_that_claim(
    catalog: Catalog,
    probe: KernelProbe,
) {
    let observed: Vec<(&Lesson, Vec<(Step, StepReport)>)> = {
        let _fork = common::FORK.exclusive();
        catalog
            .lessons
            .iter()
            .map(|lesson| {
                let forked_before = pagelab::memory::child::spawned();
                let steps = check::observe(lesson, &probe).unwrap_or_else(|e| panic!("{e}"));
                let forked = pagelab::memory::child::spawned() > forked_before;
                let says = pagelab::experiments::find(lesson.id()).unwrap().forks();
                assert_eq!(
                    forked,
                    says,
                    "experiment `{}` says forks() is {says}",
                    lesson.id()
                );
                (lesson, steps)
            })
            .collect()
    };
    // Parsing each mutated lesson is most of this test's time and touches no memory that
    // another test measures: it is shared among threads, one lesson at a time each.
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while let Some((lesson, steps)) =
                    observed.get(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed))
                {
                    every_mutation_fails(lesson, &probe, steps);
                }
            });
        }
    });
}

/// Each held claim of `lesson`, its expected value mutated, fails on the same `steps`.
fn every_mutation_fails(lesson: &Lesson, probe: &KernelProbe, steps: &[(Step, StepReport)]) {
    let report = check::evaluate(lesson, probe, steps);
    let mut mutated = 0;
    for claim in report
        .claims
        .iter()
        .filter(|c| c.verdict.kind() == VerdictKind::Held)
    {
        let Some(source) = mutate_line(&lesson.source, claim.place.line) else {
            continue;
        };
        let changed = Lesson::parse(&lesson.path, source).unwrap_or_else(|e| {
            panic!(
                "mutating {}:{} broke the lesson: {e}",
                claim.place.file, claim.place.line
            )
        });
        let after = check::evaluate(&changed, probe, steps);
        let verdict = after
            .claims
            .iter()
            .find(|c| c.place.line == claim.place.line)
            .map(|c| c.verdict.kind());
        assert_eq!(
            verdict,
            Some(VerdictKind::Failed),
            "{}:{}: changing `{}` did not fail the claim",
            claim.place.file,
            claim.place.line,
            claim.place.expected
        );
        mutated += 1;
    }
    assert!(
        mutated > 0,
        "lesson `{}`: no claim could be mutated",
        lesson.id()
    );
}

/// The lesson source with the value on `line` (1-based) changed so that it cannot hold:
/// a number grows by one, a comparison turns into its opposite, a word gains a letter, a
/// flag list gains a flag, a maps line's permissions change.
fn mutate_line(source: &str, line: usize) -> Option<String> {
    let mut lines: Vec<String> = source.lines().map(str::to_owned).collect();
    let text = lines.get(line - 1)?.clone();
    let (body, comment) = match text.find(" #") {
        Some(at) => text.split_at(at),
        None => (text.as_str(), ""),
    };
    let new_body = if body.trim_start().starts_with("VmFlags:") {
        format!("{} zz", body.trim_end().trim_end_matches('*').trim_end())
    } else if body.trim_start().starts_with("*-* ") {
        let perms = body.split_whitespace().nth(1)?;
        let other = if perms.starts_with("---") {
            "rwx"
        } else {
            "---"
        };
        body.replacen(perms, &format!("{other}{}", &perms[3..]), 1)
    } else {
        let (key, value) = body.split_once(':')?;
        let value = value.trim();
        if value == "*" {
            return None;
        }
        let digits: String = value.chars().take_while(char::is_ascii_digit).collect();
        if let Some((op, rest)) = split_comparison(value) {
            // `> 0 kB` becomes `<= 0 kB`: the opposite comparison fails where this held.
            format!("{key}: {} {rest}", opposite(op))
        } else if digits.is_empty() {
            // Outcome text (`EINVAL`, `p`): any other word.
            format!("{key}: {value}x")
        } else {
            let bumped = digits.parse::<u64>().ok()? + 1;
            format!("{key}: {bumped}{}", &value[digits.len()..])
        }
    };
    Some(replace_line(
        &mut lines,
        line,
        format!("{new_body}{comment}"),
    ))
}

fn split_comparison(value: &str) -> Option<(&str, &str)> {
    ["<=", ">=", "<", ">"]
        .into_iter()
        .find_map(|op| value.strip_prefix(op).map(|rest| (op, rest.trim_start())))
}

fn opposite(op: &str) -> &'static str {
    match op {
        "<=" => ">",
        ">=" => "<",
        "<" => ">=",
        _ => "<=",
    }
}

fn replace_line(lines: &mut [String], line: usize, text: String) -> String {
    lines[line - 1] = text;
    lines.join("\n")
}

/// The author's loop: a copy of lesson 01 with the values of every claim that holds here
/// replaced by `?` (keeping units, wildcards and comments), blessed, is lesson 01 again,
/// and every claim holds. `?` claims fail until blessed, so an unfilled one is never green.
#[rstest]
fn blessing_a_blanked_lesson_gives_it_back(probe: KernelProbe) {
    let _fork = common::FORK.shared();
    let lesson = common::lesson("mmap-anon");
    let held: Vec<usize> = check::check_lesson(&lesson, &probe)
        .claims
        .iter()
        .filter(|c| c.verdict.kind() == VerdictKind::Held)
        .map(|c| c.place.line)
        .collect();
    let blanked: String = lesson
        .source
        .split_inclusive('\n')
        .enumerate()
        .map(|(i, line)| match held.contains(&(i + 1)) {
            true => blank(line).unwrap_or_else(|| line.to_owned()),
            false => line.to_owned(),
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(lesson.path.file_name().unwrap());
    std::fs::write(&path, &blanked).unwrap();
    let copy = Lesson::load(&path).unwrap();
    let unwritten = copy
        .blocks
        .iter()
        .flat_map(|b| &b.claims)
        .filter(|c| c.is_unwritten())
        .count();
    assert!(unwritten >= 20, "only {unwritten} claims were blanked");
    let before = check::check_lesson(&copy, &probe);
    assert_eq!(
        before.counts().failed,
        unwritten,
        "every `?` claim fails until it is blessed"
    );
    let blessed = pagelab::bless::bless(&copy, &before).unwrap();
    assert_eq!(blessed.written.len(), unwritten);
    assert_eq!(
        blessed.text, lesson.source,
        "blessing gives the lesson back"
    );
    std::fs::write(&path, &blessed.text).unwrap();
    let after = check::check_lesson(&Lesson::load(&path).unwrap(), &probe);
    assert!(after.passed(), "{:?}", report::failures(&after, &probe));
}

/// A claim's exact value replaced by `?` where its number stood (`16384 kB` becomes
/// `    ? kB`); comparisons, wildcards, VmFlags and maps lines are left alone.
fn blank(line: &str) -> Option<String> {
    let (head, rest) = line.split_once(':')?;
    if head.trim() == "VmFlags" || head.contains('*') {
        return None;
    }
    let value_start = rest.len() - rest.trim_start().len();
    let value = &rest[value_start..];
    let number_len = value.find(|c: char| !c.is_ascii_digit())?;
    let after = &value[number_len..];
    let exact = number_len > 0 && (after.starts_with(' ') || after.starts_with('\n'));
    if !exact {
        return None;
    }
    let padded = format!("{}?", " ".repeat(number_len - 1));
    Some(format!("{head}:{}{padded}{after}", &rest[..value_start]))
}

/// A `VmFlags: ?` is blessed with the flags shown here and a `*`, so that it holds on a
/// machine of the same configuration whose extra flags differ (no `sd` on arm64).
#[rstest]
fn a_blessed_vmflags_line_ends_in_a_wildcard(probe: KernelProbe) {
    let _fork = common::FORK.shared();
    let lesson = common::lesson("mmap-anon");
    let written = "VmFlags: rd wr mr mw me ac *\n";
    assert!(
        lesson.source.contains(written),
        "lesson 01 lists its VmFlags"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(lesson.path.file_name().unwrap());
    std::fs::write(&path, lesson.source.replacen(written, "VmFlags: ?\n", 1)).unwrap();
    let copy = Lesson::load(&path).unwrap();
    let blessed = pagelab::bless::bless(&copy, &check::check_lesson(&copy, &probe)).unwrap();
    let [(_, value)] = &blessed.written[..] else {
        panic!("one value: {:?}", blessed.written);
    };
    assert!(
        value.starts_with("rd wr") && value.ends_with(" *"),
        "{value}"
    );
    std::fs::write(&path, &blessed.text).unwrap();
    let after = check::check_lesson(&Lesson::load(&path).unwrap(), &probe);
    assert!(after.passed(), "{:?}", report::failures(&after, &probe));
}

/// A `core` block is the heart of its lesson: where no core branch of its step applies and
/// holds, the lesson fails (its report, and so `pagelab check` on every kernel of the
/// matrix), though every claim ended held or skipped.
#[rstest]
fn a_core_branch_that_nothing_decides_is_a_problem(probe: KernelProbe) {
    let _fork = common::FORK.shared();
    let lesson = common::lesson("mmap-anon");
    let steps = check::observe(&lesson, &probe).unwrap_or_else(|e| panic!("{e}"));
    // The core problems of the lesson as `source` has it, and its report.
    let checked = |source: String| {
        let changed = Lesson::parse(&lesson.path, source).unwrap();
        let report = check::evaluate(&changed, &probe, &steps);
        let found = check::core_problems(&changed, &report);
        assert_eq!(report.core_problems, found, "the report carries them");
        assert_eq!(report.passed(), found.is_empty(), "{found:?}");
        (found, report)
    };
    let problems = |source: String| checked(source).0;
    assert_eq!(problems(lesson.source.clone()), Vec::<String>::new());
    // The two THPeligible branches of the first step: exactly one applies on any kernel.
    let fences = [
        "```smaps step=mapped when=thp-not-eligible\n",
        "```smaps step=mapped when=thp-eligible\n",
    ];
    let core = |fence: &str| fence.replace("\n", " core\n");
    let both = lesson
        .source
        .replace(fences[0], &core(fences[0]))
        .replace(fences[1], &core(fences[1]));
    assert_eq!(problems(both), Vec::<String>::new(), "one branch decides");
    let report = check::evaluate(&lesson, &probe, &steps);
    let applies = |fence: &str| {
        let line = 1 + lesson.source[..lesson.source.find(fence).unwrap()]
            .matches('\n')
            .count();
        report
            .claims
            .iter()
            .any(|c| c.place.line == line + 1 && c.verdict.kind() == VerdictKind::Held)
    };
    let idle = fences
        .into_iter()
        .find(|f| !applies(f))
        .expect("one branch does not apply");
    let (found, undecided) = checked(lesson.source.replace(idle, &core(idle)));
    assert!(
        found.len() == 1 && found[0].contains("none of its core branches"),
        "{found:?}"
    );
    // KTAP and JUnit write it as a failed case of its own, which readers that count cases see.
    let suites = report::suites::of_lessons(&[undecided]);
    assert_eq!(suites[0].problems, [format!("core: {}", found[0])]);
    assert!(suites[0].failed());
}

/// Lesson 13 shows a record with every field this kernel prints, KSM (6.6) and Pss_Dirty
/// (6.0) among them, in a `core` block. Replayed as a 5.10 kernel prints it, those two claims
/// skip naming the version that added the field, and the lesson still has no core problem.
/// The same record judged as a 6.18 kernel's fails them: that kernel prints both in every
/// record, so their absence is a mistake in what was read, not a kernel that lacks them.
#[rstest]
fn a_field_an_older_kernel_does_not_print_skips_and_one_a_newer_prints_fails(probe: KernelProbe) {
    let _fork = common::fork_lock("process");
    let lesson = common::lesson("process");
    let mut steps = check::observe(&lesson, &probe).unwrap_or_else(|e| panic!("{e}"));
    let newer = [SmapsField::Ksm, SmapsField::PssDirty];
    for (_, report) in &mut steps {
        if let StepReport::Observed(observation) = report {
            for subject in &mut observation.subjects {
                let fields = &mut subject.record.fields;
                fields.retain(|(name, _)| !newer.iter().any(|f| *name == FieldName::Known(*f)));
            }
        }
    }
    let newer_kernel = KernelProbe {
        release: "6.18.44".into(),
        version: (6, 18),
        ..probe.clone()
    };
    let old = KernelProbe {
        release: "5.10.0-43-cloud-amd64".into(),
        version: (5, 10),
        ..probe
    };
    let report = check::evaluate(&lesson, &newer_kernel, &steps);
    for field in newer {
        for claim in report
            .claims
            .iter()
            .filter(|c| c.place.field == field.name())
        {
            assert_eq!(claim.verdict.kind(), VerdictKind::Failed, "{field}");
            let reason = claim.verdict.reason().unwrap_or_default();
            assert!(reason.contains("every kernel since"), "{field}: {reason}");
        }
    }
    let report = check::evaluate(&lesson, &old, &steps);
    for field in newer {
        let skipped: Vec<_> = report
            .claims
            .iter()
            .filter(|c| c.place.field == field.name())
            .collect();
        assert!(!skipped.is_empty(), "lesson 13 claims {field}");
        for claim in skipped {
            let reason = claim.verdict.reason().unwrap_or_default();
            assert!(reason.contains("first printed by"), "{field}: {reason}");
        }
    }
    assert_eq!(check::core_problems(&lesson, &report), Vec::<String>::new());
}
