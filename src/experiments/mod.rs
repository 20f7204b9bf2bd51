//! One experiment per lesson, registered by the lesson's id.

use crate::experiment::Experiment;

pub mod file_mappings;
pub mod fork_cow;
pub mod giving_memory_back;
pub mod hugetlb;
pub mod lazy_allocation;
pub mod mmap_anon;
pub mod pages;
pub mod posix_shm;
pub mod process;
pub mod realtime;
pub mod reclaim;
pub mod shared_file_mapping;
pub mod support;
pub mod thp;

/// Every experiment; a new lesson adds one line here.
pub static ALL: &[&dyn Experiment] = &[
    &mmap_anon::MmapAnon,
    &pages::Pages,
    &lazy_allocation::LazyAllocation,
    &fork_cow::ForkCow,
    &file_mappings::FileMappings,
    &shared_file_mapping::SharedFileMapping,
    &thp::Thp,
    &realtime::Realtime,
    &giving_memory_back::GivingMemoryBack,
    &reclaim::Reclaim,
    &posix_shm::PosixShm,
    &hugetlb::Hugetlb,
    &process::Process,
];

pub fn find(id: &str) -> Option<&'static dyn Experiment> {
    ALL.iter().copied().find(|e| e.id() == id)
}

/// The experiment that performs lesson `id`, or why there is none, with the lessons that
/// have one.
pub fn performing(id: &str) -> Result<&'static dyn Experiment, String> {
    find(id).ok_or_else(|| {
        let known: Vec<&str> = ALL.iter().map(|e| e.id()).collect();
        format!(
            "no experiment performs lesson `{id}`; experiments exist for: {}",
            known.join(", ")
        )
    })
}
