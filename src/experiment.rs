//! The shape every lesson's experiment shares: named steps, each producing an observation.
//!
//! An experiment performs its lesson by hand, as a person would, and at each step hands the
//! [`Lab`] what the kernel shows. Who watches decides what happens with it: [`Recorder`]
//! keeps the observations for checking, the `run` command prints them and pauses.

use crate::kernel::{KernelProbe, SmapsRecord};
use crate::memory::{ChildError, MappingError};
use nix::unistd::Pid;

/// One step of an experiment, as lessons name it in `step=`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Step {
    pub id: &'static str,
    /// What has just been done, in words ("after writing one byte").
    pub title: &'static str,
}

/// What an experiment declares: the names lessons may use, checked when a lesson loads.
#[derive(Clone, Copy, Debug)]
pub struct Vocabulary {
    pub steps: &'static [Step],
    /// Whose smaps a block may name in `of=` (the first is the default).
    pub subjects: &'static [&'static str],
    /// Keys an `outcome` block may name.
    pub outcomes: &'static [&'static str],
}

pub trait Experiment: Sync {
    /// The id of the lesson this experiment performs.
    fn id(&self) -> &'static str;
    fn vocabulary(&self) -> Vocabulary;
    /// Performs the experiment, reporting each step to `lab` in the order of `steps`.
    fn run(&self, lab: &mut Lab<'_>) -> Result<(), ExperimentError>;
}

/// A mapping (or a process's view of one) whose smaps record a step shows.
#[derive(Clone, Debug)]
pub struct Subject {
    pub name: &'static str,
    pub pid: Pid,
    pub record: SmapsRecord,
    /// Where the experiment writes in this mapping (for fault-size predictions).
    pub write_addr: Option<usize>,
    /// Where it reads an untouched page.
    pub read_addr: Option<usize>,
    /// The record right after the write fault, when that was not this step (a fork comes
    /// after): it tells whether the predicted huge page was obtained at all.
    pub after_fault: Option<SmapsRecord>,
}

impl Subject {
    /// A view with no writes or reads to predict.
    pub fn plain(name: &'static str, pid: Pid, record: SmapsRecord) -> Subject {
        Subject {
            name,
            pid,
            record,
            write_addr: None,
            read_addr: None,
            after_fault: None,
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Observation {
    pub subjects: Vec<Subject>,
    /// Results that are not smaps fields: a value read back, an errno, a signal.
    pub outcomes: Vec<(&'static str, String)>,
}

impl Observation {
    pub fn subject(&self, name: &str) -> Option<&Subject> {
        self.subjects.iter().find(|s| s.name == name)
    }

    pub fn outcome(&self, key: &str) -> Option<&str> {
        self.outcomes
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.as_str())
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
        self.report(id, StepReport::Observed(observation))
    }

    /// Reports step `id` as impossible under this process's limits, with the limit and what
    /// the step would need; in order, like [`Lab::step`].
    pub fn impossible(&mut self, id: &str, why: String) -> Result<(), ExperimentError> {
        self.report(id, StepReport::Impossible(why))
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

#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    #[error("{0}")]
    Mapping(#[from] MappingError),
    #[error("{0}")]
    Child(#[from] ChildError),
    #[error("{what}: {errno}")]
    Sys { what: String, errno: nix::Error },
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
