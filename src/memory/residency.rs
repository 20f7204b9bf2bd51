//! Which pages of a mapping are in RAM, page by page: the picture behind `Rss`.
//!
//! smaps counts; this module looks. `mincore(2)` tells, for this process's own mappings,
//! which pages are resident (for file mappings: in the page cache, mapped here or not).
//! `/proc/PID/pagemap` tells more, for any process we may read: whether each page is
//! present in the page table, swapped, mapped by this process alone, and, to a process with
//! CAP_SYS_ADMIN, the physical frame number (Documentation/admin-guide/mm/pagemap.rst).
//! Frame numbers show which pages two processes share (copy-on-write) and which runs of
//! pages are one folio: a huge page is physically contiguous and aligned to its size.
//!
//! Reading is separated from classifying ([`classify`] is pure), so the classification can
//! be tested on pagemap entries made up for any kernel.

use crate::Bytes;
use crate::kernel::SmapsField;
use crate::kernel::SmapsRecord;
use crate::kernel::probe;
use nix::unistd::{Pid, getpid};
use std::os::unix::fs::FileExt;
use std::sync::OnceLock;

/// pagemap entry bits (Documentation/admin-guide/mm/pagemap.rst).
const PM_PFN_MASK: u64 = (1 << 55) - 1;
const PM_EXCLUSIVE: u64 = 1 << 56;
const PM_FILE_OR_SHARED_ANON: u64 = 1 << 61;
const PM_SWAPPED: u64 = 1 << 62;
const PM_PRESENT: u64 = 1 << 63;

/// Mappings larger than this many pages are not read page by page: pagemap takes 8 bytes a
/// page, and the lessons' huge reservations (more than RAM and swap) would cost gigabytes.
pub const MAX_PAGES: usize = 1 << 18;

/// What one page of a mapping is, as mincore and pagemap tell it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PageState {
    /// Not in RAM for this mapping: never touched, or given back.
    Absent,
    /// Not mapped here, but in the page cache (mincore says resident): a file page.
    Cached,
    /// Swapped out.
    Swapped,
    /// Resident and mapped by this process alone.
    Own,
    /// Resident and mapped by another process (or mapping) too: shared until written.
    Shared,
    /// The shared zero page: mapped for a read of untouched memory, counted in no `Rss`.
    Zero,
}

impl PageState {
    /// In RAM and counted in this mapping's `Rss`.
    pub fn is_resident(self) -> bool {
        matches!(self, PageState::Own | PageState::Shared)
    }

    /// What a reader sees in the legend.
    pub fn words(self) -> &'static str {
        match self {
            PageState::Absent => "not resident",
            PageState::Cached => "in the page cache, not mapped here",
            PageState::Swapped => "swapped out",
            PageState::Own => "resident, mapped by this process only",
            PageState::Shared => "resident, mapped by another process too",
            PageState::Zero => "the zero page (counted in no Rss)",
        }
    }

    /// A short class name, for the book's SVG and CSS.
    pub fn class(self) -> &'static str {
        match self {
            PageState::Absent => "absent",
            PageState::Cached => "cached",
            PageState::Swapped => "swapped",
            PageState::Own => "own",
            PageState::Shared => "shared",
            PageState::Zero => "zero",
        }
    }
}

/// A run of pages in one state: one folio (a huge page or a multi-size THP), or base pages
/// (physically consecutive ones, where frame numbers are visible).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Index of its first page in the mapping.
    pub first: usize,
    pub pages: usize,
    pub state: PageState,
    /// The run is one folio larger than a page, drawn as one block.
    pub folio: bool,
    /// Frame number of its first page; the others follow it (the run is cut where they don't).
    pub frame: Option<u64>,
}

/// Whether pagemap showed physical frame numbers to this process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Frames {
    Visible,
    /// Why not, in words.
    Hidden(String),
}

