//! `/proc/PID/smaps`: one record per VMA, a maps header line followed by `Key: value` lines.
//! Fields come and go between kernel versions, so they are kept as key -> value in kernel
//! order, and unknown keys are kept, not rejected.

use crate::Bytes;
use crate::kernel::{MapsLine, ParseError};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldValue {
    /// `NNN kB`, converted to bytes.
    Size(Bytes),
    /// A bare number (`THPeligible: 0`, `ProtectionKey: 0`).
    Number(u64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmapsRecord {
    pub vma: MapsLine,
    /// `(name, value)` in the order the kernel printed them; VmFlags is not among them.
    pub fields: Vec<(String, FieldValue)>,
    /// VmFlags tokens (`rd`, `wr`, ...), `None` if the record had no VmFlags line.
    pub vm_flags: Option<Vec<String>>,
}

impl SmapsRecord {
    pub fn field(&self, name: &str) -> Option<FieldValue> {
        todo!("{name}")
    }

    /// A size field's value; `None` if the kernel did not print it (or it is not a size).
    pub fn size(&self, name: &str) -> Option<Bytes> {
        todo!("{name}")
    }

    pub fn has_flag(&self, flag: &str) -> bool {
        todo!("{flag}")
    }
}

/// Parses a whole smaps file.
pub fn parse_smaps(text: &str) -> Result<Vec<SmapsRecord>, ParseError> {
    todo!("{text}")
}

/// Finds the record of the VMA containing `addr`, parsing only up to it.
pub fn find_record(text: &str, addr: usize) -> Result<Option<SmapsRecord>, ParseError> {
    todo!("{text}{addr}")
}
