//! What it costs to get one VMA's smaps record, next to merely reading the file and to
//! reading and parsing all of it, with 100 and 2000 extra VMAs in the process.
//!
//! Run with `cargo bench --bench lookup`; `cargo bench --bench versus_procfs` checks the
//! targets against the procfs crate in one run and prints the ratios.

mod common;

use common::{ExtraMappings, procfs_crate_lookup};
use pagelab::kernel::procfs::{self, Proc};
use pagelab::kernel::smaps::{find_record, parse_smaps};
use std::fs::File;
use std::io::Read;

fn main() {
    divan::main();
}

const EXTRA: [usize; 2] = [100, 2000];

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

/// (d) The procfs crate: `Process::myself().smaps()` reads and parses the whole file into
/// maps of fields, then a search.
#[divan::bench(args = EXTRA, sample_count = 60)]
fn procfs_crate_smaps_then_search(bencher: divan::Bencher, extra: usize) {
    let mappings = ExtraMappings::new(extra);
    let addr = mappings.middle();
    assert!(procfs_crate_lookup(addr).is_some());
    bencher.bench_local(|| procfs_crate_lookup(divan::black_box(addr)));
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

/// The scan's longest way: the last record, so that every record before it is stepped over.
#[divan::bench(args = EXTRA)]
fn find_last_record_in_text(bencher: divan::Bencher, extra: usize) {
    let _mappings = ExtraMappings::new(extra);
    let text = read_smaps_text();
    let last = parse_smaps(&text).unwrap().pop().unwrap();
    let addr = last.vma.start;
    assert_eq!(find_record(&text, addr).unwrap(), Some(last));
    bencher.bench_local(|| find_record(divan::black_box(&text), divan::black_box(addr)));
}

#[divan::bench(args = EXTRA)]
fn parse_smaps_text(bencher: divan::Bencher, extra: usize) {
    let _mappings = ExtraMappings::new(extra);
    let text = read_smaps_text();
    bencher.bench_local(|| parse_smaps(divan::black_box(&text)));
}
