//! Results as test suites, the shape standard test reports share: a suite per lesson, a
//! case per claim (or per exercise), each ending held, failed or skipped, with the lines a
//! reader needs to judge a failure. KTAP and JUnit are written from this.

use crate::catalog::Catalog;
use crate::check::{ClaimResult, LessonReport, VerdictKind, shown_path};
use crate::homework::{Exercise, Outcome};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Suite {
    /// The lesson's id.
    pub name: String,
    pub cases: Vec<Case>,
    /// Why the lesson fails besides its cases ([`LessonReport::problems`]: the experiment
    /// stopped, a core rule left undecided). Reports write them as one more case, "the
    /// lesson as a whole", failed: a reader that counts cases (as CI services do) would
    /// otherwise see a failing lesson as green.
    pub problems: Vec<String>,
}

/// The name of the case that carries a suite's [`Suite::problems`].
pub const AS_A_WHOLE: &str = "the lesson as a whole";

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Case {
    /// `lessons/01-mmap-anon.md:117 one-byte-written mapping Rss`: where and what.
    pub name: String,
    /// The lesson file and line, for reports that keep them apart.
    pub file: String,
    pub line: usize,
    pub end: VerdictKind,
    /// Why it failed or was skipped.
    pub reason: Option<String>,
    /// Labelled details: step, subject, field, expected, observed, branch.
    pub details: Vec<(&'static str, String)>,
}

impl Suite {
    pub fn count(&self, end: VerdictKind) -> usize {
        self.cases.iter().filter(|c| c.end == end).count()
    }

    /// Whether the reports add the failed case [`AS_A_WHOLE`] for the suite's problems.
    pub fn has_problems(&self) -> bool {
        !self.problems.is_empty()
    }

    /// The cases a report holds: the suite's own, and [`AS_A_WHOLE`] if it has problems.
    pub fn reported_cases(&self) -> usize {
        self.cases.len() + usize::from(self.has_problems())
    }

    /// Failed when a case failed or the lesson has a problem.
    pub fn failed(&self) -> bool {
        self.has_problems() || self.count(VerdictKind::Failed) > 0
    }
}

/// One suite per lesson, one case per claim.
pub fn of_lessons(reports: &[LessonReport]) -> Vec<Suite> {
    reports
        .iter()
        .map(|report| Suite {
            name: report.id.clone(),
            cases: report.claims.iter().map(claim_case).collect(),
            problems: report.problems().collect(),
        })
        .collect()
}

fn claim_case(claim: &ClaimResult) -> Case {
    let place = &claim.place;
    let mut details = vec![
        ("step", place.step.clone()),
        ("of", place.subject.clone()),
        ("field", place.field.clone()),
        ("expected", place.expected.clone()),
    ];
    if let Some(observed) = claim.verdict.observed() {
        details.push(("observed", observed.to_owned()));
    }
    if let Some(branch) = claim.verdict.branch() {
        details.push(("branch", branch.to_owned()));
    }
    Case {
        name: format!(
            "{}:{} {} {} {}",
            place.file, place.line, place.step, place.subject, place.field
        ),
        file: place.file.clone(),
        line: place.line,
        end: claim.verdict.kind(),
        reason: claim.verdict.reason().map(str::to_owned),
        details,
    }
}

/// One suite per lesson that sets exercises, one case per exercise: done is held, a check
/// that cannot run here is skipped, anything else (to do, failing, panics) failed.
pub fn of_exercises(catalog: &Catalog, outcomes: &[(&Exercise, Outcome)]) -> Vec<Suite> {
    let mut suites: Vec<Suite> = Vec::new();
    for (exercise, outcome) in outcomes {
        let case = exercise_case(catalog, exercise, outcome);
        match suites.last_mut() {
            Some(suite) if suite.name == exercise.lesson => suite.cases.push(case),
            _ => suites.push(Suite {
                name: exercise.lesson.to_owned(),
                cases: vec![case],
                problems: Vec::new(),
            }),
        }
    }
    suites
}

fn exercise_case(catalog: &Catalog, exercise: &Exercise, outcome: &Outcome) -> Case {
    let (file, line) = exercise
        .text(catalog)
        .map(|(lesson, text)| (shown_path(&lesson.path), text.line))
        .unwrap_or_else(|| (exercise.lesson.to_owned(), 0));
    let (end, reason) = match outcome {
        Outcome::Done { .. } => (VerdictKind::Held, None),
        Outcome::Skipped { reason } => (VerdictKind::Skipped, Some(reason.clone())),
        Outcome::Todo { at } => (
            VerdictKind::Failed,
            Some(format!("not done yet: {at} still calls todo!()")),
        ),
        Outcome::Failed(failure) => (
            VerdictKind::Failed,
            Some(format!("does not hold: {}", failure.showed)),
        ),
        Outcome::Panicked { message, at } => (
            VerdictKind::Failed,
            Some(format!("panicked at {at}: {message}")),
        ),
        Outcome::Crashed { how } => (VerdictKind::Failed, Some(format!("crashed: {how}"))),
    };
    let mut details = vec![(
        "function",
        format!("{}() in {}", exercise.function, exercise.file),
    )];
    match outcome {
        Outcome::Done { showed } => details.push(("observed", showed.clone())),
        Outcome::Failed(failure) => {
            details.push(("expected", failure.expected.clone()));
            details.push(("observed", failure.showed.clone()));
        }
        _ => {}
    }
    Case {
        name: format!("{file}:{line} exercise {}", exercise.id),
        file,
        line,
        end,
        reason,
        details,
    }
}

/// What `write` makes of one suite `x` of a held, a failed and a skipped case, named as
/// given, each at `lessons/01-x.md:3`: what the writers' tests put through each format.
#[cfg(test)]
pub(crate) fn written_sample(
    write: fn(&mut dyn std::io::Write, &[Suite]) -> std::io::Result<()>,
    names: [&str; 3],
    whys: [&str; 2],
) -> String {
    sample_with_problems(write, names, whys, &[])
}

/// [`written_sample`] of a lesson with `problems`.
#[cfg(test)]
fn sample_with_problems(
    write: fn(&mut dyn std::io::Write, &[Suite]) -> std::io::Result<()>,
    names: [&str; 3],
    [failed_why, skipped_why]: [&str; 2],
    problems: &[&str],
) -> String {
    let case = |name: &str, end, reason: Option<&str>| Case {
        name: name.into(),
        file: "lessons/01-x.md".into(),
        line: 3,
        end,
        reason: reason.map(Into::into),
        details: vec![("expected", "1 page".into()), ("observed", "8 kB".into())],
    };
    let [held, failed, skipped] = names;
    let suite = Suite {
        name: "x".into(),
        cases: vec![
            case(held, VerdictKind::Held, None),
            case(failed, VerdictKind::Failed, Some(failed_why)),
            case(skipped, VerdictKind::Skipped, Some(skipped_why)),
        ],
        problems: problems.iter().map(|p| p.to_string()).collect(),
    };
    let mut out = Vec::new();
    write(&mut out, &[suite]).expect("writing to a Vec");
    String::from_utf8(out).expect("the writers write UTF-8")
}

/// [`written_sample`] of plain cases (`held`, `failed`, `skipped`), for a lesson with
/// `problems`.
#[cfg(test)]
pub(crate) fn problem_sample(
    write: fn(&mut dyn std::io::Write, &[Suite]) -> std::io::Result<()>,
    problems: &[&str],
) -> String {
    sample_with_problems(
        write,
        ["held", "failed", "skipped"],
        ["differs", "no THP"],
        problems,
    )
}
