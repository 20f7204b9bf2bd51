//! The book's pictures, drawn as SVG from what the experiments measured: a mapping's
//! residency (a page a cell, a folio one block), parent and child frames after fork, and the
//! claim × configuration grid.
//!
//! Every figure says what it holds in `data-pages` and `data-cells`, and each drawn cell in
//! `data-n` (cells it stands for) and `data-p` (pages), so a test in a browser can count them.

use super::results::{self, Configuration};
use crate::check::{ClaimResult, Verdict};
use crate::markup::escape as esc;
use crate::memory::residency::{Frames, PageState, ResidencyMap, Segment};
use std::fmt::Write;

/// Widest a residency grid gets, in cells: 128 cells of 4 kB pages are half a MiB a row.
const MAX_COLUMNS: usize = 128;
/// Widest a figure gets, in pixels.
const MAX_WIDTH: usize = 512;
/// A mapping of more pages is folded: each cell then stands for several pages.
const MAX_CELLS: usize = 8192;

/// How a residency grid lies: `cols` cells a row, each `unit` pages, `cell` pixels a side.
/// Rows follow virtual addresses, so an aligned folio never straddles a row unevenly.
struct Grid {
    cols: usize,
    cell: usize,
    unit: usize,
    /// The cell index (in the whole address space) of the mapping's first page.
    first: usize,
}

impl Grid {
    fn of(map: &ResidencyMap) -> Grid {
        let unit = map.pages.div_ceil(MAX_CELLS).next_power_of_two();
        let cells = map.pages.div_ceil(unit);
        let cols = cells.next_power_of_two().min(MAX_COLUMNS);
        let cell = (MAX_WIDTH / cols).clamp(4, 28);
        let first = map.start / map.page_size.max(1) / unit;
        Grid {
            cols,
            cell,
            unit,
            first,
        }
    }

    fn gap(&self) -> usize {
        if self.cell >= 12 { 2 } else { 1 }
    }

    /// Pixel position of the cell holding page `page` of the mapping.
    fn at(&self, page: usize) -> (usize, usize) {
        let index = self.first + page / self.unit;
        let row = index / self.cols - self.first / self.cols;
        ((index % self.cols) * self.cell, row * self.cell)
    }

    fn rows(&self, pages: usize) -> usize {
        let last = self.first + pages.saturating_sub(1) / self.unit;
        last / self.cols - self.first / self.cols + 1
    }
}

/// A residency map as a grid: one cell a page, a folio one block, untouched runs drawn as a
/// row of empty cells.
pub fn residency(map: &ResidencyMap, id: &str, title: &str) -> String {
    let grid = Grid::of(map);
    let (width, height) = (grid.cols * grid.cell, grid.rows(map.pages) * grid.cell);
    let mut cells = String::new();
    let mut drawn = 0;
    if grid.unit > 1 {
        drawn = draw_folded(&mut cells, &grid, map);
    } else {
        for segment in &map.segments {
            drawn += draw_segment(&mut cells, &grid, map, segment, id);
        }
    }
    // A few resident pages among thousands are specks: ring them so the eye finds them.
    if grid.cell < 12 && map.resident_pages() * 100 < map.pages {
        for segment in map
            .segments
            .iter()
            .filter(|s| s.state.is_resident())
            .take(16)
        {
            let (x, y) = grid.at(segment.first);
            let _ = write!(
                cells,
                "<circle class=\"spot\" cx=\"{}\" cy=\"{}\" r=\"{}\"/>",
                x + grid.cell / 2,
                y + grid.cell / 2,
                grid.cell * 2
            );
        }
    }
    let gap = grid.gap();
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"residency-map\" role=\"img\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" data-pages=\"{pages}\" data-cells=\"{drawn}\" data-unit=\"{unit}\"><title>{title}</title><defs><pattern id=\"{id}-empty\" width=\"{c}\" height=\"{c}\" patternUnits=\"userSpaceOnUse\"><rect class=\"absent\" width=\"{s}\" height=\"{s}\"/></pattern></defs>{cells}</svg>",
        pages = map.pages,
        unit = grid.unit,
        title = esc(title),
        c = grid.cell,
        s = grid.cell - gap,
    )
}

