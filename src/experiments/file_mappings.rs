//! Lesson `file-mappings`: a file read through a private read-only mapping, offsets in whole
//! pages, copy-on-write of a private writable mapping, MAP_SHARED writes that reach the file
//! (and the descriptors that may not make them), and the faults that kill: SIGSEGV for a
//! write to a read-only mapping, SIGBUS for a page wholly beyond the end of the file.

use crate::experiment::{
    Experiment, ExperimentError, Lab, Observation, OutcomeKey, OutcomeValue, Subject,
};
use crate::experiments::support::{
    TempDir, end_of_child_touching, nonzero, open, pread_text, write_file,
};
use crate::kernel::{Access, Pathname, SmapsRecord};
use crate::memory::FileMapping;
use nix::errno::Errno;
use nix::sys::mman::{MapFlags, ProtFlags};
use nix::unistd::getpid;
use std::fs::OpenOptions;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// What a step reports besides smaps records.
type Outcomes = Vec<(OutcomeKey, OutcomeValue)>;

crate::experiment::declare! {
    experiment: FileMappings, id: "file-mappings", forks: true;
    steps {
        "read-only": "after mapping a file PROT_READ, MAP_PRIVATE, closing the descriptor and reading",
        "offsets": "after mapping a two-page file at offsets that are and are not page multiples",
        "private-read": "after mapping the file PROT_READ | PROT_WRITE, MAP_PRIVATE and reading it",
        "private-written": "after writing one byte through the private writable mapping",
        "shared-written": "after mapping the file MAP_SHARED from each kind of descriptor and writing one byte",
        "faults": "after children touched memory they may not touch",
    }
    subjects {
        READ_ONLY = "read-only",
        OFFSET = "offset",
        PRIVATE = "private",
        SHARED = "shared",
    }
    outcomes {
        CLOSE = call "close(fd) right after mmap",
        READ_MAPPING = text "read through the mapping",
        SAME_PATH = text "mapped path is the file",
        SAME_INODE = text "device and inode match fstat",
        MISALIGNED = call "mmap at an offset that is not a multiple of the page size",
        ONE_PAGE_IN = call "mmap at an offset of one page",
        FIRST_BYTE = text "first byte of the mapping at an offset of one page",
        OFFSET_COLUMN = text "maps offset column, in pages",
        PRIVATE_WRITABLE = call "mmap PROT_READ | PROT_WRITE, MAP_PRIVATE of an O_RDONLY descriptor",
        PREAD = text "read from the file (pread)",
        SHARED_RDONLY = call "mmap PROT_READ | PROT_WRITE, MAP_SHARED of an O_RDONLY descriptor",
        SHARED_WRONLY = call "mmap PROT_READ | PROT_WRITE, MAP_SHARED of an O_WRONLY descriptor",
        SHARED_RDWR = call "mmap PROT_READ | PROT_WRITE, MAP_SHARED of an O_RDWR descriptor",
        PREAD_BEFORE_MSYNC = text "read from the file (pread) before msync",
        MSYNC = call "msync(MS_SYNC)",
        PREAD_AFTER_MSYNC = text "read from the file (pread) after msync",
        READ_ONLY_NOW = text "the read-only private mapping now reads",
        PRIVATE_NOW = text "the written private mapping still reads",
        BEYOND_MAPPED = call "mmap of two pages of a file shorter than one page",
        TAIL_ZEROS = text "bytes after the end of the file, up to the end of its page",
        WRITE_READ_ONLY = text "write to a PROT_READ mapping",
        READ_BEYOND = text "read of a page wholly beyond the end of the file",
        READ_TRUNCATED = text "read of a mapped page after the file was truncated to 0 bytes",
    }
}

