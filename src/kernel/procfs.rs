//! The thin layer that reads `/proc`. Everything it reads is parsed by the pure parsers.
//!
//! The kernel generates maps and smaps text lazily, record by record, as the reader asks
//! for it, so the reader must not change its own address space while reading: an
//! allocation can grow the heap, or place a new mapping right next to the one being
//! measured where the kernel merges the two into one VMA. All reads therefore go into a
//! buffer mapped before the file is opened, fenced by inaccessible pages so it can never
//! merge with a neighbour, and the text is parsed only after reading stops.

use crate::kernel::maps::{header_range, parse_error};
use crate::kernel::smaps::{Scan, parse_one_record, scan_header};
use crate::kernel::{MapsLine, ParseError, SmapsRecord, maps, smaps};
use std::fs::File;
use std::io::{self, Read};
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
    fn path(self, file: &str) -> PathBuf {
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

/// How much to ask the kernel for per read() of a whole file: big enough that the syscall
/// count stays low.
const CHUNK: usize = 64 * 1024;

/// A search's first read is small, since the kernel generates all the text a read asks for
/// and the record wanted is often among the first; each further read asks for twice as much,
/// up to [`MAX_CHUNK`], so that a record near the end costs few system calls (each read
/// takes the mmap lock and finds its place among the VMAs again).
const FIRST_CHUNK: usize = 16 * 1024;
const MAX_CHUNK: usize = 512 * 1024;

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
        let end = len.saturating_add(CHUNK).min(buf.cap);
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

/// Reads smaps text from `src` until it holds the whole record of the VMA containing `addr`,
/// and returns that record's text with its first line number. Reads ask for `chunk` bytes,
/// doubling up to `max_chunk`. Reading stops at the header after the record, at the first
/// VMA past `addr`, or at EOF.
fn search<R: Read>(
    src: &mut R,
    buf: &mut FencedBuf,
    mut chunk: usize,
    max_chunk: usize,
    addr: usize,
) -> Result<Option<(String, usize)>, SearchError> {
    let mut len = 0; // bytes held in buf
    let mut scanned = 0; // buf[..scanned] is complete lines already looked at
    let mut line_no = 1; // file line number of the line starting at `scanned`
    // Once found: where the wanted record starts in buf, and its file line number.
    let mut found: Option<(usize, usize)> = None;
    let mut eof = false;
    // `len` alone cannot tell an empty file: scanned lines are dropped as the search goes.
    let mut read_total = 0usize;

    let record_end = loop {
        // Look at each complete line not yet looked at; at EOF the last line needs no
        // newline.
        let mut end_of_record = None;
        // One iterator over the newlines of what was read: a memchr call per line would cost
        // more in setup than in search, at ~25 short lines per record.
        let base = scanned;
        let mut newlines = memchr::memchr_iter(b'\n', &buf.slice()[base..len]).map(|i| base + i);
        while scanned < len {
            let line_end = match newlines.next() {
                Some(i) => i,
                None if eof => len,
                None => break,
            };
            let line = &buf.slice()[scanned..line_end];
            if line_no == 1 && header_range(line).is_none() {
                let text = String::from_utf8_lossy(line);
                return Err(SearchError::Parse(parse_error(
                    1,
                    "expected a maps header line first",
                    &text,
                )));
            }
            // Field lines start with an upper-case letter and headers with a lower-case hex
            // digit: one byte rules out every field line the kernel prints.
            let scan = match line.first() {
                Some(b) if b.is_ascii_uppercase() => None,
                _ => scan_header(line, addr, line_no),
            };
            if let Some(scan) = scan {
                if found.is_some() {
                    end_of_record = Some(scanned);
                    break;
                }
                match scan.map_err(SearchError::Parse)? {
                    Scan::Before => {}
                    Scan::Found => found = Some((scanned, line_no)),
                    Scan::Past => return Ok(None),
                }
            }
            scanned = line_end.saturating_add(1).min(len);
            line_no += 1;
        }
        if let Some(end) = end_of_record {
            break end;
        }
        if eof {
            if read_total == 0 {
                let empty = parse_error(1, "empty smaps text", "");
                return Err(SearchError::Parse(empty));
            }
            match found {
                Some(_) => break len,
                None => return Ok(None),
            }
        }

        // Drop what can no longer matter: everything before the wanted record once it is
        // found, else every line already looked at.
        let keep_from = found.map_or(scanned, |(start, _)| start);
        if keep_from > 0 {
            buf.bytes().copy_within(keep_from..len, 0);
            len -= keep_from;
            scanned -= keep_from;
            found = found.map(|(start, line)| (start - keep_from, line));
        }
        if len == buf.cap {
            // One record (or one line) longer than the whole buffer: only a pathological
            // text gets here, so the rare remap mid-read is acceptable.
            *buf = buf.grown(len).map_err(SearchError::Io)?;
        }
        let end = len.saturating_add(chunk).min(buf.cap);
        let n = read_some(src, &mut buf.bytes()[len..end]).map_err(SearchError::Io)?;
        chunk = chunk.saturating_mul(2).min(max_chunk);
        eof = n == 0;
        len += n;
        read_total = read_total.saturating_add(n);
    };
    Ok(found.map(|(start, first_line)| {
        let text = String::from_utf8_lossy(&buf.slice()[start..record_end]).into_owned();
        (text, first_line)
    }))
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
    // Two of the largest reads: the unconsumed tail of one read plus the next read always
    // fit, since everything before the current record is dropped as soon as it is known to
    // be irrelevant and one record is far smaller than a read. (Less than a huge page, so no
    // THP policy turns the buffer's first touch into zeroing 2 MiB.)
    let mut buf = match SPARE.take() {
        Some(buf) => buf,
        None => FencedBuf::new(2 * MAX_CHUNK).map_err(io_err)?,
    };
    let mut file = File::open(&path).map_err(io_err)?;
    let found = search(&mut file, &mut buf, FIRST_CHUNK, MAX_CHUNK, addr);
    // A buffer grown for a pathological record (growing doubles it) is not worth keeping.
    if buf.cap < 4 * MAX_CHUNK {
        SPARE.set(Some(buf));
    }
    // Closing before parsing: the kernel makes no more text once the file is closed.
    drop(file);
    match found {
        Ok(Some((text, first_line))) => parse_one_record(&text, first_line)
            .map(Some)
            .map_err(parse_err),
        Ok(None) => Ok(None),
        Err(SearchError::Io(e)) => Err(io_err(e)),
        Err(SearchError::Parse(e)) => Err(parse_err(e)),
    }
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

    const FIXTURE: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/smaps/linux-6.18-live.txt"
    ));

    /// Hands out its text in pieces of varying, awkward sizes, and counts what was taken.
    struct Trickle<'a> {
        text: &'a [u8],
        pos: usize,
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, into: &mut [u8]) -> io::Result<usize> {
            self.step = self.step * 7 % 61 + 1;
            let n = self.step.min(into.len()).min(self.text.len() - self.pos);
            into[..n].copy_from_slice(&self.text[self.pos..self.pos + n]);
            self.pos += n;
            Ok(n)
        }
    }

    fn search_text(text: &str, addr: usize, chunk: usize) -> (Option<SmapsRecord>, usize) {
        let mut src = Trickle {
            text: text.as_bytes(),
            pos: 0,
            step: 1,
        };
        let mut buf = FencedBuf::new(1).unwrap();
        let found = match search(&mut src, &mut buf, chunk, chunk, addr) {
            Ok(found) => found,
            Err(_) => panic!("search failed at {addr:x}"),
        };
        let record = found.map(|(text, line)| parse_one_record(&text, line).unwrap());
        (record, src.pos)
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
                    assert!(consumed <= next_header + chunk.max(61) + next.vma.to_string().len());
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
