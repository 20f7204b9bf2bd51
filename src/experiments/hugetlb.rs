//! Lesson `hugetlb`: explicit huge pages. mmap(MAP_HUGETLB) of one huge page is refused with
//! ENOMEM where the administrator reserved none; where some are free, the mapping reserves
//! one at mmap time (HugePages_Rsvd), takes it at the first write (HugePages_Free), shows it
//! in Private_Hugetlb rather than Rss, and gives it back at munmap. Where the pool is empty
//! but vm.nr_overcommit_hugepages allows surplus pages, the kernel allocates one for the
//! mapping (HugePages_Surp) and frees it at munmap.

use crate::experiment::{
    Experiment, ExperimentError, Lab, Observation, OutcomeKey, OutcomeValue, Subject,
};
use crate::kernel::hugetlb::{self, HugePageCounters};
use crate::kernel::procfs::Proc;
use crate::memory::record_at;
use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous, munmap};
use nix::unistd::getpid;
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
        SURPLUS = count "surplus huge pages since before (HugePages_Surp)",
    }
}

fn counters() -> Result<HugePageCounters, ExperimentError> {
    HugePageCounters::read().map_err(ExperimentError::Setup)
}

/// What changed in the pool since `before`, as the lesson counts it.
fn since(now: &HugePageCounters, before: &HugePageCounters) -> [(OutcomeKey, OutcomeValue); 3] {
    [
        (RESERVED, OutcomeValue::count(now.reserved_since(before))),
        (TAKEN, OutcomeValue::count(now.taken_since(before))),
        (SURPLUS, OutcomeValue::count(now.surplus_since(before))),
    ]
}

impl Experiment for Hugetlb {
    fn run(&self, lab: &mut Lab<'_>) -> Result<(), ExperimentError> {
        let pool = lab
            .probe
            .hugetlb
            .as_ref()
            .ok_or_else(|| ExperimentError::Setup("the lesson needs hugetlbfs".into()))?;
        let (huge_page, surplus_allowed) = (pool.page_size.as_usize(), pool.overcommit);
        let _pool_lock = hugetlb::lock_pool().map_err(ExperimentError::Setup)?;
        let before = counters()?;
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
        if let Err(errno) = mapped
            && before.available() == 0
            && surplus_allowed > 0
        {
            // A surplus page comes from ordinary memory, where a free huge page's worth of
            // contiguous memory may be wanting: best effort, like THP.
            return lab.impossible_from_here(&format!(
                "mmap(MAP_HUGETLB) gave {errno:?}: the pool has no unreserved free page and the kernel found no memory for a surplus huge page (vm.nr_overcommit_hugepages {surplus_allowed}): allocating one is best effort"
            ));
        }
        lab.step(
            "asked",
            Observation::outcomes([(MMAP, mapped.map(|_| ()).into())]),
        )?;
        let ptr = match mapped {
            Ok(ptr) => ptr,
            Err(errno) => {
                let why = format!(
                    "mmap(MAP_HUGETLB) gave {errno:?}: the pool has no free huge page that is not reserved already (HugePages_Free {}, HugePages_Rsvd {})",
                    before.free, before.reserved
                );
                return lab.impossible_from_here(&why);
            }
        };
        let result = observe(lab, ptr, pool_size, &before);
        // SAFETY: the mapping made above, unmapped once; nothing refers to it any more.
        let unmapped = unsafe { munmap(ptr, pool_size) };
        result?;
        unmapped.map_err(ExperimentError::sys("munmap of the huge page"))?;
        lab.step(
            "unmapped",
            Observation::outcomes(since(&counters()?, &before)),
        )
    }
}

/// The mapping's record and the pool's counters, before and after the first write.
fn observe(
    lab: &mut Lab<'_>,
    ptr: NonNull<libc::c_void>,
    len: usize,
    before: &HugePageCounters,
) -> Result<(), ExperimentError> {
    let addr = ptr.as_ptr() as usize;
    let view = || -> Result<Subject, ExperimentError> {
        let record = record_at(Proc::SelfProcess, addr, len)?;
        Ok(Subject::plain(HUGE, getpid(), record))
    };
    lab.step(
        "reserved",
        Observation::of([view()?]).with(since(&counters()?, before)),
    )?;
    // SAFETY: the first byte of our own fresh read-write mapping.
    unsafe { ptr.as_ptr().cast::<u8>().write_volatile(1) };
    lab.step(
        "written",
        Observation::of([view()?]).with(since(&counters()?, before)),
    )
}
