//! The explicit huge page pool as it changes: its free and reserved counters, and the lock
//! that keeps the processes which read them from seeing each other's pages.

use crate::kernel::meminfo::{self, MeminfoCount};
use nix::fcntl::{Flock, FlockArg};
use std::fs::File;

/// The pool's counters for the default huge page size (`/proc/meminfo`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HugePageCounters {
    /// `HugePages_Free`: pages no mapping has faulted in.
    pub free: u64,
    /// `HugePages_Rsvd`: free pages promised to mappings that have not faulted them in yet.
    pub reserved: u64,
    /// `HugePages_Surp`: pages beyond the pool, allocated because
    /// `vm.nr_overcommit_hugepages` allows it.
    pub surplus: u64,
}

impl HugePageCounters {
    pub fn read() -> Result<HugePageCounters, String> {
        let counts = meminfo::read_counts()?;
        Ok(HugePageCounters {
            free: counts.require(MeminfoCount::HugePagesFree)?,
            reserved: counts.require(MeminfoCount::HugePagesRsvd)?,
            surplus: counts.require(MeminfoCount::HugePagesSurp)?,
        })
    }

    /// What a new mapping could reserve from the pool itself ([`unreserved`]).
    pub fn available(&self) -> u64 {
        unreserved(self.free, self.reserved)
    }

    /// Pages promised to mappings since `before` (0 where promises were released).
    pub fn reserved_since(&self, before: &HugePageCounters) -> u64 {
        self.reserved.saturating_sub(before.reserved)
    }

    /// Surplus pages allocated since `before` (0 where they were freed again).
    pub fn surplus_since(&self, before: &HugePageCounters) -> u64 {
        self.surplus.saturating_sub(before.surplus)
    }

    /// Free pages faulted in since `before` (0 where pages went back to the pool).
    pub fn taken_since(&self, before: &HugePageCounters) -> u64 {
        before.free.saturating_sub(self.free)
    }
}

/// Free pages a new reserving mapping can have: `HugePages_Free` less `HugePages_Rsvd`,
/// those promised to mappings already (`hugetlb_acct_memory()`).
pub fn unreserved(free: u64, reserved: u64) -> u64 {
    free.saturating_sub(reserved)
}

/// The sysctl file of the pool: its lock is the pool's.
const POOL_SYSCTL: &str = "/proc/sys/vm/nr_hugepages";

/// The pool is the machine's: processes running the hugetlb lesson or its checks at once
/// (nextest runs tests as processes side by side) would see each other's pages in its
/// counters. An exclusive flock on the pool's sysctl file, opened read-only, keeps them
/// apart; it changes nothing and leaves no file behind. Held until dropped.
pub fn lock_pool() -> Result<Flock<File>, String> {
    let sysctl = File::open(POOL_SYSCTL).map_err(|e| format!("opening {POOL_SYSCTL}: {e}"))?;
    Flock::lock(sysctl, FlockArg::LockExclusive)
        .map_err(|(_, errno)| format!("flock of {POOL_SYSCTL}: {errno}"))
}
