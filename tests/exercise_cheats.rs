//! Every exercise check against stubs that return a plausible value, skip the system call
//! or make the wrong one: each must fail. A check that passes one of these proves nothing.
//! Checks that cannot run on this kernel (no THP, overcommit mode 2) skip, and say so.

mod common;

use nix::sys::mman::{MapFlags, MmapAdvise, ProtFlags, madvise, mmap, mmap_anonymous, munmap};
use pagelab::exercises::fork_cow::Views;
use pagelab::homework::checks::{self, *};
use pagelab::homework::registry::Exercise;
use pagelab::homework::{Failure, Outcome, Passed, outcome};
use std::io::Write;
use std::num::NonZeroUsize;
use std::ptr::NonNull;

fn page() -> usize {
    pagelab::kernel::probe::page_size().as_usize()
}

#[track_caller]
fn rejects(result: Result<Passed, Failure>, cheat: &str) {
    match result {
        Err(_) => {}
        Ok(Passed::Skipped(reason)) => {
            let _ = std::io::stderr()
                .write_all(format!("pagelab: cheat `{cheat}` not tried: {reason}\n").as_bytes());
        }
        Ok(Passed::Held(shown)) => panic!("the check let `{cheat}` pass: {shown}"),
    }
}

fn rw() -> ProtFlags {
    ProtFlags::PROT_READ | ProtFlags::PROT_WRITE
}

fn plain_mmap(len: NonZeroUsize) -> nix::Result<NonNull<u8>> {
    // SAFETY: a fresh mapping the kernel places; the test leaks it.
    unsafe { mmap_anonymous(None, len, rw(), MapFlags::MAP_PRIVATE) }.map(NonNull::cast)
}

fn advise(region: &mut [u8], advice: MmapAdvise) -> nix::Result<()> {
    // SAFETY: advice about the check's own region.
    let len = region.len();
    unsafe { madvise(NonNull::from(region).cast(), len, advice) }
}

#[test]
fn map_anonymous_rejects_fakes() {
    let _fork = common::FORK.shared();
    rejects(
        mmap_anon::map_anonymous(|_, _| Ok(NonNull::dangling())),
        "a dangling pointer",
    );
    rejects(
        mmap_anon::map_anonymous(|len, _| {
            let layout = std::alloc::Layout::from_size_align(len.get(), page()).unwrap();
            // SAFETY: a non-zero size; the test leaks the allocation.
            Ok(NonNull::new(unsafe { std::alloc::alloc_zeroed(layout) }).unwrap())
        }),
        "a heap allocation",
    );
    rejects(
        mmap_anon::map_anonymous(|len, _| plain_mmap(len)),
        "read-write whatever was asked",
    );
}

#[test]
fn touch_every_page_rejects_fakes() {
    let _fork = common::FORK.shared();
    rejects(mmap_anon::touch_every_page(|_| {}), "touching nothing");
    rejects(
        mmap_anon::touch_every_page(|r| r[0] = 1),
        "touching the first page only",
    );
}

#[test]
fn resident_pages_rejects_fakes() {
    let _fork = common::FORK.shared();
    rejects(pages::resident_pages(|_| Ok(0)), "0");
    rejects(pages::resident_pages(|_| Ok(3)), "3");
    rejects(
        pages::resident_pages(|r| Ok(r.len() / page())),
        "every page",
    );
}

#[test]
fn smaps_record_rejects_fakes() {
    let _fork = common::FORK.shared();
    rejects(pages::smaps_record(|_| Ok(None)), "None");
    rejects(
        pages::smaps_record(|_| std::fs::read_to_string("/proc/self/smaps").map(Some)),
        "the whole file",
    );
    rejects(
        pages::smaps_record(|_| {
            let text = std::fs::read_to_string("/proc/self/smaps")?;
            Ok(text
                .split_inclusive('\n')
                .take(3)
                .collect::<String>()
                .into())
        }),
        "the first record's first lines",
    );
}

#[test]
fn reserve_without_commit_rejects_a_plain_mapping() {
    let _fork = common::FORK.shared();
    rejects(
        lazy_allocation::reserve_without_commit(plain_mmap),
        "a mapping without MAP_NORESERVE",
    );
}

