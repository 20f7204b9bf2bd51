//! The checks of each lesson's exercises. A check calls the student's function on memory or
//! files it prepared (with random sizes, offsets and values, so that no constant can pass),
//! then asks the kernel what happened: /proc/self/maps and smaps, mincore(2), getrusage(2)
//! fault counts, /proc/thread-self/io, the file's contents.
//!
//! Regions the check owns are isolated by guard pages so that they cannot merge with a
//! neighbour, and kept out of transparent huge pages where a page count must be exact.
//!
//! Each lesson's module declares its exercises (`exercises!`, see [`super::declare`]); the
//! list below registers the modules, in lesson order, which is the order of
//! [`super::ALL`].

super::declare::lessons! {
    mmap_anon,
    pages,
    lazy_allocation,
    fork_cow,
    file_mappings,
    shared_file_mapping,
    realtime,
    thp,
    giving_memory_back,
    reclaim,
    posix_shm,
    hugetlb,
    process,
}

use super::outcome::Failure;
use crate::Bytes;
use crate::kernel::procfs::{self, Proc};
use crate::kernel::{MapsLine, Pathname, SmapsField, SmapsRecord, probe};
use crate::memory::{Mapped, Mapping};
use nix::sys::mman::{MapFlags, MmapAdvise, ProtFlags, munmap};
use std::num::NonZeroUsize;
use std::ptr::NonNull;

pub(crate) fn page() -> usize {
    probe::page_size().as_usize()
}

/// `n` pages, in words a student reads at a glance: "3 pages (12 kB)".
pub(crate) fn pages(n: usize) -> String {
    let word = if n == 1 { "page" } else { "pages" };
    format!("{n} {word} ({})", Bytes((n * page()) as u64))
}

/// A small xorshift generator: the checks need unpredictable values, not good statistics.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new() -> Rng {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        let local = 0u8;
        let seed = nanos ^ (u64::from(std::process::id()) << 32) ^ (&local as *const u8 as u64);
        Rng(seed | 1)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Uniform enough in `low..=high`.
    pub(crate) fn between(&mut self, low: usize, high: usize) -> usize {
        low + (self.next() % (high - low + 1) as u64) as usize
    }

    /// `items` in a random order (Fisher-Yates).
    pub(crate) fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.between(0, i));
        }
    }

    /// A byte other than `not`.
    pub(crate) fn byte_except(&mut self, not: u8) -> u8 {
        let b = self.next() as u8;
        if b == not { b.wrapping_add(1) } else { b }
    }

    pub(crate) fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

/// A private read-write anonymous region of `n` pages, fenced by guard pages, and without
/// transparent huge pages (where the kernel has them) so that Rss counts exactly the pages
/// touched.
pub(crate) fn region(n: usize) -> Result<Mapping, Failure> {
    let region = fenced(n)?;
    // EINVAL only means the kernel has no THP, which is what we want anyway.
    let _ = region.advise(MmapAdvise::MADV_NOHUGEPAGE);
    Ok(region)
}

/// Like [`region`], left to the kernel's THP policy.
pub(crate) fn fenced(n: usize) -> Result<Mapping, Failure> {
    Mapping::anonymous_isolated(
        NonZeroUsize::new(n * page()).expect("at least a page"),
        ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
        MapFlags::MAP_PRIVATE,
    )
    .map_err(|e| Failure::setup("map a region", e))
}

/// The region's bytes, for the student's function.
pub(crate) fn bytes_of(region: &mut Mapping) -> &mut [u8] {
    region.bytes_mut()
}

/// The smaps record of the mapping containing `addr`.
pub(crate) fn record_at(addr: usize) -> Result<Option<SmapsRecord>, Failure> {
    procfs::smaps_record(Proc::SelfProcess, addr).map_err(|e| Failure::setup("read smaps", e))
}

/// The smaps record at `addr`, where the check has just found the student's mapping: its
/// absence is the check's failure to read, not the student's.
pub(crate) fn record_found_at(addr: usize) -> Result<SmapsRecord, Failure> {
    record_at(addr)?.ok_or_else(|| Failure::setup("find the mapping in smaps", "gone"))
}

/// A private temporary directory for a check's files, removed when dropped.
pub(crate) fn temp_dir() -> Result<tempfile::TempDir, Failure> {
    tempfile::tempdir().map_err(|e| Failure::setup("make a temporary directory", e))
}

