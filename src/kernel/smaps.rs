//! `/proc/PID/smaps`: one record per VMA, a maps header line followed by `Key: value` lines.
//! Fields come and go between kernel versions, so they are kept as key -> value in kernel
//! order, and unknown keys are kept, not rejected.

use crate::Bytes;
use crate::kernel::maps::{header_range, parse_dec, parse_error, parse_maps_line_at};
use crate::kernel::smaps_fields::FieldName;
use crate::kernel::{MapsLine, ParseError, SmapsField, VmFlag};
use std::ops::Range;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldValue {
    /// `NNN kB`, converted to bytes.
    Size(Bytes),
    /// A bare number (`THPeligible: 0`, `ProtectionKey: 0`).
    Number(u64),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SmapsRecord {
    pub vma: MapsLine,
    /// `(name, value)` in the order the kernel printed them; VmFlags is not among them.
    pub fields: Vec<(FieldName, FieldValue)>,
    /// VmFlags tokens (`rd`, `wr`, ...), `None` if the record had no VmFlags line.
    pub vm_flags: Option<Vec<String>>,
}

impl SmapsRecord {
    /// A field's value; `None` if the kernel did not print it (VmFlags is [`Self::vm_flags`]).
    pub fn field(&self, field: SmapsField) -> Option<FieldValue> {
        self.fields
            .iter()
            .find(|(key, _)| *key == FieldName::Known(field))
            .map(|&(_, value)| value)
    }

    /// A size field's value; `None` if the kernel did not print it (or it is not a size).
    pub fn size(&self, field: SmapsField) -> Option<Bytes> {
        size_of(self.field(field)?)
    }

    /// A field by the name the kernel printed, also one newer than [`SmapsField`].
    pub fn field_named(&self, name: &str) -> Option<FieldValue> {
        self.fields
            .iter()
            .find(|(key, _)| key.as_str() == name)
            .map(|&(_, value)| value)
    }

    /// A size field by the name the kernel printed.
    pub fn size_named(&self, name: &str) -> Option<Bytes> {
        size_of(self.field_named(name)?)
    }

    /// Whether VmFlags holds `flag` (false where the record has no VmFlags line).
    pub fn has_flag(&self, flag: VmFlag) -> bool {
        self.has_code(flag.code())
    }

    /// Whether VmFlags holds this code as printed, also one newer than [`VmFlag`].
    pub fn has_code(&self, code: &str) -> bool {
        self.vm_flags
            .as_deref()
            .is_some_and(|flags| flags.iter().any(|f| f == code))
    }

    /// VmFlags as printed, for messages (empty where the record has none).
    pub fn flags_text(&self) -> String {
        self.vm_flags.as_deref().unwrap_or_default().join(" ")
    }
}

fn size_of(value: FieldValue) -> Option<Bytes> {
    match value {
        FieldValue::Size(bytes) => Some(bytes),
        FieldValue::Number(_) => None,
    }
}

/// A record under construction.
struct Builder {
    record: SmapsRecord,
    /// Where in [`SmapsField::ALL`] the next field probably is (see [`FieldName::of`]).
    next_field: usize,
}

impl Builder {
    fn start(header: &str, line_no: usize) -> Result<Builder, ParseError> {
        Ok(Builder {
            record: SmapsRecord {
                vma: parse_maps_line_at(header, line_no)?,
                // Enough for every field a 6.18 kernel prints, so no regrowth per record.
                fields: Vec::with_capacity(26),
                vm_flags: None,
            },
            next_field: 0,
        })
    }

    fn add_line(&mut self, line: &str, line_no: usize) -> Result<(), ParseError> {
        let err = |message: &str| parse_error(line_no, message, line);
        // A byte loop: keys are short, and `split_once` sets up a search for each line.
        let colon = line.bytes().position(|b| b == b':');
        let colon = colon.ok_or_else(|| err("expected `Key: value` or a maps header line"))?;
        let (key, value) = (&line[..colon], &line[colon + 1..]);
        if key.is_empty() || key.bytes().any(|b| b.is_ascii_whitespace()) {
            return Err(err("bad key"));
        }
        if key == "VmFlags" {
            if self.record.vm_flags.is_some() {
                return Err(err("second VmFlags line in one record"));
            }
            // Every token is kept: flags are added over time (`sl`, `dp`, `ss`, ...) and
            // some depend on the configuration (`sd`), so an unknown one is not an error.
            self.record.vm_flags = Some(value.split_ascii_whitespace().map(String::from).collect());
            return Ok(());
        }
        let value = parse_value(trim_spaces(value)).ok_or_else(|| {
            err("bad value (expected `N kB` or a number): the text may be cut short or corrupt")
        })?;
        let name = FieldName::of(key, &mut self.next_field);
        self.record.fields.push((name, value));
        Ok(())
    }
}

/// `s` without the spaces at either end. (`str::trim_matches(' ')` does the same a char at a
/// time, at a cost that showed in a whole lookup.)
fn trim_spaces(s: &str) -> &str {
    let bytes = s.as_bytes();
    let start = bytes.iter().position(|&b| b != b' ').unwrap_or(bytes.len());
    let end = bytes
        .iter()
        .rposition(|&b| b != b' ')
        .map_or(start, |i| i + 1);
    // Both ends are next to a space or at an end of `s`, so they are char boundaries.
    &s[start..end]
}

fn parse_value(value: &str) -> Option<FieldValue> {
    match value.strip_suffix("kB") {
        Some(number) => {
            // Only the unit marks a size; a number glued to it (`4kB`) is not what the
            // kernel prints.
            let number = number.strip_suffix(' ')?.trim_end_matches(' ');
            let kib = parse_dec(number.as_bytes())?;
            Some(FieldValue::Size(Bytes(kib.checked_mul(1024)?)))
        }
        None => parse_dec(value.as_bytes()).map(FieldValue::Number),
    }
}

/// Lines of `text` with their 1-based numbers, `first_line` being the number of the first.
/// The empty piece after a final newline is not a line.
fn numbered_lines(text: &str, first_line: usize) -> impl Iterator<Item = (usize, &str)> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    body.split('\n')
        .enumerate()
        .map(move |(i, line)| (first_line + i, line))
        .take(if body.is_empty() { 0 } else { usize::MAX })
}