#[test]
fn write_in_child_rejects_fakes() {
    let _fork = common::FORK.exclusive();
    rejects(
        fork_cow::write_in_child(|page, value| {
            Ok(Views {
                child_read: value,
                parent_read: page[0],
            })
        }),
        "answering without forking",
    );
    rejects(
        fork_cow::write_in_child(|page, value| {
            page[0] = value;
            Ok(Views {
                child_read: value,
                parent_read: value,
            })
        }),
        "writing in the parent",
    );
}

#[test]
fn read_through_mapping_rejects_fakes() {
    let _fork = common::FORK.shared();
    rejects(
        file_mappings::read_through_mapping(|p| std::fs::read(p)),
        "read(2)",
    );
    rejects(
        file_mappings::read_through_mapping(|_| Ok(Vec::new())),
        "nothing",
    );
}

#[test]
fn write_through_mapping_rejects_fakes() {
    let _fork = common::FORK.shared();
    use std::os::unix::fs::FileExt;
    rejects(
        file_mappings::write_through_mapping(|p, offset, data| {
            std::fs::File::options()
                .write(true)
                .open(p)?
                .write_all_at(data, offset)
        }),
        "pwrite(2)",
    );
    rejects(
        file_mappings::write_through_mapping(|_, _, _| Ok(())),
        "nothing",
    );
}

#[test]
fn map_file_shared_rejects_a_private_mapping() {
    let _fork = common::FORK.exclusive();
    rejects(
        shared_file_mapping::map_file_shared(|file| {
            let len = NonZeroUsize::new(file.metadata().unwrap().len() as usize).unwrap();
            // SAFETY: a fresh mapping the kernel places.
            unsafe { mmap(None, len, rw(), MapFlags::MAP_PRIVATE, file, 0) }.map(NonNull::cast)
        }),
        "MAP_PRIVATE",
    );
}

#[test]
fn lock_in_ram_rejects_fakes() {
    let _fork = common::FORK.exclusive();
    rejects(realtime::lock_in_ram(|_| Ok(())), "nothing");
    rejects(
        realtime::lock_in_ram(|region| {
            for i in (0..region.len()).step_by(page()) {
                // SAFETY: inside the region.
                unsafe { std::ptr::read_volatile(region.as_ptr().add(i)) };
            }
            Ok(())
        }),
        "touching every page",
    );
}

#[test]
fn thp_checks_reject_fakes() {
    let _fork = common::FORK.shared();
    rejects(thp::advise_huge_pages(|_| Ok(())), "nothing");
    rejects(
        thp::advise_huge_pages(|r| advise(r, MmapAdvise::MADV_NOHUGEPAGE)),
        "MADV_NOHUGEPAGE",
    );
    // Aligned, then one page off: deterministic, unlike a plain mmap that is aligned by luck
    // once in a while.
    rejects(
        thp::map_aligned(|len, align| {
            let total = NonZeroUsize::new(len.get() + align + page()).unwrap();
            let base = plain_mmap(total)?.as_ptr() as usize;
            Ok(NonNull::new((base.next_multiple_of(align) + page()) as *mut u8).unwrap())
        }),
        "one page past the alignment",
    );
}

#[test]
fn give_back_rejects_fakes() {
    let _fork = common::FORK.shared();
    rejects(giving_memory_back::give_back(|_| Ok(())), "nothing");
    rejects(
        giving_memory_back::give_back(|r| advise(r, MmapAdvise::MADV_FREE)),
        "MADV_FREE",
    );
    let unmapped = giving_memory_back::give_back(|r| {
        // SAFETY: the cheat unmaps the check's region; the check must notice before it
        // reads the region, and take the range back before anything else can land there.
        let len = r.len();
        unsafe { munmap(NonNull::from(r).cast(), len) }
    });
    match unmapped {
        Err(failure) => assert!(
            failure.showed.contains("no longer mapped"),
            "munmap: {failure:?}"
        ),
        Ok(passed) => panic!("the check let munmap pass: {passed:?}"),
    }
    rejects(giving_memory_back::give_back_lazily(|_| Ok(())), "nothing");
    rejects(
        giving_memory_back::give_back_lazily(|r| advise(r, MmapAdvise::MADV_DONTNEED)),
        "MADV_DONTNEED",
    );
}

