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
#[case::broken_front_matter(
    "broken-front-matter",
    "01-x.md:3:",
    "title: invalid type: sequence, expected a string"
)]
#[case::unknown_front_matter_key(
    "unknown-front-matter-key",
    "01-x.md:4:",
    "unknown field `author`"
)]
#[case::front_matter_unclosed_quote(
    "front-matter-unclosed-quote",
    "01-x.md:4:",
    "while scanning a quoted scalar at line 3 column 8"
)]
#[case::no_front_matter("no-front-matter", "01-x.md:1:", "no front matter")]
#[case::empty_file("empty-file", "01-x.md:1:", "no front matter")]
#[case::conditions_exclude_each_other(
    "conditions-exclude-each-other",
    "01-x.md:8:",
    "conditions `swap-on` and `swap-off` exclude each other"
)]
#[case::condition_twice("condition-twice", "01-x.md:8:", "condition `swap-off` is given twice")]
#[case::bad_id("bad-id", "01-x.md:3:", "id `Mmap_Anon` must be lowercase letters")]
#[case::second_front_matter("second-front-matter", "01-x.md:12:", "a second front matter block")]
#[case::unknown_tag("unknown-tag", "01-x.md:8:", "unknown tag `smapz`")]
#[case::unknown_field("unknown-field", "01-x.md:10:", "`Resident` is not a field smaps has")]
#[case::bad_unit("bad-unit", "01-x.md:9:", "unknown unit `KB`")]
#[case::bad_number("bad-number", "01-x.md:9:", "`yes` is not a number")]
#[case::number_too_large(
    "number-too-large",
    "01-x.md:9:",
    "`99999999999999999999999` in `99999999999999999999999 kB` is too large: a claim's numbers are at most 18446744073709551615 (u64)"
)]
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
#[case::no_experiment_id_below_title(
    "no-experiment-id-below-title",
    "01-x.md:3:",
    "no experiment performs lesson `no-such-lesson`"
)]
#[case::duplicate_id("duplicate-id", "02-b.md:2:", "duplicate id `mmap-anon`")]
#[case::bad_file_name("bad-file-name", "lesson.md: ", "NN-slug.md")]
#[case::binary_garbage("binary-garbage", "01-x.md:6:", "not UTF-8")]
#[case::exercise_without_hint("exercise-without-hint", "01-x.md:8:", "has no `hint:` line")]
#[case::exercise_unknown_key("exercise-unknown-key", "01-x.md:10:", "unknown key `tip:`")]
#[case::exercise_not_in_registry(
    "exercise-not-in-registry",
    "01-x.md:8:",
    "exercise `map-everything` has no check: no `exercises!` declaration in src/homework/checks/ names it (add `map_everything { fork_lock: … }` to the `exercises!` of src/homework/checks/mmap_anon.rs, a module that checks/mod.rs lists)"
)]
#[case::exercise_of_another_lesson(
    "exercise-of-another-lesson",
    "01-x.md:8:",
    "belongs to lesson `giving-memory-back`, not `mmap-anon`: it is declared in src/homework/checks/giving_memory_back.rs"
)]
#[case::exercise_twice("exercise-twice", "01-x.md:13:", "already set at line 8")]
#[case::claim_in_list_item_indented_code(
    "claim-in-list-item-indented-code",
    "01-x.md:10:",
    "a ```smaps fence inside a list item is read by markdown as an indented code block"
)]
#[case::claim_in_list_item_paragraph(
    "claim-in-list-item-paragraph",
    "01-x.md:9:",
    "inside a list item is read by markdown as a line of the list item's text"
)]
#[case::exercise_in_list_item_indented_code(
    "exercise-in-list-item-indented-code",
    "01-x.md:10:",
    "a ```exercise fence inside a list item is read by markdown as an indented code block"
)]
#[case::claim_indented_code(
    "claim-indented-code",
    "01-x.md:10:",
    "a ```smaps fence is read by markdown as an indented code block"
)]
#[case::claim_in_paragraph(
    "claim-in-paragraph",
    "01-x.md:9:",
    "read by markdown as a line of the paragraph above it"
)]
#[case::claim_in_blockquote_indented_code(
    "claim-in-blockquote-indented-code",
    "01-x.md:8:",
    "inside a blockquote is read by markdown as an indented code block"
)]
#[case::claim_in_html_block(
    "claim-in-html-block",
    "01-x.md:9:",
    "part of the HTML block that starts at line 8"
)]
#[case::claim_in_open_fence(
    "claim-in-open-fence",
    "01-x.md:11:",
    "a line of the ``` block opened at line 8"
)]
#[case::claim_in_unclosed_example(
    "claim-in-unclosed-example",
    "01-x.md:9:",
    "that block is never closed"
)]
#[case::claim_block_unclosed(
    "claim-block-unclosed",
    "01-x.md:8:",
    "the ```smaps block is never closed"
)]
#[case::claim_block_cut_in_list_item(
    "claim-block-cut-in-list-item",
    "01-x.md:10:",
    "no closing fence inside its list item: markdown ends the block with the item after line 11"
)]
#[case::lone_carriage_return(
    "lone-carriage-return",
    "01-x.md:8:",
    "a carriage return without a line feed"
)]
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

