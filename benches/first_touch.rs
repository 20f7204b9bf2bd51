//! What a page fault costs, for the realtime lesson: one byte written into each of 64 pages
//! that were never touched (every write a fault that allocates and zeroes a page), against
//! the same writes into pages that are already there. Base pages only (MADV_NOHUGEPAGE), so
//! each first write is exactly one fault.
//!
//! Run with `cargo bench --bench first_touch`; divan reports time per page as throughput.

use divan::counter::ItemsCount;
use nix::sys::mman::{MapFlags, MmapAdvise, ProtFlags, madvise};
use pagelab::kernel::probe;
use pagelab::memory::Mapping;
use std::num::NonZeroUsize;
use std::ptr::NonNull;

fn main() {
    divan::main();
}

const PAGES: usize = 64;

fn fresh_pages() -> Mapping {
    let page = probe::page_size().as_usize();
    let mapping = Mapping::anonymous(
        NonZeroUsize::new(PAGES * page).expect("not zero"),
        ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
        MapFlags::MAP_PRIVATE,
    )
    .expect("mmap of the benchmark's pages");
    let ptr = NonNull::new(mapping.as_ptr().cast()).expect("mapped");
    // Where the kernel has no THP the advice fails with EINVAL, and base pages are all
    // there is anyway.
    // SAFETY: advice on a mapping of our own; it changes no contents.
    let _ = unsafe { madvise(ptr, mapping.mapped_len(), MmapAdvise::MADV_NOHUGEPAGE) };
    mapping
}

fn touch_every_page(mapping: &Mapping) {
    let page = probe::page_size().as_usize();
    for offset in (0..mapping.mapped_len()).step_by(page) {
        mapping.write_byte(offset, 1);
    }
}

/// Each sample gets new pages: the writes are the faults. Mapping and unmapping happen
/// outside the timed part.
#[divan::bench(sample_count = 200)]
fn first_touch(bencher: divan::Bencher) {
    bencher
        .counter(ItemsCount::new(PAGES))
        .with_inputs(fresh_pages)
        .bench_local_refs(|mapping| touch_every_page(mapping));
}

/// The same pages, written once before timing: no fault, only the stores.
#[divan::bench(sample_count = 200)]
fn later_touch(bencher: divan::Bencher) {
    let mapping = fresh_pages();
    touch_every_page(&mapping);
    bencher
        .counter(ItemsCount::new(PAGES))
        .bench_local(|| touch_every_page(divan::black_box(&mapping)));
}