/// The smaps record of a region the check owns (it exists: the check mapped it).
pub(crate) fn record_of(region: &Mapping) -> Result<SmapsRecord, Failure> {
    region.smaps(Proc::SelfProcess).map_err(|e| {
        Failure::new(
            "the region to be mapped as the check made it",
            e.to_string(),
        )
    })
}

/// The maps line containing `addr`, if any.
pub(crate) fn maps_line_at(addr: usize) -> Result<Option<MapsLine>, Failure> {
    Ok(procfs::maps(Proc::SelfProcess)
        .map_err(|e| Failure::setup("read /proc/self/maps", e))?
        .into_iter()
        .find(|line| line.contains(addr)))
}

/// A size field of a record, 0 when absent (the checks ask only for fields every kernel
/// they run on has, and say so where one may be missing).
pub(crate) fn size(record: &SmapsRecord, field: SmapsField) -> Bytes {
    record.size(field).unwrap_or(Bytes(0))
}

/// The record's sizes of these fields, worded as the checks word them ("Rss 64 kB,
/// Private_Dirty 0 kB"), and whether each is the number of bytes wanted.
pub(crate) fn sizes_are<const N: usize>(
    record: &SmapsRecord,
    wanted: [(SmapsField, usize); N],
) -> (bool, String) {
    let mut held = true;
    let mut words = Vec::with_capacity(N);
    for (field, want) in wanted {
        let seen = size(record, field);
        held &= seen.as_usize() == want;
        words.push(format!("{} {seen}", field.name()));
    }
    (held, words.join(", "))
}

/// The first page of `region` whose first byte is no longer the one in `before` (one a
/// page), worded for a failure.
pub(crate) fn changed_page(region: &mut Mapping, before: &[u8]) -> Option<String> {
    let bytes = bytes_of(region);
    let (i, was) = before
        .iter()
        .enumerate()
        .find(|&(i, b)| bytes[i * page()] != *b)?;
    Some(format!(
        "page {i} changed from {was} to {}",
        bytes[i * page()]
    ))
}

/// mincore(2)'s residency of each page of `[addr, addr + len)`; `None` if part of the
/// range is not mapped (ENOMEM).
pub(crate) fn residency(addr: usize, len: usize) -> Option<Vec<bool>> {
    let mut vector = vec![0u8; len.div_ceil(page())];
    // SAFETY: mincore only writes `vector`, one byte per page of the range.
    let rc = unsafe { libc::mincore(addr as *mut libc::c_void, len, vector.as_mut_ptr()) };
    (rc == 0).then(|| vector.iter().map(|b| b & 1 != 0).collect())
}

/// Minor faults so far, of this thread or of reaped children.
pub(crate) fn minor_faults(who: nix::sys::resource::UsageWho) -> Result<i64, Failure> {
    nix::sys::resource::getrusage(who)
        .map(|u| u.minor_page_faults())
        .map_err(|e| Failure::setup("call getrusage", e))
}

/// A mapping the student's function made, unmapped when the check is done with it. Only
/// made once the check has seen that `[start, start + len)` is the student's own: a new
/// anonymous mapping the call made ([`new_anonymous_mapping`]), a mapping of the file or
/// object the check made for the call, from its start (told by its inode), or a huge page
/// mapping new since the call with exactly these bounds. A wrong pointer handed to munmap
/// could tear down memory the tests themselves use: a heap allocation's, and the next
/// malloc anywhere in the process is SIGSEGV.
pub(crate) struct StudentMapping {
    pub start: NonNull<u8>,
    pub len: usize,
}

impl Drop for StudentMapping {
    fn drop(&mut self) {
        // SAFETY: the check verified the range is the student's own mapping (see above);
        // nothing else uses it once the check is done.
        let _ = unsafe { munmap(self.start.cast(), self.len) };
    }
}

/// The maps line at `start` if it maps the file (a `what`: "file", "object") with inode
/// `inode` from offset 0 starting there: then it is the student's mapping of the file,
/// unmapped when the guard returned with it is dropped.
pub(crate) fn file_mapping_at(
    start: NonNull<u8>,
    inode: u64,
    what: &str,
    expected: &str,
) -> Result<(MapsLine, StudentMapping), Failure> {
    let addr = start.as_ptr() as usize;
    let Some(line) = maps_line_at(addr)? else {
        return Err(Failure::new(
            expected,
            format!("nothing is mapped at {addr:#x}"),
        ));
    };
    if line.inode != inode || line.start != addr || line.offset != 0 {
        return Err(Failure::new(
            expected,
            format!("the mapping at {addr:#x} is `{line}`, not the {what}'s (inode {inode})"),
        ));
    }
    let len = line.end - line.start;
    Ok((line, StudentMapping { start, len }))
}

