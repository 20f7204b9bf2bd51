//! The shape every lesson's experiment shares: named steps, each producing an observation.
//!
//! An experiment performs its lesson by hand, as a person would, and at each step hands the
//! [`Lab`] what the kernel shows. Who watches decides what happens with it: [`Recorder`]
//! keeps the observations for checking, the `run` command prints them and pauses.

use crate::kernel::{KernelProbe, SmapsRecord};
use crate::memory::residency::{self, Residency};
use crate::memory::{ChildError, Mapped, MappingError};
use nix::errno::Errno;
use nix::unistd::Pid;

mod declare;
pub(crate) use declare::declare;
pub use declare::{Declaration, Declared};

/// One step of an experiment, as lessons name it in `step=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    pub id: &'static str,
    /// What has just been done, in words ("after writing one byte").
    pub title: &'static str,
}

impl Step {
    pub const fn new(id: &'static str, title: &'static str) -> Step {
        Step { id, title }
    }
}

/// Whose view of a mapping a step shows, as lessons name it in `of=`. Experiments declare
/// each once, as a constant in their vocabulary, and report subjects only by those.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubjectName(pub &'static str);

impl SubjectName {
    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl std::fmt::Display for SubjectName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// What kind of value an outcome reports, and so how a lesson writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutcomeKind {
    /// A number: faults, pages, bytes. Written as a number, optionally compared (`>= 1`).
    Count,
    /// What a system call returned: `ok` or the errno's name (`EINVAL`).
    Call,
    /// Events per unit, written as the whole ratio (`1`) or `faults/pages` where uneven.
    Ratio,
    /// A word or phrase: a letter read back, `yes`, how a child ended.
    Text,
}

impl OutcomeKind {
    /// Whether a lesson may write `written` for an outcome of this kind: a count is a
    /// number, a call `ok` or an errno's name, a ratio a number or `n/m`.
    pub fn accepts(self, written: &str) -> Result<(), String> {
        let number = |text: &str| text.parse::<u64>().is_ok();
        let fits = match self {
            OutcomeKind::Count => number(written),
            OutcomeKind::Call => written == "ok" || errno_named(written).is_some(),
            OutcomeKind::Ratio => {
                number(written)
                    || written
                        .split_once('/')
                        .is_some_and(|(a, b)| number(a) && number(b))
            }
            OutcomeKind::Text => true,
        };
        let form = match self {
            OutcomeKind::Count => "a number",
            OutcomeKind::Call => "`ok` or an errno name such as `EINVAL`",
            OutcomeKind::Ratio => "a number, or `events/units`",
            OutcomeKind::Text => "text",
        };
        if fits {
            Ok(())
        } else {
            Err(format!("`{written}` is not {form}"))
        }
    }
}

/// The errno a name such as `EINVAL` stands for, as `Errno`'s Debug form spells it.
fn errno_named(name: &str) -> Option<Errno> {
    // Linux's error numbers run from 1 to 133 (include/uapi/asm-generic/errno.h).
    (1..=133)
        .map(Errno::from_raw)
        .find(|errno| format!("{errno:?}") == name)
}

/// A key an `outcome` block may name, declared once in the experiment's vocabulary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutcomeKey {
    pub name: &'static str,
    pub kind: OutcomeKind,
}

impl OutcomeKey {
    pub const fn count(name: &'static str) -> OutcomeKey {
        OutcomeKey {
            name,
            kind: OutcomeKind::Count,
        }
    }
    pub const fn call(name: &'static str) -> OutcomeKey {
        OutcomeKey {
            name,
            kind: OutcomeKind::Call,
        }
    }
    pub const fn ratio(name: &'static str) -> OutcomeKey {
        OutcomeKey {
            name,
            kind: OutcomeKind::Ratio,
        }
    }
    pub const fn text(name: &'static str) -> OutcomeKey {
        OutcomeKey {
            name,
            kind: OutcomeKind::Text,
        }
    }
}

/// What an outcome reported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutcomeValue {
    Count(u64),
    Call(Result<(), Errno>),
    /// (events, units): `faults` over `pages`.
    Ratio(u64, u64),
    Text(String),
}

