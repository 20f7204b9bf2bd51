//! Checks of lesson `file-mappings`' exercises.

use super::{Rng, page};
use crate::homework::{Failure, Passed};
use std::path::Path;

crate::homework::declare::exercises! {
    lesson: file_mappings;

    /// Reads its own pages' smaps fields, which a concurrent fork would turn shared.
    read_through_mapping {
        fork_lock: shared,
        // BEGIN FAKES
        fakes: [
            "read(2)" => |p| std::fs::read(p),
            "nothing" => |_| Ok(Vec::new()),
        ],
        // END FAKES
    }

    /// Reads its own pages' smaps fields, which a concurrent fork would turn shared.
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
            "nothing" => |_, _, _| Ok(()),
        ],
        // END FAKES
    }
}

/// `rchar` and `wchar` of /proc/thread-self/io: bytes this thread passed through read(2)
/// and write(2) (and their kin). A mapping's page faults count in neither.
fn io_counters() -> Option<(u64, u64)> {
    let text = std::fs::read_to_string("/proc/thread-self/io").ok()?;
    let value = |key: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().parse().ok())
    };
    Some((value("rchar:")?, value("wchar:")?))
}

const NO_IO_ACCOUNTING: &str = "/proc/thread-self/io is missing (kernel without task I/O \
     accounting): a read(2) cannot be told from a mapping";

fn temp_dir() -> Result<tempfile::TempDir, Failure> {
    tempfile::tempdir().map_err(|e| Failure::setup("make a temporary directory", e))
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

/// A file of random length and contents: the bytes must come back, with less read(2)ing
/// than the file's length; an empty file gives nothing, a missing one an error.
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
    let (rchar, _) = io_counters().unwrap_or(before);
    let read = rchar - before.0;
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
    if read >= contents.len() as u64 {
        return Err(Failure::new(
            expected,
            format!("/proc/thread-self/io: rchar grew by {read} bytes: the file was read(2)"),
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
        "{} bytes read back with rchar +{read}; empty file: no bytes; missing file: an error",
        contents.len()
    )))
}

/// A file of random contents, overwritten across a page boundary at an offset that is not a
/// multiple of the page size: afterwards the file must hold the new bytes there and the old
/// ones elsewhere, keep its length, and have seen less write(2)ing than the bytes written.
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
    let (_, wchar) = io_counters().unwrap_or(before);
    let written = wchar - before.1;
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
    if written >= data.len() as u64 {
        return Err(Failure::new(
            expected,
            format!(
                "/proc/thread-self/io: wchar grew by {written} bytes: the file was written with write(2)"
            ),
        ));
    }
    Ok(Passed::Held(format!(
        "{} bytes at offset {offset} are in the file, wchar +{written}",
        data.len()
    )))
}
