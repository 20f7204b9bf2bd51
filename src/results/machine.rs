//! What a result file's checks ran as: the binary's architecture and libc, and the
//! privileges of the process that ran them. The kernel's side (release, page and PMD size,
//! THP, overcommit) is the kernel probe, beside it in the file.

use crate::Bytes;
use crate::kernel::KernelProbe;
use serde::{Deserialize, Serialize};

/// The binary that ran the checks, and the name its column goes by.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Machine {
    /// The column's name: a CI job, a configuration of the kernel matrix (`--label`); the
    /// file's name when absent. `name` is what early files called it.
    #[serde(default, skip_serializing_if = "Option::is_none", alias = "name")]
    pub label: Option<String>,
    /// `std::env::consts::ARCH` of the binary (`x86_64`, `aarch64`).
    pub arch: String,
    pub libc: Libc,
}

/// The C library the binary was built for: the same kernel behaves the same under both,
/// but their allocators map memory differently (musl's heap, lesson 02).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Libc {
    Glibc,
    Musl,
    Other,
}

impl Libc {
    pub fn of_this_binary() -> Libc {
        if cfg!(target_env = "musl") {
            Libc::Musl
        } else if cfg!(target_env = "gnu") {
            Libc::Glibc
        } else {
            Libc::Other
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Libc::Glibc => "glibc",
            Libc::Musl => "musl",
            Libc::Other => "other",
        }
    }
}

impl Machine {
    pub fn this_binary(label: Option<String>) -> Machine {
        Machine {
            label,
            arch: std::env::consts::ARCH.to_owned(),
            libc: Libc::of_this_binary(),
        }
    }
}

/// What the checking process may do, which decides branches of the lessons: the memlock
/// limit and CAP_IPC_LOCK (realtime), CAP_SYS_ADMIN (frame numbers in pagemap).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Privileges {
    pub uid: u32,
    pub cap_ipc_lock: bool,
    pub cap_sys_admin: bool,
    /// Soft RLIMIT_MEMLOCK; `None` is unlimited.
    pub memlock_limit: Option<Bytes>,
}

impl Privileges {
    /// This process's, with the memlock side as the probe read it.
    pub fn of_this_process(probe: &KernelProbe) -> Privileges {
        Privileges {
            // SAFETY: getuid has no preconditions and cannot fail.
            uid: unsafe { libc::getuid() },
            cap_ipc_lock: probe.memlock.can_exceed,
            cap_sys_admin: crate::kernel::probe::cap_sys_admin().unwrap_or(false),
            memlock_limit: probe.memlock.soft,
        }
    }

    /// In words, for tables: `uid 0, CAP_IPC_LOCK, CAP_SYS_ADMIN, memlock 8192 kB`.
    pub fn words(&self) -> String {
        let mut words = vec![format!("uid {}", self.uid)];
        if self.cap_ipc_lock {
            words.push("CAP_IPC_LOCK".into());
        }
        if self.cap_sys_admin {
            words.push("CAP_SYS_ADMIN".into());
        }
        words.push(match self.memlock_limit {
            None => "memlock unlimited".into(),
            Some(limit) => format!("memlock {limit}"),
        });
        words.join(", ")
    }
}
