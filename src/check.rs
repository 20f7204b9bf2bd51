//! Evaluates a lesson's claims against an experiment's observations.
//!
//! Every claim ends in exactly one verdict: held, failed, or skipped with a reason. A claim
//! whose step the experiment never reached fails; nothing is dropped silently.

use crate::Bytes;
use crate::condition::Branch;
use crate::experiment::{Experiment, Lab, Observation, Recorder, Step, StepReport, Subject};
use crate::experiments;
use crate::kernel::thp::{self, Access, Folio};
use crate::kernel::{Absence, SmapsField};
use crate::kernel::{FieldValue, KernelProbe, MapsLine, Pathname};
use crate::lesson::value::{
    ByteUnit, Cmp, FieldExpected, MapsPattern, OutcomeExpected, PathPattern, Quantity, Scale, Unit,
};
use crate::lesson::{Claim, ClaimBlock, Claimed, Lesson, Need};
use serde::Serialize;

/// Which of the three ends a claim came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VerdictKind {
    Held,
    Failed,
    Skipped,
}

/// How a claim ended, with what a reader needs to judge it: what the kernel showed, why it
/// failed or was skipped, and the `when=` branch that applied with why it applied here.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Held {
        observed: String,
        branch: Option<String>,
    },
    Failed {
        /// `None` where nothing was observed at all (a step never reached).
        observed: Option<String>,
        reason: String,
        branch: Option<String>,
    },
    Skipped {
        cause: SkipCause,
        reason: String,
    },
}

/// What kind of thing kept a claim from being decided: whether it lies outside the claim
/// (a `core` claim is then exempt), or is a branch of the lesson this kernel does not take.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SkipCause {
    /// The kernel lacks what the lesson's `needs:` names.
    Need,
    /// A limit makes the claim's step impossible.
    Impossible,
    /// The kernel does not print the claim's field: it came in a later version, or appears
    /// only where the hardware or a setting provides it.
    NotPrinted,
    /// The block's `when=` branch does not apply on this kernel.
    Branch,
    /// The branch applies, but the kernel did not give the huge page or large folio it was
    /// asked for this time: allocation is best effort (memory may be fragmented).
    NotObtained,
    /// The claim cannot be decided here for another reason, which the text gives.
    Undecided,
}

impl SkipCause {
    /// Whether the cause lies outside the claim, so that a `core` claim skipped for it is
    /// no problem of the lesson's.
    pub fn exempts_core(self) -> bool {
        matches!(
            self,
            SkipCause::Need
                | SkipCause::Impossible
                | SkipCause::NotPrinted
                | SkipCause::NotObtained
        )
    }
}

impl Verdict {
    pub fn kind(&self) -> VerdictKind {
        match self {
            Verdict::Held { .. } => VerdictKind::Held,
            Verdict::Failed { .. } => VerdictKind::Failed,
            Verdict::Skipped { .. } => VerdictKind::Skipped,
        }
    }

    pub fn observed(&self) -> Option<&str> {
        match self {
            Verdict::Held { observed, .. } => Some(observed),
            Verdict::Failed { observed, .. } => observed.as_deref(),
            Verdict::Skipped { .. } => None,
        }
    }

    /// Why it failed or was skipped.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Verdict::Held { .. } => None,
            Verdict::Failed { reason, .. } | Verdict::Skipped { reason, .. } => Some(reason),
        }
    }

    pub fn branch(&self) -> Option<&str> {
        match self {
            Verdict::Held { branch, .. } | Verdict::Failed { branch, .. } => branch.as_deref(),
            Verdict::Skipped { .. } => None,
        }
    }

    fn failed(reason: impl Into<String>) -> Verdict {
        Verdict::Failed {
            observed: None,
            reason: reason.into(),
            branch: None,
        }
    }

    fn skipped(cause: SkipCause, reason: impl Into<String>) -> Verdict {
        Verdict::Skipped {
            cause,
            reason: reason.into(),
        }
    }

    /// Why it was skipped, where it was.
    pub fn skip_cause(&self) -> Option<SkipCause> {
        match self {
            Verdict::Skipped { cause, .. } => Some(*cause),
            Verdict::Held { .. } | Verdict::Failed { .. } => None,
        }
    }
}