/// /proc/self/maps as the check read it right before it called the student's function:
/// memory the process had then is not a new mapping of the student's, whatever it looks like
/// afterwards (glibc's thread arenas are nameless read-write private mappings too).
///
/// Only the text is read before the call; it is parsed after it, with the maps then
/// ([`MappedBefore::after`]). Parsing allocates, and an allocator that maps small blocks of
/// its own (musl's) then mapped them between the read and the call: right beside the
/// student's new mapping, which the kernel merged with them, so that more than the range
/// looked new and a right solution was refused. Under musl that happened to about one call
/// in two, up to four times in a row, while it parsed first.
pub(crate) struct MappedBefore {
    text: MapsText,
    /// The buffer the maps after the call are read into, mapped before the call so that
    /// reading them maps nothing new.
    spare: Vec<u8>,
}

/// Room for the maps text of a process with a few thousand mappings; a text that does not
/// fit is read again into four times the room.
const MAPS_ROOM: usize = 256 * 1024;

/// /proc/self/maps read into a buffer of its own, and how much of the buffer it filled.
struct MapsText {
    buffer: Vec<u8>,
    len: usize,
}

impl MapsText {
    /// The maps read into `buffer`, or the buffer back where the text does not fit.
    fn read(mut buffer: Vec<u8>, when: &str) -> Result<Result<MapsText, Vec<u8>>, Failure> {
        let fail =
            |e: &dyn std::fmt::Display| Failure::setup(&format!("read /proc/self/maps {when}"), e);
        let mut file = std::fs::File::open("/proc/self/maps").map_err(|e| fail(&e))?;
        let mut len = 0;
        while len < buffer.len() {
            match std::io::Read::read(&mut file, &mut buffer[len..]) {
                Ok(0) => return Ok(Ok(MapsText { buffer, len })),
                Ok(n) => len += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(fail(&e)),
            }
        }
        Ok(Err(buffer))
    }

    fn parse(&self, when: &str) -> Result<Vec<MapsLine>, Failure> {
        let text = String::from_utf8_lossy(&self.buffer[..self.len]);
        crate::kernel::maps::parse_maps(&text)
            .map_err(|e| Failure::setup(&format!("parse /proc/self/maps {when}"), &e))
    }
}

impl MappedBefore {
    /// The maps now, into a buffer and with a spare one as large (both mapped first:
    /// allocated after the text was read, they could land where the student's mapping is
    /// placed next, or beside it).
    pub(crate) fn now() -> Result<MappedBefore, Failure> {
        let mut room = MAPS_ROOM;
        loop {
            let spare = vec![0u8; room];
            match MapsText::read(vec![0u8; room], "before the call")? {
                Ok(text) => return Ok(MappedBefore { text, spare }),
                Err(_) => room *= 4,
            }
        }
    }

    /// The maps before the call and now, after it, read into the spare buffer (a text that
    /// outgrew it is read again into a larger one, which the maps may then show).
    pub(crate) fn after(self) -> Result<BeforeAndAfter, Failure> {
        let mut buffer = self.spare;
        let now = loop {
            match MapsText::read(buffer, "after the call")? {
                Ok(now) => break now,
                Err(small) => buffer = vec![0u8; 4 * small.len()],
            }
        };
        Ok(BeforeAndAfter {
            before: self.text.parse("before the call")?,
            now: now.parse("after the call")?,
            _texts: [self.text, now],
        })
    }
}

/// The maps read right before the student's call and right after it.
pub(crate) struct BeforeAndAfter {
    before: Vec<MapsLine>,
    pub(crate) now: Vec<MapsLine>,
    /// Kept until the check is done: freed at once, an allocator that gives memory back
    /// would unmap them, and the student's next mapping could land where one was.
    _texts: [MapsText; 2],
}

impl BeforeAndAfter {
    /// A mapping that overlapped `[start, end)` before the call and, where it reached
    /// beyond, is still mapped beyond it now: memory the process had and still has, such as
    /// an allocator's arena. A mapping that lay wholly inside the range, or whose rest is
    /// gone, does not count: another thread of the tests may unmap a mapping of its own (a
    /// guard page, a region) while the student's function runs, and the kernel place the
    /// new mapping where it was.
    pub(crate) fn had(&self, start: usize, end: usize) -> Option<&MapsLine> {
        let mapped_now = |from: usize, to: usize| {
            from < to
                && self
                    .now
                    .iter()
                    .any(|line| line.start < to && from < line.end)
        };
        self.before.iter().find(|was| {
            was.start < end
                && start < was.end
                && (mapped_now(was.start, start) || mapped_now(end, was.end))
        })
    }

