//! Property tests of the pure `/proc` parsers: they must never panic, whatever the text
//! (the text comes from another process's address space and can be cut short or changed
//! by a race), and where they accept a text they must agree with one another and with
//! the kernel's layout as `Display` renders it.
//!
//! Inputs: arbitrary strings and bytes; strings built from the pieces smaps is made of
//! (hex digits, `-`, `:`, `kB`, field names, newlines), which reach far deeper into the
//! parsers than random text; and real smaps text (every fixture, plus this process's own
//! `/proc/self/smaps` and `/proc/self/maps`) with characters and lines inserted, deleted,
//! replaced, duplicated and moved.
//!
//! Each property runs 64 cases in a plain `cargo test` and `PROPTEST_CASES=N` where that is
//! set (CI runs thousands: `just fuzz`). A failing case is shrunk and
//! saved under `proptest-regressions/` so that it is replayed first next time.

use pagelab::Bytes;
use pagelab::kernel::maps::{MapsLine, Pathname, Perms, header_range, parse_maps, parse_maps_line};
use pagelab::kernel::smaps::{FieldValue, SmapsRecord, find_record, parse_smaps};
use pagelab::kernel::smaps_fields::FieldName;
use pagelab::kernel::{Device, ParseError};
use pagelab::lesson::Lesson;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::{Index, select};
use std::sync::OnceLock;

// ---------------------------------------------------------------------------------------
// The corpus of real text.

const FIXTURES: [(&str, &str); 5] = [
    (
        "linux-6.1.txt",
        include_str!("fixtures/smaps/linux-6.1.txt"),
    ),
    (
        "linux-6.12.txt",
        include_str!("fixtures/smaps/linux-6.12.txt"),
    ),
    (
        "linux-6.18-live.txt",
        include_str!("fixtures/smaps/linux-6.18-live.txt"),
    ),
    (
        "linux-6.18.txt",
        include_str!("fixtures/smaps/linux-6.18.txt"),
    ),
    (
        "missing-fields.txt",
        include_str!("fixtures/smaps/missing-fields.txt"),
    ),
];

const MAPS_FIXTURE: &str = include_str!("fixtures/maps/linux-6.12-named.txt");

struct Corpus {
    /// Whole smaps files: the fixtures, then `/proc/self/smaps`.
    smaps: Vec<String>,
    /// Whole maps files: the fixture, `/proc/self/maps`, and the header lines of every
    /// smaps text (a maps file is exactly those).
    maps: Vec<String>,
    /// Every distinct line of every text, to insert elsewhere.
    lines: Vec<String>,
}

fn corpus() -> &'static Corpus {
    static CORPUS: OnceLock<Corpus> = OnceLock::new();
    CORPUS.get_or_init(|| {
        // The kernel makes the text a few records at a time as it is read, so a thread
        // that maps or grows memory meanwhile (the other tests here allocate) can tear it:
        // one VMA printed twice, with two different ends, has been seen. Two equal reads in
        // a row are taken as a consistent snapshot; a torn one is still fine to mutate.
        let live = |file: &str| {
            let read = || {
                let text = std::fs::read(format!("/proc/self/{file}"))
                    .unwrap_or_else(|e| panic!("reading /proc/self/{file}: {e}"));
                String::from_utf8_lossy(&text).into_owned()
            };
            let mut text = read();
            for _ in 0..10 {
                let again = read();
                if again == text {
                    break;
                }
                text = again;
            }
            text
        };
        let mut smaps: Vec<String> = FIXTURES.iter().map(|(_, t)| (*t).to_owned()).collect();
        smaps.push(live("smaps"));
        let mut maps = vec![MAPS_FIXTURE.to_owned(), live("maps")];
        for text in &smaps {
            let headers: String = text
                .lines()
                .filter(|l| header_range(l.as_bytes()).is_some())
                .flat_map(|l| [l, "\n"])
                .collect();
            maps.push(headers);
        }
        let mut lines: Vec<String> = smaps
            .iter()
            .chain(&maps)
            .flat_map(|t| t.lines())
            .map(str::to_owned)
            .collect();
        lines.sort();
        lines.dedup();
        Corpus { smaps, maps, lines }
    })
}