/// Which claim a result is about: its lesson, its place in the markdown and what it says.
/// The same in every configuration's results, so the matrix joins them by it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ClaimPlace {
    pub lesson: String,
    pub file: String,
    pub line: usize,
    pub step: String,
    /// Whose view the claim is about (`mapping`, `parent`, `child`...).
    pub subject: String,
    pub field: String,
    pub expected: String,
}

/// One claim's result, with everything a reader needs to find and judge it. Serialised flat
/// (`verdict`, `observed`, `reason`, `branch` beside the claim's place), as result files and
/// the kernel matrix read it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(into = "FlatClaim", from = "FlatClaim")]
pub struct ClaimResult {
    pub place: ClaimPlace,
    pub verdict: Verdict,
}

/// [`ClaimResult`] as JSON has it.
#[derive(Serialize, serde::Deserialize)]
struct FlatClaim {
    #[serde(flatten)]
    place: ClaimPlace,
    observed: Option<String>,
    verdict: VerdictKind,
    reason: Option<String>,
    /// Skipped claims only. Absent from files written before it was recorded: read as
    /// `undecided`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    skip: Option<SkipCause>,
    branch: Option<String>,
}

impl From<ClaimResult> for FlatClaim {
    fn from(claim: ClaimResult) -> FlatClaim {
        let verdict = &claim.verdict;
        FlatClaim {
            observed: verdict.observed().map(str::to_owned),
            reason: verdict.reason().map(str::to_owned),
            branch: verdict.branch().map(str::to_owned),
            skip: verdict.skip_cause(),
            verdict: verdict.kind(),
            place: claim.place,
        }
    }
}