/// The file the lesson maps: shorter than any page, so its only page ends in zeros.
const GREETING: &[u8] = b"Hello from the file";
/// What the private and the shared mapping write over the greeting's first byte.
const PRIVATE_LETTER: u8 = b'J';
const SHARED_LETTER: u8 = b'C';
/// The first byte of each page of the two-page file.
const PAGE_LETTERS: [u8; 2] = [b'A', b'B'];
/// An offset that is not a multiple of any page size.
const MISALIGNED_OFFSET: u64 = 123;

impl Experiment for FileMappings {
    fn run(&self, lab: &mut Lab<'_>) -> Result<(), ExperimentError> {
        let page = lab.probe.page_size.as_usize();
        // Dropped on every way out of this function, errors and panics included, so no file
        // outlives the experiment. Forked children never drop it: they only `_exit`.
        let dir = TempDir::new("pagelab-file-mappings-")?;
        let greeting = dir.path().join("greeting.txt");
        write_file(&greeting, GREETING)?;
        let size = GREETING.len();

        let read_only = read_only_step(lab, &greeting)?;
        offsets_step(lab, dir.path(), page)?;

        let ro_file = open(&greeting, OpenOptions::new().read(true))?;
        let private = FileMapping::map(
            ro_file.as_fd(),
            nonzero(size)?,
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_PRIVATE,
            0,
        );
        let private_word = mapped(&private);
        let private = private.map_err(ExperimentError::sys(
            "mmap PROT_READ | PROT_WRITE, MAP_PRIVATE",
        ))?;
        let read = OutcomeValue::text(private.text(0..size));
        lab.step(
            "private-read",
            Observation::of([Subject::of(PRIVATE, getpid(), &private)?])
                .with([(PRIVATE_WRITABLE, private_word), (READ_MAPPING, read)]),
        )?;

        private.write_byte(0, PRIVATE_LETTER);
        lab.step(
            "private-written",
            Observation::of([Subject::of(PRIVATE, getpid(), &private)?]).with([
                (READ_MAPPING, OutcomeValue::text(private.text(0..size))),
                (
                    PREAD,
                    OutcomeValue::text(pread_text(&ro_file, &greeting, size)?),
                ),
            ]),
        )?;

        let (shared, mut outcomes) = shared_mappings(&greeting, size)?;
        outcomes.push((READ_ONLY_NOW, OutcomeValue::text(read_only.text(0..size))));
        outcomes.push((PRIVATE_NOW, OutcomeValue::text(private.text(0..size))));
        lab.step(
            "shared-written",
            Observation::of([Subject::of(SHARED, getpid(), &shared)?]).with(outcomes),
        )?;

        faults_step(lab, dir.path(), &ro_file, &read_only, size, page)?;
        dir.close()
    }
}

/// A mapping longer than its file, and the accesses that kill: a write to a read-only
/// mapping, a read of a page wholly beyond the end of the file, and a read of a page that
/// was there until the file was truncated under the mapping.
fn faults_step(
    lab: &mut Lab<'_>,
    dir: &Path,
    file: &std::fs::File,
    read_only: &FileMapping,
    size: usize,
    page: usize,
) -> Result<(), ExperimentError> {
    let beyond = FileMapping::map(
        file.as_fd(),
        nonzero(2 * page)?,
        ProtFlags::PROT_READ,
        MapFlags::MAP_PRIVATE,
        0,
    );
    let beyond_word = mapped(&beyond);
    let beyond = beyond.map_err(ExperimentError::sys("mmap of two pages of a short file"))?;
    let tail = beyond.read_bytes(size..page);
    let nonzero_bytes = tail.iter().filter(|&&b| b != 0).count();
    let tail_word = if nonzero_bytes == 0 {
        "all zero".to_owned()
    } else {
        format!("{nonzero_bytes} of {} not zero", tail.len())
    };
    let write_read_only = end_of_child_touching(read_only.addr(), Access::Write)?;
    let read_beyond = end_of_child_touching(beyond.addr() + page, Access::Read)?;
    let read_truncated = read_after_truncate(dir, page)?;
    lab.step(
        "faults",
        Observation::outcomes([
            (BEYOND_MAPPED, beyond_word),
            (TAIL_ZEROS, OutcomeValue::text(tail_word)),
            (WRITE_READ_ONLY, OutcomeValue::text(write_read_only)),
            (READ_BEYOND, OutcomeValue::text(read_beyond)),
            (READ_TRUNCATED, OutcomeValue::text(read_truncated)),
        ]),
    )
}