fn is_header(line: &str) -> bool {
    header_range(line.as_bytes()).is_some()
}

/// Parses records from `text`, whose first line is line `first_line` of the file.
fn parse_records(text: &str, first_line: usize) -> Result<Vec<SmapsRecord>, ParseError> {
    let mut records = Vec::new();
    let mut current: Option<Builder> = None;
    for (line_no, line) in numbered_lines(text, first_line) {
        if is_header(line) {
            if let Some(done) = current.replace(Builder::start(line, line_no)?) {
                records.push(done.record);
            }
        } else {
            match current.as_mut() {
                Some(builder) => builder.add_line(line, line_no)?,
                None => {
                    return Err(parse_error(
                        line_no,
                        "expected a maps header line before any `Key: value` line",
                        line,
                    ));
                }
            }
        }
    }
    match current {
        Some(last) => records.push(last.record),
        // A process with an address space always has a mapping; no record means the read
        // went wrong or there is no address space (kernel thread, zombie).
        None => return Err(parse_error(first_line, "empty smaps text", text)),
    }
    Ok(records)
}

/// Parses a whole smaps file.
pub fn parse_smaps(text: &str) -> Result<Vec<SmapsRecord>, ParseError> {
    parse_records(text, 1)
}

/// Parses exactly one record: `text` holds its header and its field lines. Errors count
/// lines from 1, the header's; the caller renumbers them if it needs to.
fn parse_one_record(text: &str) -> Result<SmapsRecord, ParseError> {
    let mut records = parse_records(text, 1)?;
    match records.len() {
        1 => Ok(records.swap_remove(0)),
        _ => Err(parse_error(
            1,
            "expected exactly one smaps record",
            text.lines().next().unwrap_or(""),
        )),
    }
}

/// What a [`RecordScan`] has found out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// The wanted record is these bytes of the text: its header line up to the next header
    /// line, or up to the end of the text.
    Found(Range<usize>),
    /// No record contains the address.
    Absent,
}