impl From<FlatClaim> for ClaimResult {
    fn from(flat: FlatClaim) -> ClaimResult {
        let reason = flat.reason.unwrap_or_default();
        let verdict = match flat.verdict {
            VerdictKind::Held => Verdict::Held {
                observed: flat.observed.unwrap_or_default(),
                branch: flat.branch,
            },
            VerdictKind::Failed => Verdict::Failed {
                observed: flat.observed,
                reason,
                branch: flat.branch,
            },
            VerdictKind::Skipped => Verdict::Skipped {
                cause: flat.skip.unwrap_or(SkipCause::Undecided),
                reason,
            },
        };
        ClaimResult {
            place: flat.place,
            verdict,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct LessonReport {
    pub id: String,
    pub title: String,
    pub file: String,
    pub claims: Vec<ClaimResult>,
    /// The experiment stopped with this error (its unreached claims failed).
    pub error: Option<String>,
    /// What its `core` blocks leave undecided here ([`core_problems`]): each fails the
    /// lesson. Absent from files written before it was recorded.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub core_problems: Vec<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Counts {
    pub held: usize,
    pub failed: usize,
    pub skipped: usize,
}

impl Counts {
    pub fn total(&self) -> usize {
        self.held + self.failed + self.skipped
    }

    /// The counts over several lessons.
    pub fn of_all(reports: &[LessonReport]) -> Counts {
        reports
            .iter()
            .flat_map(|r| &r.claims)
            .map(|c| c.verdict.kind())
            .collect()
    }
}

impl FromIterator<VerdictKind> for Counts {
    fn from_iter<I: IntoIterator<Item = VerdictKind>>(verdicts: I) -> Counts {
        let mut counts = Counts::default();
        for verdict in verdicts {
            match verdict {
                VerdictKind::Held => counts.held += 1,
                VerdictKind::Failed => counts.failed += 1,
                VerdictKind::Skipped => counts.skipped += 1,
            }
        }
        counts
    }
}

impl LessonReport {
    pub fn counts(&self) -> Counts {
        self.claims.iter().map(|c| c.verdict.kind()).collect()
    }

    pub fn passed(&self) -> bool {
        self.error.is_none() && self.core_problems.is_empty() && self.counts().failed == 0
    }

    /// Why the lesson does not pass besides its failed claims: the experiment's stop, and
    /// what its core blocks leave undecided.
    pub fn problems(&self) -> impl Iterator<Item = String> + '_ {
        let stopped = self
            .error
            .iter()
            .map(|e| format!("the experiment stopped: {e}"));
        let core = self.core_problems.iter().map(|p| format!("core: {p}"));
        stopped.chain(core)
    }
}

/// How a skip for a `when=` branch words it, after the condition: the why follows. The
/// terminal and the book take the why from behind it.
pub(crate) const NOT_APPLYING: &str = "does not apply on this kernel";

/// What a lesson's `core` blocks leave undecided on this kernel, one line each: a core block
/// whose branch applies must hold claim for claim, and among a step's core blocks with
/// `when=` one must apply and hold. A lesson this kernel cannot run (its `needs:`), a step a
/// limit makes impossible, a field older kernels do not print (lesson 13 lists every field,
/// KSM of 6.6 among them) and a huge page the kernel did not give this time (best effort)
/// are exempt: their skips say why. Every report carries them ([`LessonReport::passed`]).
pub fn core_problems(lesson: &Lesson, report: &LessonReport) -> Vec<String> {
    let verdict = |line: usize| report.claims.iter().find(|c| c.place.line == line);
    let mut problems = Vec::new();
    let mut branched_steps: Vec<&str> = Vec::new();
    for block in lesson.blocks.iter().filter(|b| b.core) {
        let mut held = true;
        for claim in &block.claims {
            let Some(result) = verdict(claim.line) else {
                problems.push(format!("{}:{}: not evaluated", report.file, claim.line));
                continue;
            };
            match &result.verdict {
                Verdict::Held { .. } => {}
                Verdict::Skipped { cause, .. } if cause.exempts_core() => {}
                Verdict::Skipped {
                    cause: SkipCause::Branch,
                    ..
                } if !block.when.is_empty() => held = false,
                other => {
                    held = false;
                    problems.push(format!(
                        "{}:{}: core claim {} at `{}` did not hold: {}",
                        report.file,
                        claim.line,
                        claim.target(),
                        block.step,
                        other.reason().unwrap_or("?")
                    ));
                }
            }
        }
        if !block.when.is_empty() && !branched_steps.contains(&block.step.as_str()) && !held {
            branched_steps.push(&block.step);
        }
    }
    // A step whose core branches all failed to hold: unless one of them held after all.
    for step in branched_steps {
        let branches = lesson
            .blocks
            .iter()
            .filter(|b| b.core && !b.when.is_empty() && b.step == step);
        let decided = branches.clone().any(|b| {
            b.claims.iter().all(|c| {
                verdict(c.line).is_some_and(|r| match &r.verdict {
                    Verdict::Held { .. } => true,
                    Verdict::Skipped { cause, .. } => cause.exempts_core(),
                    Verdict::Failed { .. } => false,
                })
            })
        });
        if !decided {
            let lines: Vec<String> = branches.map(|b| b.line.to_string()).collect();
            problems.push(format!(
                "{}: step `{step}`: none of its core branches (blocks at lines {}) applies and holds on this kernel",
                report.file,
                lines.join(", ")
            ));
        }
    }
    problems
}

/// Runs the lesson's experiment and returns what each step observed.
pub fn observe(lesson: &Lesson, probe: &KernelProbe) -> Result<Vec<(Step, StepReport)>, String> {
    let experiment = experiments::performing(lesson.id())?;
    let mut recorder = Recorder::default();
    run(experiment, probe, &mut recorder)?;
    Ok(recorder.steps)
}

/// Runs the lesson's experiment on this kernel and checks every claim.
pub fn check_lesson(lesson: &Lesson, probe: &KernelProbe) -> LessonReport {
    check_observing(lesson, probe).0
}

/// [`check_lesson`], also returning what each step observed: the book draws its pictures
/// from the very run whose claims it shows judged.
pub fn check_observing(
    lesson: &Lesson,
    probe: &KernelProbe,
) -> (LessonReport, Vec<(Step, StepReport)>) {
    if let Some(reason) = unmet_need(lesson, probe) {
        return (skip_all(lesson, &reason), Vec::new());
    }
    let mut recorder = Recorder::default();
    let error = match experiments::performing(lesson.id()) {
        Ok(experiment) => run(experiment, probe, &mut recorder).err(),
        Err(none) => Some(none),
    };
    let mut report = judge_all(lesson, probe, &recorder.steps, error.as_deref());
    report.error = error;
    (report, recorder.steps)
}

fn run(
    experiment: &dyn Experiment,
    probe: &KernelProbe,
    recorder: &mut Recorder,
) -> Result<(), String> {
    let mut lab = Lab::new(probe, experiment.vocabulary(), recorder);
    match experiment.run(&mut lab) {
        // A limit of this machine is no fault of the lesson's: the steps it kept the
        // experiment from are impossible here, with the limit named, not a stopped run.
        Err(error) if error.is_refused_by_limits() => {
            let why = format!(
                "{error}: this machine's limits refuse it (vm.overcommit_memory={}, its commit limit, the address space or the process limit)",
                probe.overcommit.number()
            );
            lab.impossible_from_here(&why).map_err(|e| e.to_string())
        }
        ran => ran.map_err(|e| e.to_string()),
    }
}

fn unmet_need(lesson: &Lesson, probe: &KernelProbe) -> Option<String> {
    lesson.front.needs.iter().find_map(|need| {
        let missing = match need {
            Need::Thp => probe.thp.is_none(),
            Need::MultiSizeThp => probe.thp.as_ref().is_none_or(|t| t.per_size.is_empty()),
            Need::AnonVmaNames => !probe.anon_vma_names,
            Need::Hugetlb => probe.hugetlb.is_none(),
        };
        missing.then(|| {
            format!(
                "the lesson needs {need}, which this kernel ({}) lacks",
                probe.release
            )
        })
    })
}

fn skip_all(lesson: &Lesson, reason: &str) -> LessonReport {
    let mut report = empty_report(lesson);
    for block in &lesson.blocks {
        for claim in &block.claims {
            let subject = subject_of(lesson, block);
            let verdict = Verdict::skipped(SkipCause::Need, reason);
            report.claims.push(result_for(
                lesson,
                &report.file,
                block,
                claim,
                subject,
                verdict,
            ));
        }
    }
    report
}

fn empty_report(lesson: &Lesson) -> LessonReport {
    LessonReport {
        id: lesson.id().to_owned(),
        title: lesson.front.title.clone(),
        file: shown_path(&lesson.path),
        claims: Vec::new(),
        error: None,
        core_problems: Vec::new(),
    }
}

/// The lesson's path as a reader would type it: relative to the current directory when
/// it lies below it (`lessons/01-mmap-anon.md`).
pub fn shown_path(path: &std::path::Path) -> String {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| path.strip_prefix(cwd).ok())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Whose view a block shows: its `of=`, else the experiment's first subject.
pub fn subject_of(lesson: &Lesson, block: &ClaimBlock) -> String {
    block.of.clone().unwrap_or_else(|| {
        experiments::find(lesson.id())
            .and_then(|e| e.vocabulary().subjects.first().copied())
            .map_or_else(|| "mapping".to_owned(), |s| s.as_str().to_owned())
    })
}

/// `file`: the lesson's [`shown_path`], as its report has it (asked of the kernel once a
/// report, not once a claim).
fn result_for(
    lesson: &Lesson,
    file: &str,
    block: &ClaimBlock,
    claim: &Claim,
    subject: String,
    verdict: Verdict,
) -> ClaimResult {
    ClaimResult {
        place: ClaimPlace {
            lesson: lesson.id().to_owned(),
            file: file.to_owned(),
            line: claim.line,
            step: block.step.clone(),
            subject,
            field: claim.target().to_owned(),
            expected: claim.written.clone(),
        },
        verdict,
    }
}

/// Checks every claim of `lesson` against recorded steps. Pure but for one look at the
/// current directory, for the path the report shows.
pub fn evaluate(
    lesson: &Lesson,
    probe: &KernelProbe,
    steps: &[(Step, StepReport)],
) -> LessonReport {
    judge_all(lesson, probe, steps, None)
}

/// [`evaluate`], for an experiment that may have stopped early with `stopped`.
fn judge_all(
    lesson: &Lesson,
    probe: &KernelProbe,
    steps: &[(Step, StepReport)],
    stopped: Option<&str>,
) -> LessonReport {
    let mut report = empty_report(lesson);
    for block in &lesson.blocks {
        let subject_name = subject_of(lesson, block);
        let step_report = steps
            .iter()
            .find(|(s, _)| s.id == block.step)
            .map(|(_, r)| r);
        let judged = match step_report {
            None => Err(Verdict::failed(match stopped {
                Some(error) => format!(
                    "the experiment never reached step `{}` (it stopped: {error})",
                    block.step
                ),
                None => format!("the experiment never reached step `{}`", block.step),
            })),
            Some(StepReport::Impossible(why)) => Err(Verdict::skipped(
                SkipCause::Impossible,
                format!("step `{}` is not possible here: {why}", block.step),
            )),
            Some(StepReport::Observed(observation)) => {
                let subject = observation.subject(&subject_name);
                match subject {
                    // Outcome blocks need no subject; conditions that do say so themselves.
                    None if block.kind != crate::lesson::BlockKind::Outcome => {
                        Err(Verdict::failed(format!(
                            "step `{}` shows nothing of `{subject_name}`",
                            block.step
                        )))
                    }
                    _ => branch_of(block, probe, subject)
                        .map(|branch| (branch, observation, subject)),
                }
            }
        };
        for claim in &block.claims {
            let verdict = match &judged {
                Err(verdict) => verdict.clone(),
                Ok((branch, observation, subject)) => {
                    judge(claim, probe, observation, *subject, branch.clone())
                }
            };
            let result = result_for(
                lesson,
                &report.file,
                block,
                claim,
                subject_name.clone(),
                verdict,
            );
            report.claims.push(result);
        }
    }
    report.core_problems = core_problems(lesson, &report);
    report
}

/// `Ok(Some(description))` when all `when=` conditions apply, `Ok(None)` without any,
/// `Err((verdict, reason))` when the block is skipped (or the lesson is wrong).
fn branch_of(
    block: &ClaimBlock,
    probe: &KernelProbe,
    subject: Option<&Subject>,
) -> Result<Option<String>, Verdict> {
    if block.when.is_empty() {
        return Ok(None);
    }
    // One pass over every condition: a condition that is wrong for its block is the
    // lesson's mistake on every kernel, so it must not hide behind an earlier one that
    // happens not to apply on this one; the first that does not decide otherwise skips.
    let mut applied = Vec::new();
    let mut skip = None;
    for condition in &block.when {
        let skipped = match condition.evaluate(probe, subject) {
            Branch::Applies(why) => {
                applied.push(format!("{condition}: {why}"));
                continue;
            }
            Branch::Invalid(why) => return Err(Verdict::failed(why)),
            Branch::DoesNotApply(why) => Verdict::skipped(
                SkipCause::Branch,
                format!("branch when={condition} {NOT_APPLYING}: {why}"),
            ),
            Branch::NotObtained(why) => Verdict::skipped(SkipCause::NotObtained, why),
            Branch::Undecided(why) => Verdict::skipped(SkipCause::Undecided, why),
        };
        skip.get_or_insert(skipped);
    }
    if let Some(skipped) = skip {
        return Err(skipped);
    }
    Ok(Some(applied.join("; ")))
}

fn judge(
    claim: &Claim,
    probe: &KernelProbe,
    observation: &Observation,
    subject: Option<&Subject>,
    branch: Option<String>,
) -> Verdict {
    let judged = match (&claim.claimed, subject) {
        (Claimed::MapsLine(pattern), Some(subject)) => {
            let line = &subject.record.vma;
            Judged::from_bool(matches_maps(pattern, line), line.to_string())
        }
        (Claimed::Field { field, expected }, Some(subject)) => {
            judge_field(*field, expected, probe, subject)
        }
        (Claimed::Outcome { key, expected }, _) => match observation.outcome(key) {
            None => Judged::Failed(None, format!("the experiment reported no `{key}`")),
            Some(observed) => {
                let observed = observed.to_string();
                match expected {
                    OutcomeExpected::Any => Judged::Held(observed),
                    OutcomeExpected::Is(text) => Judged::from_bool(*text == observed, observed),
                    OutcomeExpected::Compare(cmp, want) => match observed.parse::<u64>() {
                        Ok(n) => Judged::from_bool(cmp.holds(n, *want), observed),
                        Err(_) => Judged::Failed(
                            Some(observed),
                            "a comparison needs a count, and this outcome is no number".into(),
                        ),
                    },
                    OutcomeExpected::Unwritten => Judged::Unwritten(observed),
                }
            }
        },
        (Claimed::MapsLine(_) | Claimed::Field { .. }, None) => {
            Judged::Failed(None, "the step shows no mapping for this claim".into())
        }
    };
    match judged {
        Judged::Held(observed) => Verdict::Held { observed, branch },
        Judged::Failed(observed, reason) => Verdict::Failed {
            observed,
            reason,
            branch,
        },
        Judged::Skipped(cause, reason) => Verdict::Skipped { cause, reason },
        Judged::Unwritten(value) => Verdict::Failed {
            reason: format!(
                "not written yet: `pagelab check --bless` writes `{value}` in place of `?`"
            ),
            observed: Some(value),
            branch,
        },
    }
}

enum Judged {
    Held(String),
    Failed(Option<String>, String),
    Skipped(SkipCause, String),
    /// A `?` claim, and the value the kernel showed, as the claim's unit writes it.
    Unwritten(String),
}

impl Judged {
    fn from_bool(held: bool, observed: String) -> Judged {
        if held {
            Judged::Held(observed)
        } else {
            Judged::Failed(Some(observed), "the kernel shows a different value".into())
        }
    }
}

fn judge_field(
    field: SmapsField,
    expected: &FieldExpected,
    probe: &KernelProbe,
    subject: &Subject,
) -> Judged {
    let record = &subject.record;
    let absent = || match field.absence(&probe.release, probe.version) {
        Absence::NotPrinted(why) => Judged::Skipped(SkipCause::NotPrinted, why),
        Absence::Missing(why) => Judged::Failed(None, why),
    };
    if field == SmapsField::VmFlags {
        let Some(flags) = &record.vm_flags else {
            return absent();
        };
        let observed = flags.join(" ");
        return match expected {
            FieldExpected::Flags {
                tokens,
                others_allowed,
            } => {
                let all_present = tokens.iter().all(|t| flags.contains(t));
                let no_others = *others_allowed || flags.iter().all(|f| tokens.contains(f));
                Judged::from_bool(all_present && no_others, observed)
            }
            FieldExpected::Unwritten(_) => Judged::Unwritten(observed),
            _ => Judged::Failed(Some(observed), "VmFlags takes flag tokens".into()),
        };
    }
    let Some(value) = record.field(field) else {
        return absent();
    };
    match (value, expected) {
        (FieldValue::Size(size), FieldExpected::Any) => Judged::Held(size.to_string()),
        (FieldValue::Number(n), FieldExpected::Any) => Judged::Held(n.to_string()),
        (FieldValue::Size(size), FieldExpected::Size(cmp, quantity)) => {
            judge_size(size, *cmp, quantity, &scale(probe, subject))
        }
        (FieldValue::Size(size), FieldExpected::Unwritten(unit)) => {
            match in_unit(size, *unit, &scale(probe, subject)) {
                Ok(text) => Judged::Unwritten(text),
                Err(why) => Judged::Failed(None, why),
            }
        }
        (FieldValue::Number(n), FieldExpected::Number(cmp, want)) => {
            Judged::from_bool(cmp.holds(n, *want), n.to_string())
        }
        (FieldValue::Number(n), FieldExpected::Unwritten(None)) => Judged::Unwritten(n.to_string()),
        (observed, _) => Judged::Failed(
            Some(format!("{observed:?}")),
            "the kernel prints this field in another form than the lesson wrote".into(),
        ),
    }
}

fn judge_size(size: Bytes, cmp: Cmp, quantity: &Quantity, scale: &Scale) -> Judged {
    match quantity.resolve(scale) {
        Ok(bytes) => match Judged::from_bool(cmp.holds(size, bytes), size.to_string()) {
            Judged::Failed(observed, _) => Judged::Failed(
                observed,
                format!(
                    "expected {} = {bytes} on this kernel",
                    quantity_words(quantity, &cmp)
                ),
            ),
            held => held,
        },
        Err(why) => Judged::Skipped(SkipCause::Undecided, why),
    }
}

/// `size` written in `unit` as a lesson would (`16 pages`, `1 huge page`, `1/2 page` for a
/// share of a page, `4 kB` without a unit), or why it is no such number of them.
fn in_unit(size: Bytes, unit: Option<Unit>, scale: &Scale) -> Result<String, String> {
    let unit = unit.unwrap_or(Unit::Fixed(ByteUnit::KB));
    let one = Quantity {
        count: 1,
        divisor: 1,
        unit,
    }
    .resolve(scale)?;
    // Pss divides a page among the processes that map it: halves, thirds...
    let shares = if matches!(unit, Unit::Fixed(_)) { 1 } else { 8 };
    let divisor =
        (1..=shares).find(|d| one.get() != 0 && (size.get() * d).is_multiple_of(one.get()));
    let Some(divisor) = divisor else {
        return Err(format!(
            "the kernel shows {size}, which is no whole number of {unit}s ({one}): write `?` in another unit"
        ));
    };
    let count = size.get() * divisor / one.get();
    let plural = if count <= divisor || matches!(unit, Unit::Fixed(_)) {
        ""
    } else {
        "s"
    };
    Ok(match divisor {
        1 => format!("{count} {unit}{plural}"),
        _ => format!("{count}/{divisor} {unit}{plural}"),
    })
}

fn quantity_words(q: &Quantity, cmp: &Cmp) -> String {
    let op = match cmp {
        Cmp::Eq => "",
        Cmp::Lt => "< ",
        Cmp::Le => "<= ",
        Cmp::Gt => "> ",
        Cmp::Ge => ">= ",
    };
    // `16384 kB`, never `kBs`.
    let plural = if q.count == 1 || matches!(q.unit, Unit::Fixed(_)) {
        ""
    } else {
        "s"
    };
    let count = if q.divisor == 1 {
        q.count.to_string()
    } else {
        format!("{}/{}", q.count, q.divisor)
    };
    format!("{op}{count} {}{plural}", q.unit)
}

/// The sizes page-relative units mean for this subject on this kernel.
fn scale(probe: &KernelProbe, subject: &Subject) -> Scale {
    let folio = subject.write_addr.and_then(|addr| {
        match thp::predict_fault(probe, &subject.record, addr, Access::Write).folio {
            Folio::Mthp(size) | Folio::Pmd(size) => Some(size),
            Folio::Base | Folio::ZeroPage => None,
        }
    });
    Scale {
        page: probe.page_size,
        huge_page: probe.thp.as_ref().map(|t| t.pmd_size),
        hugetlb_page: probe.hugetlb.as_ref().map(|h| h.page_size),
        folio,
    }
}

fn matches_maps(pattern: &MapsPattern, line: &MapsLine) -> bool {
    let perms_ok = pattern
        .perms
        .as_ref()
        .is_none_or(|p| *p == line.perms.to_string());
    let offset_ok = pattern.offset.is_none_or(|o| o == line.offset);
    let device_ok = pattern.device.is_none_or(|device| device == line.device);
    let inode_ok = pattern.inode.is_none_or(|i| i == line.inode);
    let path_ok = match &pattern.pathname {
        PathPattern::Any => true,
        PathPattern::None => line.pathname == Pathname::Anonymous,
        PathPattern::Exact(text) => line.pathname.to_string() == *text,
    };
    perms_ok && offset_ok && device_ok && inode_ok && path_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::ExperimentError;
    use crate::memory::MappingError;
    use nix::errno::Errno;

    crate::experiment::declare! {
        experiment: Refused, id: "refused", forks: false;
        steps {
            "first": "after the first step",
            "second": "after mapping what the machine refuses",
            "third": "after what builds on it",
        }
        subjects {}
        outcomes {}
    }

    impl Experiment for Refused {
        fn run(&self, lab: &mut Lab<'_>) -> Result<(), ExperimentError> {
            lab.step("first", Observation::outcomes([]))?;
            Err(MappingError::Mmap {
                what: "one huge page".into(),
                len: 1 << 29,
                errno: Errno::ENOMEM,
            }
            .into())
        }
    }

    /// Its own module: `declare!` names the module's DECLARATION.
    mod part_impossible {
        use super::*;

        crate::experiment::declare! {
            experiment: PartImpossible, id: "part-impossible", forks: false;
            steps {
                "a": "first",
                "b": "ruled out",
                "c": "ruled out too",
                "d": "after the part ruled out",
            }
            subjects {}
            outcomes {}
        }

        impl Experiment for PartImpossible {
            fn run(&self, lab: &mut Lab<'_>) -> Result<(), ExperimentError> {
                lab.step("a", Observation::outcomes([]))?;
                lab.impossible_through("c", "a limit")?;
                lab.step("d", Observation::outcomes([]))?;
                // Behind: "b" was reported already.
                match lab.impossible_through("b", "late") {
                    Err(ExperimentError::StepOrder { got, expected }) => {
                        assert_eq!((got.as_str(), expected), ("b", None));
                        Ok(())
                    }
                    other => panic!("a step behind must be a StepOrder error: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn impossible_through_reports_the_steps_up_to_the_one_named() {
        let probe = KernelProbe::probe().unwrap();
        let mut recorder = Recorder::default();
        run(&part_impossible::PartImpossible, &probe, &mut recorder).unwrap();
        let kinds: Vec<(&str, bool)> = recorder
            .steps
            .iter()
            .map(|(s, r)| (s.id, matches!(r, StepReport::Impossible(_))))
            .collect();
        assert_eq!(
            kinds,
            [("a", false), ("b", true), ("c", true), ("d", false)]
        );
    }

    #[test]
    fn memory_the_machine_refuses_makes_the_steps_left_impossible_not_a_stopped_run() {
        let probe = KernelProbe::probe().unwrap();
        let mut recorder = Recorder::default();
        run(&Refused, &probe, &mut recorder).expect("a limit is not an error of the run");
        let reports: Vec<(&str, &StepReport)> =
            recorder.steps.iter().map(|(s, r)| (s.id, r)).collect();
        assert!(matches!(reports[0], ("first", StepReport::Observed(_))));
        for (i, id) in ["second", "third"].into_iter().enumerate() {
            let (step, StepReport::Impossible(why)) = reports[i + 1] else {
                panic!("{id}: {:?}", reports[i + 1]);
            };
            assert_eq!(step, id);
            assert!(
                why.contains("ENOMEM") && why.contains("vm.overcommit_memory="),
                "{why}"
            );
        }
        assert_eq!(reports.len(), 3);
    }

    #[test]
    fn a_blessed_size_is_written_in_the_unit_the_line_asks_for() {
        let scale = Scale {
            page: Bytes(4096),
            huge_page: Some(Bytes(2 << 20)),
            hugetlb_page: None,
            folio: None,
        };
        let written = |size: u64, unit| in_unit(Bytes(size), unit, &scale);
        assert_eq!(written(4096, Some(Unit::Page)).as_deref(), Ok("1 page"));
        assert_eq!(written(65536, Some(Unit::Page)).as_deref(), Ok("16 pages"));
        assert_eq!(written(2048, Some(Unit::Page)).as_deref(), Ok("1/2 page"));
        assert_eq!(written(6144, Some(Unit::Page)).as_deref(), Ok("3/2 pages"));
        assert_eq!(
            written(2 << 20, Some(Unit::HugePage)).as_deref(),
            Ok("1 huge page")
        );
        assert_eq!(written(4096, None).as_deref(), Ok("4 kB"));
        assert!(written(1000, Some(Unit::Page)).is_err());
        assert!(written(512, None).is_err(), "no half kB");
        let gb = Some(Unit::Fixed(ByteUnit::GB));
        assert_eq!(written(2 << 30, gb).as_deref(), Ok("2 GB"));
        let why = written(1 << 20, gb).unwrap_err();
        assert!(why.contains("no whole number of GBs"), "{why}");
    }

    #[test]
    fn an_expected_size_names_its_unit_and_only_counted_units_take_a_plural() {
        let words = |count, unit| {
            let q = Quantity {
                count,
                divisor: 1,
                unit,
            };
            quantity_words(&q, &Cmp::Eq)
        };
        assert_eq!(words(16384, Unit::Fixed(ByteUnit::KB)), "16384 kB");
        assert_eq!(words(1, Unit::Fixed(ByteUnit::GB)), "1 GB");
        assert_eq!(words(3, Unit::Page), "3 pages");
        assert_eq!(words(1, Unit::HugePage), "1 huge page");
    }
}