impl OutcomeValue {
    pub fn kind(&self) -> OutcomeKind {
        match self {
            OutcomeValue::Count(_) => OutcomeKind::Count,
            OutcomeValue::Call(_) => OutcomeKind::Call,
            OutcomeValue::Ratio(..) => OutcomeKind::Ratio,
            OutcomeValue::Text(_) => OutcomeKind::Text,
        }
    }

    /// A count from any integer the experiment counted in.
    pub fn count(n: impl TryInto<u64>) -> OutcomeValue {
        OutcomeValue::Count(n.try_into().unwrap_or(u64::MAX))
    }

    /// A byte read back, as the character lessons write (`a`).
    pub fn letter(byte: u8) -> OutcomeValue {
        OutcomeValue::Text(char::from(byte).to_string())
    }

    pub fn text(text: impl Into<String>) -> OutcomeValue {
        OutcomeValue::Text(text.into())
    }
}

/// As lessons write the value: `ok`/`EINVAL`, `12`, `1` or `65/64`, the text itself.
impl std::fmt::Display for OutcomeValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OutcomeValue::Count(n) => write!(f, "{n}"),
            OutcomeValue::Call(Ok(())) => f.write_str("ok"),
            OutcomeValue::Call(Err(errno)) => write!(f, "{errno:?}"),
            OutcomeValue::Ratio(events, units) if *units != 0 && events % units == 0 => {
                write!(f, "{}", events / units)
            }
            OutcomeValue::Ratio(events, units) => write!(f, "{events}/{units}"),
            OutcomeValue::Text(text) => f.write_str(text),
        }
    }
}

impl From<Result<(), Errno>> for OutcomeValue {
    fn from(result: Result<(), Errno>) -> OutcomeValue {
        OutcomeValue::Call(result)
    }
}

/// What an experiment declares: the names lessons may use, checked when a lesson loads and
/// again at every step it reports.
#[derive(Clone, Copy, Debug)]
pub struct Vocabulary {
    pub steps: &'static [Step],
    /// Whose smaps a block may name in `of=` (the first is the default).
    pub subjects: &'static [SubjectName],
    /// Keys an `outcome` block may name.
    pub outcomes: &'static [OutcomeKey],
}

impl Vocabulary {
    pub fn subject(&self, name: &str) -> Option<SubjectName> {
        self.subjects.iter().copied().find(|s| s.0 == name)
    }

    pub fn outcome(&self, name: &str) -> Option<OutcomeKey> {
        self.outcomes.iter().copied().find(|o| o.name == name)
    }

    /// Whether an observation uses only declared names, with values of the declared kinds.
    fn undeclared(&self, observation: &Observation) -> Option<String> {
        if let Some(subject) = observation
            .subjects
            .iter()
            .find(|s| !self.subjects.contains(&s.name))
        {
            return Some(format!(
                "subject `{}` is not in the vocabulary",
                subject.name
            ));
        }
        observation.outcomes.iter().find_map(|(key, value)| {
            if !self.outcomes.contains(key) {
                Some(format!("outcome `{}` is not in the vocabulary", key.name))
            } else if value.kind() != key.kind {
                Some(format!(
                    "outcome `{}` is declared {:?} and reported {:?} ({value})",
                    key.name,
                    key.kind,
                    value.kind()
                ))
            } else {
                None
            }
        })
    }
}

pub trait Experiment: Declared + Sync {
    /// The id of the lesson this experiment performs.
    fn id(&self) -> &'static str {
        self.declaration().id
    }
    fn vocabulary(&self) -> Vocabulary {
        self.declaration().vocabulary
    }
    /// Whether it forks a child: while one lives, every private page of the process is
    /// shared, so tests that read their own pages' `Pss`/`Private_*` must not run beside
    /// it. `tests/all_lessons.rs` holds each experiment to what it says here.
    fn forks(&self) -> bool {
        self.declaration().forks
    }
    /// Performs the experiment, reporting each step to `lab` in the order of `steps`.
    fn run(&self, lab: &mut Lab<'_>) -> Result<(), ExperimentError>;
}

