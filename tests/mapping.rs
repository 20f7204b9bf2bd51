//! Owned mappings as smaps shows them: whole pages, one VMA of exactly their own bounds even
//! while other threads map memory next to them, and gone after drop.
//!
//! No test here forks, so the fork lock is not needed. `ADDRESS_SPACE` keeps tests that
//! depend on where the kernel places mappings (or that look for a freed range in
//! /proc/self/maps) away from the tests that map memory at the same time.

mod common;

use common::locks::TestLock;
use pagelab::kernel::SmapsField;

/// Held exclusively by tests that need no other mapping to appear or vanish meanwhile.
static ADDRESS_SPACE: TestLock = TestLock::new();

use nix::sys::mman::{MapFlags, ProtFlags};
use pagelab::Bytes;
use pagelab::kernel::KernelProbe;
use pagelab::kernel::probe::{page_size, pmd_size};
use pagelab::kernel::procfs::Proc;
use pagelab::memory::{Mapped, Mapping, MappingError};
use rstest::rstest;
use std::collections::VecDeque;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

fn rw() -> ProtFlags {
    ProtFlags::PROT_READ | ProtFlags::PROT_WRITE
}

fn isolated(len: usize) -> Mapping {
    let len = NonZeroUsize::new(len).expect("a mapping has at least one byte");
    Mapping::anonymous_isolated(len, rw(), MapFlags::MAP_PRIVATE).unwrap()
}

fn page() -> usize {
    page_size().as_usize()
}

#[rstest]
#[case::one_byte(|| Some(1))]
#[case::one_page(|| Some(page()))]
#[case::a_page_and_a_byte(|| Some(page() + 1))]
#[case::sixteen_mib(|| Some(16 * 1024 * 1024))]
#[case::pmd_size(|| pmd_size().map(Bytes::as_usize))]
fn smaps_size_is_the_length_in_whole_pages(#[case] len: fn() -> Option<usize>) {
    let _address_space = ADDRESS_SPACE.shared();
    let Some(len) = len() else {
        eprintln!("skipped: this kernel has no transparent huge pages, so no PMD size");
        return;
    };
    let whole_pages = len.div_ceil(page()) * page();
    let mapping = isolated(len);
    assert_eq!(mapping.len(), len);
    assert_eq!(mapping.mapped_len(), whole_pages);
    let record = mapping.smaps(Proc::SelfProcess).unwrap();
    assert_eq!(
        record.size(SmapsField::Size),
        Some(Bytes(whole_pages as u64)),
        "{record:?}"
    );
    assert_eq!(
        (record.vma.start, record.vma.end),
        (mapping.addr(), mapping.addr() + whole_pages)
    );
}