/// Lines no kernel prints but a cut or corrupted read could produce.
const TRICKY_LINES: &[&str] = &[
    "",
    " ",
    ":",
    "-",
    "0-",
    "0-0",
    "0-0 ",
    "0-0 rw-p",
    "0-0 rw-p 0 0:0 0",
    "0-0 ---p 00000000 00:00 0 ",
    "1000-0 rw-p 00000000 00:00 0 ",
    "ffffffffffffffff-ffffffffffffffff rw-p 00000000 00:00 0 ",
    "10000000000000000-20000000000000000 rw-p 00000000 00:00 0 ",
    "fffffffffffffffff-0 rw-p 00000000 00:00 0 ",
    "1000-2000 rw-p ffffffffffffffffff 00:00 0 ",
    "1000-2000 rw-p 00000000 ffffffffff:0 0 ",
    "1000-2000 rw-p 00000000 00:00 99999999999999999999 ",
    "1000-2000 rw-p 00000000 00:00 0  [anon:",
    "1000-2000 rw-p 00000000 00:00 0  / (deleted)",
    "1000-2000 r--p 00000000 00:00 0  /tmp/0123456789abcdef0123-x-y",
    "Size:",
    "Size: kB",
    "Size:kB",
    "Size:4kB",
    "Size:  4  kB",
    "Size: 18446744073709551615 kB",
    "Size: 18014398509481984 kB",
    "Size: 18446744073709551616",
    "Rss: -1 kB",
    "Rss: 4 MB",
    "THPeligible: 1 1",
    "VmFlags:",
    "VmFlags: rd wr",
    "VmFlags: rd\tgarbage\u{0b}",
    ": 4 kB",
    " Rss: 4 kB",
    "Rss : 4 kB",
    "é-ü rw-p",
    "\u{feff}00400000-00401000 r-xp 00000000 00:00 0 ",
    "\r",
];

// ---------------------------------------------------------------------------------------
// Mutations of real text.

#[derive(Clone, Debug)]
enum Mutation {
    InsertChar(Index, char),
    ReplaceChar(Index, char),
    DeleteChars(Index, usize),
    Truncate(Index),
    /// Replaces a run of characters with a number (often too long for any integer type).
    InsertDigits(Index, String),
    DeleteLine(Index),
    DuplicateLine(Index),
    SwapLines(Index, Index),
    InsertLine(Index, String),
}

/// Characters smaps is made of, and a few it is not.
fn interesting_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => select(&['\n', ' ', ':', '-', '0', '9', 'a', 'f', 'g', 'k', 'B', 'r', 'w', 'x', 'p', 's', '/', '[', ']'][..]),
        1 => any::<char>(),
    ]
}

fn inserted_line() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<Index>().prop_map(|i| i.get(&corpus().lines).clone()),
        2 => select(TRICKY_LINES).prop_map(str::to_owned),
        1 => any::<String>().prop_map(|s| s.replace('\n', " ")),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<Index>(), interesting_char()).prop_map(|(i, c)| Mutation::InsertChar(i, c)),
        (any::<Index>(), interesting_char()).prop_map(|(i, c)| Mutation::ReplaceChar(i, c)),
        (any::<Index>(), 1usize..40).prop_map(|(i, n)| Mutation::DeleteChars(i, n)),
        any::<Index>().prop_map(Mutation::Truncate),
        (any::<Index>(), vec(0u8..10, 1..30)).prop_map(|(i, d)| {
            Mutation::InsertDigits(i, d.into_iter().map(|d| char::from(b'0' + d)).collect())
        }),
        any::<Index>().prop_map(Mutation::DeleteLine),
        any::<Index>().prop_map(Mutation::DuplicateLine),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<Index>(), inserted_line()).prop_map(|(i, l)| Mutation::InsertLine(i, l)),
    ]
}

/// The byte offset of the `index`-th character boundary (the end of the text included).
fn boundary(text: &str, index: &Index) -> usize {
    let count = text.chars().count() + 1;
    let nth = index.index(count);
    text.char_indices()
        .map(|(i, _)| i)
        .chain([text.len()])
        .nth(nth)
        .unwrap_or(text.len())
}