/// A mapping's pages, as runs covering it from its first page to its last.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResidencyMap {
    /// The mapping's first address.
    pub start: usize,
    pub page_size: usize,
    pub pages: usize,
    pub segments: Vec<Segment>,
    pub frames: Frames,
    /// What was read, in words ("mincore and /proc/self/pagemap").
    pub read_from: String,
    /// Pages in a PMD-sized huge page, where the kernel has THP.
    pub huge_page_pages: Option<usize>,
}

/// A subject's residency: its map, or why there is none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Residency {
    Map(ResidencyMap),
    Unavailable(String),
}

impl Residency {
    pub fn map(&self) -> Option<&ResidencyMap> {
        match self {
            Residency::Map(map) => Some(map),
            Residency::Unavailable(_) => None,
        }
    }
}

impl ResidencyMap {
    /// Pages counted in `Rss` (own and shared).
    pub fn resident_pages(&self) -> usize {
        self.segments
            .iter()
            .filter(|s| s.state.is_resident())
            .map(|s| s.pages)
            .sum()
    }

    /// Pages in `state`.
    pub fn pages_in(&self, state: PageState) -> usize {
        self.segments
            .iter()
            .filter(|s| s.state == state)
            .map(|s| s.pages)
            .sum()
    }

    /// The folios drawn as blocks: (first page, pages) of each.
    pub fn folios(&self) -> impl Iterator<Item = &Segment> {
        self.segments.iter().filter(|s| s.folio)
    }

    /// How many cells a picture of it has: one per folio, one per page outside folios.
    pub fn cells(&self) -> usize {
        self.segments
            .iter()
            .map(|s| if s.folio { 1 } else { s.pages })
            .sum()
    }

    /// The page's state.
    pub fn state_of(&self, page: usize) -> PageState {
        self.segment_of(page).map_or(PageState::Absent, |s| s.state)
    }

    /// The physical frame behind `page`, where frame numbers are visible and it is present.
    pub fn frame_of(&self, page: usize) -> Option<u64> {
        let segment = self.segment_of(page)?;
        segment
            .frame
            .map(|first| first + (page - segment.first) as u64)
    }

    fn segment_of(&self, page: usize) -> Option<&Segment> {
        self.segments
            .iter()
            .find(|s| (s.first..s.first + s.pages).contains(&page))
    }

    /// A sentence saying what the map shows: "1 of 4096 pages resident".
    pub fn summary(&self) -> String {
        let mut parts = vec![format!(
            "{} of {} {} resident",
            self.resident_pages(),
            self.pages,
            if self.pages == 1 { "page" } else { "pages" }
        )];
        let huge = |s: &&Segment| Some(s.pages) == self.huge_page_pages;
        let plural =
            |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
        let huge_pages = self.folios().filter(huge).count();
        if huge_pages > 0 {
            parts.push(plural(huge_pages, "huge page", "huge pages"));
        }
        let folios: Vec<&Segment> = self.folios().filter(|s| !huge(s)).collect();
        if !folios.is_empty() {
            let pages: usize = folios.iter().map(|s| s.pages).sum();
            parts.push(format!(
                "{} ({pages} pages)",
                plural(folios.len(), "multi-size folio", "multi-size folios")
            ));
        }
        for (state, words) in [
            (PageState::Shared, "shared with another process"),
            (
                PageState::Zero,
                "mapped to the zero page (counted in no Rss)",
            ),
            (PageState::Cached, "in the page cache but not mapped here"),
            (PageState::Swapped, "swapped out"),
        ] {
            let n = self.pages_in(state);
            if n > 0 {
                parts.push(format!("{n} {words}"));
            }
        }
        parts.join(", ")
    }
}

/// One cell of a strip that folds many pages into few cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fold {
    pub pages: usize,
    /// Of them, counted in `Rss`.
    pub resident: usize,
    /// The state most of its non-absent pages are in (`Absent` where all are).
    pub state: PageState,
    /// Some of its pages belong to a folio larger than a page.
    pub folio: bool,
}

