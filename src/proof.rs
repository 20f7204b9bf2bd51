//! A lesson together with its proof on this kernel: every claim's verdict, and what each
//! step showed (the residency pictures come from the same run). The terminal (`pagelab
//! show`) and the book read lessons through this, so both say the same thing.

use crate::check::{self, ClaimResult, LessonReport, SkipCause};
use crate::experiment::{Step, StepReport};
use crate::kernel::KernelProbe;
use crate::lesson::{BlockKind, ClaimBlock, Lesson};
use crate::memory::residency::Residency;

pub struct LessonProof {
    pub report: LessonReport,
    pub steps: Vec<(Step, StepReport)>,
}

impl LessonProof {
    /// Runs the lesson's experiment once and judges its claims on what it showed.
    pub fn check(lesson: &Lesson, probe: &KernelProbe) -> LessonProof {
        let (report, steps) = check::check_observing(lesson, probe);
        LessonProof { report, steps }
    }

    /// The verdict of the claim at `line` of the lesson file.
    pub fn claim_at(&self, line: usize) -> Option<&ClaimResult> {
        self.report.claims.iter().find(|c| c.place.line == line)
    }

    /// The residency of `subject` at `step`, where the experiment read one.
    pub fn residency(&self, step: &str, subject: &str) -> Option<&Residency> {
        let (_, report) = self.steps.iter().find(|(s, _)| s.id == step)?;
        match report {
            StepReport::Observed(observation) => observation.subject(subject)?.residency.as_ref(),
            StepReport::Impossible(_) => None,
        }
    }

    /// The step's title ("after writing one byte into the first page").
    pub fn step_title(&self, step: &str) -> Option<&'static str> {
        self.steps
            .iter()
            .find(|(s, _)| s.id == step)
            .map(|(s, _)| s.title)
    }
}

/// The block's `when=` conditions in plain words ("where the write gets one base page: no
/// THP size applies to it"), `None` for a block that holds everywhere.
pub fn where_words(block: &ClaimBlock) -> Option<String> {
    if block.when.is_empty() {
        return None;
    }
    let meanings: Vec<&str> = block.when.iter().map(|c| c.meaning()).collect();
    Some(format!("where {}", meanings.join(", and ")))
}

/// Whether every claim of the block was skipped for one reason: said once for the block.
pub fn common_skip<'a>(proof: &'a LessonProof, block: &ClaimBlock) -> Option<(SkipCause, &'a str)> {
    let mut reasons = block.claims.iter().map(|c| match proof.claim_at(c.line) {
        Some(ClaimResult {
            verdict: check::Verdict::Skipped { cause, reason },
            ..
        }) => Some((*cause, reason.as_str())),
        _ => None,
    });
    let first = reasons.next()??;
    reasons.all(|r| r == Some(first)).then_some(first)
}

/// Whether every claim of the block was skipped here (a branch that does not apply, a field
/// the kernel lacks, a need unmet).
pub fn skipped_here(proof: &LessonProof, block: &ClaimBlock) -> bool {
    block.claims.iter().all(|c| {
        matches!(
            proof.claim_at(c.line).map(|r| &r.verdict),
            Some(check::Verdict::Skipped { .. })
        )
    })
}

/// Of `blocks` (one step's, in the lesson's order), the one that a picture of the step
/// follows: the first not skipped here, so that the picture stands under the branch that
/// applies, not under one that does not; the first where every one was skipped.
pub fn figure_block<'a>(
    proof: &LessonProof,
    blocks: impl IntoIterator<Item = &'a ClaimBlock>,
) -> Option<&'a ClaimBlock> {
    let mut first = None;
    for block in blocks {
        if !skipped_here(proof, block) {
            return Some(block);
        }
        first.get_or_insert(block);
    }
    first
}

/// Whether `block` is the one its step's residency picture of its subject follows (see
/// [`figure_block`]); never an outcome block, whose step has no mapping of its own.
pub fn carries_residency(lesson: &Lesson, proof: &LessonProof, block: &ClaimBlock) -> bool {
    if block.kind == BlockKind::Outcome {
        return false;
    }
    let subject = check::subject_of(lesson, block);
    let same = lesson.blocks.iter().filter(|b| {
        b.step == block.step
            && b.kind != BlockKind::Outcome
            && check::subject_of(lesson, b) == subject
    });
    figure_block(proof, same).is_some_and(|b| b.line == block.line)
}

/// A skip reason as a reader of the block wants it: a branch that does not apply says so
/// first ("not this kernel's branch: why", the why taken from the checker's own wording),
/// any other skip keeps its reason.
pub fn skip_words(cause: SkipCause, reason: &str) -> String {
    let why = (cause == SkipCause::Branch)
        .then(|| reason.split_once(&format!(" {}: ", check::NOT_APPLYING)))
        .flatten();
    match why {
        Some((_, why)) => format!("not this kernel's branch: {why}"),
        None => format!("skipped here: {reason}"),
    }
}
