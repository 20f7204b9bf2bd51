//! `/proc/PID/smaps`: one record per VMA, a maps header line followed by `Key: value` lines.
//! Fields come and go between kernel versions, so they are kept as key -> value in kernel
//! order, and unknown keys are kept, not rejected.

use crate::Bytes;
use crate::kernel::maps::{header_range, parse_dec, parse_error, parse_maps_line_at};
use crate::kernel::{MapsLine, ParseError};

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
    pub fields: Vec<(String, FieldValue)>,
    /// VmFlags tokens (`rd`, `wr`, ...), `None` if the record had no VmFlags line.
    pub vm_flags: Option<Vec<String>>,
}

impl SmapsRecord {
    pub fn field(&self, name: &str) -> Option<FieldValue> {
        self.fields
            .iter()
            .find(|(key, _)| key == name)
            .map(|&(_, value)| value)
    }

    /// A size field's value; `None` if the kernel did not print it (or it is not a size).
    pub fn size(&self, name: &str) -> Option<Bytes> {
        match self.field(name)? {
            FieldValue::Size(bytes) => Some(bytes),
            FieldValue::Number(_) => None,
        }
    }

    pub fn has_flag(&self, flag: &str) -> bool {
        self.vm_flags
            .as_deref()
            .is_some_and(|flags| flags.iter().any(|f| f == flag))
    }
}

/// A record under construction.
struct Builder {
    record: SmapsRecord,
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
        })
    }

    fn add_line(&mut self, line: &str, line_no: usize) -> Result<(), ParseError> {
        let err = |message: &str| parse_error(line_no, message, line);
        let (key, value) = line
            .split_once(':')
            .ok_or_else(|| err("expected `Key: value` or a maps header line"))?;
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
        let value = parse_value(value.trim_matches(' ')).ok_or_else(|| {
            err("bad value (expected `N kB` or a number): the text may be cut short or corrupt")
        })?;
        self.record.fields.push((key.to_owned(), value));
        Ok(())
    }
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

/// Parses exactly one record: `text` holds its header and its field lines, and its first
/// line is line `first_line` of the file (for error messages).
pub(crate) fn parse_one_record(text: &str, first_line: usize) -> Result<SmapsRecord, ParseError> {
    let mut records = parse_records(text, first_line)?;
    match records.len() {
        1 => Ok(records.swap_remove(0)),
        _ => Err(parse_error(
            first_line,
            "expected exactly one smaps record",
            text.lines().next().unwrap_or(""),
        )),
    }
}

/// Where a search stands after looking at one more header line.
pub(crate) enum Scan {
    /// The header's VMA ends at or before the address: keep looking.
    Before,
    /// The header's VMA contains the address.
    Found,
    /// The header's VMA starts after the address: the address is in a gap (records are in
    /// ascending address order), so no later record can contain it.
    Past,
}

/// Classifies a header line for a search for `addr`. `None`: not a header line.
pub(crate) fn scan_header(
    line: &[u8],
    addr: usize,
    line_no: usize,
) -> Option<Result<Scan, ParseError>> {
    let range = header_range(line)?;
    Some(match range {
        Ok((start, _)) if start > addr => Ok(Scan::Past),
        Ok((_, end)) if addr < end => Ok(Scan::Found),
        Ok(_) => Ok(Scan::Before),
        Err(message) => Err(parse_error(
            line_no,
            message,
            &String::from_utf8_lossy(line),
        )),
    })
}

/// Finds the record of the VMA containing `addr`, parsing only up to it.
///
/// Records before it are only recognised by their header lines (whose address range is
/// parsed); their field lines are skipped unchecked, so garbage there goes unnoticed here
/// while [`parse_smaps`] would report it. The search stops at the first VMA starting
/// after `addr`.
pub fn find_record(text: &str, addr: usize) -> Result<Option<SmapsRecord>, ParseError> {
    let bytes = text.as_bytes();
    // The same verdict as parse_smaps for text that cannot be smaps at all.
    match bytes.split(|&b| b == b'\n').next() {
        Some(first) if header_range(first).is_some() => {}
        _ => {
            let first = text.lines().next().unwrap_or("");
            return Err(parse_error(1, "expected a maps header line first", first));
        }
    }
    let mut line_start = 0;
    let mut line_no = 1;
    let mut found: Option<(usize, usize)> = None;
    // One iterator over every newline: a memchr call per line would cost more in setup than
    // in search, at ~25 short lines per record.
    let mut newlines = memchr::memchr_iter(b'\n', bytes);
    while line_start < bytes.len() {
        let line_end = newlines.next().unwrap_or(bytes.len());
        // Field lines start with an upper-case letter and header lines with a lower-case
        // hex digit, so one byte rules out every field line the kernel prints.
        let first = bytes[line_start];
        if !first.is_ascii_uppercase() {
            if let Some(scan) = scan_header(&bytes[line_start..line_end], addr, line_no) {
                if let Some((start, start_line)) = found {
                    // The next header ends the wanted record.
                    return parse_one_record(&text[start..line_start], start_line).map(Some);
                }
                match scan? {
                    Scan::Before => {}
                    Scan::Found => found = Some((line_start, line_no)),
                    Scan::Past => return Ok(None),
                }
            }
        }
        line_start = line_end + 1;
        line_no += 1;
    }
    match found {
        Some((start, start_line)) => parse_one_record(&text[start..], start_line).map(Some),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::Pathname;

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
        assert_eq!(anon.size("Size"), Some(Bytes::from_kib(16384)));
        assert_eq!(anon.size("NewField"), Some(Bytes::from_kib(12)));
        assert_eq!(anon.field("ProtectionKey"), Some(FieldValue::Number(0)));
        assert_eq!(anon.size("ProtectionKey"), None);
        assert_eq!(anon.size("KSM"), None);
        assert!(anon.has_flag("zz") && anon.has_flag("ac") && !anon.has_flag("ex"));
        assert_eq!(records[0].field("THPeligible"), Some(FieldValue::Number(0)));
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
}