const STATES: [PageState; 6] = [
    PageState::Absent,
    PageState::Cached,
    PageState::Swapped,
    PageState::Own,
    PageState::Shared,
    PageState::Zero,
];

impl ResidencyMap {
    /// The map folded into at most `max_cells` cells of equal page counts (the last may
    /// hold fewer): a 16 MiB mapping of 4 kB pages in 64 cells of 64 pages.
    pub fn fold(&self, max_cells: usize) -> Vec<Fold> {
        self.fold_by(self.pages.div_ceil(max_cells.max(1)))
    }

    /// The map folded into cells of `per` pages each (the last may hold fewer).
    pub fn fold_by(&self, per: usize) -> Vec<Fold> {
        let per = per.max(1);
        let cells = self.pages.div_ceil(per);
        let mut counts = vec![[0usize; 6]; cells];
        let mut folio = vec![false; cells];
        for segment in &self.segments {
            let state = STATES.iter().position(|s| *s == segment.state).unwrap_or(0);
            let mut page = segment.first;
            let end = segment.first + segment.pages;
            while page < end {
                let cell = page / per;
                let upto = end.min((cell + 1) * per);
                counts[cell][state] += upto - page;
                folio[cell] |= segment.folio;
                page = upto;
            }
        }
        counts
            .iter()
            .zip(folio)
            .map(|(count, folio)| {
                let busiest = (1..6).filter(|&i| count[i] > 0).max_by_key(|&i| count[i]);
                Fold {
                    pages: count.iter().sum(),
                    resident: count[3] + count[4],
                    state: busiest.map_or(PageState::Absent, |i| STATES[i]),
                    folio,
                }
            })
            .collect()
    }
}

/// What was read of one mapping, before classifying.
pub struct Raw<'a> {
    pub start: usize,
    pub page_size: usize,
    /// One pagemap entry per page.
    pub pagemap: &'a [u64],
    /// One mincore byte per page, for this process's own mappings.
    pub mincore: Option<&'a [u8]>,
    pub frames: Frames,
    /// The zero page's frame, where frame numbers are visible.
    pub zero_frame: Option<u64>,
    /// Folio sizes the kernel may use, in pages, largest first (THP sizes from sysfs).
    pub folio_sizes: &'a [usize],
}

/// Classifies every page and cuts the mapping into runs. Pure.
pub fn classify(raw: &Raw<'_>, record: &SmapsRecord) -> ResidencyMap {
    let shares = record
        .size(SmapsField::SharedClean)
        .unwrap_or_default()
        .get()
        + record
            .size(SmapsField::SharedDirty)
            .unwrap_or_default()
            .get();
    let visible = raw.frames == Frames::Visible;
    let pages: Vec<(PageState, Option<u64>)> = raw
        .pagemap
        .iter()
        .enumerate()
        .map(|(i, &entry)| {
            let cached = raw
                .mincore
                .is_some_and(|v| v.get(i).is_some_and(|b| b & 1 == 1));
            page_state(entry, cached, visible, raw.zero_frame, shares == 0)
        })
        .collect();
    let huge_budget = huge_page_budget(raw, record);
    let segments = segments(raw, record, &pages, huge_budget);
    ResidencyMap {
        start: raw.start,
        page_size: raw.page_size,
        pages: pages.len(),
        segments,
        frames: raw.frames.clone(),
        read_from: String::new(),
        huge_page_pages: raw.folio_sizes.first().copied(),
    }
}

/// One page's state and frame. A present anonymous page that another mapping also maps is
/// the zero page where its frame is the zero page's, or, without frame numbers, where smaps
/// counts no shared page at all (the zero page is counted nowhere).
fn page_state(
    entry: u64,
    cached: bool,
    frames_visible: bool,
    zero_frame: Option<u64>,
    nothing_shared: bool,
) -> (PageState, Option<u64>) {
    if entry & PM_PRESENT == 0 {
        let state = if entry & PM_SWAPPED != 0 {
            PageState::Swapped
        } else if cached {
            PageState::Cached
        } else {
            PageState::Absent
        };
        return (state, None);
    }
    let frame = (frames_visible && entry & PM_PFN_MASK != 0).then_some(entry & PM_PFN_MASK);
    let state = if entry & PM_EXCLUSIVE != 0 {
        PageState::Own
    } else if entry & PM_FILE_OR_SHARED_ANON == 0
        && match (frame, zero_frame) {
            (Some(frame), Some(zero)) => frame == zero,
            _ => nothing_shared,
        }
    {
        PageState::Zero
    } else {
        PageState::Shared
    };
    (state, frame)
}

