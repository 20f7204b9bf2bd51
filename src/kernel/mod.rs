//! What the kernel shows. Parsing is pure (text in, typed records out) so it can be tested
//! on fixtures from any kernel; [`procfs`] is the thin layer that reads `/proc`.

pub mod hugetlb;
pub mod maps;
pub mod meminfo;
pub mod named;
pub mod probe;
pub mod procfs;
pub mod smaps;
pub mod smaps_fields;
pub mod status;
pub mod thp;
pub mod vm_flags;
pub mod vmstat;

pub use maps::{Device, MapsLine, Pathname, Perms};
pub use probe::KernelProbe;
pub use smaps::{FieldValue, SmapsRecord};
pub use smaps_fields::{Absence, SmapsField};
pub use thp::Access;
pub use vm_flags::VmFlag;

/// A line of `/proc` text that could not be parsed, with its 1-based line number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}: {text:?}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
    /// The offending line, cut to a readable length.
    pub text: String,
}
