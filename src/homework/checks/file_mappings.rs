//! Checks of lesson `file-mappings`' exercises.

use super::{Rng, page, temp_dir};
use crate::homework::{Failure, Passed};
use std::path::Path;

crate::homework::declare::exercises! {
    lesson: file_mappings;

    read_through_mapping {
        fork_lock: shared,
        // BEGIN FAKES
        fakes: [
            "read(2)" => |p| std::fs::read(p),
            "half and a byte by read(2), the rest mapped" saying "rchar grew" => |p| {
                use std::io::Read;
                let mut all = crate::exercises::file_mappings::read_through_mapping(p)?;
                let some = (all.len() / 2 + 1).min(all.len());
                std::fs::File::open(p)?.read_exact(&mut all[..some])?;
                Ok(all)
            },
            "nothing" => |_| Ok(Vec::new()),
        ],
        // END FAKES
    }

    write_through_mapping {
        fork_lock: shared,
        // BEGIN FAKES
        fakes: [
            "pwrite(2)" => |p, offset, data| {
                use std::os::unix::fs::FileExt;
                std::fs::File::options()
                    .write(true)
                    .open(p)?
                    .write_all_at(data, offset)
            },
            "all but the last byte by write(2)" saying "wchar grew" => |p, offset, data| {
                use std::os::unix::fs::FileExt;
                let (head, last) = data.split_at(data.len() - 1);
                std::fs::File::options().write(true).open(p)?.write_all_at(head, offset)?;
                let after = offset + head.len() as u64;
                crate::exercises::file_mappings::write_through_mapping(p, after, last)
            },
            "nothing" => |_, _, _| Ok(()),
        ],
        // END FAKES
    }
}

/// This thread's counters in /proc/thread-self/io: bytes it passed through read(2) and
/// write(2) and their kin (`rchar`, `wchar`; a mapping's page faults count in neither), and
/// what reading them cost.
struct Io {
    rchar: u64,
    wchar: u64,
    /// The bytes this reading added to `rchar`: the text's length. The kernel writes the
    /// counters into the text before it counts the read, so the next reading shows them.
    cost: u64,
}

/// Read with a single read(2) into a buffer of its own (the text is about 200 bytes), so
/// that the check knows to the byte what its own reading added to `rchar` and can ask for
/// none at all of the student's: a read of half a file and a mapping of the rest passed a
/// limit of "less than the file", and the check's reading (a growing buffer's several
/// reads) was not known exactly.
fn io_counters() -> Option<Io> {
    use std::io::Read;
    let mut file = std::fs::File::open("/proc/thread-self/io").ok()?;
    let mut buffer = [0u8; 1024];
    let len = file.read(&mut buffer).ok()?;
    let text = std::str::from_utf8(&buffer[..len]).ok()?;
    let value = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().parse().ok())
    };
    Some(Io {
        rchar: value("rchar:")?,
        wchar: value("wchar:")?,
        cost: len as u64,
    })
}

const NO_IO_ACCOUNTING: &str = "/proc/thread-self/io is missing (kernel without task I/O \
     accounting): a read(2) cannot be told from a mapping";

/// /proc/thread-self/io could be read before the call and not after it.
fn io_gone() -> Failure {
    Failure::setup(
        "read /proc/thread-self/io after your call",
        "it was readable before it and is not now",
    )
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    std::fs::write(path, bytes).map_err(|e| Failure::setup(&format!("write {}", path.display()), e))
}

/// Where `got` first differs from `want` ("from byte N", or "in length" when one is the
/// start of the other), or `None` when they are the same bytes.
fn difference(got: &[u8], want: &[u8]) -> Option<String> {
    (got != want).then(|| {
        got.iter()
            .zip(want)
            .position(|(a, b)| a != b)
            .map_or("in length".into(), |i| format!("from byte {i}"))
    })
}