/// How many PMD-sized huge pages smaps says the mapping has (`AnonHugePages`), which is
/// what tells huge pages apart where frame numbers are hidden.
fn huge_page_budget(raw: &Raw<'_>, record: &SmapsRecord) -> usize {
    let pmd_pages = raw.folio_sizes.first().copied().unwrap_or(0);
    let anon_huge = record
        .size(SmapsField::AnonHugePages)
        .unwrap_or_default()
        .as_usize();
    if pmd_pages == 0 {
        0
    } else {
        anon_huge / (pmd_pages * raw.page_size)
    }
}

/// Cuts classified pages into runs: a folio where one is found, else runs of one state
/// (and consecutive frames, where frames are known).
fn segments(
    raw: &Raw<'_>,
    record: &SmapsRecord,
    pages: &[(PageState, Option<u64>)],
    mut huge_budget: usize,
) -> Vec<Segment> {
    // A VMA the kernel does not count eligible holds no THP: don't guess folios in it.
    let may_hold_folios = record.field(SmapsField::ThpEligible)
        != Some(crate::kernel::FieldValue::Number(0))
        || huge_budget > 0;
    let first_page = raw.start / raw.page_size.max(1);
    let mut out: Vec<Segment> = Vec::new();
    let mut i = 0;
    while i < pages.len() {
        let folio = may_hold_folios
            .then(|| folio_at(raw, pages, first_page, i, &mut huge_budget))
            .flatten();
        if let Some(size) = folio {
            let state = if pages[i..i + size]
                .iter()
                .any(|(s, _)| *s == PageState::Shared)
            {
                PageState::Shared
            } else {
                pages[i].0
            };
            out.push(Segment {
                first: i,
                pages: size,
                state,
                folio: true,
                frame: pages[i].1,
            });
            i += size;
            continue;
        }
        let (state, frame) = pages[i];
        match out.last_mut() {
            Some(last)
                if !last.folio
                    && last.state == state
                    && match (last.frame, frame) {
                        (Some(f), Some(g)) => f + last.pages as u64 == g,
                        (None, None) => true,
                        _ => false,
                    } =>
            {
                last.pages += 1
            }
            _ => out.push(Segment {
                first: i,
                pages: 1,
                state,
                folio: false,
                frame,
            }),
        }
        i += 1;
    }
    out
}

/// The size in pages of a folio starting at page `i`, if one does: the largest THP size
/// whose aligned range starts here, all present, and either physically contiguous and
/// aligned (frames visible) or, for the PMD size without frames, counted by AnonHugePages.
fn folio_at(
    raw: &Raw<'_>,
    pages: &[(PageState, Option<u64>)],
    first_page: usize,
    i: usize,
    huge_budget: &mut usize,
) -> Option<usize> {
    let pmd_pages = raw.folio_sizes.first().copied();
    raw.folio_sizes.iter().copied().find(|&size| {
        if size < 2 || !(first_page + i).is_multiple_of(size) || i + size > pages.len() {
            return false;
        }
        let run = &pages[i..i + size];
        if !run.iter().all(|(s, _)| s.is_resident()) {
            return false;
        }
        let contiguous = match run[0].1 {
            Some(f0) => {
                f0 % size as u64 == 0
                    && run
                        .iter()
                        .enumerate()
                        .all(|(k, (_, f))| *f == Some(f0 + k as u64))
            }
            None => false,
        };
        let counted = Some(size) == pmd_pages && *huge_budget > 0;
        if Some(size) == pmd_pages && (contiguous || counted) {
            *huge_budget = huge_budget.saturating_sub(1);
            return true;
        }
        contiguous
    })
}