/// A mapping too large for a cell a page: each cell stands for `unit` pages, coloured by
/// the state most of them are in, and filled as far as they are resident.
fn draw_folded(out: &mut String, grid: &Grid, map: &ResidencyMap) -> usize {
    let gap = grid.gap();
    let folds = map.fold_by(grid.unit);
    for (i, fold) in folds.iter().enumerate() {
        let (x, y) = grid.at(i * grid.unit);
        let class = if fold.folio {
            format!("{} folio", fold.state.class())
        } else {
            fold.state.class().to_owned()
        };
        let _ = write!(
            out,
            "<rect class=\"cell {class}\" x=\"{x}\" y=\"{y}\" width=\"{s}\" height=\"{s}\" data-n=\"1\" data-p=\"{}\"><title>{}</title></rect>",
            fold.pages,
            esc(&format!(
                "pages {}-{}: {} of {} resident",
                i * grid.unit,
                i * grid.unit + fold.pages - 1,
                fold.resident,
                fold.pages
            )),
            s = grid.cell - gap,
        );
    }
    folds.len()
}

/// Draws one segment of a map drawn a cell a page; returns how many cells it stands for.
fn draw_segment(
    out: &mut String,
    grid: &Grid,
    map: &ResidencyMap,
    segment: &Segment,
    id: &str,
) -> usize {
    let gap = grid.gap();
    if segment.folio && segment.pages >= grid.unit {
        let (x, y) = grid.at(segment.first);
        let span = segment.pages / grid.unit;
        let (w, h) = if span >= grid.cols {
            (grid.cols, span / grid.cols)
        } else {
            (span, 1)
        };
        let _ = write!(
            out,
            "<rect class=\"cell {} folio\" x=\"{x}\" y=\"{y}\" width=\"{}\" height=\"{}\" data-n=\"1\" data-p=\"{}\"><title>{}</title></rect>",
            segment.state.class(),
            w * grid.cell - gap,
            h * grid.cell - gap,
            segment.pages,
            esc(&describe(
                map,
                segment.first,
                segment.pages,
                segment.state,
                true
            )),
        );
        return 1;
    }
    let mut drawn = 0;
    let mut page = segment.first;
    let end = segment.first + segment.pages;
    while page < end {
        if segment.state == PageState::Absent {
            // The rest of this row in one rect, filled with the empty-cell pattern.
            let row_end = ((grid.first + page) / grid.cols + 1) * grid.cols - grid.first;
            let upto = end.min(row_end);
            let n = upto - page;
            let (x, y) = grid.at(page);
            let _ = write!(
                out,
                "<rect class=\"cell absent\" x=\"{x}\" y=\"{y}\" width=\"{}\" height=\"{}\" fill=\"url(#{id}-empty)\" data-n=\"{n}\" data-p=\"{n}\"/>",
                n * grid.cell,
                grid.cell,
            );
            drawn += n;
            page = upto;
        } else {
            let upto = page + 1;
            let (x, y) = grid.at(page);
            let _ = write!(
                out,
                "<rect class=\"cell {}\" x=\"{x}\" y=\"{y}\" width=\"{s}\" height=\"{s}\" data-n=\"1\" data-p=\"{}\"><title>{}</title></rect>",
                segment.state.class(),
                upto - page,
                esc(&describe(map, page, upto - page, segment.state, false)),
                s = grid.cell - gap,
            );
            drawn += 1;
            page = upto;
        }
    }
    drawn
}

/// The hover text of a cell: which pages, where, in what state, on which frame.
fn describe(
    map: &ResidencyMap,
    page: usize,
    pages: usize,
    state: PageState,
    folio: bool,
) -> String {
    let addr = map.start + page * map.page_size;
    let what = if pages == 1 {
        format!("page {page} at {addr:#x}")
    } else {
        format!("pages {page}-{} from {addr:#x}", page + pages - 1)
    };
    let block = match (folio, Some(pages) == map.huge_page_pages) {
        (true, true) => ", one huge page",
        (true, false) => ", one multi-size folio",
        _ => "",
    };
    let frame = map
        .frame_of(page)
        .map(|f| format!(", frame {f:#x}"))
        .unwrap_or_default();
    format!("{what}: {}{block}{frame}", state.words())
}

/// The legend of a residency figure: a swatch for each state the map shows.
pub fn legend(map: &ResidencyMap) -> String {
    let mut states: Vec<PageState> = map.segments.iter().map(|s| s.state).collect();
    states.push(PageState::Absent);
    states.sort();
    states.dedup();
    let mut out = String::from("<span class=\"legend\">");
    for state in states {
        let _ = write!(
            out,
            "<span class=\"swatch {}\"></span>{} ",
            state.class(),
            esc(state.words())
        );
    }
    if map.folios().next().is_some() {
        out.push_str("<span class=\"swatch own folio\"></span>one block: one folio (a huge page or a multi-size THP) ");
    }
    out.push_str("</span>");
    out
}