/// The search for the record of the VMA containing an address, over text that is either
/// complete ([`find_record`]) or still arriving in reads (`procfs`): one piece of code
/// decides where records begin, whichever way the text comes.
///
/// Only header lines matter to the search (records before the wanted one are stepped over
/// unchecked), and a header line always holds a `-`, between its start and end addresses.
/// So the scan looks for the next `-` with one SIMD search and skips every line before it
/// without looking at it: none of them can be a header. This is exact on any text, whatever
/// the lines are. It is fast on the kernel's text because no field line there has a `-`:
/// fs/proc/task_mmu.c `show_smap` prints every value as an unsigned decimal (`SEQ_PUT_DEC`,
/// `%d` of a boolean for THPeligible, `%8u` for ProtectionKey) and `show_smap_vma_flags`
/// prints two-letter lower-case mnemonics. The next `-` after a header's permissions is
/// therefore in the next record's header (or in a file name), some 700 bytes further on,
/// and a record costs one search instead of a look at each of its ~25 lines. (The `VmFlags`
/// line, last in every record since Linux 3.8, would mark record ends as well, but jumping
/// to it is not exact: it would step over the next header of a record that has no VmFlags
/// line, and checking that would cost the per-line look this avoids.)
///
/// Headers as the kernel prints them, of VMAs before the address, are stepped over in a
/// tight loop ([`skip_records_before`](RecordScan::skip_records_before)) that compares the
/// addresses as text; every other line with a `-` is judged by [`header_range`].
pub(crate) struct RecordScan {
    addr: usize,
    /// `addr` as [`padded`] address text, for the fast loop's comparisons.
    addr_text: u128,
    /// Where the line to classify next starts (`seeking == false`), or the start of the
    /// line the search for the next `-` is in (`seeking == true`); every line before it has
    /// been dealt with.
    line: usize,
    /// How far the search has got: no newline in `text[line..searched]` (classifying), or
    /// every `-` before `searched` dealt with (seeking).
    searched: usize,
    seeking: bool,
    /// Whether the first line has been classified (it must be a header line).
    started: bool,
    /// Where the wanted record's header line starts, once seen.
    found: Option<usize>,
    /// Lines in the text dropped from the front by [`RecordScan::drop_front`].
    dropped_lines: usize,
}

impl RecordScan {
    pub(crate) fn new(addr: usize) -> RecordScan {
        RecordScan {
            addr,
            addr_text: address_text(addr),
            line: 0,
            searched: 0,
            seeking: false,
            started: false,
            found: None,
            dropped_lines: 0,
        }
    }

    /// Goes on through `text`, which holds what the last call saw and possibly more (minus
    /// what was dropped). `None`: the text read so far does not decide; read more.
    pub(crate) fn advance(&mut self, text: &[u8]) -> Result<Option<Step>, ParseError> {
        loop {
            if self.seeking {
                if self.found.is_none() {
                    self.skip_records_before(text);
                }
                let Some(i) = memchr::memchr(b'-', &text[self.searched..]) else {
                    self.searched = text.len();
                    return Ok(None);
                };
                let dash = self.searched + i;
                // The lines before the one holding this `-` have none or have been dealt
                // with, so none of them is a header to classify; this one is a header only
                // if it is hex digits up to the `-`.
                let before = &text[self.line..dash];
                match dash_line(before) {
                    DashLine::Header(start) => self.line += start,
                    DashLine::NotRange => {
                        self.searched = dash + 1;
                        continue;
                    }
                    DashLine::Unsure => {
                        if let Some(newline) = memchr::memrchr(b'\n', before) {
                            self.line += newline + 1;
                        }
                    }
                }
                self.searched = dash;
                self.seeking = false;
            }
            let Some(i) = memchr::memchr(b'\n', &text[self.searched..]) else {
                self.searched = text.len();
                return Ok(None);
            };
            let end = self.searched + i;
            if let Some(step) = self.classify(text, end)? {
                return Ok(Some(step));
            }
            self.line = end + 1;
            self.searched = end + 1;
            self.seeking = true;
        }
    }