/// Reads the residency of `record`'s VMA as process `pid` sees it. Never fails: what cannot
/// be read becomes the reason there is no map.
pub fn read(pid: Pid, record: &SmapsRecord) -> Residency {
    match try_read(pid, record) {
        Ok(map) => Residency::Map(map),
        Err(why) => Residency::Unavailable(why),
    }
}

fn try_read(pid: Pid, record: &SmapsRecord) -> Result<ResidencyMap, String> {
    let page_size = probe::page_size().as_usize();
    let (start, end) = (record.vma.start, record.vma.end);
    let pages = (end - start) / page_size;
    if pages > MAX_PAGES {
        return Err(format!(
            "the mapping has {pages} pages; residency maps are read for at most {MAX_PAGES}"
        ));
    }
    let own = pid == getpid();
    let path = if own {
        "/proc/self/pagemap".to_owned()
    } else {
        format!("/proc/{pid}/pagemap")
    };
    let pagemap = read_pagemap(&path, start, pages, page_size)?;
    let mincore = if own {
        Some(mincore(start, end - start, pages)?)
    } else {
        None
    };
    let frames = frames_visibility();
    let zero_frame = match frames {
        Frames::Visible => zero_page_frame(page_size),
        Frames::Hidden(_) => None,
    };
    let raw = Raw {
        start,
        page_size,
        pagemap: &pagemap,
        mincore: mincore.as_deref(),
        frames,
        zero_frame,
        folio_sizes: folio_sizes(page_size),
    };
    let mut map = classify(&raw, record);
    map.read_from = if own {
        format!("mincore() and {path}")
    } else {
        path
    };
    Ok(map)
}

fn read_pagemap(
    path: &str,
    start: usize,
    pages: usize,
    page_size: usize,
) -> Result<Vec<u64>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("opening {path}: {e}"))?;
    let mut bytes = vec![0u8; pages * 8];
    let offset = (start / page_size * 8) as u64;
    file.read_exact_at(&mut bytes, offset)
        .map_err(|e| format!("reading {path} at {offset:#x}: {e}"))?;
    Ok(bytes
        .chunks_exact(8)
        .map(|b| u64::from_ne_bytes(b.try_into().expect("chunks of 8")))
        .collect())
}

fn mincore(start: usize, len: usize, pages: usize) -> Result<Vec<u8>, String> {
    let mut vector = vec![0u8; pages];
    super::counters::resident_pages(start, len, &mut vector)
        .map_err(|e| format!("mincore of {len} bytes at {start:#x}: {e}"))?;
    Ok(vector)
}

/// Frame numbers are shown to a reader with CAP_SYS_ADMIN, as the kernel decides when the
/// pagemap file is opened (`file_ns_capable(file, &init_user_ns, CAP_SYS_ADMIN)`).
/// (Since 4.2; 4.0 and 4.1 refused pagemap to everybody else.)
pub fn frames_visibility() -> Frames {
    match crate::kernel::probe::cap_sys_admin() {
        Ok(true) => Frames::Visible,
        Ok(false) => Frames::Hidden(
            "/proc/PID/pagemap shows frame numbers only to a process with CAP_SYS_ADMIN in the initial user namespace, which this one lacks (CapEff, /proc/self/uid_map)"
                .into(),
        ),
        Err(e) => Frames::Hidden(format!("no capability set to tell: {e}")),
    }
}