    /// The part of the VMA `line` around `[start, end)` that no mapping outside the range
    /// covered before the call: what of it is new since, with the range.
    fn new_around(&self, line: &MapsLine, start: usize, end: usize) -> (usize, usize) {
        let below = self
            .before
            .iter()
            .map(|b| b.end)
            .filter(|&e| e <= start)
            .max();
        let above = self
            .before
            .iter()
            .map(|b| b.start)
            .filter(|&s| s >= end)
            .min();
        (
            below.map_or(line.start, |e| e.max(line.start)),
            above.map_or(line.end, |s| s.min(line.end)),
        )
    }
}

/// Why what the student's function returned is not a new mapping of theirs.
pub(crate) struct NotNew {
    /// What the kernel shows, for the failure.
    pub shown: String,
    /// Whether another thread's mapping could be the cause instead: see
    /// [`NEW_MAPPING_ATTEMPTS`].
    another_thread_could: bool,
}

/// Whether `[start, start + len)` (`len` whole pages) is a new private anonymous mapping
/// with `prot` that the student's call made, `maps` being those read right before it and after:
/// page-aligned; inside one nameless anonymous VMA with those permissions (`[heap]`,
/// `[stack]` and other named ones are not new mappings); none of it memory the process had
/// before the call ([`BeforeAndAfter::had`]); and nothing else in that VMA new since the call
/// either. The kernel may have merged the new mapping with a neighbour that was there
/// before, so the check asks for containment, not for equal bounds; but a range inside a
/// larger new mapping is not the student's to unmap: an allocator's new arena, or a block
/// it mapped with its header in front.
///
/// Only then is it the student's, to be unmapped by the [`StudentMapping`] returned; where
/// it is not, nothing is unmapped: leaking is better than unmapping someone else's memory.
pub(crate) fn new_anonymous_mapping(
    maps: &BeforeAndAfter,
    start: NonNull<u8>,
    len: usize,
    prot: ProtFlags,
) -> Result<(MapsLine, StudentMapping), NotNew> {
    let not = |shown: String, another_thread_could| {
        Err(NotNew {
            shown,
            another_thread_could,
        })
    };
    let addr = start.as_ptr() as usize;
    if !addr.is_multiple_of(page()) {
        return not(
            format!("{addr:#x} is not page-aligned: no mapping starts there"),
            false,
        );
    }
    let Some(line) = maps.now.iter().find(|line| line.contains(addr)).cloned() else {
        return not(
            format!("nothing is mapped at {addr:#x} in /proc/self/maps"),
            false,
        );
    };
    let perms = &line.perms;
    let wanted = (
        prot.contains(ProtFlags::PROT_READ),
        prot.contains(ProtFlags::PROT_WRITE),
        prot.contains(ProtFlags::PROT_EXEC),
        false,
    );
    if (perms.read, perms.write, perms.exec, perms.shared) != wanted
        || line.end < addr + len
        || line.inode != 0
    {
        return not(format!("the mapping at {addr:#x} is `{line}`"), false);
    }
    if line.pathname != Pathname::Anonymous {
        return not(
            format!(
                "the mapping at {addr:#x} is `{line}`: a named one of the process, not a new \
                 mapping of yours"
            ),
            false,
        );
    }
    let end = addr + len;
    if let Some(was) = maps.had(addr, end) {
        return not(
            format!(
                "{addr:#x}-{end:#x} lies in `{was}`, mapped before the call and still around \
                 it: memory the process had already (an allocator's?), not a new mapping; the \
                 check leaves it mapped"
            ),
            true,
        );
    }
    let (low, high) = maps.new_around(&line, addr, end);
    if (low, high) != (addr, end) {
        return not(
            format!(
                "the call left {low:#x}-{high:#x} newly mapped (`{line}`), of which you returned \
                 {addr:#x}-{end:#x}: part of a larger new mapping (an allocator's block? or \
                 did you map more than asked, or leave part of it mapped?), which the check \
                 leaves mapped"
            ),
            true,
        );
    }
    Ok((line, StudentMapping { start, len }))
}