fn apply(text: &mut String, m: &Mutation) {
    match m {
        Mutation::InsertChar(at, c) => {
            let at = boundary(text, at);
            text.insert(at, *c);
        }
        Mutation::ReplaceChar(at, c) => {
            let at = boundary(text, at);
            if let Some(old) = text[at..].chars().next() {
                text.replace_range(at..at + old.len_utf8(), c.encode_utf8(&mut [0; 4]));
            }
        }
        Mutation::DeleteChars(at, n) => {
            let at = boundary(text, at);
            let end = text[at..]
                .char_indices()
                .nth(*n)
                .map_or(text.len(), |(i, _)| at + i);
            text.replace_range(at..end, "");
        }
        Mutation::Truncate(at) => {
            let at = boundary(text, at);
            text.truncate(at);
        }
        Mutation::InsertDigits(at, digits) => {
            let at = boundary(text, at);
            text.insert_str(at, digits);
        }
        line_op => {
            let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
            let n = lines.len();
            match line_op {
                Mutation::DeleteLine(i) => {
                    lines.remove(i.index(n));
                }
                Mutation::DuplicateLine(i) => {
                    let i = i.index(n);
                    lines.insert(i, lines[i].clone());
                }
                Mutation::SwapLines(a, b) => lines.swap(a.index(n), b.index(n)),
                Mutation::InsertLine(i, line) => lines.insert(i.index(n + 1), line.clone()),
                _ => unreachable!(),
            }
            *text = lines.join("\n");
        }
    }
}

fn mutated(texts: fn(&Corpus) -> &Vec<String>) -> impl Strategy<Value = String> {
    (any::<Index>(), vec(mutation(), 1..6)).prop_map(move |(which, mutations)| {
        let mut text = which.get(texts(corpus())).clone();
        for m in &mutations {
            apply(&mut text, m);
        }
        text
    })
}

/// Text assembled from the pieces smaps is made of.
fn smaps_like() -> impl Strategy<Value = String> {
    const PIECES: &[&str] = &[
        "\n",
        " ",
        "  ",
        ":",
        "-",
        "0",
        "1",
        "7f",
        "fff",
        "ffffffffffffffff",
        "10000000000000000",
        "00400000-00401000",
        "rw-p",
        "r-xs",
        "---p",
        "00000000",
        "fe:01",
        "00:00",
        "42",
        "/usr/bin/x",
        " (deleted)",
        "[heap]",
        "[anon:",
        "]",
        "Size:",
        "Rss:",
        "VmFlags:",
        "THPeligible:",
        " kB",
        "kB",
        "18446744073709551615",
        " rd",
        " wr",
        "é",
        "\t",
    ];
    vec(select(PIECES), 0..80).prop_map(|pieces| pieces.concat())
}

// ---------------------------------------------------------------------------------------
// What must hold of any text.

/// Runs every parser on `text`; any panic fails the property. Where the parsers accept the
/// text, checks that they agree with one another.
fn check_all_parsers(text: &str, addrs: &[usize]) -> Result<(), TestCaseError> {
    let all = parse_smaps(text);
    for &addr in addrs {
        let found = find_record(text, addr);
        check_find_record_agrees(text, addr, &all, &found)?;
        check_same_as_line_by_line(text, addr, &found)?;
    }
    if let Ok(records) = &all {
        check_smaps_round_trip(records)?;
    }

    let maps = parse_maps(text);
    // parse_maps accepts a text exactly when every line (but an empty last one) parses.
    let body = text.strip_suffix('\n').unwrap_or(text);
    let mut every_line_parses = !body.is_empty();
    for line in body.split('\n') {
        let parsed = parse_maps_line(line);
        check_maps_line(line, &parsed)?;
        every_line_parses &= parsed.is_ok();
    }
    prop_assert_eq!(maps.is_ok(), every_line_parses);
    Ok(())
}

/// `find_record` reads only as far as it must, so it may accept text that `parse_smaps`
/// rejects, but never the other way round; and where the whole text parses into records in
/// ascending, non-overlapping order (as the kernel prints them), it must find exactly the
/// record a linear search finds.
fn check_find_record_agrees(
    text: &str,
    addr: usize,
    all: &Result<Vec<SmapsRecord>, ParseError>,
    found: &Result<Option<SmapsRecord>, ParseError>,
) -> Result<(), TestCaseError> {
    if found.is_err() {
        prop_assert!(
            all.is_err(),
            "find_record({addr:#x}) failed ({found:?}) on text parse_smaps accepts:\n{text}"
        );
    }
    if let Ok(records) = all {
        let ordered = records.windows(2).all(|w| w[0].vma.end <= w[1].vma.start);
        if ordered {
            let linear = records.iter().find(|r| r.vma.contains(addr));
            prop_assert_eq!(found.as_ref().ok().and_then(Option::as_ref), linear);
            prop_assert!(found.is_ok());
        }
    }
    Ok(())
}