/// Parent and child, page by page, with the physical frames behind them: one shared frame
/// before a write, two after. Frame numbers where pagemap shows them; otherwise the states
/// (shared or own, which smaps counts too) decide whether a frame is shared.
pub fn frames(views: &[(&str, &ResidencyMap)], title: &str) -> String {
    const ROW: usize = 64;
    let pages = views.iter().map(|(_, m)| m.pages).max().unwrap_or(0);
    let mut frames: Vec<String> = Vec::new();
    let mut links: Vec<(usize, usize, usize)> = Vec::new();
    let mut boxes = String::new();
    for (row, (name, map)) in views.iter().enumerate() {
        let y = 24 + row * ROW;
        let _ = write!(
            boxes,
            "<text class=\"who\" x=\"0\" y=\"{}\">{}</text>",
            y + 21,
            esc(name)
        );
        for page in 0..map.pages {
            let state = map.state_of(page);
            let x = 90 + page * 72;
            let _ = write!(
                boxes,
                "<rect class=\"cell {}\" x=\"{x}\" y=\"{y}\" width=\"64\" height=\"32\" rx=\"3\" data-n=\"1\" data-p=\"1\"><title>{}</title></rect><text class=\"in\" x=\"{}\" y=\"{}\">page {page}</text>",
                state.class(),
                esc(&describe(map, page, 1, state, false)),
                x + 32,
                y + 21
            );
            if let Some(frame) = frame_label(map, page, row) {
                let index = frames.iter().position(|f| *f == frame).unwrap_or_else(|| {
                    frames.push(frame.clone());
                    frames.len() - 1
                });
                links.push((row, page, index));
            }
        }
    }
    let height = 24 + views.len().max(frames.len()) * ROW;
    let mut drawn = String::new();
    for (index, frame) in frames.iter().enumerate() {
        let rows: Vec<usize> = links.iter().filter(|l| l.2 == index).map(|l| l.0).collect();
        let fy = 24 + rows.iter().sum::<usize>() * ROW / rows.len().max(1);
        let _ = write!(
            drawn,
            "<rect class=\"frame\" x=\"380\" y=\"{fy}\" width=\"200\" height=\"32\" rx=\"3\"/><text class=\"in\" x=\"480\" y=\"{}\">{}</text>",
            fy + 21,
            esc(frame)
        );
        for &(row, page, _) in links.iter().filter(|l| l.2 == index) {
            let _ = write!(
                drawn,
                "<line class=\"maps\" x1=\"{}\" y1=\"{}\" x2=\"380\" y2=\"{}\"/>",
                90 + page * 72 + 64,
                24 + row * ROW + 16,
                fy + 16
            );
        }
    }
    let cells = views.iter().map(|(_, m)| m.pages).sum::<usize>();
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"frames-figure\" role=\"img\" width=\"590\" height=\"{height}\" viewBox=\"0 0 590 {height}\" data-pages=\"{cells}\" data-cells=\"{cells}\" data-frames=\"{}\" data-pages-each=\"{pages}\"><title>{}</title><text class=\"head\" x=\"90\" y=\"14\">virtual pages</text><text class=\"head\" x=\"380\" y=\"14\">physical frames</text>{boxes}{drawn}</svg>",
        frames.len(),
        esc(title)
    )
}

/// The frame a view's page is on, as a label: its number where visible; else "shared frame"
/// for a page mapped by several processes and a frame of its own for one mapped once.
fn frame_label(map: &ResidencyMap, page: usize, row: usize) -> Option<String> {
    let state = map.state_of(page);
    if !state.is_resident() {
        return None;
    }
    Some(match (&map.frames, map.frame_of(page)) {
        (Frames::Visible, Some(frame)) => format!("frame {frame:#x}"),
        _ if state == PageState::Shared => format!("one shared frame (page {page})"),
        _ => format!("its own frame (view {}, page {page})", row + 1),
    })
}