/// How many times a check asks the student's function for a new mapping while what it
/// returns is not one only in a way another thread of the tests could cause: that thread may
/// map something right beside the new mapping, which the kernel merges with it (more is new
/// than the range), or unmap a mapping of its own in which the new mapping lands and map
/// something else beside (memory the process had, still mapped around it). An allocator that
/// maps small blocks of its own does both all the time: in the unit tests under musl, about
/// 1 call in 6 of a right solution was refused so, and in 150 runs one call three times in a
/// row; under glibc none in 150 runs. An allocator's memory looks the same every time. Each
/// mapping refused is left mapped.
pub(crate) const NEW_MAPPING_ATTEMPTS: usize = 8;

/// Calls the student's function (`call`, named `asked` in failures) for `len` bytes (whole
/// pages) of a new private anonymous mapping with `prot`, reading the maps right before each
/// call: the mapping as [`new_anonymous_mapping`] finds it, or what the kernel showed
/// instead.
pub(crate) fn call_for_new_mapping(
    asked: &str,
    len: usize,
    prot: ProtFlags,
    mut call: impl FnMut() -> nix::Result<NonNull<u8>>,
) -> Result<Result<(MapsLine, StudentMapping), String>, Failure> {
    let mut attempt = 1;
    loop {
        let before = MappedBefore::now()?;
        let start = call().map_err(|e| Failure::returned_error(asked, e))?;
        match new_anonymous_mapping(&before.after()?, start, len, prot) {
            Ok(found) => return Ok(Ok(found)),
            Err(not) if not.another_thread_could && attempt < NEW_MAPPING_ATTEMPTS => {
                attempt += 1;
            }
            Err(not) if attempt > 1 => {
                return Ok(Err(format!("{} (the last of {attempt} calls)", not.shown)));
            }
            Err(not) => return Ok(Err(not.shown)),
        }
    }
}

/// Right after the student's call on a range the check owns: takes back at once, inaccessible,
/// every page of it that the call unmapped (munmap instead of advice, of all of it or of a
/// part), and fails if there was any. Until then another thread could map something in the
/// hole, which the check would then read and, when its mapping is dropped, unmap under its
/// owner's feet: the soak saw a SIGSEGV that way. The range is taken back page by page with
/// `MAP_FIXED_NOREPLACE`, which fails with EEXIST where a page is still mapped, so nothing
/// is ever replaced: a single call over the whole range failed as soon as one page was still
/// mapped, left the holes open, and the check's drop then unmapped whatever had landed in
/// them. Now every page of the range is the check's again when this returns (barring a
/// mapping another thread made in a hole in the moment between the student's munmap and this
/// call, which nothing here can tell from the check's own page), and the drop unmaps only
/// pages of the check's.
pub(crate) fn reclaim_if_unmapped(addr: usize, len: usize, expected: &str) -> Result<(), Failure> {
    let page = page();
    let mut taken_back = Vec::new();
    for at in (addr..addr + len).step_by(page) {
        // SAFETY: MAP_FIXED_NOREPLACE never replaces a mapping; where the page is free, the
        // new mapping is ours and the check's drop of its mapping unmaps it with the rest.
        let placed = unsafe {
            libc::mmap(
                at as *mut libc::c_void,
                page,
                libc::PROT_NONE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_FIXED_NOREPLACE,
                -1,
                0,
            )
        };
        if placed == libc::MAP_FAILED {
            match nix::errno::Errno::last() {
                // Still mapped: the check's own page.
                nix::errno::Errno::EEXIST => continue,
                errno => {
                    return Err(Failure::setup(
                        &format!("look for the region's page at {at:#x}"),
                        errno,
                    ));
                }
            }
        }
        if placed as usize != at {
            // Before 4.17 the flag is unknown and the address only a hint, which the kernel
            // takes where the page is free: placed elsewhere, the page is still mapped.
            // SAFETY: the page just mapped, nobody else's.
            unsafe { libc::munmap(placed, page) };
            continue;
        }
        taken_back.push((at - addr) / page);
    }
    let Some(&first) = taken_back.first() else {
        return Ok(());
    };
    let n = len.div_ceil(page);
    let shown = if taken_back.len() == n {
        "the region is no longer mapped: munmap gives the address space back as well".to_owned()
    } else {
        format!(
            "{} of the region's {n} pages (the first: page {first}) no longer mapped: munmap \
             gives the address space back as well",
            taken_back.len()
        )
    };
    Err(Failure::new(expected, shown))
}

