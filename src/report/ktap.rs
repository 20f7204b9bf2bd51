//! KTAP version 1 (Documentation/dev-tools/ktap.rst), as the kernel's selftests print it:
//! a test per lesson, a subtest per claim. What kernel test infrastructure reads (kselftest
//! runners, LAVA, KernelCI; `tools/testing/kunit/kunit.py parse`).
//!
//! The grammar's constraints, and how they are met here: a result line is
//! `ok|not ok N description [# directive]`, so a description may hold no `#` (replaced);
//! a skip is `ok N description # SKIP reason` on one line (newlines folded); diagnostic
//! lines start with `#` and come before the result line they belong to (the kunit parser
//! gives them to the test that follows); a subtest is indented four spaces and opens with
//! its own `KTAP version 1`, `# Subtest: name` and plan; the parent's result line repeats
//! the subtest's name.

use super::suites::{AS_A_WHOLE, Case, Suite};
use crate::check::VerdictKind;
use std::io::{self, Write};

const INDENT: &str = "    ";

pub fn write(out: &mut dyn Write, suites: &[Suite]) -> io::Result<()> {
    writeln!(out, "KTAP version 1")?;
    writeln!(out, "1..{}", suites.len())?;
    for (n, suite) in suites.iter().enumerate() {
        let name = description(&suite.name);
        writeln!(out, "{INDENT}KTAP version 1")?;
        writeln!(out, "{INDENT}# Subtest: {name}")?;
        writeln!(out, "{INDENT}1..{}", suite.reported_cases())?;
        for (i, case) in suite.cases.iter().enumerate() {
            write_case(out, i + 1, case)?;
        }
        if suite.has_problems() {
            // A subtest of its own, failed: a parser that counts results sees it.
            for problem in &suite.problems {
                writeln!(out, "{INDENT}# {}", one_line(problem))?;
            }
            writeln!(out, "{INDENT}not ok {} {AS_A_WHOLE}", suite.cases.len() + 1)?;
        }
        let result = if suite.failed() { "not ok" } else { "ok" };
        writeln!(out, "{result} {} {name}", n + 1)?;
    }
    Ok(())
}

fn write_case(out: &mut dyn Write, number: usize, case: &Case) -> io::Result<()> {
    let name = description(&case.name);
    if case.end == VerdictKind::Failed {
        for (label, value) in &case.details {
            writeln!(out, "{INDENT}# {label}: {}", one_line(value))?;
        }
        if let Some(reason) = &case.reason {
            writeln!(out, "{INDENT}# why: {}", one_line(reason))?;
        }
    }
    match case.end {
        VerdictKind::Held => writeln!(out, "{INDENT}ok {number} {name}"),
        VerdictKind::Failed => writeln!(out, "{INDENT}not ok {number} {name}"),
        VerdictKind::Skipped => writeln!(
            out,
            "{INDENT}ok {number} {name} # SKIP {}",
            one_line(case.reason.as_deref().unwrap_or("no reason given"))
        ),
    }
}

/// A test description: one line, without the `#` that would start a directive (written
/// `%23`, as in a URL).
fn description(text: &str) -> String {
    one_line(text).replace('#', "%23")
}

/// Text for one KTAP line: line breaks folded into spaces.
fn one_line(text: &str) -> String {
    text.split(['\n', '\r']).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::suites::{problem_sample, written_sample};

    #[test]
    fn suites_nest_with_their_plans_and_skips_are_directives() {
        let text = written_sample(
            write,
            ["a:1 held", "a:2 #2 failed", "a:3 skipped"],
            ["differs\nhere", "no THP"],
        );
        assert_eq!(
            text,
            "KTAP version 1\n1..1\n    KTAP version 1\n    # Subtest: x\n    1..3\n\
             \x20   ok 1 a:1 held\n    # expected: 1 page\n    # observed: 8 kB\n\
             \x20   # why: differs here\n    not ok 2 a:2 %232 failed\n\
             \x20   ok 3 a:3 skipped # SKIP no THP\nnot ok 1 x\n"
        );
    }

    #[test]
    fn a_lesson_problem_is_a_failed_subtest_of_its_own() {
        let text = problem_sample(write, &["core: no branch\napplies"]);
        assert!(text.contains("    1..4\n"), "{text}");
        assert!(
            text.ends_with(
                "    # core: no branch applies\n    not ok 4 the lesson as a whole\nnot ok 1 x\n"
            ),
            "{text}"
        );
    }
}
