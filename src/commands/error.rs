//! Why a command could not do its work. Claims that fail are not errors: they are the
//! answer, exit status 1. These end the program with a message and status 2 — except a
//! closed standard output, which ends it quietly (and, where the command had a verdict,
//! with that verdict's status: see [`answer`]).

use std::process::ExitCode;

/// A command's error.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// The reader closed standard output (`pagelab check | head`): nothing is wrong, and
    /// nobody is left to read a message.
    #[error("standard output was closed")]
    ClosedOutput,
    #[error("writing output: {0}")]
    Output(std::io::Error),
    /// Anything else, in words that say what and where (file:line, field, value).
    #[error("{0}")]
    Failed(String),
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> CliError {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            CliError::ClosedOutput
        } else {
            CliError::Output(e)
        }
    }
}

impl From<String> for CliError {
    fn from(message: String) -> CliError {
        CliError::Failed(message)
    }
}

impl From<&str> for CliError {
    fn from(message: &str) -> CliError {
        CliError::Failed(message.to_owned())
    }
}

/// A command's exit status once its text is written: 0 if `passed`, else 1. A reader that
/// closed standard output early (`pagelab check | head`) cut the text short, not the
/// verdict, so under `set -o pipefail` a failed claim still fails the pipeline.
pub fn answer(passed: bool, written: Result<(), CliError>) -> Result<ExitCode, CliError> {
    match written {
        Ok(()) | Err(CliError::ClosedOutput) => Ok(if passed {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        }),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_pipe_is_told_apart_from_other_write_errors() {
        let closed = std::io::Error::from(std::io::ErrorKind::BrokenPipe);
        assert!(matches!(CliError::from(closed), CliError::ClosedOutput));
        let full = std::io::Error::from(std::io::ErrorKind::StorageFull);
        assert!(matches!(CliError::from(full), CliError::Output(_)));
    }

    #[test]
    fn a_closed_output_keeps_the_verdict_and_other_errors_stay_errors() {
        let closed = || Err(CliError::ClosedOutput);
        assert_eq!(answer(false, closed()).unwrap(), ExitCode::FAILURE);
        assert_eq!(answer(true, closed()).unwrap(), ExitCode::SUCCESS);
        assert_eq!(answer(false, Ok(())).unwrap(), ExitCode::FAILURE);
        let full = CliError::from(std::io::Error::from(std::io::ErrorKind::StorageFull));
        assert!(matches!(answer(true, Err(full)), Err(CliError::Output(_))));
    }
}
