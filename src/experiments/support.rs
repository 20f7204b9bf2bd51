//! What the file experiments share besides mappings: a private temporary directory, and
//! file calls whose errors say which file and what was being done.

use crate::experiment::ExperimentError;
use std::fs::{File, OpenOptions};
use std::num::NonZeroUsize;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// A private temporary directory, removed on every way out (errors and panics included;
/// forked children never drop it, they only `_exit`), so no file outlives the experiment.
pub struct TempDir(tempfile::TempDir);

impl TempDir {
    pub fn new(prefix: &str) -> Result<TempDir, ExperimentError> {
        tempfile::Builder::new()
            .prefix(prefix)
            .tempdir()
            .map(TempDir)
            .map_err(ExperimentError::io("creating a temporary directory"))
    }

    pub fn path(&self) -> &Path {
        self.0.path()
    }

    /// Removes it now, reporting what a drop would have to ignore.
    pub fn close(self) -> Result<(), ExperimentError> {
        self.0
            .close()
            .map_err(ExperimentError::io("removing the temporary directory"))
    }
}

pub fn open(path: &Path, options: &OpenOptions) -> Result<File, ExperimentError> {
    options.open(path).map_err(ExperimentError::io(format!(
        "opening {} ({options:?})",
        path.display()
    )))
}

pub fn write_file(path: &Path, contents: &[u8]) -> Result<(), ExperimentError> {
    std::fs::write(path, contents)
        .map_err(ExperimentError::io(format!("writing {}", path.display())))
}

/// The file's first `size` bytes, read with pread(2) rather than through any mapping.
pub fn pread_text(file: &File, path: &Path, size: usize) -> Result<String, ExperimentError> {
    let mut buf = vec![0u8; size];
    file.read_exact_at(&mut buf, 0)
        .map_err(ExperimentError::io(format!("pread of {}", path.display())))?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// A mapping length the experiment computed; a zero one is the experiment's own mistake.
pub fn nonzero(len: usize) -> Result<NonZeroUsize, ExperimentError> {
    NonZeroUsize::new(len)
        .ok_or_else(|| ExperimentError::Setup("a mapping of 0 bytes was asked for".into()))
}
