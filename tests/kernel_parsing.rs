//! The maps/smaps parsers against fixtures from several kernels (see tests/fixtures/README.md)
//! and against this process's own /proc files.

use pagelab::Bytes;
use pagelab::kernel::SmapsField;
use pagelab::kernel::maps::{parse_maps, parse_maps_line};
use pagelab::kernel::procfs::{self, Proc};
use pagelab::kernel::smaps::{find_record, parse_smaps};
use pagelab::kernel::{Device, FieldValue, Pathname, SmapsRecord, VmFlag};
use rstest::rstest;
use std::path::PathBuf;

const MIB: u64 = 1024 * 1024;

fn fixture(dir: &str, name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(dir)
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn smaps_fixture(name: &str) -> String {
    fixture("smaps", name)
}

fn page_size() -> usize {
    // SAFETY: sysconf has no memory-safety preconditions.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(page).expect("sysconf(_SC_PAGESIZE) failed")
}

/// Every smaps fixture, with the start of its 16 MiB private anonymous mapping: records in
/// order, each adding up, and that mapping as the fixture's program made it.
#[rstest]
#[case::linux_6_1("linux-6.1.txt", 0x7f8e_2b3f_f000)]
#[case::linux_6_12("linux-6.12.txt", 0x7f3a_4c00_0000)]
#[case::linux_6_18("linux-6.18.txt", 0x7f6f_a800_0000)]
#[case::linux_6_18_live("linux-6.18-live.txt", 0x7f28_2388_8000)]
#[case::missing_fields("missing-fields.txt", 0x7f1c_2a5f_f000)]
fn every_fixture_parses_consistently(#[case] file: &str, #[case] anon_start: usize) {
    records_are_ordered_and_add_up(file, anon_start);
    the_16_mib_anonymous_mapping_reads_as_made(file, anon_start);
}

fn records_are_ordered_and_add_up(file: &str, anon_start: usize) {
    let records = parse_smaps(&smaps_fixture(file)).unwrap();
    assert!(records.len() >= 9, "{file}: {} records", records.len());
    for pair in records.windows(2) {
        assert!(
            pair[0].vma.end <= pair[1].vma.start,
            "{file}: records out of order at {:x}",
            pair[1].vma.start
        );
    }
    for r in &records {
        let at = r.vma.start;
        assert_eq!(
            r.size(SmapsField::Size),
            Some(r.vma.len()),
            "{file} {at:x}: Size"
        );
        let parts = [
            SmapsField::SharedClean,
            SmapsField::SharedDirty,
            SmapsField::PrivateClean,
            SmapsField::PrivateDirty,
        ]
        .map(|k| r.size(k).unwrap_or_else(|| panic!("{file} {at:x}: no {k}")));
        let rss = parts.into_iter().fold(Bytes::ZERO, |sum, b| sum + b);
        assert_eq!(r.size(SmapsField::Rss), Some(rss), "{file} {at:x}: Rss");
    }
    assert!(records.iter().any(|r| r.vma.start == anon_start));
}

fn the_16_mib_anonymous_mapping_reads_as_made(file: &str, anon_start: usize) {
    let text = smaps_fixture(file);
    let middle = anon_start + (8 * MIB) as usize + 123;
    let r = find_record(&text, middle).unwrap().expect("no record");
    assert_eq!(r.vma.start, anon_start);
    assert_eq!(r.vma.len(), Bytes(16 * MIB));
    assert_eq!(r.size(SmapsField::Size), Some(Bytes(16 * MIB)));
    assert_eq!(r.vma.perms.to_string(), "rw-p");
    assert_eq!(r.vma.device, Device { major: 0, minor: 0 });
    assert_eq!(r.vma.inode, 0);
    assert_eq!(r.vma.offset, 0);
    assert_eq!(r.vma.pathname, Pathname::Anonymous);
    // One byte written: at least one page, all of it private, dirty and anonymous.
    let rss = r.size(SmapsField::Rss).unwrap();
    assert!(rss >= Bytes::from_kib(4));
    assert_eq!(r.size(SmapsField::PrivateDirty), Some(rss));
    assert_eq!(r.size(SmapsField::Anonymous), Some(rss));
    assert!(
        r.has_flag(VmFlag::Readable)
            && r.has_flag(VmFlag::Writable)
            && r.has_flag(VmFlag::Accountable)
    );
}

/// Which of the fields that appeared over time each fixture's kernel prints:
/// (Pss_Dirty 6.0, KSM 6.6, THPeligible 5.0, LazyFree 4.12, FilePmdMapped 5.4, ProtectionKey).
#[rstest]
#[case::linux_6_1("linux-6.1.txt", [true, false, true, true, true, false])]
#[case::linux_6_12("linux-6.12.txt", [true, true, true, true, true, true])]
#[case::linux_6_18("linux-6.18.txt", [true, true, true, true, true, false])]
#[case::linux_6_18_live("linux-6.18-live.txt", [true, true, true, true, true, false])]
#[case::missing_fields("missing-fields.txt", [false; 6])]
fn fields_a_kernel_does_not_print_are_none_not_zero(
    #[case] file: &str,
    #[case] present: [bool; 6],
) {
    let names = [
        SmapsField::PssDirty,
        SmapsField::Ksm,
        SmapsField::ThpEligible,
        SmapsField::LazyFree,
        SmapsField::FilePmdMapped,
        SmapsField::ProtectionKey,
    ];
    for r in parse_smaps(&smaps_fixture(file)).unwrap() {
        for (name, want) in names.iter().zip(present) {
            assert_eq!(
                r.field(*name).is_some(),
                want,
                "{file} {:x}: {name}",
                r.vma.start
            );
        }
        assert!(r.size(SmapsField::Rss).is_some());
        if let Some(thp) = r.field(SmapsField::ThpEligible) {
            assert!(matches!(thp, FieldValue::Number(0 | 1)), "{thp:?}");
        }
        assert!(matches!(
            r.field(SmapsField::ProtectionKey),
            None | Some(FieldValue::Number(_))
        ));
    }
}

#[test]
fn a_record_without_vmflags_has_none() {
    let records = parse_smaps(&smaps_fixture("missing-fields.txt")).unwrap();
    let heap = records
        .iter()
        .find(|r| r.vma.pathname == Pathname::Heap)
        .unwrap();
    assert_eq!(heap.vm_flags, None);
    assert!(!heap.has_flag(VmFlag::Readable));
    assert_eq!(heap.size(SmapsField::Rss), Some(Bytes::from_kib(8)));
    assert!(
        records
            .iter()
            .filter(|r| r.vma.pathname != Pathname::Heap)
            .all(|r| r.vm_flags.is_some())
    );
    // The record after it is parsed as its own record, not appended to the heap's.
    let next = records
        .iter()
        .position(|r| r.vma.pathname == Pathname::Heap)
        .unwrap()
        + 1;
    assert_eq!(records[next].size(SmapsField::Size), Some(Bytes(16 * MIB)));
}

#[rstest]
#[case::linux_6_1("linux-6.1.txt", &["sd"])]
#[case::linux_6_12("linux-6.12.txt", &["sd", "nh"])]
#[case::linux_6_18("linux-6.18.txt", &["lo", "lf", "hg"])]
#[case::missing_fields("missing-fields.txt", &["dw", "sd"])]
fn vmflags_the_parser_has_never_heard_of_are_kept(#[case] file: &str, #[case] flags: &[&str]) {
    let records = parse_smaps(&smaps_fixture(file)).unwrap();
    for flag in flags {
        assert!(
            records.iter().any(|r| r.has_code(flag)),
            "{file}: no record with {flag}"
        );
    }
}

#[test]
fn unknown_keys_and_flags_survive_in_kernel_order() {
    let text = smaps_fixture("linux-6.18.txt").replacen(
        "Locked:                0 kB\nTHPeligible:           0\nVmFlags: rd mr mw me \n",
        "Locked:                0 kB\nFutureSize:           12 kB\nFutureCount:          3\nTHPeligible:           0\nVmFlags: rd mr mw me zz q9 \n",
        1,
    );
    let records = parse_smaps(&text).unwrap();
    let r = &records[0];
    assert_eq!(r.size_named("FutureSize"), Some(Bytes::from_kib(12)));
    assert_eq!(r.field_named("FutureCount"), Some(FieldValue::Number(3)));
    let keys: Vec<&str> = r.fields.iter().map(|(k, _)| k.as_str()).collect();
    let at = keys.iter().position(|&k| k == "Locked").unwrap();
    assert_eq!(
        keys[at + 1..at + 4],
        ["FutureSize", "FutureCount", "THPeligible"]
    );
    assert!(r.has_code("zz") && r.has_code("q9") && r.has_flag(VmFlag::MayExecute));
    assert_eq!(r.vm_flags.as_ref().unwrap().len(), 6);
}

#[rstest]
#[case::linux_6_1("linux-6.1.txt")]
#[case::linux_6_12("linux-6.12.txt")]
#[case::linux_6_18("linux-6.18.txt")]
#[case::linux_6_18_live("linux-6.18-live.txt")]
#[case::missing_fields("missing-fields.txt")]
fn find_record_agrees_with_the_full_parse(#[case] file: &str) {
    let text = smaps_fixture(file);
    let records = parse_smaps(&text).unwrap();
    for r in &records {
        for addr in [
            r.vma.start,
            r.vma.start + (r.vma.end - r.vma.start) / 2,
            r.vma.end - 1,
        ] {
            assert_eq!(
                find_record(&text, addr).unwrap().as_ref(),
                Some(r),
                "{addr:x}"
            );
        }
    }
    let gaps = records
        .windows(2)
        .filter(|w| w[0].vma.end < w[1].vma.start)
        .map(|w| w[0].vma.end);
    let mut gap_count = 0;
    for gap in gaps {
        assert_eq!(find_record(&text, gap).unwrap(), None, "{gap:x}");
        gap_count += 1;
    }
    assert!(gap_count > 0);
    assert_eq!(find_record(&text, 0).unwrap(), None);
    let last = records.last().unwrap().vma.end;
    assert_eq!(find_record(&text, last).unwrap(), None);
    assert_eq!(find_record(&text, usize::MAX).unwrap(), None);
}

fn assert_error_line(text: &str, line: usize) {
    let err = parse_smaps(text).unwrap_err();
    assert_eq!(err.line, line, "{err}");
    assert!(err.text.chars().count() <= 121, "{err}");
}

/// The 16 MiB record of the 6.18 fixture, with the rest of the file after it.
fn anon_record_and_after() -> (String, usize) {
    let text = smaps_fixture("linux-6.18.txt");
    let line = text
        .lines()
        .position(|l| l.starts_with("7f6fa8000000-"))
        .unwrap()
        + 1;
    (text, line)
}

#[test]
fn a_malformed_header_is_reported_on_its_line() {
    let (text, line) = anon_record_and_after();
    let bad_perms = text.replacen(
        "7f6fa8000000-7f6fa9000000 rw-p",
        "7f6fa8000000-7f6fa9000000 rw-q",
        1,
    );
    assert_error_line(&bad_perms, line);
    let err = find_record(&bad_perms, 0x7f6f_a800_1000).unwrap_err();
    assert_eq!(err.line, line);

    let reversed = text.replacen("7f6fa8000000-7f6fa9000000", "7f6fa9000000-7f6fa8000000", 1);
    assert_error_line(&reversed, line);
    assert_eq!(
        find_record(&reversed, 0x7f6f_a900_1000).unwrap_err().line,
        line
    );

    let not_hex = text.replacen("7f6fa8000000-7f6fa9000000", "7f6fa8000000-7g6fa9000000", 1);
    assert_error_line(&not_hex, line);
}

#[test]
fn a_bad_kb_value_is_reported_on_its_line() {
    let (text, header) = anon_record_and_after();
    let rss_line = header + 4;
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    assert!(lines[rss_line - 1].starts_with("Rss:"));
    for bad in [
        "Rss:                 4x kB",
        "Rss:                  4 MB",
        "Rss:                   kB",
        "Rss:",
        "Rss:                 -4 kB",
        "Rss:                 +4 kB",
        "Rss:                  4kB",
        "Rss:     99999999999999999999 kB",
        "Rss:     18014398509481984 kB",
    ] {
        lines[rss_line - 1] = bad.to_owned();
        let broken = lines.join("\n");
        assert_error_line(&broken, rss_line);
        let err = find_record(&broken, 0x7f6f_a800_0000).unwrap_err();
        assert_eq!(err.line, rss_line, "{bad}");
        // Records before the broken one are found without looking at it.
        assert!(find_record(&broken, 0x5637_84a7_b000).unwrap().is_some());
    }
}

#[test]
fn a_key_before_any_header_is_reported_on_line_one() {
    let text = smaps_fixture("linux-6.18.txt");
    let body = text.split_once('\n').unwrap().1;
    assert_error_line(body, 1);
    assert_eq!(find_record(body, 0x7f6f_a800_0000).unwrap_err().line, 1);
}

#[test]
fn a_line_that_is_neither_key_nor_header_is_reported() {
    let (text, header) = anon_record_and_after();
    let mut lines: Vec<&str> = text.lines().collect();
    for junk in [
        "",
        "no colon here",
        " Rss: 4 kB",
        ":4 kB",
        "7f6fa8000000-7f6fa9000000",
    ] {
        lines.insert(header + 2, junk);
        assert_error_line(&lines.join("\n"), header + 3);
        lines.remove(header + 2);
    }
}

#[test]
fn garbage_converted_lossily_gives_errors_not_panics() {
    let bytes: Vec<u8> = (0u32..4096)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.contains('\u{fffd}'));
    assert!(parse_smaps(&text).is_err());
    assert!(find_record(&text, 0x1000).is_err());
    assert!(parse_maps(&text).is_err());

    // Invalid bytes and a stray newline in the middle of a value.
    let fixture = smaps_fixture("linux-6.12.txt");
    let at = fixture[5000..].find("\nRss:").unwrap() + 5000 + 8;
    let mut corrupt = fixture.clone().into_bytes();
    corrupt.splice(at..at, [0xff, 0xfe, b'\n', 0xc3]);
    let corrupt = String::from_utf8_lossy(&corrupt);
    let line = fixture[..at].matches('\n').count() + 1;
    assert_error_line(&corrupt, line);
}