/// `find_record` as it was written before it skipped lines: every line looked at in
/// order, each header line classified. The reference its scan must agree with on any text.
fn find_record_line_by_line(text: &str, addr: usize) -> Result<Option<SmapsRecord>, ParseError> {
    let error = |line: usize, message: &str, text: &str| ParseError {
        line,
        message: message.to_owned(),
        text: text.to_owned(),
    };
    let first = text.split('\n').next().unwrap_or("");
    if header_range(first.as_bytes()).is_none() {
        let shown = text.lines().next().unwrap_or("");
        return Err(error(1, "expected a maps header line first", shown));
    }
    // The record's text and its first line's number: parsed on its own, its line numbers
    // are shifted to the file's.
    let parse = |record: &str, first_line: usize| {
        let mut records = parse_smaps(record).map_err(|mut e| {
            e.line += first_line - 1;
            e
        })?;
        assert_eq!(records.len(), 1, "one header line in {record:?}");
        Ok(records.pop())
    };
    let mut found: Option<(usize, usize)> = None;
    let mut start = 0;
    for (index, line) in text.split('\n').enumerate() {
        let line_start = start;
        start += line.len() + 1;
        if line_start >= text.len() {
            break; // the empty piece after a final newline is not a line
        }
        let Some(range) = header_range(line.as_bytes()) else {
            continue;
        };
        if let Some((record_start, first_line)) = found {
            return parse(&text[record_start..line_start], first_line);
        }
        match range {
            Ok((low, _)) if low > addr => return Ok(None),
            Ok((_, high)) if addr < high => found = Some((line_start, index + 1)),
            Ok(_) => {}
            Err(message) => return Err(error(index + 1, message, line)),
        }
    }
    match found {
        Some((record_start, first_line)) => parse(&text[record_start..], first_line),
        None => Ok(None),
    }
}

/// The scan finds what the line-by-line reference finds, and fails where it fails, with the
/// same message on the same line (the offending text may be cut short to an excerpt).
fn check_same_as_line_by_line(
    text: &str,
    addr: usize,
    found: &Result<Option<SmapsRecord>, ParseError>,
) -> Result<(), TestCaseError> {
    let reference = find_record_line_by_line(text, addr);
    match (found, &reference) {
        (Err(ours), Err(theirs)) => {
            prop_assert_eq!((ours.line, &ours.message), (theirs.line, &theirs.message));
            let excerpt = ours.text.strip_suffix('…').unwrap_or(&ours.text);
            prop_assert!(
                theirs.text.starts_with(excerpt),
                "{:?} is not an excerpt of {:?}",
                ours.text,
                theirs.text
            );
        }
        _ => prop_assert_eq!(found, &reference, "address {:#x} in:\n{}", addr, text),
    }
    Ok(())
}

/// A maps line that parses has the range `header_range` reads, and renders (`Display`) to
/// a line that parses back to the same value; a line that `header_range` rejects does not
/// parse.
fn check_maps_line(line: &str, parsed: &Result<MapsLine, ParseError>) -> Result<(), TestCaseError> {
    let range = header_range(line.as_bytes());
    match parsed {
        Ok(l) => {
            prop_assert_eq!(range, Some(Ok((l.start, l.end))));
            let shown = l.to_string();
            let again = parse_maps_line(&shown);
            prop_assert_eq!(again.as_ref(), Ok(l), "rendered as {:?}", shown);
        }
        Err(e) => {
            prop_assert_eq!(e.line, 1);
            prop_assert!(
                e.text.chars().count() <= 121,
                "excerpt too long: {}",
                e.text
            );
        }
    }
    Ok(())
}

/// Renders records the way the kernel prints them.
fn render_smaps(records: &[SmapsRecord]) -> String {
    let mut out = String::new();
    for r in records {
        out.push_str(&r.vma.to_string());
        out.push('\n');
        for (key, value) in &r.fields {
            let key = format!("{key}:");
            match value {
                FieldValue::Size(bytes) => {
                    out.push_str(&format!("{key:<16}{:>8} kB\n", bytes.0 / 1024))
                }
                FieldValue::Number(n) => out.push_str(&format!("{key:<16}{n:>8}\n")),
            }
        }
        if let Some(flags) = &r.vm_flags {
            out.push_str("VmFlags:");
            for flag in flags {
                out.push(' ');
                out.push_str(flag);
            }
            out.push_str(" \n");
        }
    }
    out
}