/// A mapping (or a process's view of one) whose smaps record a step shows.
#[derive(Clone, Debug)]
pub struct Subject {
    pub name: SubjectName,
    pub pid: Pid,
    pub record: SmapsRecord,
    /// Where the experiment writes in this mapping (for fault-size predictions).
    pub write_addr: Option<usize>,
    /// Where it reads an untouched page.
    pub read_addr: Option<usize>,
    /// The record right after the write fault, when that was not this step (a fork comes
    /// after): it tells whether the predicted huge page was obtained at all.
    pub after_fault: Option<SmapsRecord>,
    /// Which of its pages were in RAM when the record was read (mincore, pagemap): the
    /// pictures of the book and the terminal. `None` for views not made from a mapping.
    pub residency: Option<Residency>,
}

impl Subject {
    /// `mapping` as process `pid` (this one, or a child) sees it, with no writes or reads to
    /// predict, and which of its pages are resident, read right after its record: every
    /// experiment gets its pictures without drawing them itself.
    pub fn of(name: SubjectName, pid: Pid, mapping: &impl Mapped) -> Result<Subject, MappingError> {
        let record = mapping.smaps_of(pid)?;
        let residency = residency::read(pid, &record);
        Ok(Subject {
            residency: Some(residency),
            ..Subject::plain(name, pid, record)
        })
    }

    /// The same view, predicting the fault of a write at `addr`.
    pub fn writing_at(mut self, addr: usize) -> Subject {
        self.write_addr = Some(addr);
        self
    }

    /// A view with no writes or reads to predict.
    pub fn plain(name: SubjectName, pid: Pid, record: SmapsRecord) -> Subject {
        Subject {
            name,
            pid,
            record,
            write_addr: None,
            read_addr: None,
            after_fault: None,
            residency: None,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Observation {
    pub subjects: Vec<Subject>,
    /// Results that are not smaps fields: a value read back, an errno, a signal.
    pub outcomes: Vec<(OutcomeKey, OutcomeValue)>,
}

impl Observation {
    /// What one step shows of these subjects, and no outcome.
    pub fn of(subjects: impl IntoIterator<Item = Subject>) -> Observation {
        Observation {
            subjects: subjects.into_iter().collect(),
            outcomes: Vec::new(),
        }
    }

    /// Only outcomes, no subject.
    pub fn outcomes(outcomes: impl IntoIterator<Item = (OutcomeKey, OutcomeValue)>) -> Observation {
        Observation::default().with(outcomes)
    }

    /// These outcomes added.
    pub fn with(
        mut self,
        outcomes: impl IntoIterator<Item = (OutcomeKey, OutcomeValue)>,
    ) -> Observation {
        self.outcomes.extend(outcomes);
        self
    }

    pub fn subject(&self, name: &str) -> Option<&Subject> {
        self.subjects.iter().find(|s| s.name.0 == name)
    }

    pub fn outcome(&self, key: &str) -> Option<&OutcomeValue> {
        self.outcomes
            .iter()
            .find(|(k, _)| k.name == key)
            .map(|(_, v)| v)
    }
}

/// What an experiment reports at a step.
#[derive(Clone, Debug)]
pub enum StepReport {
    /// The step was performed: what the kernel showed.
    Observed(Observation),
    /// A limit this process runs under (RLIMIT_MEMLOCK, the commit limit...) makes the step
    /// impossible here; the reason names the limit and what the step would need. Its claims
    /// are skipped with it.
    Impossible(String),
}

impl From<Observation> for StepReport {
    fn from(observation: Observation) -> StepReport {
        StepReport::Observed(observation)
    }
}

/// Receives each step as the experiment reaches it.
pub trait Observer {
    fn observe(&mut self, step: &Step, report: &StepReport) -> Result<(), ExperimentError>;
}

/// Keeps every step's report, for checking claims afterwards.
#[derive(Default)]
pub struct Recorder {
    pub steps: Vec<(Step, StepReport)>,
}

impl Observer for Recorder {
    fn observe(&mut self, step: &Step, report: &StepReport) -> Result<(), ExperimentError> {
        self.steps.push((*step, report.clone()));
        Ok(())
    }
}

/// What an experiment works with: the kernel probe, and the observer of its steps.
pub struct Lab<'a> {
    pub probe: &'a KernelProbe,
    vocabulary: Vocabulary,
    observer: &'a mut dyn Observer,
    next_step: usize,
}

impl<'a> Lab<'a> {
    pub fn new(
        probe: &'a KernelProbe,
        vocabulary: Vocabulary,
        observer: &'a mut dyn Observer,
    ) -> Lab<'a> {
        Lab {
            probe,
            vocabulary,
            observer,
            next_step: 0,
        }
    }

    /// Reports step `id`; steps must come in the order the experiment declares them, so a
    /// lesson's step names always mean the same point of the experiment.
    pub fn step(&mut self, id: &str, observation: Observation) -> Result<(), ExperimentError> {
        if let Some(what) = self.vocabulary.undeclared(&observation) {
            return Err(ExperimentError::Undeclared {
                step: id.to_owned(),
                what,
            });
        }
        self.report(id, StepReport::Observed(observation))
    }

    /// Reports step `id` as impossible under this process's limits, with the limit and what
    /// the step would need; in order, like [`Lab::step`].
    pub fn impossible(&mut self, id: &str, why: String) -> Result<(), ExperimentError> {
        self.report(id, StepReport::Impossible(why))
    }

    /// Reports every step not reported yet as impossible, for `why`: the limit that stopped
    /// the experiment short of them.
    pub fn impossible_from_here(&mut self, why: &str) -> Result<(), ExperimentError> {
        match self.vocabulary.steps.last() {
            Some(last) => self.impossible_through(last.id, why),
            None => Ok(()),
        }
    }

    /// Reports the steps due from here up to and including `last` as impossible, for `why`:
    /// a limit that rules out one part of the experiment. A `last` that is not ahead is the
    /// experiment's mistake ([`ExperimentError::StepOrder`]), reported at the first step it
    /// passes over.
    pub fn impossible_through(&mut self, last: &str, why: &str) -> Result<(), ExperimentError> {
        let steps = self.vocabulary.steps.iter();
        let ahead = steps.skip(self.next_step).any(|step| step.id == last);
        if !ahead {
            return self.impossible(last, why.to_owned());
        }
        while let Some(step) = self.vocabulary.steps.get(self.next_step) {
            self.impossible(step.id, why.to_owned())?;
            if step.id == last {
                break;
            }
        }
        Ok(())
    }

    fn report(&mut self, id: &str, report: StepReport) -> Result<(), ExperimentError> {
        let expected = self.vocabulary.steps.get(self.next_step);
        match expected {
            Some(step) if step.id == id => {
                self.next_step += 1;
                self.observer.observe(step, &report)
            }
            _ => Err(ExperimentError::StepOrder {
                got: id.to_owned(),
                expected: expected.map(|s| s.id),
            }),
        }
    }
}

impl ExperimentError {
    /// The error of a failed call, said as what was being done: `.map_err(sys("mlock"))`.
    pub fn sys(what: impl Into<String>) -> impl FnOnce(Errno) -> ExperimentError {
        let what = what.into();
        move |errno| ExperimentError::Sys { what, errno }
    }