    /// The common case in a tight loop: steps over the records whose header lines are as the
    /// kernel prints them and whose VMAs end at or before the address, as the general steps
    /// in `advance` would, and stops where those have anything else to decide. Only while
    /// seeking, before the wanted record is found.
    fn skip_records_before(&mut self, text: &[u8]) {
        let (mut line, mut searched) = (self.line, self.searched);
        loop {
            let Some(i) = memchr::memchr(b'-', &text[searched..]) else {
                // No `-` in the rest: the general steps need not search it again.
                searched = text.len();
                break;
            };
            let dash = searched + i;
            let header = match dash_line(&text[line..dash]) {
                DashLine::Header(start) => line + start,
                // No header starts before this line's end: a file name's dashes (they come
                // in twos and threes, `x86_64-linux-gnu`) cost one search, not one each.
                DashLine::NotRange => match memchr::memchr(b'\n', &text[dash..]) {
                    Some(newline) => {
                        (line, searched) = (dash + newline + 1, dash + newline + 1);
                        continue;
                    }
                    None => {
                        searched = dash + 1;
                        continue;
                    }
                },
                DashLine::Unsure => break,
            };
            match self.ends_before(text, header, dash) {
                Some(next) => (line, searched) = (header, next),
                None => break,
            }
        }
        (self.line, self.searched) = (line, searched);
    }

    /// For a line starting at `header` with hex digits up to the `-` at `dash`: if it is a
    /// header as the kernel prints it (two addresses of at most 16 digits, `-` and a space
    /// after them, start not after end) of a VMA that ends at or before the address, where
    /// the search for the next header can go on. `None`: for [`classify`] to judge.
    ///
    /// [`classify`]: RecordScan::classify
    fn ends_before(&self, text: &[u8], header: usize, dash: usize) -> Option<usize> {
        let start = &text[header..dash];
        let after = &text[dash + 1..];
        let digits = leading_hex_digits(after);
        let fits = |digits: usize| (1..=ADDRESS_DIGITS).contains(&digits);
        if !fits(start.len()) || !fits(digits) || after.get(digits) != Some(&b' ') {
            return None;
        }
        let end = padded_at(text, dash + 1 + digits, digits);
        if padded_at(text, dash, start.len()) > end || end > self.addr_text {
            return None;
        }
        // The permissions (`r--p`) hold dashes of their own, so the search goes on after
        // them: the rest of this line cannot start a header, and no other `-` is in it
        // unless its file name has one. Not past the line's end, though.
        let perms = dash + 1 + digits + 1;
        let perms_text = text.get(perms..perms + 4)?;
        (!perms_text.contains(&b'\n')).then_some(perms + 4)
    }

    /// Like [`advance`](RecordScan::advance), but `text` is all there is: a last line
    /// without a newline counts, and the end of the text ends the last record.
    pub(crate) fn finish(&mut self, text: &[u8]) -> Result<Step, ParseError> {
        if let Some(step) = self.advance(text)? {
            return Ok(step);
        }
        // A line that holds no `-` is no header, so only a line being classified matters.
        if !self.seeking
            && let Some(step) = self.classify(text, text.len())?
        {
            return Ok(step);
        }
        Ok(match self.found {
            Some(start) => Step::Found(start..text.len()),
            None => Step::Absent,
        })
    }

    /// Looks at the line `text[self.line..end]`.
    fn classify(&mut self, text: &[u8], end: usize) -> Result<Option<Step>, ParseError> {
        let line = &text[self.line..end];
        let range = header_range(line);
        if !self.started {
            self.started = true;
            if range.is_none() {
                // Shown as `str::lines` shows it: without the `\r` of a `\r\n` ending.
                let shown = match (text.get(end), line.strip_suffix(b"\r")) {
                    (Some(b'\n'), Some(stripped)) => stripped,
                    _ => line,
                };
                let shown = String::from_utf8_lossy(shown);
                return Err(parse_error(1, "expected a maps header line first", &shown));
            }
        }
        let Some(range) = range else {
            return Ok(None);
        };
        // The next header line ends the wanted record, whatever its range says.
        if let Some(start) = self.found {
            return Ok(Some(Step::Found(start..self.line)));
        }
        match range {
            // Records come in ascending address order: a VMA starting after the address
            // means the address is in a gap, and no later record can contain it.
            Ok((start, _)) if start > self.addr => Ok(Some(Step::Absent)),
            Ok((_, end)) if self.addr < end => {
                self.found = Some(self.line);
                Ok(None)
            }
            Ok(_) => Ok(None),
            Err(message) => {
                let line_no = self.line_number(text, self.line);
                Err(parse_error(
                    line_no,
                    message,
                    &String::from_utf8_lossy(line),
                ))
            }
        }
    }

    /// Where the text must still be kept from: the caller may drop everything before it.
    pub(crate) fn keep_from(&self) -> usize {
        self.found.unwrap_or(self.line)
    }