fn exercise(check: fn() -> Result<Passed, Failure>) -> Exercise {
    Exercise {
        id: "resident-pages",
        lesson: "pages",
        file: "src/exercises/pages.rs",
        function: "resident_pages",
        serial: false,
        check,
    }
}

/// A `todo!()` stub is "to do", with the stub's location; another panic is a panic; neither
/// prints the default panic message.
#[test]
fn stubs_and_panics_are_told_apart() {
    let _fork = common::FORK.shared();
    let todo = outcome::run(&exercise(|| checks::pages::resident_pages(|_| todo!())));
    let Outcome::Todo { at } = &todo else {
        panic!("{todo:?}")
    };
    assert!(at.starts_with(file!()), "{at}");
    let panicked = outcome::run(&exercise(|| {
        checks::pages::resident_pages(|_| panic!("index out of bounds"))
    }));
    assert!(
        matches!(&panicked, Outcome::Panicked { message, .. } if message == "index out of bounds"),
        "{panicked:?}"
    );
    assert!(!todo.is_done() && !panicked.is_done());
}

#[test]
fn count_first_touch_faults_rejects_fakes() {
    let _fork = common::FORK.shared();
    rejects(
        lazy_allocation::count_first_touch_faults(|r| {
            for i in (0..r.len()).step_by(page()) {
                r[i] = 1;
            }
            Ok((r.len() / page()) as u64)
        }),
        "one fault per page, resident or not",
    );
    rejects(
        lazy_allocation::count_first_touch_faults(|_| Ok(0)),
        "0 and no writes",
    );
    rejects(
        lazy_allocation::count_first_touch_faults(|_| Ok(1 << 20)),
        "a large count",
    );
}

#[test]
fn rss_and_pss_rejects_fakes() {
    let _fork = common::FORK.exclusive();
    rejects(fork_cow::rss_and_pss(|_| Ok((0, 0))), "zeros");
    rejects(
        fork_cow::rss_and_pss(|addr| {
            let record = pagelab::kernel::procfs::smaps_record(
                pagelab::kernel::procfs::Proc::SelfProcess,
                addr,
            )
            .unwrap()
            .unwrap();
            let rss = record.size("Rss").unwrap().0;
            Ok((rss, rss))
        }),
        "Rss as Pss",
    );
}

#[test]
fn create_shared_file_rejects_fakes() {
    let _fork = common::FORK.shared();
    rejects(
        shared_file_mapping::create_shared_file(|path, len| {
            // No set_len: the file stays empty (the check must not touch the mapping).
            let file = std::fs::File::options()
                .read(true)
                .write(true)
                .create_new(true)
                .open(path)?;
            // SAFETY: a fresh mapping the kernel places.
            Ok(unsafe { mmap(None, len, rw(), MapFlags::MAP_SHARED, &file, 0) }?.cast())
        }),
        "no ftruncate",
    );
    rejects(
        shared_file_mapping::create_shared_file(|path, len| {
            let file = std::fs::File::options()
                .read(true)
                .write(true)
                .create_new(true)
                .open(path)?;
            file.set_len(len.get() as u64)?;
            // SAFETY: a fresh mapping the kernel places.
            Ok(unsafe { mmap(None, len, rw(), MapFlags::MAP_PRIVATE, &file, 0) }?.cast())
        }),
        "MAP_PRIVATE",
    );
}

#[test]
fn map_populated_rejects_fakes() {
    let _fork = common::FORK.shared();
    rejects(realtime::map_populated(plain_mmap), "a plain mmap");
    rejects(
        realtime::map_populated(|len| {
            let start = plain_mmap(len)?;
            // SAFETY: the mapping just made.
            unsafe { nix::sys::mman::mlock(start.cast(), len.get()) }?;
            Ok(start)
        }),
        "mlock",
    );
}