    /// Whether this machine's limits refused what the experiment asked for, rather than
    /// the experiment going wrong: an mmap the commit limit or the address space refuses
    /// (ENOMEM: a 64 kB-page kernel's 512 MiB huge page under `vm.overcommit_memory=2`), or
    /// a fork refused for memory (ENOMEM) or by a process limit (EAGAIN).
    pub fn is_refused_by_limits(&self) -> bool {
        matches!(
            self,
            ExperimentError::Mapping(MappingError::Mmap {
                errno: Errno::ENOMEM,
                ..
            }) | ExperimentError::Child(ChildError::Fork(Errno::ENOMEM | Errno::EAGAIN))
        )
    }

    /// An I/O error, with what was being done.
    pub fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ExperimentError {
        let what = what.into();
        move |e| ExperimentError::Io(std::io::Error::new(e.kind(), format!("{what}: {e}")))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    #[error("{0}")]
    Mapping(#[from] MappingError),
    #[error("{0}")]
    Child(#[from] ChildError),
    #[error("{what}: {errno}")]
    Sys { what: String, errno: nix::Error },
    /// Something the experiment needs that is not a system call failed or is missing.
    #[error("{0}")]
    Setup(String),
    #[error("step `{step}`: {what}")]
    Undeclared { step: String, what: String },
    #[error("experiment reported step `{got}` where `{}` was due", expected.unwrap_or("no further step"))]
    StepOrder {
        got: String,
        expected: Option<&'static str>,
    },
    /// The person at the terminal stopped a walkthrough.
    #[error("stopped at the user's request")]
    Stopped,
    #[error("{0}")]
    Io(#[from] std::io::Error),
}