    /// The caller dropped `dropped`, the first [`keep_from`](RecordScan::keep_from) bytes of
    /// the text; later calls see the text without them.
    pub(crate) fn drop_front(&mut self, dropped: &[u8]) {
        let n = dropped.len().min(self.keep_from());
        self.dropped_lines += count_newlines(&dropped[..n]);
        self.line -= n;
        self.searched -= n;
        self.found = self.found.map(|start| start - n);
    }

    /// The 1-based line number, in the whole file, of the line starting at `at` in `text`.
    /// Counted only when needed (for an error): counting every line is what the scan avoids.
    fn line_number(&self, text: &[u8], at: usize) -> usize {
        self.dropped_lines + count_newlines(&text[..at]) + 1
    }

    /// Parses the record a [`Step::Found`] gave, `text` being the text the scan saw.
    pub(crate) fn parse(
        &self,
        text: &[u8],
        record: Range<usize>,
    ) -> Result<SmapsRecord, ParseError> {
        let first_line = record.start;
        let record = &text[record];
        // The kernel's text is ASCII but for file names: check it the fast way first
        // (`from_utf8_lossy` looks at it a character at a time).
        let record = match std::str::from_utf8(record) {
            Ok(record) => std::borrow::Cow::Borrowed(record),
            Err(_) => String::from_utf8_lossy(record),
        };
        // Numbered from 1, and renumbered only on error: the line number of a record near
        // the end of a long text costs a count of every newline before it.
        parse_one_record(&record).map_err(|mut e| {
            e.line += self.line_number(text, first_line) - 1;
            e
        })
    }
}

/// What the text before a `-` tells of the line the `-` is on, without a search for the
/// line's start: a header's start address is all there is between the two.
enum DashLine {
    /// The line starts this far into the text, with hex digits up to the `-`: the line is
    /// a header if the rest of it is.
    Header(usize),
    /// A byte that is neither a hex digit nor a newline comes before the `-` on its line, so
    /// this `-` is not the one after a header's start address.
    NotRange,
    /// Sixteen or more hex digits before the `-`: more than a quick look tells.
    Unsure,
}

/// Looks back from a `-`, `before` being the text from a line start the scan has reached up
/// to it.
fn dash_line(before: &[u8]) -> DashLine {
    let digits = trailing_hex_digits(before);
    if digits >= 16 {
        return DashLine::Unsure;
    }
    let start = before.len() - digits;
    match start.checked_sub(1).map(|i| before[i]) {
        None | Some(b'\n') => DashLine::Header(start),
        Some(_) => DashLine::NotRange,
    }
}

/// The most hex digits an address can have here (16 for a 64-bit address).
const ADDRESS_DIGITS: usize = (usize::BITS / 4) as usize;

/// Address text as the kernel prints it (`%08lx`: lower-case hex digits, at least 8 of
/// them), left-padded with `0` to 16 digits and read as one big-endian number. Such text
/// orders as the addresses do, since `0`-`9` come before `a`-`f` in ASCII: the fast loop
/// compares text and never converts a digit. `digits`: 1 to 16 lower-case hex digits.
fn padded(digits: &[u8]) -> u128 {
    let mut text = [b'0'; 16];
    text[16 - digits.len()..].copy_from_slice(digits);
    u128::from_be_bytes(text)
}

/// The `n` digits (1 to 16) that end at `end` in `text`, as [`padded`] text: read in one
/// load where 16 bytes of `text` end there, the bytes before the digits then masked to `0`.
/// [`padded`] would copy the digits into an array and read that back, and the load then
/// waits for the copy's narrower stores: perf showed that as most of the fast loop's own
/// time.
fn padded_at(text: &[u8], end: usize, n: usize) -> u128 {
    debug_assert!((1..=16).contains(&n), "{n} digits");
    let window = end.checked_sub(16).and_then(|from| text.get(from..end));
    match window {
        Some(window) => {
            let loaded = u128::from_be_bytes(window.try_into().expect("a window of 16 bytes"));
            let digits = u128::MAX >> (8 * (16 - n));
            (loaded & digits) | (u128::from_be_bytes([b'0'; 16]) & !digits)
        }
        None => padded(&text[end - n..end]),
    }
}

