//! Homework: exercises the student writes in `src/exercises/`, each checked by what the
//! kernel shows after the student's function ran (Rss, smaps fields, maps lines, file
//! contents, fault counts), never by comparing a return value with a constant.
//!
//! - [`declare`] is how an exercise is declared: once, by its function's name, in its
//!   lesson's check module, with the fakes its check must reject.
//! - [`registry`] holds [`ALL`], every exercise, built from those declarations.
//! - [`checks`] holds the checks, one module per lesson.
//! - [`outcome`] runs a check, catching a `todo!()` stub or a panic, and words the result;
//!   [`isolated`] runs it in a process of its own, which a crash or a hang ends alone;
//!   [`fakes`] runs a check on its fakes.
//! - [`handout`] writes the student copy; [`authors`] is `pagelab dev check`, which holds
//!   hints to [`hint_rule`] (the first two give no code away); [`watch`] reruns the
//!   current exercise when a file changes; [`report`] gives outcomes as result-file entries.

pub mod authors;
pub mod checks;
pub mod declare;
pub mod fakes;
pub mod handout;
pub mod hint_rule;
pub mod isolated;
pub mod outcome;
pub mod registry;
pub mod report;
pub mod watch;

pub use outcome::{Failure, Outcome, Passed};
pub use registry::{ALL, Exercise, Fake, ForkLock, find, named};
