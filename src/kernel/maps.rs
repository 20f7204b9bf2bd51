//! One line of `/proc/PID/maps` (also the header line of each smaps record).
//! Format (proc(5)): `start-end perms offset major:minor inode [pathname]`.
//!
//! The text comes from another process's address space and may be cut short or corrupted by
//! a racing change, so every number is parsed with overflow checks and nothing here panics.

use crate::Bytes;
use crate::kernel::ParseError;
use std::fmt;
use std::path::PathBuf;

/// The four permission letters, e.g. `rw-p`: read, write, execute, shared (`s`) or private (`p`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Perms {
    pub read: bool,
    pub write: bool,
    pub exec: bool,
    pub shared: bool,
}

/// Device as `major:minor` (hex in the file); `00:00` for anonymous memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Device {
    pub major: u32,
    pub minor: u32,
}

/// What backs the mapping, from the last column.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Pathname {
    /// No last column: anonymous memory without a name.
    Anonymous,
    /// A path starting with `/`, with a trailing ` (deleted)` stripped into `deleted`.
    /// The kernel also prints SysV shared memory (`/SYSV00000000 (deleted)`) and memfds
    /// (`/memfd:NAME (deleted)`) this way, so they land here too.
    File {
        path: PathBuf,
        deleted: bool,
    },
    Heap,
    Stack,
    Vdso,
    Vvar,
    Vsyscall,
    /// `[anon:NAME]`, set with PR_SET_VMA_ANON_NAME.
    AnonNamed(String),
    /// `[anon_shmem:NAME]`.
    AnonShmemNamed(String),
    /// Any other pseudo path the kernel prints, kept verbatim (e.g. `[uprobes]`, or
    /// `[vvar_vclock]`, which recent x86 kernels map next to `[vvar]`).
    Other(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MapsLine {
    pub start: usize,
    pub end: usize,
    pub perms: Perms,
    pub offset: u64,
    pub device: Device,
    pub inode: u64,
    pub pathname: Pathname,
}

impl MapsLine {
    /// Whether `addr` lies in `[start, end)`.
    pub fn contains(&self, addr: usize) -> bool {
        self.start <= addr && addr < self.end
    }

    pub fn len(&self) -> Bytes {
        // The fields are public, so a hand-built line may have end < start: report 0
        // rather than panic.
        Bytes(self.end.saturating_sub(self.start) as u64)
    }

    pub fn is_empty(&self) -> bool {
        self.end <= self.start
    }
}

/// The longest excerpt of an offending line kept in a [`ParseError`]: enough to recognise
/// the line, short enough that a corrupted multi-kilobyte "line" stays readable.
const EXCERPT_CHARS: usize = 120;

pub(crate) fn parse_error(line: usize, message: impl Into<String>, text: &str) -> ParseError {
    let text = match text.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    };
    ParseError {
        line,
        message: message.into(),
        text,
    }
}

/// Hex digits only: `from_str_radix` would also accept a leading `+`, which the kernel
/// never prints and which would make a corrupted line look valid.
pub(crate) fn parse_hex(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, &b| {
        let digit = (b as char).to_digit(16)?;
        acc.checked_mul(16)?.checked_add(u64::from(digit))
    })
}

