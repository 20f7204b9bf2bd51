//! pagelab: lessons about Linux memory whose claims are checked on the running kernel.
//!
//! - [`lesson`] loads a lesson's markdown: front matter and claim blocks, with file:line.
//! - [`kernel`] reads what the kernel shows: maps/smaps parsing (pure), the kernel probe.
//! - [`memory`] owns mappings and forked children.
//! - [`experiments`] holds one experiment per lesson, as named steps producing observations.
//! - [`exercises`] holds the student's homework; [`homework`] checks it on the kernel.
//! - [`check`] evaluates a lesson's claims against the observations; [`report`] renders verdicts.
//! - [`bless`] writes the kernel's values into a lesson's `?` claims, for its author.

pub mod bless;
pub mod book;
pub mod catalog;
pub mod check;
pub mod condition;
pub mod exercises;
pub mod experiment;
pub mod experiments;
pub mod homework;
pub mod kernel;
pub mod lesson;
pub mod markup;
pub mod matrix;
pub mod memory;
pub mod names;
pub mod panics;
pub mod proof;
pub mod render;
pub mod report;
pub mod results;
pub mod units;
pub mod walkthrough;

pub use units::Bytes;

#[cfg(test)]
pub(crate) mod test_support {
    /// The suite's proptest budget, as tests/parser_properties.rs has it: 64 cases a property
    /// in a plain `cargo test`, `PROPTEST_CASES` where that is set (CI, `just fuzz`).
    pub fn proptest_config() -> proptest::test_runner::Config {
        let mut config = proptest::test_runner::Config::default();
        if std::env::var_os("PROPTEST_CASES").is_none() {
            config.cases = 64;
        }
        config
    }
}