fn check_smaps_round_trip(records: &[SmapsRecord]) -> Result<(), TestCaseError> {
    let shown = render_smaps(records);
    let again = parse_smaps(&shown);
    prop_assert_eq!(again.as_deref(), Ok(records), "rendered as:\n{}", shown);
    Ok(())
}

/// Addresses worth searching for in `text`: the edges and middle of each record the text
/// had before it was mutated would be too many, so a few chosen ones plus arbitrary ones.
fn addresses_of(text: &str, picks: &[Index], arbitrary: &[usize]) -> Vec<usize> {
    let starts: Vec<(usize, usize)> = text
        .lines()
        .filter_map(|l| header_range(l.as_bytes())?.ok())
        .collect();
    let mut addrs = arbitrary.to_vec();
    addrs.extend([0, usize::MAX]);
    if !starts.is_empty() {
        for pick in picks {
            let (start, end) = *pick.get(&starts);
            addrs.extend([
                start,
                end.wrapping_sub(1),
                end,
                start + (end.saturating_sub(start)) / 2,
            ]);
        }
    }
    addrs
}

// ---------------------------------------------------------------------------------------
// Generated valid input: renders and parses back.

fn pathname() -> impl Strategy<Value = Pathname> {
    // No newline (the kernel escapes it as `\012`) and no leading space (the padding before
    // the last column cannot be told from it).
    let name = || {
        vec(any::<char>(), 0..12)
            .prop_map(|c| c.into_iter().filter(|&c| c != '\n').collect::<String>())
    };
    prop_oneof![
        Just(Pathname::Anonymous),
        Just(Pathname::Heap),
        Just(Pathname::Stack),
        Just(Pathname::Vdso),
        Just(Pathname::Vvar),
        Just(Pathname::Vsyscall),
        name().prop_map(Pathname::AnonNamed),
        name().prop_map(Pathname::AnonShmemNamed),
        // A file literally named `x (deleted)` is printed like a deleted `x`: the kernel's
        // format is ambiguous there, so such names are left out of the round trip.
        (name(), any::<bool>())
            .prop_filter("ambiguous with a deleted file", |(n, _)| !n
                .ends_with(" (deleted)"))
            .prop_map(|(n, deleted)| Pathname::File {
                path: format!("/{n}").into(),
                deleted
            }),
        name()
            .prop_map(|n| Pathname::Other(format!("[{n}]")))
            .prop_filter("a name the parser classifies", |p| {
                let Pathname::Other(text) = p else {
                    return false;
                };
                let known = matches!(
                    text.as_str(),
                    "[heap]" | "[stack]" | "[vdso]" | "[vvar]" | "[vsyscall]"
                );
                !(known || text.starts_with("[anon:") || text.starts_with("[anon_shmem:"))
            }),
    ]
}

fn maps_line() -> impl Strategy<Value = MapsLine> {
    (
        any::<(usize, usize)>(),
        any::<(bool, bool, bool, bool)>(),
        any::<u64>(),
        any::<(u32, u32)>(),
        any::<u64>(),
        pathname(),
    )
        .prop_map(
            |((a, b), (read, write, exec, shared), offset, (major, minor), inode, pathname)| {
                MapsLine {
                    start: a.min(b),
                    end: a.max(b),
                    perms: Perms {
                        read,
                        write,
                        exec,
                        shared,
                    },
                    offset,
                    device: Device { major, minor },
                    inode,
                    pathname,
                }
            },
        )
}

fn field() -> impl Strategy<Value = (String, FieldValue)> {
    const KEYS: &[&str] = &[
        "Size",
        "KernelPageSize",
        "MMUPageSize",
        "Rss",
        "Pss",
        "Pss_Dirty",
        "Shared_Clean",
        "Private_Dirty",
        "AnonHugePages",
        "THPeligible",
        "ProtectionKey",
        "Some_Future_Field",
    ];
    (
        select(KEYS),
        prop_oneof![
            (0u64..=u64::MAX / 1024).prop_map(|kib| FieldValue::Size(Bytes::from_kib(kib))),
            any::<u64>().prop_map(FieldValue::Number),
        ],
    )
        .prop_map(|(k, v)| (k.to_owned(), v))
}

