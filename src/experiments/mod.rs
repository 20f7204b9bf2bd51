//! One experiment per lesson, registered by the lesson's id.

use crate::experiment::Experiment;

pub mod fork_cow;
pub mod lazy_allocation;
pub mod mmap_anon;
pub mod pages;
pub mod thp;

/// Every experiment; a new lesson adds one line here.
pub static ALL: &[&dyn Experiment] = &[
    &mmap_anon::MmapAnon,
    &pages::Pages,
    &lazy_allocation::LazyAllocation,
    &fork_cow::ForkCow,
    &thp::Thp,
];

pub fn find(id: &str) -> Option<&'static dyn Experiment> {
    ALL.iter().copied().find(|e| e.id() == id)
}