/// One lesson's claims × configurations as a coloured grid; each row label links to the
/// claim in its chapter.
pub fn matrix(
    lesson: &str,
    chapter: &str,
    claims: &[&ClaimResult],
    columns: &[Configuration],
) -> String {
    const LABEL: usize = 300;
    const CELL: usize = 16;
    let width = LABEL + columns.len() * CELL + 4;
    let height = 20 + claims.len() * CELL;
    let mut out = String::new();
    for (n, _) in columns.iter().enumerate() {
        let _ = write!(
            out,
            "<text class=\"col\" x=\"{}\" y=\"14\">{}</text>",
            LABEL + n * CELL + CELL / 2,
            n + 1
        );
    }
    for (row, claim) in claims.iter().enumerate() {
        let y = 20 + row * CELL;
        let label = format!(
            "{} {} {}",
            claim.place.line, claim.place.step, claim.place.field
        );
        let _ = write!(
            out,
            "<a href=\"{chapter}#l{line}\"><text class=\"row\" x=\"0\" y=\"{}\">{}</text></a>",
            y + 12,
            esc(&truncate(&label, 44)),
            line = claim.place.line
        );
        for (n, column) in columns.iter().enumerate() {
            let (mark, words) = column.cell(lesson, claim.place.line);
            let name = esc(&tooltip(&format!(
                "{}:{} — {} {}: {words}",
                claim.place.file, claim.place.line, column.number, column.label
            )));
            let x = LABEL + n * CELL;
            // A cell is named for a screen reader, hatched where it fails and marked with its
            // glyph, so that no reader needs its colour.
            let hatch = if results::fails(mark) {
                format!(
                    "<rect class=\"hatch\" x=\"{x}\" y=\"{y}\" width=\"{s}\" height=\"{s}\" fill=\"url(#hatch-{lesson})\"/>",
                    s = CELL - 2,
                    lesson = esc(lesson),
                )
            } else {
                String::new()
            };
            let _ = write!(
                out,
                "<g role=\"img\" aria-label=\"{name}\"><rect class=\"cell {}\" x=\"{x}\" y=\"{y}\" width=\"{s}\" height=\"{s}\" data-n=\"1\" data-p=\"0\"><title>{name}</title></rect>{hatch}<text class=\"mark {}\" x=\"{}\" y=\"{}\" aria-hidden=\"true\">{}</text></g>",
                results::mark_class(mark),
                results::mark_class(mark),
                x + (CELL - 2) / 2,
                y + 11,
                mark.symbol(),
                s = CELL - 2,
            );
        }
    }
    format!(
        // A group, not an image: an image's parts are hidden from a screen reader.
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"matrix-grid\" role=\"group\" aria-label=\"{title}\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" data-pages=\"0\" data-cells=\"{}\"><title>{title}</title><defs><pattern id=\"hatch-{}\" width=\"4\" height=\"4\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\"><rect class=\"hatch-line\" width=\"1.5\" height=\"4\"/></pattern></defs>{out}</svg>",
        claims.len() * columns.len(),
        esc(lesson),
        title = esc(&format!("the claims of {lesson} in every configuration"))
    )
}

/// A claim's verdict in words, whole: for the detail of its line, and (as a [`tooltip`]) for
/// the hover of its line or of its square.
pub fn verdict_words(claim: &ClaimResult) -> String {
    match &claim.verdict {
        Verdict::Held { observed, .. } => format!("held, observed {observed}"),
        Verdict::Failed {
            observed, reason, ..
        } => format!(
            "FAILED, observed {}: {reason}",
            observed.as_deref().unwrap_or("nothing")
        ),
        Verdict::Skipped { reason, .. } => format!("skipped: {reason}"),
    }
}

/// Longest a hover text gets, in characters; the whole text is where a click shows it.
const TOOLTIP: usize = 240;

/// `text` as a hover text: at most [`TOOLTIP`] characters, cut at a word's end.
pub fn tooltip(text: &str) -> String {
    truncate(text, TOOLTIP)
}

/// `text` in at most `max` characters: whole where it fits, else cut after the last word
/// that fits, with an ellipsis (mid-word only where a single word is longer than `max`).
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    let room = max.saturating_sub(1);
    let end = text.char_indices().nth(room).map_or(text.len(), |(i, _)| i);
    let (kept, rest) = text.split_at(end);
    let kept = if rest.starts_with(char::is_whitespace) {
        kept
    } else {
        match kept.rfind(char::is_whitespace) {
            Some(space) if !kept[..space].trim().is_empty() => &kept[..space],
            _ => kept,
        }
    };
    format!("{}…", kept.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cut_at_a_word_end_with_an_ellipsis() {
        assert_eq!(truncate("short enough", 12), "short enough");
        assert_eq!(truncate("one two three", 12), "one two…");
        assert_eq!(truncate("one two three", 9), "one two…");
        assert_eq!(truncate("one two three", 8), "one two…");
        assert_eq!(truncate("one two three", 7), "one…");
        assert_eq!(truncate("abcdefghij", 5), "abcd…");
        assert_eq!(truncate("ein Übergroß ö", 13), "ein Übergroß…");
        let long = "word ".repeat(100);
        let tip = tooltip(&long);
        assert!(
            tip.chars().count() <= TOOLTIP && tip.ends_with("word…"),
            "{tip}"
        );
    }
}