/// `addr` as [`padded`] text.
fn address_text(addr: usize) -> u128 {
    let addr = addr as u64; // lossless: `usize` is at most 64 bits wide on Linux
    let digits: [u8; 16] =
        std::array::from_fn(|i| b"0123456789abcdef"[(addr >> (60 - 4 * i)) as usize & 0xf]);
    u128::from_be_bytes(digits)
}

fn is_lower_hex_digit(b: u8) -> bool {
    matches!(b, b'0'..=b'9' | b'a'..=b'f')
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH_BITS: u64 = 0x8080_8080_8080_8080;

/// How many lower-case hex digits `bytes` ends in, counting at most 16.
fn trailing_hex_digits(bytes: &[u8]) -> usize {
    let word = |end: usize| {
        let eight: [u8; 8] = bytes.get(end.checked_sub(8)?..end)?.try_into().ok()?;
        Some(u64::from_le_bytes(eight))
    };
    let bytewise = |bytes: &[u8]| {
        let digits = bytes.iter().rev().take(8);
        digits.take_while(|b| is_lower_hex_digit(**b)).count()
    };
    // The last byte is the highest of a little-endian word: the digits it ends in are the
    // high bytes before the highest that is not a digit.
    let last = match word(bytes.len()) {
        Some(word) => (not_hex_digits(word).leading_zeros() / 8) as usize,
        None => bytewise(bytes),
    };
    if last < 8 {
        return last;
    }
    let before = bytes.len() - 8;
    8 + match word(before) {
        Some(word) => (not_hex_digits(word).leading_zeros() / 8) as usize,
        None => bytewise(&bytes[..before]),
    }
}

/// How many lower-case hex digits `bytes` starts with, counting at most 17 (one more than
/// an address has).
fn leading_hex_digits(bytes: &[u8]) -> usize {
    let word = |at: usize| {
        let eight: [u8; 8] = bytes.get(at..at + 8)?.try_into().ok()?;
        Some(u64::from_le_bytes(eight))
    };
    let bytewise = |bytes: &[u8]| {
        bytes
            .iter()
            .take(9)
            .take_while(|b| is_lower_hex_digit(**b))
            .count()
    };
    // Eight bytes at a time where eight are there to load; byte by byte near the text's end.
    let first = match word(0) {
        Some(word) => hex_digits_in(word),
        None => return bytewise(bytes),
    };
    if first < 8 {
        return first;
    }
    8 + match word(8) {
        Some(word) if hex_digits_in(word) < 8 => hex_digits_in(word),
        _ => bytewise(&bytes[8..]),
    }
}

/// How many of the eight bytes of `word` (first byte lowest, as loaded little-endian) are
/// lower-case hex digits before the first one that is not.
fn hex_digits_in(word: u64) -> usize {
    (not_hex_digits(word).trailing_zeros() / 8) as usize
}

/// The high bit of each byte of `word` that is not a lower-case hex digit.
fn not_hex_digits(word: u64) -> u64 {
    // Each test sets a byte's high bit; with the high bits cleared first (and the bytes that
    // had one ruled out at the end), no byte's sum or difference carries into the next.
    let ascii = word & !HIGH_BITS;
    let at_least = |low: u64| ascii + ONES * (0x80 - low);
    let at_most = |high: u64| ONES * (0x80 + high) - ascii;
    let digit = at_least(0x30) & at_most(0x39);
    let letter = at_least(0x61) & at_most(0x66);
    let hex = (digit | letter) & !word & HIGH_BITS;
    !hex & HIGH_BITS
}

/// The number of newlines in `bytes`.
fn count_newlines(bytes: &[u8]) -> usize {
    // In blocks of 255, whose count fits in a byte: the compiler then compares and adds
    // a whole vector register of bytes at a time.
    bytes
        .chunks(255)
        .map(|block| {
            let n = block.iter().fold(0u8, |n, &b| n + u8::from(b == b'\n'));
            usize::from(n)
        })
        .sum()
}

/// Finds the record of the VMA containing `addr`, parsing only that record.
///
/// Records before it are only recognised by their header lines (whose address range is
/// parsed); their field lines are skipped unchecked, so garbage there goes unnoticed here
/// while [`parse_smaps`] would report it. The search stops at the first VMA starting
/// after `addr`.
pub fn find_record(text: &str, addr: usize) -> Result<Option<SmapsRecord>, ParseError> {
    let mut scan = RecordScan::new(addr);
    match scan.finish(text.as_bytes())? {
        Step::Found(record) => scan.parse(text.as_bytes(), record).map(Some),
        Step::Absent => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::Pathname;
    use proptest::collection::vec;
    use proptest::prelude::*;
    use proptest::sample::select;

    const TWO: &str = "\
00400000-00401000 r-xp 00000000 fe:00 42                                 /bin/x
Size:                  4 kB
Rss:                   4 kB
THPeligible:    0
VmFlags: rd ex mr mw me 
7f0000000000-7f0001000000 rw-p 00000000 00:00 0 
Size:              16384 kB
Rss:                   0 kB
NewField:             12 kB
ProtectionKey:         0
VmFlags: rd wr mr mw me ac zz 
";

    #[test]
    fn parses_sizes_numbers_and_flags() {
        let records = parse_smaps(TWO).unwrap();
        assert_eq!(records.len(), 2);
        let anon = &records[1];
        assert_eq!(anon.vma.pathname, Pathname::Anonymous);
        assert_eq!(anon.size(SmapsField::Size), Some(Bytes::from_kib(16384)));
        assert_eq!(anon.size_named("NewField"), Some(Bytes::from_kib(12)));
        assert_eq!(
            anon.field(SmapsField::ProtectionKey),
            Some(FieldValue::Number(0))
        );
        assert_eq!(anon.size(SmapsField::ProtectionKey), None);
        assert_eq!(anon.size(SmapsField::Ksm), None);
        assert!(anon.has_code("zz") && anon.has_flag(VmFlag::Accountable));
        assert!(!anon.has_flag(VmFlag::Executable));
        assert_eq!(
            records[0].field(SmapsField::ThpEligible),
            Some(FieldValue::Number(0))
        );
    }

    #[test]
    fn find_record_agrees_with_the_full_parse() {
        let all = parse_smaps(TWO).unwrap();
        assert_eq!(
            find_record(TWO, 0x0040_0800).unwrap().as_ref(),
            Some(&all[0])
        );
        assert_eq!(
            find_record(TWO, 0x7f00_0000_1234).unwrap().as_ref(),
            Some(&all[1])
        );
        assert_eq!(find_record(TWO, 0x1000).unwrap(), None);
        assert_eq!(find_record(TWO, 0x0050_0000).unwrap(), None);
        assert_eq!(find_record(TWO, usize::MAX).unwrap(), None);
        let no_newline = TWO.trim_end_matches('\n');
        assert_eq!(
            find_record(no_newline, 0x7f00_0000_1234).unwrap(),
            parse_smaps(no_newline).unwrap().pop()
        );
    }

    #[test]
    fn dashes_in_a_header_after_its_range_are_stepped_over() {
        // File names with a `-` after many hex digits, after few, and after none, in a
        // record stepped over: none of those is a range, and the search neither stops at
        // them nor comes back to them.
        for name in [
            "/tmp/0123456789abcdef0123-x",
            "/lib/x86_64-linux-gnu",
            "/a-b--c-",
        ] {
            let second = "7f0000000000-7f0001000000 rw-p 00000000 00:00 0 ";
            let third = "7f0002000000-7f0003000000 rw-p 00000000 00:00 0 \nRss: 4 kB\n";
            let text = TWO.replace(second, &format!("{second}    {name}")) + third;
            let all = parse_smaps(&text).unwrap();
            for (i, record) in all.iter().enumerate() {
                let found = find_record(&text, record.vma.start).unwrap();
                assert_eq!(found.as_ref(), Some(record), "record {i} with {name}");
            }
        }
    }

    #[test]
    fn errors_carry_the_line_number() {
        let bad_kb = TWO.replace("Rss:                   0 kB", "Rss:                   x kB");
        assert_eq!(parse_smaps(&bad_kb).unwrap_err().line, 8);
        assert_eq!(find_record(&bad_kb, 0x7f00_0000_0000).unwrap_err().line, 8);
        // Records before the wanted one are not checked.
        assert!(find_record(&bad_kb, 0x0040_0000).unwrap().is_some());
        assert_eq!(parse_smaps("Size: 4 kB\n").unwrap_err().line, 1);
        assert_eq!(find_record("Size: 4 kB\n", 0).unwrap_err().line, 1);
        assert_eq!(parse_smaps("").unwrap_err().line, 1);
        assert_eq!(find_record("", 0).unwrap_err().line, 1);
        let overflow = TWO.replace("16384 kB", "18446744073709551615 kB");
        assert_eq!(parse_smaps(&overflow).unwrap_err().line, 7);
    }

    #[test]
    fn every_byte_value_ends_a_run_of_hex_digits_where_it_should() {
        for b in 0..=255u8 {
            for at in 0..8 {
                let mut bytes = *b"0123abcd";
                bytes[at] = b;
                let (leading, trailing) = match is_lower_hex_digit(b) {
                    true => (8, 8),
                    false => (at, 7 - at),
                };
                assert_eq!(leading_hex_digits(&bytes), leading, "{b:#x} at {at}");
                assert_eq!(trailing_hex_digits(&bytes), trailing, "{b:#x} at {at}");
            }
        }
    }

    fn hexish_bytes() -> impl Strategy<Value = Vec<u8>> {
        let byte = prop_oneof![
            4 => select(&b"0123456789abcdef"[..]),
            1 => select(&b"-\n AFgxz:/\xff\x80\x7f\x00"[..]),
            1 => any::<u8>(),
        ];
        vec(byte, 0..40)
    }

    proptest! {
        #![proptest_config(crate::test_support::proptest_config())]

        #[test]
        fn leading_hex_digits_counts_what_a_byte_by_byte_count_counts(bytes in hexish_bytes()) {
            let expected = bytes.iter().take_while(|b| is_lower_hex_digit(**b)).count();
            prop_assert_eq!(leading_hex_digits(&bytes), expected.min(17));
        }

        #[test]
        fn padded_at_reads_what_padded_reads(
            before in vec(any::<u8>(), 0..24),
            a in any::<u64>(),
            n in 1usize..=16,
            after in vec(any::<u8>(), 0..4),
        ) {
            // n digits of every count, leading zeros among them.
            let digits = format!("{:0n$x}", a >> (64 - 4 * n));
            let text = [&before[..], digits.as_bytes(), &after[..]].concat();
            let end = before.len() + digits.len();
            prop_assert_eq!(padded_at(&text, end, digits.len()), padded(digits.as_bytes()));
        }

        #[test]
        fn padded_address_text_orders_as_the_addresses_do(
            a in any::<u64>(),
            b in any::<u64>(),
            width in 0usize..17,
        ) {
            let text = format!("{a:0width$x}");
            prop_assert_eq!(padded(text.as_bytes()).cmp(&address_text(b as usize)), a.cmp(&b));
            prop_assert_eq!(address_text(a as usize), padded(format!("{a:x}").as_bytes()));
        }

        #[test]
        fn trailing_hex_digits_counts_what_a_byte_by_byte_count_counts(bytes in hexish_bytes()) {
            let expected = bytes.iter().rev().take_while(|b| is_lower_hex_digit(**b)).count();
            prop_assert_eq!(trailing_hex_digits(&bytes), expected.min(16));
        }

        #[test]
        fn the_fast_loop_steps_over_a_header_only_where_classify_would(
            start in any::<u64>(),
            end in any::<u64>(),
            widths in (0usize..20, 0usize..20),
            addr in any::<u64>(),
            tail in hexish_bytes(),
        ) {
            let range = format!("{start:0w$x}-{end:0v$x}", w = widths.0, v = widths.1);
            let dash = range.find('-').unwrap();
            let scan = RecordScan::new(addr as usize);
            for line in [
                [range.as_bytes(), b" rw-p 0"].concat(),
                [range.as_bytes(), b" r-\n"].concat(),
                [range.as_bytes(), &tail].concat(),
                [range.as_bytes(), b" ", &tail].concat(),
            ] {
                let before = scan.ends_before(&line, 0, dash);
                let parsed = header_range(&line);
                let is_before = matches!(parsed, Some(Ok((s, e))) if e <= addr as usize && s <= e);
                if before.is_some() {
                    prop_assert!(is_before, "{:?} stepped over: {:?}", line, parsed);
                    prop_assert!(!line[..before.unwrap()].contains(&b'\n'));
                }
                // The kernel's own shape takes the fast loop.
                let short = dash <= 16 && range.len() - dash - 1 <= 16;
                if line.starts_with(&[range.as_bytes(), b" rw-p"].concat()) && short {
                    prop_assert_eq!(before.is_some(), is_before);
                }
            }
        }
    }
}
