//! One line of `/proc/PID/maps` (also the header line of each smaps record).
//! Format (proc(5)): `start-end perms offset major:minor inode [pathname]`.

use crate::Bytes;
use crate::kernel::ParseError;
use std::fmt;
use std::path::PathBuf;

/// The four permission letters, e.g. `rw-p`: read, write, execute, shared (`s`) or private (`p`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Perms {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
    pub shared: bool,
}

/// Device as `major:minor` (hex in the file); `00:00` for anonymous memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Device {
    pub major: u32,
    pub minor: u32,
}

/// What backs the mapping, from the last column.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Pathname {
    /// No last column: anonymous memory without a name.
    Anonymous,
    /// An absolute path, possibly with ` (deleted)` stripped into `deleted`.
    File { path: PathBuf, deleted: bool },
    Heap,
    Stack,
    Vdso,
    Vvar,
    Vsyscall,
    /// `[anon:NAME]`, set with PR_SET_VMA_ANON_NAME.
    AnonNamed(String),
    /// `[anon_shmem:NAME]`.
    AnonShmemNamed(String),
    /// Any other pseudo path or text the kernel prints (kept verbatim, e.g. `[uprobes]`, `/SYSV00000000`).
    Other(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MapsLine {
    pub start: usize,
    pub end: usize,
    pub perms: Perms,
    pub offset: u64,
    pub device: Device,
    pub inode: u64,
    pub pathname: Pathname,
}

impl MapsLine {
    /// Whether `addr` lies in `[start, end)`.
    pub fn contains(&self, addr: usize) -> bool {
        todo!("{addr}")
    }

    pub fn len(&self) -> Bytes {
        todo!()
    }
}

pub fn parse_maps_line(line: &str) -> Result<MapsLine, ParseError> {
    todo!("{line}")
}

pub fn parse_maps(text: &str) -> Result<Vec<MapsLine>, ParseError> {
    todo!("{text}")
}

impl fmt::Display for Perms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let _ = f;
        todo!()
    }
}

impl fmt::Display for MapsLine {
    /// Renders like the kernel does (addresses as lowercase hex, offset as 8 hex digits).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let _ = f;
        todo!()
    }
}