/// Keeps the calling thread on the CPU it runs on until dropped. New pages reach the kernel's
/// LRU lists through per-CPU batches, and madvise(MADV_COLD, MADV_PAGEOUT) drains only its
/// own CPU's batch: pages still in another CPU's batch are left alone. A check that writes
/// pages and then has the student advise them pins from the first write to the call.
pub(crate) fn pin_to_this_cpu() -> Result<crate::experiments::support::PinnedToThisCpu, Failure> {
    crate::experiments::support::PinnedToThisCpu::new()
        .map_err(|e| Failure::setup("keep this thread on one CPU", e))
}

/// The student's new shared mapping at `start` of the file at `path` (a `what`: "file",
/// "object"), with one byte written through it. The file must hold `len` bytes, checked
/// before anything touches the mapping (a page past the end of a file is SIGBUS), and the
/// mapping must be `rw-s`, from offset 0, and cover them; the byte is random but for 0, at
/// a random offset, for the caller to find in the file.
pub(crate) fn write_through_shared(
    path: &std::path::Path,
    what: &str,
    start: NonNull<u8>,
    len: usize,
    expected: &str,
    rng: &mut Rng,
) -> Result<WrittenThrough, Failure> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).map_err(|e| {
        Failure::new(
            expected,
            format!("{}: {e} (no {what} of that name)", path.display()),
        )
    })?;
    if meta.len() != len as u64 {
        return Err(Failure::new(
            expected,
            format!("the {what} holds {} bytes", meta.len()),
        ));
    }
    let (line, unmap) = file_mapping_at(start, meta.ino(), what, expected)?;
    let perms = line.perms;
    if !(perms.read && perms.write && perms.shared) || line.end - line.start < page_round(len) {
        return Err(Failure::new(expected, format!("`{line}`")));
    }
    let at = rng.between(0, len - 1);
    let value = rng.byte_except(0);
    // SAFETY: inside the mapping and inside the file, both checked above.
    unsafe { std::ptr::write_volatile(start.as_ptr().add(at), value) };
    Ok(WrittenThrough {
        line,
        _unmap: unmap,
        inode: meta.ino(),
        at,
        value,
    })
}

/// What [`write_through_shared`] found and wrote; the mapping is unmapped when it is
/// dropped.
pub(crate) struct WrittenThrough {
    pub line: MapsLine,
    _unmap: StudentMapping,
    /// The file's inode.
    pub inode: u64,
    /// Where the byte was written, from the start of the file, and the byte.
    pub at: usize,
    pub value: u8,
}

/// Rounds up to whole pages.
pub(crate) fn page_round(len: usize) -> usize {
    len.div_ceil(page()) * page()
}

// BEGIN FAKES
/// What the fakes of several lessons share. Stripped from the handout with the fakes.
pub(crate) mod fake {
    use nix::sys::mman::{MapFlags, MmapAdvise, ProtFlags, madvise, mmap_anonymous};
    use std::num::NonZeroUsize;
    use std::ptr::NonNull;

    pub(crate) fn rw() -> ProtFlags {
        ProtFlags::PROT_READ | ProtFlags::PROT_WRITE
    }

    /// A private read-write mapping the kernel places, and nothing more; never unmapped.
    pub(crate) fn plain_mmap(len: NonZeroUsize) -> nix::Result<NonNull<u8>> {
        // SAFETY: without MAP_FIXED the kernel picks a free range: nothing is replaced.
        unsafe { mmap_anonymous(None, len, rw(), MapFlags::MAP_PRIVATE) }.map(NonNull::cast)
    }

    pub(crate) fn advise(region: &[u8], advice: MmapAdvise) -> nix::Result<()> {
        let len = region.len();
        // SAFETY: advice about the check's own region, which the slice covers.
        unsafe { madvise(NonNull::from(region).cast(), len, advice) }
    }

    /// Unmaps the check's region under it, as a wrong solution would: the check must
    /// notice before it reads the region again, and take the range back before anything
    /// else can land there.
    pub(crate) fn unmap(region: &[u8]) -> nix::Result<()> {
        let len = region.len();
        // SAFETY: the region is the check's own mapping. Nothing reads through `region`
        // after the munmap, but the slice is still a live argument while its memory goes
        // away, which Rust's rules for references do not promise to allow: the fake takes
        // that risk because a student's wrong solution, with the same signature, can do
        // the same, and the check must be seen to catch it.
        unsafe { nix::sys::mman::munmap(NonNull::from(region).cast(), len) }
    }