/// Records as the kernel prints them: ascending, non-overlapping, each with its fields.
fn smaps_records() -> impl Strategy<Value = Vec<SmapsRecord>> {
    let flags = vec(
        select(
            &[
                "rd", "wr", "ex", "mr", "mw", "me", "ac", "hg", "nh", "lo", "zz",
            ][..],
        ),
        0..8,
    );
    vec(
        (
            maps_line(),
            1usize..1 << 24,
            0usize..1 << 24,
            vec(field(), 0..8),
            proptest::option::weighted(0.9, flags),
        ),
        1..12,
    )
    .prop_map(|records| {
        let mut next = 0x1000usize;
        records
            .into_iter()
            .map(|(mut vma, len, gap, fields, flags)| {
                vma.start = next.saturating_add(gap);
                vma.end = vma.start.saturating_add(len);
                next = vma.end;
                // Named as the parser names them: a known name as its SmapsField.
                let fields = fields
                    .into_iter()
                    .map(|(key, value)| (FieldName::of(&key, &mut 0), value))
                    .collect();
                SmapsRecord {
                    vma,
                    fields,
                    vm_flags: flags.map(|f| f.into_iter().map(str::to_owned).collect()),
                }
            })
            .collect()
    })
}

/// 64 cases per property in a plain `cargo test` (a quarter of a second, so the suite stays
/// quick to run on every save); CI and `just fuzz` set `PROPTEST_CASES` for thousands.
fn config() -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = 64;
    }
    config
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_strings_never_panic(text in any::<String>(), addr in any::<usize>()) {
        check_all_parsers(&text, &[addr, 0])?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..256), addr in any::<usize>()) {
        let _ = header_range(&bytes);
        for line in bytes.split(|&b| b == b'\n') {
            let _ = header_range(line);
        }
        check_all_parsers(&String::from_utf8_lossy(&bytes), &[addr])?;
    }

    #[test]
    fn smaps_like_text_never_panics(text in smaps_like(), addr in any::<usize>()) {
        let mut addrs = addresses_of(&text, &[], &[addr]);
        addrs.push(0x0040_0800);
        check_all_parsers(&text, &addrs)?;
    }

    #[test]
    fn mutated_real_smaps_never_panics(
        text in mutated(|c| &c.smaps),
        picks in vec(any::<Index>(), 1..4),
        arbitrary in vec(any::<usize>(), 1..3),
    ) {
        check_all_parsers(&text, &addresses_of(&text, &picks, &arbitrary))?;
    }

    #[test]
    fn mutated_real_maps_never_panics(
        text in mutated(|c| &c.maps),
        addr in any::<usize>(),
    ) {
        check_all_parsers(&text, &[addr])?;
    }

    #[test]
    fn a_generated_maps_line_parses_back_to_its_fields(line in maps_line()) {
        let shown = line.to_string();
        prop_assert_eq!(parse_maps_line(&shown), Ok(line.clone()), "rendered as {:?}", shown);
        prop_assert_eq!(header_range(shown.as_bytes()), Some(Ok((line.start, line.end))));
        // Padded to the kernel's pathname column (73 on 64-bit) when there is a pathname.
        if line.pathname != Pathname::Anonymous {
            let at = shown.len() - line.pathname.to_string().len();
            prop_assert!(at >= 73, "pathname at column {} in {:?}", at, shown);
        } else {
            prop_assert!(shown.ends_with(' '));
        }
    }

    #[test]
    fn generated_smaps_parses_back_and_every_address_finds_its_record(
        records in smaps_records(),
        picks in vec(any::<Index>(), 1..4),
        arbitrary in any::<usize>(),
    ) {
        let text = render_smaps(&records);
        let parsed = parse_smaps(&text);
        prop_assert_eq!(parsed.as_deref(), Ok(&records[..]), "text:\n{}", text);
        let mut addrs = addresses_of(&text, &picks, &[arbitrary]);
        addrs.push(records[0].vma.start.wrapping_sub(1));
        for addr in addrs {
            let linear = records.iter().find(|r| r.vma.contains(addr));
            prop_assert_eq!(find_record(&text, addr), Ok(linear.cloned()), "address {:#x}", addr);
        }
    }
}