/// Maps a one-page file, reads its page (so that it is mapped, not merely mappable), cuts
/// the file to 0 bytes with ftruncate(2), and has a child read the page again.
fn read_after_truncate(dir: &Path, page: usize) -> Result<String, ExperimentError> {
    let path = dir.join("truncated.txt");
    write_file(&path, &vec![b'T'; page])?;
    let file = open(&path, OpenOptions::new().read(true).write(true))?;
    let mapping = FileMapping::shared(file.as_fd(), nonzero(page)?, ProtFlags::PROT_READ)
        .map_err(ExperimentError::sys("mmap of a one-page file"))?;
    if mapping.read_byte(0) != b'T' {
        return Err(ExperimentError::Setup(format!(
            "{} does not read back through its mapping",
            path.display()
        )));
    }
    file.set_len(0).map_err(ExperimentError::io(format!(
        "ftruncate of {}",
        path.display()
    )))?;
    end_of_child_touching(mapping.addr(), Access::Read)
}

/// Maps the greeting read-only and private, closes the descriptor at once, and reads the
/// file through the mapping; compares what the kernel says the mapping maps with the file.
fn read_only_step(lab: &mut Lab<'_>, path: &Path) -> Result<FileMapping, ExperimentError> {
    let file = open(path, OpenOptions::new().read(true))?;
    let stat = file
        .metadata()
        .map_err(ExperimentError::io(format!("fstat of {}", path.display())))?;
    let size = usize::try_from(stat.len()).map_err(|_| {
        ExperimentError::Setup(format!(
            "{} is {} bytes, more than this process can address",
            path.display(),
            stat.len()
        ))
    })?;
    let mapping = FileMapping::map(
        file.as_fd(),
        nonzero(size)?,
        ProtFlags::PROT_READ,
        MapFlags::MAP_PRIVATE,
        0,
    )
    .map_err(ExperimentError::sys("mmap PROT_READ, MAP_PRIVATE"))?;
    let closed = nix::unistd::close(file);
    let read = OutcomeValue::text(mapping.text(0..size));
    let subject = Subject::of(READ_ONLY, getpid(), &mapping)?;
    let outcomes = [
        (CLOSE, closed.into()),
        (READ_MAPPING, read),
        (SAME_PATH, same_path(&subject.record, path)?),
        (SAME_INODE, same_inode(&subject.record, &stat)),
    ];
    lab.step("read-only", Observation::of([subject]).with(outcomes))?;
    Ok(mapping)
}

/// A two-page file whose pages start with different letters, mapped at a misaligned offset
/// and at an offset of one page.
fn offsets_step(lab: &mut Lab<'_>, dir: &Path, page: usize) -> Result<(), ExperimentError> {
    let path = dir.join("two-pages.bin");
    let mut contents = vec![0u8; 2 * page];
    contents[0] = PAGE_LETTERS[0];
    contents[page] = PAGE_LETTERS[1];
    write_file(&path, &contents)?;
    let file = open(&path, OpenOptions::new().read(true))?;
    let one_page = nonzero(page)?;
    let prot = ProtFlags::PROT_READ;
    let flags = MapFlags::MAP_PRIVATE;
    let misaligned = FileMapping::map(file.as_fd(), one_page, prot, flags, MISALIGNED_OFFSET);
    let misaligned_word = mapped(&misaligned);
    let second = FileMapping::map(file.as_fd(), one_page, prot, flags, page as u64);
    let second_word = mapped(&second);
    let second = second.map_err(ExperimentError::sys("mmap at an offset of one page"))?;
    let first_byte = OutcomeValue::letter(second.read_byte(0));
    let subject = Subject::of(OFFSET, getpid(), &second)?;
    let column = subject.record.vma.offset;
    let column_word = if column % page as u64 == 0 {
        (column / page as u64).to_string()
    } else {
        format!("{column:#x} bytes, not a whole number of pages")
    };
    lab.step(
        "offsets",
        Observation::of([subject]).with([
            (MISALIGNED, misaligned_word),
            (ONE_PAGE_IN, second_word),
            (FIRST_BYTE, first_byte),
            (OFFSET_COLUMN, OutcomeValue::text(column_word)),
        ]),
    )
}

