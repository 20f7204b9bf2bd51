//! Memory the lessons act on: owned mappings, and forked children that act on them.

pub mod child;
pub mod counters;
pub mod file_mapping;
pub mod mapping;
pub mod residency;

pub use child::{Child, ChildError};
pub use file_mapping::FileMapping;
pub use mapping::{Mapping, MappingError, record_at};

use crate::kernel::SmapsRecord;
use crate::kernel::procfs::Proc;
use nix::unistd::{Pid, getpid};

/// What the lessons read of any mapping they own.
pub trait Mapped {
    fn addr(&self) -> usize;
    /// Its smaps record in `proc`, checked to have exactly the mapping's bounds.
    fn smaps(&self, proc: Proc) -> Result<SmapsRecord, MappingError>;
    /// Its record as process `pid` sees it: this process's own, or a child's copy.
    fn smaps_of(&self, pid: Pid) -> Result<SmapsRecord, MappingError> {
        let proc = if pid == getpid() {
            Proc::SelfProcess
        } else {
            Proc::Pid(pid.as_raw())
        };
        self.smaps(proc)
    }
}

impl Mapped for Mapping {
    fn addr(&self) -> usize {
        Mapping::addr(self)
    }
    fn smaps(&self, proc: Proc) -> Result<SmapsRecord, MappingError> {
        Mapping::smaps(self, proc)
    }
}

impl Mapped for FileMapping {
    fn addr(&self) -> usize {
        FileMapping::addr(self)
    }
    fn smaps(&self, proc: Proc) -> Result<SmapsRecord, MappingError> {
        FileMapping::smaps(self, proc)
    }
}
