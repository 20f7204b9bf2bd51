//! The thin layer that reads `/proc`. Everything it reads is parsed by the pure parsers.
//!
//! The kernel generates maps and smaps text lazily, record by record, as the reader asks
//! for it, so the reader must not change its own address space while reading: an
//! allocation can grow the heap, or place a new mapping right next to the one being
//! measured where the kernel merges the two into one VMA. All reads therefore go into a
//! buffer mapped before the file is opened, fenced by inaccessible pages so it can never
//! merge with a neighbour, and the text is parsed only after reading stops.

use crate::kernel::maps::parse_error;
use crate::kernel::smaps::{RecordScan, Step};
use crate::kernel::{MapsLine, ParseError, SmapsRecord, maps, smaps};
use std::fs::File;
use std::io::{self, Read};
use std::ops::Range;
use std::path::PathBuf;
use std::ptr::NonNull;

/// Whose `/proc` directory to read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proc {
    /// `/proc/self` — the calling process.
    SelfProcess,
    Pid(i32),
}

impl Proc {
    /// The path of one of the process's files: `/proc/self/status`, `/proc/42/smaps`.
    pub fn path(self, file: &str) -> PathBuf {
        match self {
            Proc::SelfProcess => PathBuf::from(format!("/proc/self/{file}")),
            Proc::Pid(pid) => PathBuf::from(format!("/proc/{pid}/{file}")),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProcError {
    #[error("reading {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("parsing {path}: {source}")]
    Parse { path: PathBuf, source: ParseError },
}

/// How much to ask for per read() of a seq_file such as smaps or maps: three quarters of a
/// page, not all the room there is. fs/seq_file.c `seq_read_iter` makes records into its
/// buffer (a page) until that holds what the read asked for, and a record that no longer
/// fits is made, thrown away, and made again by the next read: asked for a page or more,
/// every read ends that way. Asked for a quarter page less, the buffer stops filling before
/// a record of up to a quarter page (an smaps record is some 700 bytes) can overflow it.
/// Measured on an smaps of 2035 VMAs: read whole in 9% less time, in 476 reads instead of
/// 409 (`benches/versus_procfs.rs` times both ways).
pub fn seq_read_len(page: usize) -> usize {
    page - page / 4
}

/// A search's buffer, mapped once per thread and kept (see [`SPARE`]): room for the text of
/// some 1400 VMAs, so that a typical process is read whole without dropping any of it. (Less
/// than a huge page, so no THP policy turns its first touch into zeroing 2 MiB; a buffer
/// grown for a larger process may be, once, since it is kept.)
const FIRST_BUF: usize = 1024 * 1024;

/// The largest buffer kept for the next search: a process with more text than this has
/// the front of its text dropped, and its lines counted, as the search goes.
const MAX_SPARE: usize = 8 * 1024 * 1024;

thread_local! {
    /// The last search's buffer, kept for this thread's next search: a fresh buffer costs a
    /// page fault for every page a read fills, measured at a fifth of a lookup near the end
    /// of a 2000-VMA smaps. It stays fenced, so it merges with nothing.
    static SPARE: std::cell::Cell<Option<FencedBuf>> = const { std::cell::Cell::new(None) };
}

/// A read buffer in its own mapping, with an inaccessible page on each side.
///
/// The guards matter because the buffer is anonymous read-write memory like most mappings
/// a lesson measures: placed right below one of them, the kernel would merge the two VMAs
/// and the lesson would see its mapping grow by the buffer's size while we read.
struct FencedBuf {
    /// Start of the whole reservation, guards included.
    base: NonNull<libc::c_void>,
    /// Length of the whole reservation, guards included.
    total: usize,
    page: usize,
    /// Usable bytes between the guards.
    cap: usize,
}

impl FencedBuf {
    fn new(min_cap: usize) -> io::Result<FencedBuf> {
        // SAFETY: sysconf has no memory-safety preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        let page = usize::try_from(page).map_err(|_| io::Error::last_os_error())?;
        let cap = min_cap.div_ceil(page).max(1) * page;
        let total = cap
            .checked_add(2 * page)
            .ok_or_else(|| io::Error::from(io::ErrorKind::OutOfMemory))?;
        // PROT_NONE first: only the middle becomes accessible, so at no moment is there a
        // read-write edge that could merge with a neighbour.
        // SAFETY: a fresh anonymous mapping at an address of the kernel's choosing touches
        // no existing memory.
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                total,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base = NonNull::new(base).ok_or_else(|| io::Error::other("mmap returned null"))?;
        let buf = FencedBuf {
            base,
            total,
            page,
            cap,
        };
        // SAFETY: the range lies inside the mapping made above, which we own.
        let rc = unsafe {
            libc::mprotect(
                buf.data_ptr().cast(),
                cap,
                libc::PROT_READ | libc::PROT_WRITE,
            )
        };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(buf)
    }

    fn data_ptr(&self) -> *mut u8 {
        // SAFETY: `page` < `total`, so the offset stays inside the mapping.
        unsafe { self.base.as_ptr().cast::<u8>().add(self.page) }
    }

    fn slice(&self) -> &[u8] {
        // SAFETY: `cap` bytes after the first guard page are mapped for as long as `self`
        // lives; the shared borrow of `self` keeps `bytes()` from handing out a mutable one.
        unsafe { std::slice::from_raw_parts(self.data_ptr(), self.cap) }
    }

    fn bytes(&mut self) -> &mut [u8] {
        // SAFETY: `cap` bytes after the first guard page are mapped read-write for as long
        // as `self` lives, and `&mut self` makes this the only reference to them.
        unsafe { std::slice::from_raw_parts_mut(self.data_ptr(), self.cap) }
    }

    /// A buffer twice as large holding the first `len` bytes of this one.
    fn grown(&self, len: usize) -> io::Result<FencedBuf> {
        let want = self
            .cap
            .checked_mul(2)
            .ok_or_else(|| io::Error::from(io::ErrorKind::OutOfMemory))?;
        let mut bigger = FencedBuf::new(want)?;
        let len = len.min(self.cap);
        bigger.bytes()[..len].copy_from_slice(&self.slice()[..len]);
        Ok(bigger)
    }
}

impl Drop for FencedBuf {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the reservation made in `new`; nothing borrows it any
        // more. A failure leaves a leak, not unsafety, so it is ignored.
        unsafe {
            libc::munmap(self.base.as_ptr(), self.total);
        }
    }
}

/// read() that retries when a signal interrupts it.
fn read_some(file: &mut impl Read, into: &mut [u8]) -> io::Result<usize> {
    loop {
        match file.read(into) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Reads the whole file; the text is complete before anything looks at it.
fn read_whole(path: &PathBuf) -> Result<String, ProcError> {
    let io_err = |source| ProcError::Io {
        path: path.clone(),
        source,
    };
    // Sized for a few hundred smaps records so that a typical process needs no regrowth
    // (each regrowth maps and unmaps memory mid-read).
    let mut buf = FencedBuf::new(1024 * 1024).map_err(io_err)?;
    let mut file = File::open(path).map_err(io_err)?;
    let mut len = 0;
    loop {
        if len == buf.cap {
            buf = buf.grown(len).map_err(io_err)?;
        }
        let end = len.saturating_add(seq_read_len(buf.page)).min(buf.cap);
        let n = read_some(&mut file, &mut buf.bytes()[len..end]).map_err(io_err)?;
        if n == 0 {
            break;
        }
        len += n;
    }
    drop(file);
    // Lossy: a file name is any bytes but not all bytes are UTF-8; the parsers keep the
    // rest of the line intact either way.
    Ok(String::from_utf8_lossy(&buf.slice()[..len]).into_owned())
}

enum SearchError {
    Io(io::Error),
    Parse(ParseError),
}

/// What a search leaves behind: the scan, which numbers the text's lines, and where the
/// record is in the buffer.
struct Searched {
    scan: RecordScan,
    /// The record's bytes in the buffer; `None` if no record contains the address.
    record: Option<Range<usize>>,
    /// Whether the text did not fit, so that its front was dropped to make room (and the
    /// buffer did not grow since).
    overflowed: bool,
}

/// Reads smaps text from `src` into `buf` until it holds the whole record of the VMA
/// containing `addr`: up to the header after the record, the first VMA past `addr`, or EOF.
///
/// Text is kept from the start, so that a record's line numbers can be counted once they
/// are needed (for an error) rather than for every line as it passes. Only a text longer
/// than the buffer makes the search drop the part it no longer needs, and then the scan
/// counts that part's lines.
fn search<R: Read>(src: &mut R, buf: &mut FencedBuf, addr: usize) -> Result<Searched, SearchError> {
    let mut scan = RecordScan::new(addr);
    let mut len = 0; // bytes held in buf
    // `len` alone cannot tell an empty file once text has been dropped.
    let mut read_total = 0usize;
    let mut overflowed = false;
    let step = loop {
        // A read asks for [`seq_read_len`], less than a page: with less room than a page,
        // make room.
        if buf.cap - len < buf.page {
            let keep = scan.keep_from();
            scan.drop_front(&buf.slice()[..keep]);
            buf.bytes().copy_within(keep..len, 0);
            len -= keep;
            if buf.cap - len < buf.page {
                // One record nearly as long as the whole buffer: only a pathological text
                // gets here, so the rare remap mid-read is acceptable. The grown buffer
                // is the next search's already: no second doubling.
                *buf = buf.grown(len).map_err(SearchError::Io)?;
                overflowed = false;
            } else {
                overflowed = true;
            }
        }
        let end = len.saturating_add(seq_read_len(buf.page)).min(buf.cap);
        let n = read_some(src, &mut buf.bytes()[len..end]).map_err(SearchError::Io)?;
        if n == 0 {
            if read_total == 0 {
                return Err(SearchError::Parse(parse_error(1, "empty smaps text", "")));
            }
            break scan.finish(&buf.slice()[..len]);
        }
        len += n;
        read_total = read_total.saturating_add(n);
        if let Some(step) = scan.advance(&buf.slice()[..len]).transpose() {
            break step;
        }
    };
    let record = match step.map_err(SearchError::Parse)? {
        Step::Found(record) => Some(record),
        Step::Absent => None,
    };
    Ok(Searched {
        scan,
        record,
        overflowed,
    })
}

/// Keeps `buf` for this thread's next search. A text that did not fit in it had part of
/// itself counted line by line and dropped: the next search gets twice the room, so that a
/// process with many mappings pays for that once.
fn keep_for_next_search(buf: FencedBuf, overflowed: bool) {
    let buf = if overflowed && buf.cap < MAX_SPARE {
        FencedBuf::new(2 * buf.cap).unwrap_or(buf)
    } else {
        buf
    };
    if buf.cap <= MAX_SPARE {
        SPARE.set(Some(buf));
    }
}

/// Reads the smaps record of the VMA containing `addr`, and stops reading the file after it
/// (the kernel produces smaps in address order, so the rest is never generated).
pub fn smaps_record(proc: Proc, addr: usize) -> Result<Option<SmapsRecord>, ProcError> {
    let path = proc.path("smaps");
    let io_err = |source| ProcError::Io {
        path: path.clone(),
        source,
    };
    let parse_err = |source| ProcError::Parse {
        path: path.clone(),
        source,
    };
    let mut buf = match SPARE.take() {
        Some(buf) => buf,
        None => FencedBuf::new(FIRST_BUF).map_err(io_err)?,
    };
    let mut file = match File::open(&path) {
        Ok(file) => file,
        Err(e) => {
            SPARE.set(Some(buf));
            return Err(io_err(e));
        }
    };
    let searched = search(&mut file, &mut buf, addr);
    // Closing before parsing: the kernel makes no more text once the file is closed.
    drop(file);
    let (found, overflowed) = match searched {
        Ok(Searched {
            scan,
            record,
            overflowed,
        }) => {
            let parsed = record.map(|record| scan.parse(buf.slice(), record));
            (parsed.transpose().map_err(parse_err), overflowed)
        }
        Err(SearchError::Io(e)) => (Err(io_err(e)), false),
        Err(SearchError::Parse(e)) => (Err(parse_err(e)), false),
    };
    keep_for_next_search(buf, overflowed);
    found
}

pub fn smaps(proc: Proc) -> Result<Vec<SmapsRecord>, ProcError> {
    let path = proc.path("smaps");
    let text = read_whole(&path)?;
    smaps::parse_smaps(&text).map_err(|source| ProcError::Parse { path, source })
}

pub fn maps(proc: Proc) -> Result<Vec<MapsLine>, ProcError> {
    let path = proc.path("maps");
    let text = read_whole(&path)?;
    maps::parse_maps(&text).map_err(|source| ProcError::Parse { path, source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::smaps::find_record;
    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::sample::{Index, select};

    const FIXTURE: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/smaps/linux-6.18-live.txt"
    ));

    /// Hands out its text in pieces of varying, awkward sizes up to `max`, and counts what
    /// was taken.
    struct Trickle<'a> {
        text: &'a [u8],
        pos: usize,
        step: usize,
        max: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, into: &mut [u8]) -> io::Result<usize> {
            self.step = self.step * 7 % self.max + 1;
            let n = self.step.min(into.len()).min(self.text.len() - self.pos);
            into[..n].copy_from_slice(&self.text[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    /// What `smaps_record` would return for `text` read in pieces of up to `max` bytes into
    /// a one-page buffer (so that long texts are dropped from the front and the buffer
    /// grows), and how many bytes it read.
    fn search_result(
        text: &str,
        addr: usize,
        max: usize,
    ) -> (Result<Option<SmapsRecord>, ParseError>, usize) {
        let mut src = Trickle {
            text: text.as_bytes(),
            pos: 0,
            step: 1,
            max,
        };
        let mut buf = FencedBuf::new(1).unwrap();
        let result = match search(&mut src, &mut buf, addr) {
            Ok(Searched { scan, record, .. }) => record
                .map(|record| scan.parse(buf.slice(), record))
                .transpose(),
            Err(SearchError::Parse(e)) => Err(e),
            Err(SearchError::Io(e)) => panic!("a Trickle cannot fail: {e}"),
        };
        (result, src.pos)
    }

    fn search_text(text: &str, addr: usize, max: usize) -> (Option<SmapsRecord>, usize) {
        let (result, consumed) = search_result(text, addr, max);
        match result {
            Ok(found) => (found, consumed),
            Err(e) => panic!("search failed at {addr:x}: {e}"),
        }
    }

    #[test]
    fn records_split_across_reads_are_reassembled() {
        let records = smaps::parse_smaps(FIXTURE).unwrap();
        let ends = [0, records.len() / 2, records.len() - 1];
        for (i, r) in records.iter().enumerate() {
            // Tiny reads over the whole file are slow in a debug build: first, middle, last.
            let chunks: &[usize] = if ends.contains(&i) {
                &[7, 100, 4096]
            } else {
                &[100, 4096]
            };
            for &chunk in chunks {
                let addr = r.vma.start + (r.vma.end - r.vma.start) / 2;
                let (found, consumed) = search_text(FIXTURE, addr, chunk);
                assert_eq!(found.as_ref(), Some(r), "{addr:x} in chunks of {chunk}");
                // Reading stopped soon after the record: at most one read past the next
                // header.
                if let Some(next) = records.get(i + 1) {
                    let next_header = FIXTURE.find(&next.vma.to_string()).unwrap();
                    assert!(consumed <= next_header + chunk + next.vma.to_string().len());
                } else {
                    assert_eq!(consumed, FIXTURE.len());
                }
            }
        }
    }

    #[test]
    fn gaps_stop_the_search_early() {
        let records = smaps::parse_smaps(FIXTURE).unwrap();
        let gap = records
            .windows(2)
            .find(|w| w[0].vma.end < w[1].vma.start)
            .unwrap();
        let (found, consumed) = search_text(FIXTURE, gap[0].vma.end, 64);
        assert_eq!(found, None);
        assert!(consumed < FIXTURE.len() / 2);
    }

    #[test]
    fn agrees_with_find_record_without_a_final_newline_and_on_huge_records() {
        let trimmed = FIXTURE.trim_end_matches('\n');
        let last = smaps::parse_smaps(trimmed).unwrap().pop().unwrap();
        let (found, _) = search_text(trimmed, last.vma.start, 10);
        assert_eq!(found, Some(last));

        // A record longer than the whole buffer forces it to grow mid-search.
        let long_name = format!("/{}", "x".repeat(3 * 4096 + 17));
        let text = FIXTURE.replacen("/tmp/pagelab fixture/data file.bin", &long_name, 1);
        let target = smaps::parse_smaps(&text)
            .unwrap()
            .into_iter()
            .find(|r| r.vma.pathname.to_string() == long_name)
            .unwrap();
        let (found, _) = search_text(&text, target.vma.start, 4096);
        assert_eq!(found.as_ref(), Some(&target));
        assert_eq!(find_record(&text, target.vma.start).unwrap(), Some(target));
    }

    #[test]
    fn errors_far_into_the_text_keep_their_line_numbers() {
        // In the last record, well past the one-page buffer: the text before it was dropped
        // and its lines counted.
        let vsyscall = FIXTURE.lines().count() - 24; // the last record's header line
        let last_rss = vsyscall + 4;
        let with_line = |number: usize, replacement: &str| {
            let mut lines: Vec<&str> = FIXTURE.lines().collect();
            lines[number - 1] = replacement;
            lines.join("\n")
        };
        let bad_value = with_line(last_rss, "Rss:                   x kB");
        let reversed = with_line(
            vsyscall,
            "ffffffffff601000-ffffffffff600000 --xp 00000000 00:00 0 [vsyscall]",
        );
        for (text, line) in [(bad_value, last_rss), (reversed, vsyscall)] {
            let (searched, _) = search_result(&text, 0xffff_ffff_ff60_0000, 4096);
            let found = find_record(&text, 0xffff_ffff_ff60_0000);
            assert_eq!(searched.as_ref().unwrap_err().line, line, "{searched:?}");
            assert_eq!(searched, found);
        }
    }

    /// Lines that break the kernel's layout: dashes in field lines, headers that do not
    /// parse, records without their VmFlags line (by deleting it), blank and cut lines.
    const ODD_LINES: &[&str] = &[
        "",
        "-",
        "0-",
        "Rss: -4 kB",
        "Name-With-Dashes: 1",
        "VmFlags: rd wr",
        "Size: x kB",
        "1000-0 rw-p 00000000 00:00 0 ",
        "10000000000000000-1 rw-p 00000000 00:00 0 ",
        "7f0000000000-7f0000001000 rw-p 00000000 00:00 0 ",
        "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall]",
        "garbage-line",
        "\r",
    ];

    /// A stretch of the fixture, with lines deleted and odd lines put in.
    fn smaps_shaped() -> impl Strategy<Value = String> {
        let edit = (any::<Index>(), proptest::option::of(select(ODD_LINES)));
        (any::<Index>(), 0usize..300, vec(edit, 0..8), any::<bool>()).prop_map(
            |(start, n, edits, final_newline)| {
                let all: Vec<&str> = FIXTURE.lines().collect();
                let start = start.index(all.len());
                let mut lines = all[start..(start + n).min(all.len())].to_vec();
                for (at, odd) in edits {
                    match odd {
                        Some(odd) => lines.insert(at.index(lines.len() + 1), odd),
                        None if !lines.is_empty() => {
                            lines.remove(at.index(lines.len()));
                        }
                        None => {}
                    }
                }
                let mut text = lines.join("\n");
                if final_newline && !text.is_empty() {
                    text.push('\n');
                }
                text
            },
        )
    }

    proptest! {
        #![proptest_config(crate::test_support::proptest_config())]

        /// The search over reads and `find_record` over the whole text give the same
        /// record, or the same error on the same line, whatever the text.
        #[test]
        fn searching_while_reading_agrees_with_find_record(
            text in smaps_shaped(),
            picks in vec(any::<Index>(), 1..4),
            arbitrary in any::<usize>(),
            max in 1usize..5000,
        ) {
            let headers: Vec<(usize, usize)> = text
                .lines()
                .filter_map(|l| crate::kernel::maps::header_range(l.as_bytes())?.ok())
                .collect();
            let mut addrs = vec![arbitrary, 0, usize::MAX];
            if !headers.is_empty() {
                for pick in &picks {
                    let (start, end) = *pick.get(&headers);
                    addrs.extend([start, end.wrapping_sub(1), end]);
                }
            }
            for addr in addrs {
                let (searched, _) = search_result(&text, addr, max);
                let found = find_record(&text, addr);
                if text.is_empty() {
                    // Told apart from a first line that is not a header.
                    prop_assert_eq!(searched.unwrap_err().message, "empty smaps text");
                    prop_assert_eq!(found.unwrap_err().line, 1);
                } else {
                    prop_assert_eq!(&searched, &found, "address {:#x}, reads of {}", addr, max);
                }
            }
        }
    }

    #[test]
    fn finds_the_record_of_its_own_stack_variable() {
        let local = 0u8;
        let addr = std::ptr::addr_of!(local) as usize;
        let record = smaps_record(Proc::SelfProcess, addr).unwrap().unwrap();
        assert!(record.vma.contains(addr));
        assert!(record.vma.perms.read && record.vma.perms.write);
    }

    #[test]
    fn an_unmapped_address_has_no_record() {
        assert!(smaps_record(Proc::SelfProcess, 0).unwrap().is_none());
    }

    #[test]
    fn errors_name_the_file() {
        let err = smaps(Proc::Pid(i32::MAX)).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("/proc/{}/smaps", i32::MAX))
        );
    }

    #[test]
    fn maps_and_smaps_agree_on_the_layout() {
        let maps = maps(Proc::SelfProcess).unwrap();
        let smaps = smaps(Proc::SelfProcess).unwrap();
        assert!(!maps.is_empty() && !smaps.is_empty());
        assert!(maps.windows(2).all(|w| w[0].end <= w[1].start));
    }
}