pub(crate) fn parse_dec(digits: &[u8]) -> Option<u64> {
    if digits.is_empty() {
        return None;
    }
    digits.iter().try_fold(0u64, |acc, &b| {
        if !b.is_ascii_digit() {
            return None;
        }
        acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

fn parse_hex_usize(digits: &[u8]) -> Option<usize> {
    parse_hex(digits).and_then(|v| usize::try_from(v).ok())
}

/// The kernel prints addresses in lower case (`%08lx`); accepting only that keeps field
/// lines, which start with an upper-case letter, from ever looking like headers.
fn is_lower_hex(b: &u8) -> bool {
    matches!(b, b'0'..=b'9' | b'a'..=b'f')
}

/// Recognises a maps/smaps header line by its shape alone (lower-case hex digits, `-`,
/// hex digits, space) and parses only its address range: the cheap test that lets a
/// search skip records without parsing them.
///
/// `None`: not a header. `Some(Err(_))`: header-shaped, but the range is unusable.
pub fn header_range(line: &[u8]) -> Option<Result<(usize, usize), &'static str>> {
    let dash = line.iter().position(|b| !is_lower_hex(b))?;
    if dash == 0 || line.get(dash) != Some(&b'-') {
        return None;
    }
    let rest = line.get(dash + 1..)?;
    let space = rest.iter().position(|b| !is_lower_hex(b))?;
    if space == 0 || rest.get(space) != Some(&b' ') {
        return None;
    }
    let range = match (
        parse_hex_usize(&line[..dash]),
        parse_hex_usize(&rest[..space]),
    ) {
        (Some(start), Some(end)) if start <= end => Ok((start, end)),
        (Some(_), Some(_)) => Err("address range ends before it starts"),
        _ => Err("address does not fit in a pointer"),
    };
    Some(range)
}

/// Splits off the next space-separated column, skipping the run of spaces before it.
fn next_column(rest: &str) -> (&str, &str) {
    let rest = rest.trim_start_matches(' ');
    match rest.find(' ') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    }
}

fn parse_perms(s: &str) -> Option<Perms> {
    let &[r, w, x, p] = s.as_bytes() else {
        return None;
    };
    let flag = |b: u8, yes: u8| match b {
        b'-' => Some(false),
        _ if b == yes => Some(true),
        _ => None,
    };
    Some(Perms {
        read: flag(r, b'r')?,
        write: flag(w, b'w')?,
        exec: flag(x, b'x')?,
        shared: match p {
            b's' => true,
            b'p' => false,
            _ => return None,
        },
    })
}

/// `major:minor` in hex, as the maps column and a claim's pattern write a device.
pub(crate) fn parse_device(s: &str) -> Option<Device> {
    let (major, minor) = s.split_once(':')?;
    let major = u32::try_from(parse_hex(major.as_bytes())?).ok()?;
    let minor = u32::try_from(parse_hex(minor.as_bytes())?).ok()?;
    Some(Device { major, minor })
}

const DELETED_SUFFIX: &str = " (deleted)";

fn parse_pathname(s: &str) -> Pathname {
    match s {
        "" => Pathname::Anonymous,
        "[heap]" => Pathname::Heap,
        "[stack]" => Pathname::Stack,
        "[vdso]" => Pathname::Vdso,
        "[vvar]" => Pathname::Vvar,
        "[vsyscall]" => Pathname::Vsyscall,
        _ if s.starts_with('/') => match s.strip_suffix(DELETED_SUFFIX) {
            Some(path) => Pathname::File {
                path: PathBuf::from(path),
                deleted: true,
            },
            None => Pathname::File {
                path: PathBuf::from(s),
                deleted: false,
            },
        },
        _ => {
            let bracketed = |prefix: &str| s.strip_prefix(prefix)?.strip_suffix(']');
            if let Some(name) = bracketed("[anon:") {
                Pathname::AnonNamed(name.to_owned())
            } else if let Some(name) = bracketed("[anon_shmem:") {
                Pathname::AnonShmemNamed(name.to_owned())
            } else {
                Pathname::Other(s.to_owned())
            }
        }
    }
}

/// Parses one line; errors report it as line `line_no`.
pub(crate) fn parse_maps_line_at(line: &str, line_no: usize) -> Result<MapsLine, ParseError> {
    let err = |message: &str| parse_error(line_no, message, line);
    let (start, end) = match header_range(line.as_bytes()) {
        Some(Ok(range)) => range,
        Some(Err(message)) => return Err(err(message)),
        None => return Err(err("expected `start-end` in hex at the start of the line")),
    };
    let (_range, rest) = next_column(line);
    let (perms, rest) = next_column(rest);
    let perms = parse_perms(perms).ok_or_else(|| err("bad permissions (expected e.g. rw-p)"))?;
    let (offset, rest) = next_column(rest);
    let offset = parse_hex(offset.as_bytes()).ok_or_else(|| err("bad offset (expected hex)"))?;
    let (device, rest) = next_column(rest);
    let device = parse_device(device).ok_or_else(|| err("bad device (expected major:minor)"))?;
    let (inode, rest) = next_column(rest);
    let inode = parse_dec(inode.as_bytes()).ok_or_else(|| err("bad inode (expected decimal)"))?;
    // Only leading padding is removed: a file name may itself contain or end in spaces.
    let pathname = parse_pathname(rest.trim_start_matches(' '));
    Ok(MapsLine {
        start,
        end,
        perms,
        offset,
        device,
        inode,
        pathname,
    })
}

pub fn parse_maps_line(line: &str) -> Result<MapsLine, ParseError> {
    parse_maps_line_at(line, 1)
}

/// Parses a whole maps file. An empty text is an error: every process that has an address
/// space has at least one mapping, so empty text means the read went wrong (or the process
/// has no address space, e.g. a kernel thread or a zombie).
pub fn parse_maps(text: &str) -> Result<Vec<MapsLine>, ParseError> {
    let body = text.strip_suffix('\n').unwrap_or(text);
    if body.is_empty() {
        return Err(parse_error(1, "empty maps text", text));
    }
    // One allocation: the number of lines is known before they are parsed.
    let mut lines = Vec::with_capacity(body.matches('\n').count() + 1);
    for (i, line) in body.split('\n').enumerate() {
        lines.push(parse_maps_line_at(line, i + 1)?);
    }
    Ok(lines)
}

impl fmt::Display for Perms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let letter = |set: bool, c: char| if set { c } else { '-' };
        write!(
            f,
            "{}{}{}{}",
            letter(self.read, 'r'),
            letter(self.write, 'w'),
            letter(self.exec, 'x'),
            if self.shared { 's' } else { 'p' }
        )
    }
}

