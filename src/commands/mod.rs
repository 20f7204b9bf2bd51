//! The command line's longer commands, one module each, and the error they share.

mod error;
pub mod homework;

pub use error::{CliError, answer};