proptest! {
    #![proptest_config(config())]

    /// Records as the kernel prints them, some without their VmFlags line, with lines taken
    /// out and lines put in that break the layout (a `-` in a field line, headers that do
    /// not parse or are out of order, blank lines): the scan that skips every line without a
    /// `-` finds what looking at every line finds.
    #[test]
    fn the_scan_agrees_with_a_line_by_line_search_on_smaps_shaped_text(
        records in smaps_records(),
        edits in vec((any::<Index>(), proptest::option::of(inserted_line())), 0..6),
        final_newline in any::<bool>(),
        picks in vec(any::<Index>(), 1..4),
        arbitrary in any::<usize>(),
    ) {
        let mut lines: Vec<String> = render_smaps(&records).lines().map(str::to_owned).collect();
        for (at, line) in edits {
            match line {
                Some(line) => lines.insert(at.index(lines.len() + 1), line),
                None if !lines.is_empty() => {
                    lines.remove(at.index(lines.len()));
                }
                None => {}
            }
        }
        let mut text = lines.join("\n");
        if final_newline {
            text.push('\n');
        }
        for addr in addresses_of(&text, &picks, &[arbitrary]) {
            check_same_as_line_by_line(&text, addr, &find_record(&text, addr))?;
        }
    }
}

/// The real text itself, unmutated: every record of every corpus file is found by its own
/// addresses, and every live maps line renders exactly as the kernel printed it.
#[test]
fn the_corpus_parses_and_live_maps_lines_render_as_the_kernel_printed_them() {
    let corpus = corpus();
    for (i, text) in corpus.smaps.iter().enumerate() {
        let records = parse_smaps(text).unwrap_or_else(|e| panic!("{e}"));
        let ordered = records.windows(2).all(|w| w[0].vma.end <= w[1].vma.start);
        if !ordered {
            // Only the live text can be torn (see `corpus`); the fixtures never are.
            assert_eq!(
                i,
                FIXTURES.len(),
                "fixture {} is out of order",
                FIXTURES[i].0
            );
            eprintln!("/proc/self/smaps was torn by a concurrent mapping change; not searched");
            continue;
        }
        for r in &records {
            for addr in [r.vma.start, r.vma.end - 1] {
                assert_eq!(find_record(text, addr).unwrap().as_ref(), Some(r));
            }
        }
    }
    for text in &corpus.maps {
        assert!(parse_maps(text).is_ok());
    }
    let live = &corpus.maps[1];
    for line in live.lines() {
        let parsed = parse_maps_line(line).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(parsed.to_string(), line);
    }
}

// ---------------------------------------------------------------------------------------
// The lesson loader: whatever an author's editor leaves in a lesson, loading ends in a
// lesson or a `file:line` error, never a panic; and where it loads, every block is read at
// a fence line naming its tag, with its claims on the lines after it.

fn lessons() -> &'static Vec<String> {
    static LESSONS: OnceLock<Vec<String>> = OnceLock::new();
    LESSONS.get_or_init(|| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons");
        let mut paths: Vec<_> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|entry| entry.expect("a lessons directory entry").path())
            .filter(|path| path.extension().is_some_and(|x| x == "md"))
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|path| std::fs::read_to_string(path).expect("a lesson"))
            .collect()
    })
}

/// What an edit can put in front of lines: indentation, and the marks of the containers
/// markdown reads a fence in (or swallows it into).
const LESSON_PREFIXES: &[&str] = &[
    " ", "  ", "    ", "      ", "\t", "- ", "* ", "1. ", "10) ", "> ", ">     ", "- > ",
];

/// Lines that open, close or confuse markdown blocks.
const LESSON_LINES: &[&str] = &[
    "",
    "```",
    "````",
    "~~~",
    "````markdown",
    "```smaps step=mapped",
    "```maps step=mapped",
    "```outcome step=mapped",
    "```exercise id=map-anonymous",
    "```smaps step=mapped`",
    "~~~smaps step=mapped when=thp-eligible",
    "```c",
    "<div>",
    "<!--",
    "-->",
    "---",
    "- a list item",
    "> a quote",
    "Rss: 1 page",
    "task: map memory",
    "\r",
];