impl fmt::Display for Pathname {
    /// The last column as the kernel prints it; empty for [`Pathname::Anonymous`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Pathname::Anonymous => Ok(()),
            Pathname::File { path, deleted } => {
                write!(f, "{}", path.display())?;
                if *deleted {
                    f.write_str(DELETED_SUFFIX)?;
                }
                Ok(())
            }
            Pathname::Heap => f.write_str("[heap]"),
            Pathname::Stack => f.write_str("[stack]"),
            Pathname::Vdso => f.write_str("[vdso]"),
            Pathname::Vvar => f.write_str("[vvar]"),
            Pathname::Vsyscall => f.write_str("[vsyscall]"),
            Pathname::AnonNamed(name) => write!(f, "[anon:{name}]"),
            Pathname::AnonShmemNamed(name) => write!(f, "[anon_shmem:{name}]"),
            Pathname::Other(text) => f.write_str(text),
        }
    }
}

/// The kernel pads the columns before the pathname to this width (show_vma_header_prefix:
/// `25 + sizeof(void *) * 6 - 1`), so pathnames line up at column 73 on 64-bit.
const PATHNAME_COLUMN: usize = 25 + std::mem::size_of::<usize>() * 6 - 1;

impl fmt::Display for MapsLine {
    /// Renders like the kernel does (addresses as lowercase hex, offset as 8 hex digits).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = format!(
            "{:08x}-{:08x} {} {:08x} {:02x}:{:02x} {} ",
            self.start,
            self.end,
            self.perms,
            self.offset,
            self.device.major,
            self.device.minor,
            self.inode
        );
        f.write_str(&prefix)?;
        // Like the kernel, a nameless mapping keeps the trailing space and gets no padding.
        if self.pathname != Pathname::Anonymous {
            let pad = PATHNAME_COLUMN.saturating_sub(prefix.len());
            write!(f, "{:pad$} {}", "", self.pathname)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(pathname: Pathname) -> MapsLine {
        MapsLine {
            start: 0x7f00_0000_0000,
            end: 0x7f00_0100_0000,
            perms: Perms {
                read: true,
                write: true,
                exec: false,
                shared: false,
            },
            offset: 0,
            device: Device::default(),
            inode: 0,
            pathname,
        }
    }

    #[test]
    fn parses_an_anonymous_line_with_the_kernels_trailing_space() {
        let l = parse_maps_line("7f0000000000-7f0001000000 rw-p 00000000 00:00 0 ").unwrap();
        assert_eq!(l, line(Pathname::Anonymous));
        assert_eq!(l.len(), Bytes::from_kib(16 * 1024));
        assert!(l.contains(0x7f00_0000_0000));
        assert!(l.contains(0x7f00_00ff_ffff));
        assert!(!l.contains(0x7f00_0100_0000));
    }

    #[test]
    fn keeps_spaces_inside_paths_and_strips_deleted() {
        let l = parse_maps_line(
            "7f0000000000-7f0001000000 r--s 00001000 fe:01 1234                       /tmp/my data (deleted)",
        )
        .unwrap();
        assert_eq!(
            l.pathname,
            Pathname::File {
                path: PathBuf::from("/tmp/my data"),
                deleted: true
            }
        );
        assert_eq!(l.offset, 0x1000);
        assert_eq!(
            l.device,
            Device {
                major: 0xfe,
                minor: 1
            }
        );
        assert_eq!(l.inode, 1234);
        assert!(l.perms.shared && !l.perms.write);
    }

    #[test]
    fn classifies_pseudo_paths() {
        let cases = [
            ("[heap]", Pathname::Heap),
            ("[stack]", Pathname::Stack),
            ("[vdso]", Pathname::Vdso),
            ("[vvar]", Pathname::Vvar),
            ("[vsyscall]", Pathname::Vsyscall),
            ("[anon:my buf]", Pathname::AnonNamed("my buf".into())),
            ("[anon_shmem:x]", Pathname::AnonShmemNamed("x".into())),
            ("[vvar_vclock]", Pathname::Other("[vvar_vclock]".into())),
            ("[anon:", Pathname::Other("[anon:".into())),
        ];
        for (text, want) in cases {
            let l =
                parse_maps_line(&format!("1000-2000 r--p 00000000 00:00 0      {text}")).unwrap();
            assert_eq!(l.pathname, want, "{text}");
        }
    }

    #[test]
    fn display_matches_the_kernels_layout_and_round_trips() {
        let kernel =
            "7ffd92197000-7ffd921b8000 rw-p 00000000 00:00 0                          [stack]";
        assert_eq!(parse_maps_line(kernel).unwrap().to_string(), kernel);
        let kernel =
            "ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]";
        assert_eq!(parse_maps_line(kernel).unwrap().to_string(), kernel);
        let kernel = "555ed2bf0000-555ed2c00000 rw-p 00000000 00:00 0 ";
        assert_eq!(parse_maps_line(kernel).unwrap().to_string(), kernel);

        for pathname in [
            Pathname::Anonymous,
            Pathname::Heap,
            Pathname::AnonNamed("n".into()),
            Pathname::Other("[uprobes]".into()),
            Pathname::File {
                path: "/a b/c d".into(),
                deleted: true,
            },
        ] {
            let l = line(pathname);
            assert_eq!(parse_maps_line(&l.to_string()).unwrap(), l);
        }
    }

    #[test]
    fn rejects_malformed_lines_without_panicking() {
        let bad = [
            "",
            "-",
            "1000-",
            "1000-2000",
            "1000-2000 ",
            "2000-1000 rw-p 00000000 00:00 0",
            "1000-2000 rwxq 00000000 00:00 0",
            "1000-2000 rw-p +0000000 00:00 0",
            "1000-2000 rw-p 00000000 0000 0",
            "1000-2000 rw-p 00000000 00:00 -1",
            "1000-2000 rw-p 00000000 00:00 99999999999999999999999",
            "10000000000000000-20000000000000000 rw-p 00000000 00:00 0",
            "1000-2000 rw-p 00000000 100000000:00 0",
            "é-ü rw-p",
        ];
        for text in bad {
            let e = parse_maps_line(text).unwrap_err();
            assert_eq!(e.line, 1, "{text}");
        }
    }

    #[test]
    fn parse_maps_numbers_lines_and_rejects_empty_text() {
        let text = "1000-2000 r--p 00000000 00:00 0 \n3000-4000 r--p 00000000 00:00 0 \nbad\n";
        assert_eq!(parse_maps(text).unwrap_err().line, 3);
        assert_eq!(parse_maps("").unwrap_err().line, 1);
        assert_eq!(parse_maps(&text[..66]).unwrap().len(), 2);
    }

    #[test]
    fn cuts_long_offending_lines_on_a_char_boundary() {
        let long = "é".repeat(500);
        let e = parse_maps_line(&long).unwrap_err();
        assert!(e.text.chars().count() <= EXCERPT_CHARS + 1);
    }
}
