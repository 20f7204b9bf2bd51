//! What it costs to get one VMA's smaps record, next to merely reading the file and to
//! reading and parsing all of it, with 100 and 2000 extra VMAs in the process.
//!
//! Run with `cargo bench --bench lookup`.

use pagelab::kernel::procfs::{self, Proc};
use pagelab::kernel::smaps::{find_record, parse_smaps};
use std::fs::File;
use std::io::Read;

fn main() {
    divan::main();
}

const EXTRA: [usize; 2] = [100, 2000];

/// `count` one-page VMAs in a row that the kernel cannot merge: every other page is made
/// writable, so neighbours always differ in protection.
struct ExtraMappings {
    base: *mut libc::c_void,
    len: usize,
}

impl ExtraMappings {
    fn new(count: usize) -> ExtraMappings {
        // SAFETY: sysconf has no memory-safety preconditions.
        let page = usize::try_from(unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).unwrap();
        let len = count * page;
        // SAFETY: a fresh anonymous mapping at an address of the kernel's choosing.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(base, libc::MAP_FAILED);
        for i in (1..count).step_by(2) {
            // SAFETY: page `i` lies inside the mapping just made.
            let rc = unsafe {
                libc::mprotect(
                    base.cast::<u8>().add(i * page).cast(),
                    page,
                    libc::PROT_READ | libc::PROT_WRITE,
                )
            };
            assert_eq!(rc, 0);
        }
        ExtraMappings { base, len }
    }

    /// An address in the middle of the range, so about half of the extra VMAs come before
    /// it in smaps.
    fn middle(&self) -> usize {
        self.base as usize + self.len / 2
    }
}

impl Drop for ExtraMappings {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly what `new` mapped.
        unsafe { libc::munmap(self.base, self.len) };
    }
}

fn read_smaps_text() -> String {
    std::fs::read_to_string("/proc/self/smaps").unwrap()
}

/// (a) The incremental lookup: reads until the record after the wanted one, then stops.
#[divan::bench(args = EXTRA, sample_count = 60)]
fn smaps_record(bencher: divan::Bencher, extra: usize) {
    let mappings = ExtraMappings::new(extra);
    let addr = mappings.middle();
    assert!(
        procfs::smaps_record(Proc::SelfProcess, addr)
            .unwrap()
            .is_some()
    );
    bencher.bench_local(|| procfs::smaps_record(Proc::SelfProcess, divan::black_box(addr)));
}

/// (b) The baseline: the kernel generating the whole file, nothing parsed.
#[divan::bench(args = EXTRA, sample_count = 60)]
fn read_whole_file(bencher: divan::Bencher, extra: usize) {
    let _mappings = ExtraMappings::new(extra);
    let mut buf = Vec::with_capacity(8 << 20);
    bencher.bench_local(|| {
        buf.clear();
        File::open("/proc/self/smaps")
            .unwrap()
            .read_to_end(&mut buf)
            .unwrap()
    });
}

/// (c) The naive way: read everything, parse everything, search the records.
#[divan::bench(args = EXTRA, sample_count = 60)]
fn read_parse_all_then_search(bencher: divan::Bencher, extra: usize) {
    let mappings = ExtraMappings::new(extra);
    let addr = mappings.middle();
    bencher.bench_local(|| {
        let records = procfs::smaps(Proc::SelfProcess).unwrap();
        records
            .into_iter()
            .find(|r| r.vma.contains(divan::black_box(addr)))
    });
}

/// The parsers alone on a snapshot of the text: finding one record vs parsing them all.
#[divan::bench(args = EXTRA)]
fn find_record_in_text(bencher: divan::Bencher, extra: usize) {
    let mappings = ExtraMappings::new(extra);
    let addr = mappings.middle();
    let text = read_smaps_text();
    assert!(find_record(&text, addr).unwrap().is_some());
    bencher.bench_local(|| find_record(divan::black_box(&text), divan::black_box(addr)));
}

#[divan::bench(args = EXTRA)]
fn parse_smaps_text(bencher: divan::Bencher, extra: usize) {
    let _mappings = ExtraMappings::new(extra);
    let text = read_smaps_text();
    bencher.bench_local(|| parse_smaps(divan::black_box(&text)));
}
