//! The thin layer that reads `/proc`. Everything it reads is parsed by the pure parsers.

use crate::kernel::{MapsLine, ParseError, SmapsRecord};
use std::path::PathBuf;

/// Whose `/proc` directory to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proc {
    /// `/proc/self` — the calling process.
    SelfProcess,
    Pid(i32),
}

#[derive(Debug, thiserror::Error)]
pub enum ProcError {
    #[error("reading {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("parsing {path}: {source}")]
    Parse { path: PathBuf, source: ParseError },
}

/// Reads the smaps record of the VMA containing `addr`, and stops reading the file after it
/// (the kernel produces smaps in address order, so the rest is never generated).
pub fn smaps_record(proc: Proc, addr: usize) -> Result<Option<SmapsRecord>, ProcError> {
    todo!("{proc:?}{addr}")
}

pub fn smaps(proc: Proc) -> Result<Vec<SmapsRecord>, ProcError> {
    todo!("{proc:?}")
}

pub fn maps(proc: Proc) -> Result<Vec<MapsLine>, ProcError> {
    todo!("{proc:?}")
}
