//! JUnit XML, the report CI services read: a `<testsuite>` per lesson, a `<testcase>` per
//! claim (or exercise), `<skipped message=…>` with the reason, `<failure message=…>` with
//! expected and observed in its text; a lesson's problems as one more `<testcase>` with an
//! `<error>`.

use super::suites::{AS_A_WHOLE, Case, Suite};
use crate::check::VerdictKind;
use crate::markup::escape;
use std::io::{self, Write};

pub fn write(out: &mut dyn Write, suites: &[Suite]) -> io::Result<()> {
    let total = |end| suites.iter().map(|s| s.count(end)).sum::<usize>();
    let cases: usize = suites.iter().map(Suite::reported_cases).sum();
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="pagelab" tests="{cases}" failures="{}" skipped="{}" errors="{}">"#,
        total(VerdictKind::Failed),
        total(VerdictKind::Skipped),
        suites.iter().filter(|s| s.has_problems()).count(),
    )?;
    for suite in suites {
        write_suite(out, suite)?;
    }
    writeln!(out, "</testsuites>")
}

fn write_suite(out: &mut dyn Write, suite: &Suite) -> io::Result<()> {
    writeln!(
        out,
        r#"  <testsuite name="{}" tests="{}" failures="{}" skipped="{}" errors="{}">"#,
        escape(&suite.name),
        suite.reported_cases(),
        suite.count(VerdictKind::Failed),
        suite.count(VerdictKind::Skipped),
        usize::from(suite.has_problems()),
    )?;
    for case in &suite.cases {
        write_case(out, &suite.name, case)?;
    }
    if suite.has_problems() {
        let problems: Vec<String> = suite.problems.iter().map(|p| escape(p)).collect();
        writeln!(
            out,
            "    <testcase classname=\"{}\" name=\"{AS_A_WHOLE}\">\n      \
             <error message=\"{}\">{}</error>\n    </testcase>",
            escape(&suite.name),
            problems.join("; "),
            problems.join("\n")
        )?;
    }
    writeln!(out, "  </testsuite>")
}

fn write_case(out: &mut dyn Write, suite: &str, case: &Case) -> io::Result<()> {
    write!(
        out,
        r#"    <testcase classname="{}" name="{}" file="{}" line="{}""#,
        escape(suite),
        escape(&case.name),
        escape(&case.file),
        case.line
    )?;
    let reason = escape(case.reason.as_deref().unwrap_or(""));
    match case.end {
        VerdictKind::Held => writeln!(out, "/>"),
        VerdictKind::Skipped => {
            writeln!(
                out,
                ">\n      <skipped message=\"{reason}\"/>\n    </testcase>"
            )
        }
        VerdictKind::Failed => {
            let details: Vec<String> = case
                .details
                .iter()
                .map(|(label, value)| format!("{label}: {}", escape(value)))
                .collect();
            writeln!(
                out,
                ">\n      <failure message=\"{reason}\">{}</failure>\n    </testcase>",
                details.join("\n")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::suites::{problem_sample, written_sample};

    #[test]
    fn counts_and_one_element_per_end() {
        let xml = written_sample(
            write,
            ["held", "failed", "skipped"],
            ["differs", "no <THP>"],
        );
        assert!(
            xml.contains(r#"tests="3" failures="1" skipped="1" errors="0""#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"name="held" file="lessons/01-x.md" line="3"/>"#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<skipped message="no &lt;THP&gt;"/>"#),
            "{xml}"
        );
        assert!(
            xml.contains("<failure message=\"differs\">expected: 1 page\nobserved: 8 kB</failure>"),
            "{xml}"
        );
    }

    /// A reader that counts `<failure>` and `<error>` elements sees a lesson whose claims
    /// all held but whose core rule did not as failing.
    #[test]
    fn a_lesson_problem_is_a_case_with_an_error() {
        let problems = ["core: no branch <applies>", "the experiment stopped: EPERM"];
        let xml = problem_sample(write, &problems);
        assert!(
            xml.contains(
                r#"<testsuites name="pagelab" tests="4" failures="1" skipped="1" errors="1">"#
            ),
            "{xml}"
        );
        assert!(
            xml.contains(
                "<testcase classname=\"x\" name=\"the lesson as a whole\">\n      <error \
                 message=\"core: no branch &lt;applies&gt;; the experiment stopped: EPERM\">core: \
                 no branch &lt;applies&gt;\nthe experiment stopped: EPERM</error>"
            ),
            "{xml}"
        );
    }

    /// Braces are written as character references, which XML 1.0 reads back as `{`.
    #[test]
    fn braces_are_character_references() {
        let xml = written_sample(
            write,
            ["{held}", "failed", "skipped"],
            ["{{#include x}}", "no {THP}"],
        );
        assert!(xml.contains(r#"name="&#123;held}""#), "{xml}");
        assert!(
            xml.contains(r#"<failure message="&#123;&#123;#include x}}">"#),
            "{xml}"
        );
        assert!(!xml.contains('{'), "{xml}");
    }
}