#[test]
fn isolated_mappings_keep_their_own_vma_while_other_threads_map_next_to_them() {
    let _address_space = ADDRESS_SPACE.shared();
    const NOISE_THREADS: usize = 4;
    const BUILDERS: usize = 2;
    const PER_BUILDER: usize = 25;
    let stop = AtomicBool::new(false);
    thread::scope(|scope| {
        for _ in 0..NOISE_THREADS {
            scope.spawn(|| {
                // Plain read-write mappings like ours: the kernel puts them right against
                // whatever was mapped last, and they merge with any compatible neighbour.
                // Keeping a few alive and dropping the oldest leaves holes to be refilled.
                let mut held = VecDeque::new();
                let len = NonZeroUsize::new(page()).unwrap();
                while !stop.load(Ordering::Relaxed) {
                    let m = Mapping::anonymous(len, rw(), MapFlags::MAP_PRIVATE).unwrap();
                    m.write_byte(0, 1);
                    held.push_back(m);
                    if held.len() > 8 {
                        held.pop_front();
                    }
                }
            });
        }
        let builders: Vec<_> = (0..BUILDERS)
            .map(|_| {
                scope.spawn(|| {
                    let mut alive = VecDeque::new();
                    for i in 0..PER_BUILDER {
                        let mapping = isolated(page() * (1 + i % 4));
                        mapping.write_byte(0, 1);
                        alive.push_back(mapping);
                        if alive.len() > 4 {
                            alive.pop_front();
                        }
                        // Older mappings must stay isolated as neighbours come and go.
                        for mapping in &alive {
                            if let Err(e) = mapping.smaps(Proc::SelfProcess) {
                                return Err(format!("iteration {i}: {e}"));
                            }
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        let results: Vec<_> = builders.into_iter().map(|b| b.join()).collect();
        // Before any unwrap: the scope waits for the noise threads, which wait for this.
        stop.store(true, Ordering::Relaxed);
        for result in results {
            result.expect("a builder panicked").unwrap();
        }
    });
}

/// The check behind isolation: a plain mapping that the kernel placed against a compatible
/// neighbour is reported as merged, not silently measured together with it.
/// Serial: next to the stress test's threads, the two rarely end up adjacent.
#[test]
fn a_plain_mapping_next_to_another_is_reported_as_merged() {
    let _address_space = ADDRESS_SPACE.exclusive();
    let len = 16 * page();
    let plain = || {
        let len = NonZeroUsize::new(len).unwrap();
        Mapping::anonymous(len, rw(), MapFlags::MAP_PRIVATE).unwrap()
    };
    // Top-down allocation puts each mapping at the top of the highest gap that fits it; once
    // the earlier ones have filled the small gaps, one lands right below the one before.
    let mut held: Vec<Mapping> = Vec::new();
    for _ in 0..100 {
        let below = plain();
        let adjacent = held
            .last()
            .is_some_and(|above| below.addr() + len == above.addr());
        if adjacent {
            let above = held.last().unwrap();
            match below.smaps(Proc::SelfProcess) {
                Err(MappingError::Merged {
                    vma_start, vma_end, ..
                }) => {
                    assert!(vma_start <= below.addr() && above.addr() + len <= vma_end);
                    return;
                }
                other => panic!("two adjacent plain mappings should be one VMA, got {other:?}"),
            }
        }
        held.push(below);
    }
    let addrs: Vec<String> = held.iter().map(|m| format!("{:#x}", m.addr())).collect();
    panic!("the kernel never placed two plain mappings next to each other: {addrs:?}");
}

/// Whether /proc/self/maps has a line containing `addr`, read into memory allocated before
/// the mapping under test is dropped: a reader that maps a buffer as it goes (as
/// `procfs::maps` does) would be handed the range just freed, and find itself there.
struct MapsReader {
    buf: Vec<u8>,
}

impl MapsReader {
    fn new() -> MapsReader {
        MapsReader {
            buf: vec![0; 4 * 1024 * 1024],
        }
    }

    fn contains(&mut self, addrs: &[usize]) -> Vec<bool> {
        use std::io::Read;
        let mut file = std::fs::File::open("/proc/self/maps").unwrap();
        let mut len = 0;
        loop {
            assert!(len < self.buf.len(), "/proc/self/maps outgrew the buffer");
            match file.read(&mut self.buf[len..]).unwrap() {
                0 => break,
                n => len += n,
            }
        }
        drop(file);
        let text = std::str::from_utf8(&self.buf[..len]).unwrap();
        let lines = pagelab::kernel::maps::parse_maps(text).unwrap();
        addrs
            .iter()
            .map(|&addr| lines.iter().any(|line| line.contains(addr)))
            .collect()
    }
}

#[rstest]
#[case::plain(false)]
#[case::isolated(true)]
fn drop_unmaps_the_mapping_and_its_guards(#[case] fenced: bool) {
    let _address_space = ADDRESS_SPACE.exclusive();
    // `serial` keeps this binary's tests out, but not the harness, which maps stacks for
    // new test threads: one of them can land in the range just freed. A leak shows every
    // time, such a coincidence hardly twice.
    let mut maps = MapsReader::new();
    let mut last_failure = String::new();
    for _ in 0..5 {
        match drop_and_look(&mut maps, fenced) {
            Ok(()) => return,
            Err(failure) => last_failure = failure,
        }
    }
    panic!("{last_failure}");
}

fn drop_and_look(maps: &mut MapsReader, fenced: bool) -> Result<(), String> {
    let len = NonZeroUsize::new(page()).unwrap();
    let mapping = if fenced {
        Mapping::anonymous_isolated(len, rw(), MapFlags::MAP_PRIVATE)
    } else {
        Mapping::anonymous(len, rw(), MapFlags::MAP_PRIVATE)
    }
    .unwrap();
    mapping.write_byte(0, 1);
    let (start, end) = (mapping.addr(), mapping.addr() + mapping.mapped_len());
    let addrs = if fenced {
        vec![start, start - page(), end]
    } else {
        vec![start]
    };
    let before = maps.contains(&addrs);
    assert!(
        before.iter().all(|&mapped| mapped),
        "{addrs:x?} mapped: {before:?}"
    );
    drop(mapping);
    let after = maps.contains(&addrs);
    if after.iter().any(|&mapped| mapped) {
        return Err(format!(
            "after drop, which of the mapping {start:#x} and its guards (below, above) are still mapped: {after:?}"
        ));
    }
    Ok(())
}

#[test]
fn probed_page_size_is_the_kernel_page_size_in_smaps() {
    let _address_space = ADDRESS_SPACE.shared();
    let mapping = isolated(page());
    mapping.write_byte(0, 1);
    let record = mapping.smaps(Proc::SelfProcess).unwrap();
    assert_eq!(
        record.size(SmapsField::KernelPageSize),
        Some(page_size()),
        "{record:?}"
    );
    assert_eq!(KernelProbe::probe().unwrap().page_size, page_size());
}

#[test]
fn probed_pmd_size_is_hpage_pmd_size() {
    let _address_space = ADDRESS_SPACE.shared();
    let file = "/sys/kernel/mm/transparent_hugepage/hpage_pmd_size";
    let from_file = match std::fs::read_to_string(file) {
        Ok(text) => Some(Bytes(text.trim().parse().unwrap())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => panic!("reading {file}: {e}"),
    };
    assert_eq!(pmd_size(), from_file);
    let probe = KernelProbe::probe().unwrap();
    assert_eq!(probe.thp.map(|thp| thp.pmd_size), from_file);
}