#[test]
fn empty_text_is_an_error_on_line_one() {
    for empty in ["", "\n"] {
        assert_error_line(empty, 1);
        assert_eq!(find_record(empty, 0).unwrap_err().line, 1);
        assert_eq!(parse_maps(empty).unwrap_err().line, 1);
    }
}

/// Deterministic corruption of a fixture at many places: cut short, a byte replaced, a line
/// dropped. Whatever the parsers say, they must say it without panicking, and find_record
/// must never contradict a successful full parse.
/// (A fixed-seed pass that replays the same 200 texts every run; tests/parser_properties.rs
/// explores far more.)
#[test]
fn no_corruption_makes_the_parsers_panic() {
    let text = smaps_fixture("linux-6.12.txt");
    let bytes = text.as_bytes();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let probe = [
        0x7f3a_4c00_1000,
        0x5626_b8e0_0000,
        0x7ffe_2d9a_1000,
        0,
        usize::MAX,
    ];
    for round in 0..200 {
        let at = (next() % bytes.len() as u64) as usize;
        let mut mutated = bytes.to_vec();
        match round % 3 {
            0 => mutated.truncate(at),
            1 => {
                let replacements = b"0a-: kB\n\xff9z ";
                mutated[at] = replacements[(next() % replacements.len() as u64) as usize];
            }
            _ => {
                let end = bytes[at..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(bytes.len(), |i| at + i + 1);
                mutated.drain(at..end);
            }
        }
        let mutated = String::from_utf8_lossy(&mutated);
        // A corrupted header can put records out of order, and then "the first record
        // containing addr" and "stop at the first record past addr" may differ.
        let full = parse_smaps(&mutated)
            .ok()
            .filter(|rs| rs.windows(2).all(|w| w[0].vma.end <= w[1].vma.start));
        for addr in probe {
            let found = find_record(&mutated, addr);
            if let Some(records) = &full {
                let want = records.iter().find(|r| r.vma.contains(addr));
                assert_eq!(found.unwrap().as_ref(), want, "round {round}");
            }
        }
        let _ = parse_maps(&mutated);
    }
}

#[test]
fn maps_fixture_names_deleted_files_and_anonymous_names() {
    let text = fixture("maps", "linux-6.12-named.txt");
    let lines = parse_maps(&text).unwrap();
    let names: Vec<&Pathname> = lines.iter().map(|l| &l.pathname).collect();
    assert!(names.contains(&&Pathname::AnonNamed("pagelab arena".into())));
    assert!(names.contains(&&Pathname::AnonShmemNamed("shared ring".into())));
    assert!(names.contains(&&Pathname::Other("[uprobes]".into())));
    for deleted in [
        "/memfd:jit code",
        "/SYSV00000000",
        "/tmp/old build/libpagelab.so",
    ] {
        assert!(
            names.contains(&&Pathname::File {
                path: deleted.into(),
                deleted: true
            }),
            "{deleted}"
        );
    }
    for pseudo in [
        Pathname::Heap,
        Pathname::Stack,
        Pathname::Vdso,
        Pathname::Vvar,
        Pathname::Vsyscall,
        Pathname::Anonymous,
    ] {
        assert!(names.contains(&&pseudo), "{pseudo:?}");
    }
    let shmem = lines
        .iter()
        .find(|l| matches!(l.pathname, Pathname::AnonShmemNamed(_)))
        .unwrap();
    assert!(shmem.perms.shared && shmem.perms.write);
    assert_eq!(shmem.device, Device { major: 0, minor: 1 });
}

/// Display reproduces the kernel's layout byte for byte, so parse and display round-trip.
#[rstest]
#[case::maps("maps", "linux-6.12-named.txt")]
#[case::smaps_live("smaps", "linux-6.18-live.txt")]
#[case::smaps_6_1("smaps", "linux-6.1.txt")]
#[case::smaps_old("smaps", "missing-fields.txt")]
fn display_round_trips_every_header(#[case] dir: &str, #[case] file: &str) {
    let text = fixture(dir, file);
    let headers = text
        .lines()
        .filter(|l| !l.starts_with(|c: char| c.is_ascii_uppercase()));
    for line in headers {
        let parsed = parse_maps_line(line).unwrap();
        assert_eq!(parsed.to_string(), line);
        assert_eq!(parse_maps_line(&parsed.to_string()).unwrap(), parsed);
    }
}

#[test]
fn live_file_with_spaces_and_deleted_file_are_recognised() {
    let records = parse_smaps(&smaps_fixture("linux-6.18-live.txt")).unwrap();
    let has = |path: &str, deleted: bool| {
        records.iter().any(|r| {
            r.vma.pathname
                == Pathname::File {
                    path: path.into(),
                    deleted,
                }
        })
    };
    assert!(has("/tmp/pagelab fixture/data file.bin", false));
    assert!(has("/tmp/pagelab fixture/gone.bin", true));
    assert!(records.iter().any(|r| r.vma.pathname == Pathname::Vvar));
    assert!(
        records
            .iter()
            .any(|r| r.vma.pathname == Pathname::Other("[vvar_vclock]".into()))
    );
}

/// A private anonymous mapping made here, unmapped on drop.
struct Mapping {
    addr: *mut libc::c_void,
    len: usize,
}

impl Mapping {
    fn new(len: usize) -> Mapping {
        // SAFETY: a fresh anonymous mapping at an address of the kernel's choosing.
        let addr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(
            addr,
            libc::MAP_FAILED,
            "{}",
            std::io::Error::last_os_error()
        );
        // SAFETY: the first byte lies inside the mapping just made.
        unsafe { addr.cast::<u8>().write_volatile(1) };
        Mapping { addr, len }
    }

    fn addr(&self) -> usize {
        self.addr as usize
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly what `new` mapped.
        unsafe { libc::munmap(self.addr, self.len) };
    }
}

fn check_live_record(r: &SmapsRecord, m: &Mapping) {
    // Other test threads may map memory next to ours and the kernel may merge it into the
    // same VMA, so the record can be larger than the mapping, never smaller.
    let middle = m.addr() + m.len / 2;
    assert!(
        r.vma.contains(m.addr()) && r.vma.contains(middle),
        "{}",
        r.vma
    );
    assert!(r.size(SmapsField::Size).unwrap() >= Bytes(m.len as u64));
    assert!(r.size(SmapsField::Rss).unwrap() >= Bytes(page_size() as u64));
    assert!(r.vma.perms.read && r.vma.perms.write && !r.vma.perms.shared);
    assert_eq!(r.vma.pathname, Pathname::Anonymous);
}

#[test]
fn live_smaps_record_finds_a_fresh_mapping() {
    let m = Mapping::new(64 * page_size());
    let middle = m.addr() + m.len / 2;
    let r = procfs::smaps_record(Proc::SelfProcess, middle)
        .unwrap()
        .expect("no record for a mapped address");
    check_live_record(&r, &m);
    let pid = i32::try_from(std::process::id()).unwrap();
    let by_pid = procfs::smaps_record(Proc::Pid(pid), middle)
        .unwrap()
        .unwrap();
    check_live_record(&by_pid, &m);
}

#[test]
fn live_smaps_parses_fully_and_contains_the_mapping() {
    let m = Mapping::new(16 * page_size());
    let records = procfs::smaps(Proc::SelfProcess).unwrap();
    let r = records
        .iter()
        .find(|r| r.vma.contains(m.addr()))
        .expect("mapping not in smaps");
    check_live_record(r, &m);
    assert!(
        records
            .iter()
            .all(|r| r.size(SmapsField::Size) == Some(r.vma.len()))
    );
    assert!(records.iter().all(|r| r.vm_flags.is_some()));
    let maps = procfs::maps(Proc::SelfProcess).unwrap();
    assert!(maps.iter().any(|l| l.contains(m.addr())));
}

#[test]
fn live_lookups_outside_every_mapping_find_nothing() {
    assert!(
        procfs::smaps_record(Proc::SelfProcess, 0)
            .unwrap()
            .is_none()
    );
    // Above every user mapping: the whole file is scanned and nothing contains it.
    let high = usize::MAX - 1;
    assert!(
        procfs::smaps_record(Proc::SelfProcess, high)
            .unwrap()
            .is_none()
    );
}

#[test]
fn live_errors_name_the_file() {
    let err = procfs::smaps_record(Proc::Pid(i32::MAX), 0).unwrap_err();
    assert!(err.to_string().contains("/smaps"), "{err}");
    let err = procfs::maps(Proc::Pid(i32::MAX)).unwrap_err();
    assert!(err.to_string().contains("/maps"), "{err}");
}