    /// `len` bytes from the global allocator at `align` (written, a byte a page, if
    /// `touched`), never freed: what a student who knows `alloc` better than `mmap` returns.
    /// The check must see it is not a mapping of the student's, and leave it mapped.
    pub(crate) fn allocated(len: usize, align: usize, touched: bool) -> nix::Result<NonNull<u8>> {
        let layout = std::alloc::Layout::from_size_align(len, align)
            .map_err(|_| nix::errno::Errno::EINVAL)?;
        // SAFETY: a layout of non-zero size (the checks ask for a byte at least); the block
        // is leaked, as the check must leave it.
        let block =
            NonNull::new(unsafe { std::alloc::alloc(layout) }).ok_or(nix::errno::Errno::ENOMEM)?;
        if touched {
            for offset in (0..len).step_by(super::page()) {
                // SAFETY: inside the block just allocated.
                unsafe { block.as_ptr().add(offset).write_volatile(1) };
            }
        }
        Ok(block)
    }

    /// Unmaps the second page of the check's region (of three pages or more), as a wrong
    /// solution unmapping part of it would: the check must take the hole back, and only it.
    pub(crate) fn unmap_a_page(region: &[u8]) -> nix::Result<()> {
        let page = super::page();
        if region.len() < 3 * page {
            return Err(nix::errno::Errno::EINVAL);
        }
        let second = NonNull::from(&region[page]).cast();
        // SAFETY: a page of the check's own mapping, as in `unmap`; nothing reads it after.
        unsafe { nix::sys::mman::munmap(second, page) }
    }

