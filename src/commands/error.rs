//! Why a command could not do its work. Claims that fail are not errors: they are the
//! answer, exit status 1. These end the program with a message and status 2 — except a
//! closed standard output, which ends it quietly.

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
}