/// Tries a writable MAP_SHARED mapping from each kind of descriptor; through the one that
/// works, writes a byte and reads the file back before and after msync.
fn shared_mappings(path: &Path, size: usize) -> Result<(FileMapping, Outcomes), ExperimentError> {
    let rw = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
    let len = nonzero(size)?;
    let try_map = |options: &OpenOptions| -> Result<Result<FileMapping, Errno>, ExperimentError> {
        let file = open(path, options)?;
        Ok(FileMapping::shared(file.as_fd(), len, rw))
    };
    let read_only = mapped(&try_map(OpenOptions::new().read(true))?);
    let write_only = mapped(&try_map(OpenOptions::new().write(true))?);
    let read_write = try_map(OpenOptions::new().read(true).write(true))?;
    let read_write_word = mapped(&read_write);
    let shared = read_write.map_err(ExperimentError::sys(
        "mmap MAP_SHARED of an O_RDWR descriptor",
    ))?;
    shared.write_byte(0, SHARED_LETTER);
    // A descriptor of its own: what any other reader of the file would see.
    let reader = open(path, OpenOptions::new().read(true))?;
    let before = pread_text(&reader, path, size)?;
    let synced = shared.msync();
    let after = pread_text(&reader, path, size)?;
    let outcomes = vec![
        (SHARED_RDONLY, read_only),
        (SHARED_WRONLY, write_only),
        (SHARED_RDWR, read_write_word),
        (PREAD_BEFORE_MSYNC, OutcomeValue::text(before)),
        (MSYNC, synced.into()),
        (PREAD_AFTER_MSYNC, OutcomeValue::text(after)),
    ];
    Ok((shared, outcomes))
}

/// Whether the mmap worked, or its errno.
fn mapped(result: &Result<FileMapping, Errno>) -> OutcomeValue {
    OutcomeValue::Call(result.as_ref().map(|_| ()).map_err(|e| *e))
}

/// `yes` if the mapping's path column names the file, else what it names.
fn same_path(record: &SmapsRecord, path: &Path) -> Result<OutcomeValue, ExperimentError> {
    // The kernel prints the path it resolved: symbolic links in TMPDIR are followed.
    let real = path
        .canonicalize()
        .map_err(ExperimentError::io(format!("resolving {}", path.display())))?;
    Ok(OutcomeValue::text(match &record.vma.pathname {
        Pathname::File {
            path: mapped,
            deleted: false,
        } if *mapped == real => "yes".into(),
        other => format!("no: maps shows `{other}`, the file is {}", real.display()),
    }))
}

/// `yes` if the mapping's device and inode columns are the ones fstat gives for the file.
fn same_inode(record: &SmapsRecord, stat: &std::fs::Metadata) -> OutcomeValue {
    let dev = stat.dev();
    let (major, minor) = (libc::major(dev), libc::minor(dev));
    let vma = &record.vma;
    OutcomeValue::text(
        if (vma.device.major, vma.device.minor, vma.inode) == (major, minor, stat.ino()) {
            "yes".into()
        } else {
            format!(
                "no: maps shows {:02x}:{:02x} {}, fstat {major:02x}:{minor:02x} {}",
                vma.device.major,
                vma.device.minor,
                vma.inode,
                stat.ino()
            )
        },
    )
}