    /// Maps a new private read-write anonymous mapping over the check's region
    /// (MAP_FIXED), as a wrong solution would: the same bounds, nothing resident, zeros.
    pub(crate) fn map_over(region: &mut [u8]) -> nix::Result<()> {
        let at = NonZeroUsize::new(region.as_ptr() as usize).ok_or(nix::errno::Errno::EINVAL)?;
        let len = NonZeroUsize::new(region.len()).ok_or(nix::errno::Errno::EINVAL)?;
        let flags = MapFlags::MAP_PRIVATE | MapFlags::MAP_FIXED;
        // SAFETY: replaces the check's own region and nothing else (the slice covers it);
        // its new pages are readable and writable as the slice says, and read as zeros.
        unsafe { mmap_anonymous(Some(at), len, rw(), flags) }.map(drop)
    }
}
// END FAKES

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::VmFlag;
    use std::sync::{Mutex, MutexGuard, PoisonError};

    /// These tests map, allocate and unmap memory and read the maps around it: one at a time,
    /// so that none of them frees memory (an allocator's block, a mapping) between another's
    /// reading of the maps and its call, which the check would then see as memory the
    /// process had.
    fn one_at_a_time() -> MutexGuard<'static, ()> {
        static RAW_MEMORY: Mutex<()> = Mutex::new(());
        RAW_MEMORY.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Another thread may map a page of its own in the hole before the check looks (an
    /// allocator that maps small blocks does so all the time: musl's, 1 run in 100 here):
    /// the check cannot tell it from the region's, so the test tries again on a new region
    /// and leaves the old one mapped, the foreign page in it.
    #[test]
    fn a_page_unmapped_in_the_region_is_taken_back_and_fails() {
        let _one = one_at_a_time();
        for _ in 0..NEW_MAPPING_ATTEMPTS {
            let mapping = region(4).unwrap();
            let hole = mapping.addr() + 2 * page();
            // SAFETY: a page of the test's own region, which nothing reads until it is back.
            unsafe { munmap(NonNull::new(hole as *mut libc::c_void).unwrap(), page()) }.unwrap();
            let Err(failure) = reclaim_if_unmapped(mapping.addr(), mapping.mapped_len(), "kept")
            else {
                std::mem::forget(mapping);
                continue;
            };
            assert_eq!(
                failure.showed,
                "1 of the region's 4 pages (the first: page 2) no longer mapped: munmap gives \
                 the address space back as well"
            );
            let line = maps_line_at(hole)
                .unwrap()
                .expect("the hole is mapped again");
            assert!(!line.perms.read && !line.perms.write, "`{line}`");
            let kept = maps_line_at(mapping.addr())
                .unwrap()
                .expect("the region's first page");
            assert!(
                kept.perms.read && kept.perms.write && kept.end == hole,
                "`{kept}`"
            );
            return;
        }
        panic!("another thread took the hole first, {NEW_MAPPING_ATTEMPTS} times in a row");
    }

    fn rw() -> ProtFlags {
        ProtFlags::PROT_READ | ProtFlags::PROT_WRITE
    }

    /// A private read-write mapping the kernel places (the fakes' `plain_mmap`, which a
    /// handout has not).
    fn plain_mmap(len: usize) -> nix::Result<NonNull<u8>> {
        let len = NonZeroUsize::new(len).expect("len >= 1");
        // SAFETY: without MAP_FIXED the kernel picks a free range: nothing is replaced.
        unsafe { nix::sys::mman::mmap_anonymous(None, len, rw(), MapFlags::MAP_PRIVATE) }
            .map(NonNull::cast)
    }

    #[test]
    fn a_heap_allocation_is_refused_and_left_mapped() {
        let _one = one_at_a_time();
        let len = 4 * page();
        let layout = std::alloc::Layout::from_size_align(len, 8 * page()).unwrap();
        let before = MappedBefore::now().unwrap();
        // SAFETY: a layout of non-zero size; freed below.
        let block = NonNull::new(unsafe { std::alloc::alloc(layout) }).unwrap();
        match new_anonymous_mapping(&before.after().unwrap(), block, len, rw()) {
            Ok((line, _)) => panic!("a heap block taken for a new mapping: `{line}`"),
            Err(not) => assert!(not.another_thread_could, "{}", not.shown),
        }
        // Still the allocator's: writable, and freed as any block (SIGSEGV if unmapped).
        // SAFETY: the block allocated above, `len` bytes.
        unsafe {
            block.as_ptr().write_bytes(1, len);
            std::alloc::dealloc(block.as_ptr(), layout);
        }
    }

    #[test]
    fn a_new_mapping_is_taken_and_unmapped_when_dropped() {
        let _one = one_at_a_time();
        let len = 3 * page();
        let call = || plain_mmap(len);
        let (line, mapping) = call_for_new_mapping("plain_mmap", len, rw(), call)
            .unwrap()
            .unwrap();
        let addr = mapping.start.as_ptr() as usize;
        assert!(line.contains(addr) && line.end >= addr + len, "`{line}`");
        // Marked read-only and MADV_DONTDUMP, as nothing else of this binary is, so that it
        // is known again: another thread may map its own memory in the range as soon as it
        // is free.
        // SAFETY: the mapping the call made, which nothing else uses.
        unsafe {
            nix::sys::mman::mprotect(mapping.start.cast(), len, ProtFlags::PROT_READ).unwrap();
            nix::sys::mman::madvise(mapping.start.cast(), len, MmapAdvise::MADV_DONTDUMP).unwrap();
        }
        drop(mapping);
        if let Some(there) = record_at(addr).unwrap() {
            let flags = there.flags_text();
            let ours = there.has_flag(VmFlag::DontDump) && !there.has_flag(VmFlag::Writable);
            assert!(!ours, "still mapped: `{}` {flags}", there.vma);
        }
    }

    /// Other tests of this binary map and unmap beside it as the checks' own callers do, so
    /// a try may be refused for a reason another thread caused (the new mapping landed where
    /// one of theirs was): tried again then, as `call_for_new_mapping` does, never accepted.
    #[test]
    fn a_range_inside_a_larger_new_mapping_is_refused() {
        let _one = one_at_a_time();
        let len = 2 * page();
        let mut shown = Vec::new();
        for _ in 0..NEW_MAPPING_ATTEMPTS {
            let before = MappedBefore::now().unwrap();
            let larger = plain_mmap(3 * len).unwrap();
            // SAFETY: inside the mapping just made.
            let inside = unsafe { larger.add(len) };
            let found = new_anonymous_mapping(&before.after().unwrap(), inside, len, rw());
            // SAFETY: the mapping made above, nobody else's.
            unsafe { munmap(larger.cast(), 3 * len) }.unwrap();
            match found {
                Ok((line, _)) => panic!("part of a larger mapping taken for one: `{line}`"),
                Err(not) if not.shown.contains("part of a larger new mapping") => return,
                Err(not) if not.another_thread_could => shown.push(not.shown),
                Err(not) => panic!("refused for another reason: {}", not.shown),
            }
        }
        panic!("never refused as part of a larger mapping: {shown:#?}");
    }

    #[test]
    fn a_region_kept_whole_is_left_as_it_is() {
        let _one = one_at_a_time();
        let mapping = region(3).unwrap();
        reclaim_if_unmapped(mapping.addr(), mapping.mapped_len(), "kept").unwrap();
        let line = maps_line_at(mapping.addr()).unwrap().unwrap();
        assert_eq!(
            (line.start, line.end),
            (mapping.addr(), mapping.addr() + mapping.mapped_len())
        );
    }
}