#[derive(Clone, Debug)]
enum LessonEdit {
    Text(Mutation),
    /// Puts `prefix` in front of `count` lines from the `Index`-th.
    Prefix(Index, usize, &'static str),
}

fn lesson_edit() -> impl Strategy<Value = LessonEdit> {
    prop_oneof![
        2 => mutation().prop_map(LessonEdit::Text),
        1 => (any::<Index>(), select(LESSON_LINES))
            .prop_map(|(i, line)| LessonEdit::Text(Mutation::InsertLine(i, line.to_owned()))),
        2 => (any::<Index>(), 1usize..12, select(LESSON_PREFIXES))
            .prop_map(|(i, count, prefix)| LessonEdit::Prefix(i, count, prefix)),
    ]
}

fn edited_lesson() -> impl Strategy<Value = String> {
    (any::<Index>(), vec(lesson_edit(), 1..6)).prop_map(|(which, edits)| {
        let mut text = which.get(lessons()).clone();
        for edit in &edits {
            match edit {
                LessonEdit::Text(m) => apply(&mut text, m),
                LessonEdit::Prefix(at, count, prefix) => {
                    let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
                    let first = at.index(lines.len());
                    for line in lines.iter_mut().skip(first).take(*count) {
                        line.insert_str(0, prefix);
                    }
                    text = lines.join("\n");
                }
            }
        }
        text
    })
}

/// Text assembled from the pieces lessons are made of.
fn lesson_like() -> impl Strategy<Value = String> {
    const PIECES: &[&str] = &[
        "---\nid: mmap-anon\ntitle: T\n---\n",
        "\n",
        "\r\n",
        " ",
        "    ",
        "- ",
        "1. ",
        "> ",
        "```",
        "~~~",
        "`",
        "smaps",
        "maps",
        "outcome",
        "exercise",
        " step=mapped",
        " when=thp-eligible",
        " of=x",
        " id=map-anonymous",
        "Rss:",
        " 1 page",
        " 0 kB",
        "*-* rw-p 00000000 00:00 0",
        "VmFlags: rd wr *",
        "task: t",
        "hint: h",
        "<div>",
        "# ",
        "é",
        "\t",
    ];
    vec(select(PIECES), 0..60).prop_map(|pieces| pieces.concat())
}

/// What follows each run of three or more backticks or tildes on a line, with the blanks
/// CommonMark trims off an info string (```` ``` smaps ```` opens a `smaps` block).
fn info_strings(line: &str) -> impl Iterator<Item = &str> {
    ["```", "~~~"].into_iter().flat_map(move |fence| {
        let mark = fence.as_bytes()[0] as char;
        line.match_indices(fence)
            .map(move |(at, _)| line[at..].trim_start_matches(mark).trim_start())
    })
}

#[test]
fn info_strings_are_what_commonmark_reads_after_a_fence() {
    let infos = |line| info_strings(line).collect::<Vec<_>>();
    assert_eq!(infos("``` smaps step=read"), ["smaps step=read"]);
    assert_eq!(infos("> ~~~~outcome"), ["outcome"]);
    assert!(infos("Rss: 1 page").is_empty());
}

fn check_lesson_loader(text: &str) -> Result<(), TestCaseError> {
    let Ok(lesson) = Lesson::parse(std::path::Path::new("x.md"), text.to_owned()) else {
        return Ok(());
    };
    let lines: Vec<&str> = text.split('\n').collect();
    for block in &lesson.blocks {
        let fence = lines.get(block.line.wrapping_sub(1)).copied().unwrap_or("");
        prop_assert!(
            info_strings(fence).any(|info| info.starts_with(block.kind.tag())),
            "block read at line {} from {:?}",
            block.line,
            fence
        );
        for claim in &block.claims {
            prop_assert!(
                block.line < claim.line && claim.line <= lines.len(),
                "claim at line {} of the block at line {}",
                claim.line,
                block.line
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_lesson_loader_never_panics_on_arbitrary_text(text in any::<String>()) {
        check_lesson_loader(&text)?;
    }

    #[test]
    fn the_lesson_loader_never_panics_on_lesson_like_text(text in lesson_like()) {
        check_lesson_loader(&text)?;
    }

    #[test]
    fn the_lesson_loader_never_panics_on_edited_lessons(text in edited_lesson()) {
        check_lesson_loader(&text)?;
    }
}