/// A file of random length and contents: the bytes must come back without a byte read(2)
/// (rchar grows by the check's own reading of it and no more); an empty file gives nothing,
/// a missing one an error.
pub fn read_through_mapping(f: fn(&Path) -> std::io::Result<Vec<u8>>) -> Result<Passed, Failure> {
    let mut rng = Rng::new();
    let dir = temp_dir()?;
    let path = dir.path().join("data");
    let len = rng.between(2 * page() + 1, 5 * page() - 1);
    let contents = rng.bytes(len);
    write_file(&path, &contents)?;
    let Some(before) = io_counters() else {
        return Ok(Passed::Skipped(NO_IO_ACCOUNTING.into()));
    };
    let got = f(&path).map_err(|e| Failure::returned_error("read_through_mapping(file)", e))?;
    let after = io_counters().ok_or_else(io_gone)?;
    // What the student's call read(2): all of rchar's growth but the check's reading before.
    let read = (after.rchar - before.rchar).saturating_sub(before.cost);
    let expected = format!(
        "the file's {} bytes, with no read(2) of them",
        contents.len()
    );
    if let Some(difference) = difference(&got, &contents) {
        return Err(Failure::new(
            expected,
            format!("{} bytes, differing from the file {difference}", got.len()),
        ));
    }
    if read != 0 {
        return Err(Failure::new(
            expected,
            format!(
                "/proc/thread-self/io: rchar grew by {read} bytes during your call (the check's \
                 own reading of it left out): bytes were read(2), where reading through the \
                 mapping counts none"
            ),
        ));
    }
    let empty = dir.path().join("empty");
    write_file(&empty, &[])?;
    match f(&empty) {
        Ok(bytes) if bytes.is_empty() => {}
        other => {
            return Err(Failure::new(
                "an empty file: Ok and no bytes",
                format!("{other:?}").chars().take(120).collect::<String>(),
            ));
        }
    }
    if let Ok(bytes) = f(&dir.path().join("missing")) {
        return Err(Failure::new(
            "a missing file: an error",
            format!("Ok with {} bytes", bytes.len()),
        ));
    }
    Ok(Passed::Held(format!(
        "{} bytes read back with rchar +0 (the check's own reading left out); empty file: no \
         bytes; missing file: an error",
        contents.len()
    )))
}

/// A file of random contents, overwritten across a page boundary at an offset that is not a
/// multiple of the page size: afterwards the file must hold the new bytes there and the old
/// ones elsewhere, keep its length, and have seen no byte written with write(2) (wchar does
/// not grow: the check writes nothing while it measures).
pub fn write_through_mapping(
    f: fn(&Path, u64, &[u8]) -> std::io::Result<()>,
) -> Result<Passed, Failure> {
    let mut rng = Rng::new();
    let page = page();
    let dir = temp_dir()?;
    let path = dir.path().join("data");
    let len = 3 * page + rng.between(1, page - 1);
    let old = rng.bytes(len);
    write_file(&path, &old)?;
    let len = rng.between(64, 512);
    let data = rng.bytes(len);
    // Ends past the boundary between pages 1 and 2, starts off any page boundary.
    let offset = 2 * page - rng.between(1, data.len() - 1);
    let Some(before) = io_counters() else {
        return Ok(Passed::Skipped(NO_IO_ACCOUNTING.into()));
    };
    let asked = format!(
        "write_through_mapping(file, {offset}, {} bytes)",
        data.len()
    );
    f(&path, offset as u64, &data).map_err(|e| Failure::returned_error(&asked, e))?;
    let written = io_counters().ok_or_else(io_gone)?.wchar - before.wchar;
    let now = std::fs::read(&path).map_err(|e| Failure::setup("read the file back", e))?;
    let mut want = old.clone();
    want[offset..offset + data.len()].copy_from_slice(&data);
    let expected = format!(
        "{asked}: the file holds the new bytes there, its other bytes and length unchanged, no write(2)"
    );
    if let Some(difference) = difference(&now, &want) {
        return Err(Failure::new(
            expected,
            format!(
                "the file ({} bytes, was {}) differs {difference}",
                now.len(),
                old.len(),
            ),
        ));
    }
    if written != 0 {
        return Err(Failure::new(
            expected,
            format!(
                "/proc/thread-self/io: wchar grew by {written} bytes during your call: bytes \
                 were written with write(2) (printing counts too), where writing through the \
                 mapping counts none"
            ),
        ));
    }
    Ok(Passed::Held(format!(
        "{} bytes at offset {offset} are in the file, wchar +0",
        data.len()
    )))
}
