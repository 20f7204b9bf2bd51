//! Homework: exercises the student writes in `src/exercises/`, each checked by what the
//! kernel shows after the student's function ran (Rss, smaps fields, maps lines, file
//! contents, fault counts), never by comparing a return value with a constant.
//!
//! - [`registry`] lists every exercise: its id, lesson, where it is written and its check.
//! - [`checks`] holds the checks, one module per lesson.
//! - [`outcome`] runs a check, catching a `todo!()` stub or a panic, and words the result.
//! - [`handout`] writes the student copy; [`authors`] is `pagelab dev check`; [`watch`]
//!   reruns the current exercise when a file changes; [`report`] gives outcomes as JSON.

pub mod authors;
pub mod checks;
pub mod handout;
pub mod outcome;
pub mod registry;
pub mod report;
pub mod watch;

pub use outcome::{Failure, Outcome, Passed};
pub use registry::{ALL, Exercise, find};
