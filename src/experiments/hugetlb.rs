//! Lesson `hugetlb`: explicit huge pages. mmap(MAP_HUGETLB) of one huge page is refused with
//! ENOMEM where the administrator reserved none; where some are free, the mapping reserves
//! one at mmap time (HugePages_Rsvd), takes it at the first write (HugePages_Free), shows it
//! in Private_Hugetlb rather than Rss, and gives it back at munmap.

use crate::experiment::{
    Experiment, ExperimentError, Lab, Observation, OutcomeKey, OutcomeValue, Subject,
};
use crate::kernel::meminfo;
use crate::kernel::procfs::Proc;
use crate::memory::record_at;
use nix::fcntl::{Flock, FlockArg};
use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous, munmap};
use nix::unistd::getpid;
use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::ptr::NonNull;

/// Huge pages the lesson maps at once: one. The kernel matrix reserves as many in its
/// hugetlb configurations.
pub const HUGE_PAGES_MAPPED: u64 = 1;
// The step and outcome names below, and lessons/12-hugetlb.md, say "one huge page".
const _: () = assert!(
    HUGE_PAGES_MAPPED == 1,
    "the names say one huge page: change them too"
);

crate::experiment::declare! {
    experiment: Hugetlb, id: "hugetlb", forks: false;
    steps {
        "asked": "after mmap(MAP_HUGETLB) of one huge page",
        "reserved": "after that mmap succeeded, before anything touched the page",
        "written": "after one byte was written into it",
        "unmapped": "after munmap() of it",
    }
    subjects {
        HUGE = "huge",
    }
    outcomes {
        MMAP = call "mmap MAP_HUGETLB of one huge page",
        RESERVED = count "huge pages reserved since before (HugePages_Rsvd)",
        TAKEN = count "huge pages taken from the free pool since before (HugePages_Free)",
    }
}

/// The pool's counters that the lesson follows.
struct Pool {
    reserved: u64,
    free: u64,
}

impl Pool {
    fn read() -> Result<Pool, ExperimentError> {
        let counts: BTreeMap<String, u64> =
            meminfo::read_counts().map_err(ExperimentError::Setup)?;
        let count = |name: &str| {
            counts
                .get(name)
                .copied()
                .ok_or_else(|| ExperimentError::Setup(format!("/proc/meminfo has no {name}")))
        };
        Ok(Pool {
            reserved: count("HugePages_Rsvd")?,
            free: count("HugePages_Free")?,
        })
    }

    /// What changed since `before`, as the lesson counts it.
    fn since(&self, before: &Pool) -> [(OutcomeKey, OutcomeValue); 2] {
        [
            (
                RESERVED,
                OutcomeValue::count(self.reserved.saturating_sub(before.reserved)),
            ),
            (
                TAKEN,
                OutcomeValue::count(before.free.saturating_sub(self.free)),
            ),
        ]
    }
}

impl Experiment for Hugetlb {
    fn run(&self, lab: &mut Lab<'_>) -> Result<(), ExperimentError> {
        let huge_page = lab
            .probe
            .hugetlb
            .as_ref()
            .map(|h| h.page_size.as_usize())
            .ok_or_else(|| ExperimentError::Setup("the lesson needs hugetlbfs".into()))?;
        // The pool is the whole machine's: processes running this lesson at once (nextest runs
        // tests as processes side by side) would see each other's pages in its counters. An
        // exclusive flock on the pool's own sysctl file, opened read-only, keeps them apart;
        // it changes nothing and leaves no file behind.
        let sysctl = std::fs::File::open("/proc/sys/vm/nr_hugepages")
            .map_err(ExperimentError::io("opening /proc/sys/vm/nr_hugepages"))?;
        let _pool_lock = Flock::lock(sysctl, FlockArg::LockExclusive).map_err(|(_, errno)| {
            ExperimentError::sys("flock of /proc/sys/vm/nr_hugepages")(errno)
        })?;
        let before = Pool::read()?;
        let pool_size = huge_page * HUGE_PAGES_MAPPED as usize;
        let len = NonZeroUsize::new(pool_size).expect("a huge page is not empty");
        // SAFETY: no hint, no MAP_FIXED: the kernel picks the place; unmapped below.
        let mapped = unsafe {
            mmap_anonymous(
                None,
                len,
                ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
                MapFlags::MAP_PRIVATE | MapFlags::MAP_HUGETLB,
            )
        };
        lab.step(
            "asked",
            Observation::outcomes([(MMAP, mapped.map(|_| ()).into())]),
        )?;
        let ptr = match mapped {
            Ok(ptr) => ptr,
            Err(errno) => {
                let why = format!(
                    "mmap(MAP_HUGETLB) gave {errno:?}: the pool has no free huge page (HugePages_Free {})",
                    before.free
                );
                for step in ["reserved", "written", "unmapped"] {
                    lab.impossible(step, why.clone())?;
                }
                return Ok(());
            }
        };
        let result = observe(lab, ptr, pool_size, &before);
        // SAFETY: the mapping made above, unmapped once; nothing refers to it any more.
        let unmapped = unsafe { munmap(ptr, pool_size) };
        result?;
        unmapped.map_err(ExperimentError::sys("munmap of the huge page"))?;
        lab.step(
            "unmapped",
            Observation::outcomes(Pool::read()?.since(&before)),
        )
    }
}

/// The mapping's record and the pool's counters, before and after the first write.
fn observe(
    lab: &mut Lab<'_>,
    ptr: NonNull<libc::c_void>,
    len: usize,
    before: &Pool,
) -> Result<(), ExperimentError> {
    let addr = ptr.as_ptr() as usize;
    let view = || -> Result<Subject, ExperimentError> {
        let record = record_at(Proc::SelfProcess, addr, len)?;
        Ok(Subject::plain(HUGE, getpid(), record))
    };
    lab.step(
        "reserved",
        Observation::of([view()?]).with(Pool::read()?.since(before)),
    )?;
    // SAFETY: the first byte of our own fresh read-write mapping.
    unsafe { ptr.as_ptr().cast::<u8>().write_volatile(1) };
    lab.step(
        "written",
        Observation::of([view()?]).with(Pool::read()?.since(before)),
    )
}