/// YAML errors give one position, the lesson's line: not also the parser's own, counted
/// from the front matter's first line ("… at line 3 column 1"). A second place the parser
/// names, where the quoted text began, is the lesson's line too.
#[rstest]
#[case::broken_front_matter(
    "broken-front-matter",
    "01-x.md:3: title: invalid type: sequence, expected a string"
)]
#[case::unknown_front_matter_key(
    "unknown-front-matter-key",
    "01-x.md:4: unknown field `author`, expected one of `id`, `title`, `needs`"
)]
#[case::front_matter_unclosed_quote(
    "front-matter-unclosed-quote",
    "01-x.md:4: found unexpected end of stream, while scanning a quoted scalar at line 3 column 8"
)]
fn a_front_matter_error_names_the_lessons_line_once(#[case] case: &str, #[case] expected: &str) {
    let error = the_one_error(&fixture(case));
    assert!(
        error.ends_with(expected),
        "`{error}` does not end with `{expected}`"
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

const LESSON_01: &str = "lessons/01-mmap-anon.md";
/// A block of lesson 01 that a paragraph leads into, and that holds claims on every kernel.
const BLOCK_01: &str = "```smaps step=one-byte-written when=write-fault-base-page core";

/// Lesson 01 with the paragraph before `BLOCK_01` made a list item and the block indented
/// by `indent` spaces under it, as an author tidying the prose might; no line moves. Also
/// returns the block's line.
fn lesson_01_with_block_in_list_item(indent: usize) -> (String, usize) {
    let mut lines: Vec<String> = lesson_01().lines().map(str::to_owned).collect();
    let fence = lines.iter().position(|l| l == BLOCK_01).expect("the block");
    let close = fence
        + lines[fence..]
            .iter()
            .position(|l| l == "```")
            .expect("its end");
    let paragraph = lines[..fence - 1]
        .iter()
        .rposition(String::is_empty)
        .expect("a blank line before the paragraph")
        + 1;
    lines[paragraph].insert_str(0, "- ");
    for line in &mut lines[fence..=close] {
        line.insert_str(0, &" ".repeat(indent));
    }
    (lines.join("\n") + "\n", fence + 1)
}

fn lesson_01() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(LESSON_01))
        .expect("lesson 01")
}

/// A directory holding `source` as its only lesson, lesson 01.
fn as_lesson_01(source: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a private temporary directory");
    std::fs::write(dir.path().join("01-mmap-anon.md"), source).unwrap();
    dir
}

fn load_as_lesson_01(source: &str) -> Result<Catalog, String> {
    Catalog::load(as_lesson_01(source).path()).map_err(|e| e.to_string())
}

/// The line of every claim of the catalog's one lesson.
fn claim_lines(catalog: &Catalog) -> Vec<usize> {
    let lesson = &catalog.lessons[0];
    lesson
        .blocks
        .iter()
        .flat_map(|b| b.claims.iter().map(|c| c.line))
        .collect()
}

#[test]
fn lesson_01_with_a_block_indented_as_code_in_a_list_item_fails_at_the_block() {
    let (source, line) = lesson_01_with_block_in_list_item(6);
    let error = the_one_error(as_lesson_01(&source).path());
    let at = format!("01-mmap-anon.md:{line}: ");
    assert!(error.contains(&at), "`{error}` does not name {at}");
    assert!(
        error.contains("inside a list item is read by markdown as an indented code block"),
        "{error}"
    );
}

#[test]
fn lesson_01_with_a_block_indented_under_a_list_item_keeps_every_claim() {
    let original = load_as_lesson_01(&lesson_01()).unwrap_or_else(|e| panic!("{e}"));
    for indent in [2, 3, 4, 5] {
        let (source, _) = lesson_01_with_block_in_list_item(indent);
        let indented = load_as_lesson_01(&source).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            claim_lines(&indented),
            claim_lines(&original),
            "indent {indent}"
        );
    }
}

/// The README's list of conditions, units and needs is the loader's: each name the loader
/// knows is there, so an author reading it knows them all.
#[test]
fn the_readme_names_every_condition_unit_and_need() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let missing: Vec<&str> = pagelab::condition::Condition::names()
        .filter(|name| !readme.contains(&format!("`{name}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "README.md lacks the conditions {missing:?}"
    );
    for named in [
        "`hugetlb page(s)`",
        "`huge page(s)`",
        "`folio(s)`",
        "`hugetlb`)",
    ] {
        assert!(readme.contains(named), "README.md lacks {named}");
    }
}