/// The zero page's frame number, learnt once by reading a fresh untouched page and looking
/// it up in pagemap. `None` where that fails.
fn zero_page_frame(page_size: usize) -> Option<u64> {
    static ZERO: OnceLock<Option<u64>> = OnceLock::new();
    *ZERO.get_or_init(|| {
        use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous, munmap};
        let len = std::num::NonZeroUsize::new(page_size)?;
        // SAFETY: the kernel picks a free range; nothing else refers to it.
        let ptr = unsafe { mmap_anonymous(None, len, ProtFlags::PROT_READ, MapFlags::MAP_PRIVATE) }
            .ok()?;
        // SAFETY: one readable page we just mapped; a read of it maps the zero page.
        let _ = unsafe { ptr.cast::<u8>().as_ptr().read_volatile() };
        let entry = read_pagemap("/proc/self/pagemap", ptr.as_ptr() as usize, 1, page_size);
        // SAFETY: our own page, referenced nowhere else.
        let _ = unsafe { munmap(ptr, page_size) };
        let entry = *entry.ok()?.first()?;
        (entry & PM_PRESENT != 0 && entry & PM_PFN_MASK != 0).then_some(entry & PM_PFN_MASK)
    })
}

/// The THP sizes this kernel may use, in pages, largest (the PMD size) first: from
/// `hpage_pmd_size` and the `hugepages-<size>kB` directories whose `enabled` is not never.
fn folio_sizes(page_size: usize) -> &'static [usize] {
    static SIZES: OnceLock<Vec<usize>> = OnceLock::new();
    SIZES.get_or_init(|| {
        let Some(pmd) = probe::pmd_size() else {
            return Vec::new();
        };
        let never = Some(probe::PerSizeMode::Never.word());
        let mut sizes: Vec<usize> = std::fs::read_dir(probe::THP_DIR)
            .into_iter()
            .flatten()
            .flatten()
            // A size switched off can back no folio: runs of contiguous frames there are
            // pieces of a larger folio (a huge page split by a child's write) or chance.
            .filter(|e| {
                std::fs::read_to_string(e.path().join("enabled"))
                    .is_ok_and(|mode| probe::selected_choice(&mode) != never)
            })
            .filter_map(|e| probe::parse_hugepages_dir(e.file_name().to_str()?))
            .chain([pmd])
            .map(Bytes::as_usize)
            .map(|bytes| bytes / page_size)
            .filter(|&pages| pages >= 2)
            .collect();
        sizes.sort_unstable_by(|a, b| b.cmp(a));
        sizes.dedup();
        sizes
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::smaps::parse_smaps;

    const PAGE: usize = 4096;

    fn record(
        start: usize,
        pages: usize,
        anon_huge_kb: usize,
        eligible: u8,
        shared_kb: usize,
    ) -> SmapsRecord {
        let text = format!(
            "{start:x}-{end:x} rw-p 00000000 00:00 0\nRss: 0 kB\nShared_Dirty: {shared_kb} kB\nAnonHugePages: {anon_huge_kb} kB\nTHPeligible: {eligible}\nVmFlags: rd wr\n",
            end = start + pages * PAGE
        );
        parse_smaps(&text).unwrap().remove(0)
    }

    fn raw<'a>(entries: &'a [u64], frames: Frames, sizes: &'a [usize]) -> Raw<'a> {
        Raw {
            start: 0x200000,
            page_size: PAGE,
            pagemap: entries,
            mincore: None,
            frames,
            zero_frame: Some(7),
            folio_sizes: sizes,
        }
    }

    fn present(pfn: u64, exclusive: bool) -> u64 {
        PM_PRESENT | pfn | if exclusive { PM_EXCLUSIVE } else { 0 }
    }

    #[test]
    fn one_written_page_is_one_own_page_among_absent_ones() {
        let mut entries = vec![0u64; 16];
        entries[0] = present(1000, true);
        let map = classify(
            &raw(&entries, Frames::Visible, &[8]),
            &record(0x200000, 16, 0, 0, 0),
        );
        assert_eq!(map.resident_pages(), 1);
        assert_eq!(map.state_of(0), PageState::Own);
        assert_eq!(map.frame_of(0), Some(1000));
        assert_eq!(map.cells(), 16);
        assert_eq!(map.segments.len(), 2, "{:?}", map.segments);
    }

    #[test]
    fn aligned_contiguous_frames_in_an_eligible_vma_are_one_folio() {
        let entries: Vec<u64> = (0..16).map(|k| present(64 + k, true)).collect();
        let map = classify(
            &raw(&entries, Frames::Visible, &[8]),
            &record(0x200000, 16, 0, 1, 0),
        );
        assert_eq!(map.folios().count(), 2);
        assert_eq!(map.cells(), 2);
        // The same frames in a VMA the kernel calls ineligible are base pages.
        let map = classify(
            &raw(&entries, Frames::Visible, &[8]),
            &record(0x200000, 16, 0, 0, 0),
        );
        assert_eq!(map.folios().count(), 0);
        assert_eq!(map.cells(), 16);
    }

    #[test]
    fn without_frames_anon_huge_pages_tell_the_huge_page() {
        let entries: Vec<u64> = (0..16).map(|_| PM_PRESENT | PM_EXCLUSIVE).collect();
        let hidden = Frames::Hidden("no CAP_SYS_ADMIN".into());
        let map = classify(
            &raw(&entries, hidden, &[8]),
            &record(0x200000, 16, 32, 1, 0),
        );
        assert_eq!(
            map.folios().count(),
            1,
            "AnonHugePages counts one 32 kB page"
        );
        assert_eq!(map.cells(), 1 + 8);
    }

    #[test]
    fn the_zero_page_is_told_by_its_frame_or_by_smaps_counting_nothing_shared() {
        let entries = [present(7, false), present(9, false)];
        let map = classify(
            &raw(&entries, Frames::Visible, &[]),
            &record(0x200000, 2, 0, 0, 4),
        );
        assert_eq!(map.state_of(0), PageState::Zero);
        assert_eq!(map.state_of(1), PageState::Shared);
        let hidden = [PM_PRESENT, PM_PRESENT];
        let none = Frames::Hidden("hidden".into());
        let map = classify(
            &raw(&hidden, none.clone(), &[]),
            &record(0x200000, 2, 0, 0, 0),
        );
        assert_eq!(map.pages_in(PageState::Zero), 2);
        let map = classify(&raw(&hidden, none, &[]), &record(0x200000, 2, 0, 0, 8));
        assert_eq!(map.pages_in(PageState::Shared), 2);
    }

    #[test]
    fn sixteen_mib_folds_into_64_cells_of_64_pages() {
        let mut entries = vec![0u64; 4096];
        entries[0] = present(1000, true);
        let map = classify(
            &raw(&entries, Frames::Visible, &[]),
            &record(0x200000, 4096, 0, 0, 0),
        );
        let strip = map.fold(64);
        assert_eq!(strip.len(), 64);
        assert!(strip.iter().all(|c| c.pages == 64));
        assert_eq!(strip[0].resident, 1);
        assert_eq!(strip[0].state, PageState::Own);
        assert_eq!(strip[1].state, PageState::Absent);
        assert_eq!(map.fold(64).len(), 64);
        let one = classify(
            &raw(&entries[..1], Frames::Visible, &[]),
            &record(0x200000, 1, 0, 0, 0),
        );
        assert_eq!(one.fold(64).len(), 1);
    }

    #[test]
    fn this_process_sees_its_own_written_page() {
        use crate::memory::{Mapped, Mapping};
        use nix::sys::mman::{MapFlags, ProtFlags};
        let len = std::num::NonZeroUsize::new(8 * probe::page_size().as_usize()).unwrap();
        let mapping = Mapping::anonymous_isolated(
            len,
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_PRIVATE,
        )
        .unwrap();
        mapping.write_byte(0, 1);
        let record = mapping
            .smaps(crate::kernel::procfs::Proc::SelfProcess)
            .unwrap();
        let Residency::Map(map) = read(getpid(), &record) else {
            panic!("no map")
        };
        assert_eq!(map.pages, 8);
        assert_eq!(map.state_of(0), PageState::Own);
        assert_eq!(map.resident_pages(), 1, "{map:?}");
    }
}
