//! Broken lessons give one clear error naming file:line and what is wrong, never a panic.
//! Each case is a directory of tests/fixtures/bad-lessons/, loaded as a lessons directory.

use pagelab::catalog::Catalog;
use rstest::rstest;
use std::path::{Path, PathBuf};

fn fixture(case: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bad-lessons")
        .join(case)
}

/// Loads a directory that must fail with exactly one error; returns it as text.
fn the_one_error(dir: &Path) -> String {
    let errors = match Catalog::load(dir) {
        Ok(_) => panic!("{} loaded without error", dir.display()),
        Err(e) => e.errors,
    };
    assert_eq!(errors.len(), 1, "expected one error, got: {errors:#?}");
    errors[0].to_string()
}

#[rstest]
#[case::broken_front_matter("broken-front-matter", "01-x.md:3:", "")]
#[case::unknown_front_matter_key(
    "unknown-front-matter-key",
    "01-x.md:4:",
    "unknown field `author`"
)]
#[case::no_front_matter("no-front-matter", "01-x.md:1:", "no front matter")]
#[case::empty_file("empty-file", "01-x.md:1:", "no front matter")]
#[case::unknown_tag("unknown-tag", "01-x.md:8:", "unknown tag `smapz`")]
#[case::unknown_field("unknown-field", "01-x.md:10:", "`Resident` is not a field smaps has")]
#[case::bad_unit("bad-unit", "01-x.md:9:", "unknown unit `KB`")]
#[case::bad_number("bad-number", "01-x.md:9:", "`yes` is not a number")]
#[case::unknown_step(
    "unknown-step",
    "01-x.md:8:",
    "step `written` is not a step of experiment `mmap-anon`"
)]
#[case::unknown_attribute("unknown-attribute", "01-x.md:8:", "unknown attribute `stp=`")]
#[case::no_step("no-step", "01-x.md:8:", "no step= attribute")]
#[case::unknown_condition("unknown-condition", "01-x.md:8:", "unknown condition `thp-maybe`")]
#[case::unknown_subject("unknown-subject", "01-x.md:8:", "of=`child` names nothing")]
#[case::unknown_outcome("unknown-outcome", "01-x.md:9:", "outcome `errno` is not something")]
#[case::empty_claim_block("empty-claim-block", "01-x.md:8:", "claims nothing")]
#[case::address_not_wildcard("address-not-wildcard", "01-x.md:9:", "write `*-*`")]
#[case::no_experiment(
    "no-experiment",
    "01-x.md:2:",
    "no experiment performs lesson `no-such-lesson`"
)]
#[case::duplicate_id("duplicate-id", "02-b.md:2:", "duplicate id `mmap-anon`")]
#[case::bad_file_name("bad-file-name", "lesson.md:0:", "NN-slug.md")]
#[case::binary_garbage("binary-garbage", "01-x.md:6:", "not UTF-8")]
#[case::exercise_without_hint("exercise-without-hint", "01-x.md:8:", "has no `hint:` line")]
#[case::exercise_unknown_key("exercise-unknown-key", "01-x.md:10:", "unknown key `tip:`")]
#[case::exercise_not_in_registry(
    "exercise-not-in-registry",
    "01-x.md:8:",
    "exercise `map-everything` has no check"
)]
#[case::exercise_of_another_lesson(
    "exercise-of-another-lesson",
    "01-x.md:8:",
    "belongs to lesson `giving-memory-back`"
)]
#[case::exercise_twice("exercise-twice", "01-x.md:13:", "already set at line 8")]
fn a_broken_lesson_names_file_line_and_problem(
    #[case] case: &str,
    #[case] location: &str,
    #[case] problem: &str,
) {
    let error = the_one_error(&fixture(case));
    assert!(
        error.contains(location),
        "`{error}` does not name {location}"
    );
    assert!(
        error.contains(problem),
        "`{error}` does not say {problem:?}"
    );
}

#[test]
fn a_huge_lesson_is_refused_before_parsing() {
    let dir = tempfile::tempdir().expect("a private temporary directory");
    let huge = format!(
        "---\nid: mmap-anon\ntitle: T\n---\n{}",
        "Rss is resident memory. ".repeat(100_000)
    );
    std::fs::write(dir.path().join("01-huge.md"), huge).unwrap();
    let error = the_one_error(dir.path());
    assert!(error.contains("too large"), "{error}");
}

#[test]
fn a_missing_lessons_directory_is_an_error() {
    let dir = tempfile::tempdir().expect("a private temporary directory");
    let error = the_one_error(&dir.path().join("nowhere"));
    assert!(
        error.contains("cannot read the lessons directory"),
        "{error}"
    );
}
