//! Lesson `file-mappings`: a file read through a private read-only mapping, offsets in whole
//! pages, copy-on-write of a private writable mapping, MAP_SHARED writes that reach the file
//! (and the descriptors that may not make them), and the faults that kill: SIGSEGV for a
//! write to a read-only mapping, SIGBUS for a page wholly beyond the end of the file.

use crate::experiment::{Experiment, ExperimentError, Lab, Observation, Step, Subject, Vocabulary};
use crate::experiments::pages::result_word;
use crate::kernel::procfs::{self, Proc};
use crate::kernel::{Pathname, SmapsRecord};
use crate::memory::child::End;
use crate::memory::{Child, ChildError, MappingError};
use nix::errno::Errno;
use nix::sys::mman::{MapFlags, MsFlags, ProtFlags, mmap, msync, munmap};
use nix::unistd::getpid;
use std::fs::{File, OpenOptions};
use std::io;
use std::num::NonZeroUsize;
use std::ops::Range;
use std::os::fd::AsFd;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::ptr::NonNull;

pub struct FileMappings;

/// What a step reports besides smaps records.
type Outcomes = Vec<(&'static str, String)>;

const STEPS: &[Step] = &[
    Step {
        id: "read-only",
        title: "after mapping a file PROT_READ, MAP_PRIVATE, closing the descriptor and reading",
    },
    Step {
        id: "offsets",
        title: "after mapping a two-page file at offsets that are and are not page multiples",
    },
    Step {
        id: "private-read",
        title: "after mapping the file PROT_READ | PROT_WRITE, MAP_PRIVATE and reading it",
    },
    Step {
        id: "private-written",
        title: "after writing one byte through the private writable mapping",
    },
    Step {
        id: "shared-written",
        title: "after mapping the file MAP_SHARED from each kind of descriptor and writing one byte",
    },
    Step {
        id: "faults",
        title: "after children touched memory they may not touch",
    },
];

/// The file the lesson maps: shorter than any page, so its only page ends in zeros.
const GREETING: &[u8] = b"Hello from the file";
/// What the private and the shared mapping write over the greeting's first byte.
const PRIVATE_LETTER: u8 = b'J';
const SHARED_LETTER: u8 = b'C';
/// The first byte of each page of the two-page file.
const PAGE_LETTERS: [u8; 2] = [b'A', b'B'];
/// An offset that is not a multiple of any page size.
const MISALIGNED_OFFSET: u64 = 123;

/// The command of a fault child: touch the address it was given.
const TOUCH: u8 = 1;

const CLOSE: &str = "close(fd) right after mmap";
const READ_MAPPING: &str = "read through the mapping";
const SAME_PATH: &str = "mapped path is the file";
const SAME_INODE: &str = "device and inode match fstat";
const MISALIGNED: &str = "mmap at an offset that is not a multiple of the page size";
const ONE_PAGE_IN: &str = "mmap at an offset of one page";
const FIRST_BYTE: &str = "first byte of the mapping at an offset of one page";
const OFFSET_COLUMN: &str = "maps offset column, in pages";
const PRIVATE_WRITABLE: &str = "mmap PROT_READ | PROT_WRITE, MAP_PRIVATE of an O_RDONLY descriptor";
const PREAD: &str = "read from the file (pread)";
const SHARED_RDONLY: &str = "mmap PROT_READ | PROT_WRITE, MAP_SHARED of an O_RDONLY descriptor";
const SHARED_WRONLY: &str = "mmap PROT_READ | PROT_WRITE, MAP_SHARED of an O_WRONLY descriptor";
const SHARED_RDWR: &str = "mmap PROT_READ | PROT_WRITE, MAP_SHARED of an O_RDWR descriptor";
const PREAD_BEFORE_MSYNC: &str = "read from the file (pread) before msync";
const MSYNC: &str = "msync(MS_SYNC)";
const PREAD_AFTER_MSYNC: &str = "read from the file (pread) after msync";
const READ_ONLY_NOW: &str = "the read-only private mapping now reads";
const PRIVATE_NOW: &str = "the written private mapping still reads";
const BEYOND_MAPPED: &str = "mmap of two pages of a file shorter than one page";
const TAIL_ZEROS: &str = "bytes after the end of the file, up to the end of its page";
const WRITE_READ_ONLY: &str = "write to a PROT_READ mapping";
const READ_BEYOND: &str = "read of a page wholly beyond the end of the file";

impl Experiment for FileMappings {
    fn id(&self) -> &'static str {
        "file-mappings"
    }

    fn vocabulary(&self) -> Vocabulary {
        Vocabulary {
            steps: STEPS,
            subjects: &["read-only", "offset", "private", "shared"],
            outcomes: &[
                CLOSE,
                READ_MAPPING,
                SAME_PATH,
                SAME_INODE,
                MISALIGNED,
                ONE_PAGE_IN,
                FIRST_BYTE,
                OFFSET_COLUMN,
                PRIVATE_WRITABLE,
                PREAD,
                SHARED_RDONLY,
                SHARED_WRONLY,
                SHARED_RDWR,
                PREAD_BEFORE_MSYNC,
                MSYNC,
                PREAD_AFTER_MSYNC,
                READ_ONLY_NOW,
                PRIVATE_NOW,
                BEYOND_MAPPED,
                TAIL_ZEROS,
                WRITE_READ_ONLY,
                READ_BEYOND,
            ],
        }
    }

    fn run(&self, lab: &mut Lab<'_>) -> Result<(), ExperimentError> {
        let page = lab.probe.page_size.as_usize();
        // Dropped on every way out of this function, errors and panics included, so no file
        // outlives the experiment. Forked children never drop it: they only `_exit`.
        let dir = tempfile::Builder::new()
            .prefix("pagelab-file-mappings-")
            .tempdir()
            .map_err(io_context("creating a temporary directory".into()))?;
        let greeting = dir.path().join("greeting.txt");
        write_file(&greeting, GREETING)?;
        let size = GREETING.len();

        let read_only = read_only_step(lab, &greeting, page)?;
        offsets_step(lab, dir.path(), page)?;

        let ro_file = open(&greeting, OpenOptions::new().read(true))?;
        let private = FileMapping::map(
            ro_file.as_fd(),
            nonzero(size)?,
            ProtFlags::PROT_READ | ProtFlags::PROT_WRITE,
            MapFlags::MAP_PRIVATE,
            0,
            page,
        );
        let private_word = mapped_word(&private);
        let private = private.map_err(sys("mmap PROT_READ | PROT_WRITE, MAP_PRIVATE"))?;
        let read = private.text(0..size);
        lab.step(
            "private-read",
            Observation {
                subjects: vec![view("private", &private)?],
                outcomes: vec![(PRIVATE_WRITABLE, private_word), (READ_MAPPING, read)],
            },
        )?;

        private.write_byte(0, PRIVATE_LETTER);
        lab.step(
            "private-written",
            Observation {
                subjects: vec![view("private", &private)?],
                outcomes: vec![
                    (READ_MAPPING, private.text(0..size)),
                    (PREAD, pread_text(&ro_file, &greeting, size)?),
                ],
            },
        )?;

        let (shared, mut outcomes) = shared_mappings(&greeting, size, page)?;
        outcomes.push((READ_ONLY_NOW, read_only.text(0..size)));
        outcomes.push((PRIVATE_NOW, private.text(0..size)));
        lab.step(
            "shared-written",
            Observation {
                subjects: vec![view("shared", &shared)?],
                outcomes,
            },
        )?;

        let beyond = FileMapping::map(
            ro_file.as_fd(),
            nonzero(2 * page)?,
            ProtFlags::PROT_READ,
            MapFlags::MAP_PRIVATE,
            0,
            page,
        );
        let beyond_word = mapped_word(&beyond);
        let beyond = beyond.map_err(sys("mmap of two pages of a short file"))?;
        let tail = beyond.read_bytes(size..page);
        let nonzero_bytes = tail.iter().filter(|&&b| b != 0).count();
        let tail_word = if nonzero_bytes == 0 {
            "all zero".to_owned()
        } else {
            format!("{nonzero_bytes} of {} not zero", tail.len())
        };
        let write_read_only = end_of_child_touching(read_only.addr(), Access::Write)?;
        let read_beyond = end_of_child_touching(beyond.addr() + page, Access::Read)?;
        lab.step(
            "faults",
            Observation {
                subjects: vec![],
                outcomes: vec![
                    (BEYOND_MAPPED, beyond_word),
                    (TAIL_ZEROS, tail_word),
                    (WRITE_READ_ONLY, write_read_only),
                    (READ_BEYOND, read_beyond),
                ],
            },
        )?;
        dir.close()
            .map_err(io_context("removing the temporary directory".into()))
    }
}

/// Maps the greeting read-only and private, closes the descriptor at once, and reads the
/// file through the mapping; compares what the kernel says the mapping maps with the file.
fn read_only_step(
    lab: &mut Lab<'_>,
    path: &Path,
    page: usize,
) -> Result<FileMapping, ExperimentError> {
    let file = open(path, OpenOptions::new().read(true))?;
    let stat = file
        .metadata()
        .map_err(io_context(format!("fstat of {}", path.display())))?;
    let size = usize::try_from(stat.len()).map_err(|_| ExperimentError::Sys {
        what: format!("the size of {}", path.display()),
        errno: Errno::EFBIG,
    })?;
    let mapping = FileMapping::map(
        file.as_fd(),
        nonzero(size)?,
        ProtFlags::PROT_READ,
        MapFlags::MAP_PRIVATE,
        0,
        page,
    )
    .map_err(sys("mmap PROT_READ, MAP_PRIVATE"))?;
    let closed = nix::unistd::close(file);
    let read = mapping.text(0..size);
    let record = mapping.smaps(Proc::SelfProcess)?;
    let outcomes = vec![
        (CLOSE, result_word(closed)),
        (READ_MAPPING, read),
        (SAME_PATH, same_path(&record, path)?),
        (SAME_INODE, same_inode(&record, &stat)),
    ];
    lab.step(
        "read-only",
        Observation {
            subjects: vec![Subject::plain("read-only", getpid(), record)],
            outcomes,
        },
    )?;
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
    let misaligned = FileMapping::map(file.as_fd(), one_page, prot, flags, MISALIGNED_OFFSET, page);
    let misaligned_word = result_word(misaligned.map(|_| ()));
    let second = FileMapping::map(file.as_fd(), one_page, prot, flags, page as u64, page);
    let second_word = mapped_word(&second);
    let second = second.map_err(sys("mmap at an offset of one page"))?;
    let first_byte = char::from(second.read_byte(0)).to_string();
    let record = second.smaps(Proc::SelfProcess)?;
    let column = record.vma.offset;
    let column_word = if column % page as u64 == 0 {
        (column / page as u64).to_string()
    } else {
        format!("{column:#x} bytes, not a whole number of pages")
    };
    lab.step(
        "offsets",
        Observation {
            subjects: vec![Subject::plain("offset", getpid(), record)],
            outcomes: vec![
                (MISALIGNED, misaligned_word),
                (ONE_PAGE_IN, second_word),
                (FIRST_BYTE, first_byte),
                (OFFSET_COLUMN, column_word),
            ],
        },
    )
}

/// Tries a writable MAP_SHARED mapping from each kind of descriptor; through the one that
/// works, writes a byte and reads the file back before and after msync.
fn shared_mappings(
    path: &Path,
    size: usize,
    page: usize,
) -> Result<(FileMapping, Outcomes), ExperimentError> {
    let rw = ProtFlags::PROT_READ | ProtFlags::PROT_WRITE;
    let len = nonzero(size)?;
    let try_map = |options: &OpenOptions| -> Result<Result<FileMapping, Errno>, ExperimentError> {
        let file = open(path, options)?;
        Ok(FileMapping::map(
            file.as_fd(),
            len,
            rw,
            MapFlags::MAP_SHARED,
            0,
            page,
        ))
    };
    let read_only = try_map(OpenOptions::new().read(true))?.map(|_| ());
    let write_only = try_map(OpenOptions::new().write(true))?.map(|_| ());
    let read_write = try_map(OpenOptions::new().read(true).write(true))?;
    let read_write_word = mapped_word(&read_write);
    let shared = read_write.map_err(sys("mmap MAP_SHARED of an O_RDWR descriptor"))?;
    shared.write_byte(0, SHARED_LETTER);
    // A descriptor of its own: what any other reader of the file would see.
    let reader = open(path, OpenOptions::new().read(true))?;
    let before = pread_text(&reader, path, size)?;
    let synced = shared.msync();
    let after = pread_text(&reader, path, size)?;
    let outcomes = vec![
        (SHARED_RDONLY, result_word(read_only)),
        (SHARED_WRONLY, result_word(write_only)),
        (SHARED_RDWR, read_write_word),
        (PREAD_BEFORE_MSYNC, before),
        (MSYNC, result_word(synced)),
        (PREAD_AFTER_MSYNC, after),
    ];
    Ok((shared, outcomes))
}

#[derive(Clone, Copy)]
enum Access {
    Read,
    Write,
}

/// Forks a child that touches `addr` and reports how it ended: `killed by SIGSEGV`, or what
/// happened instead.
fn end_of_child_touching(addr: usize, access: Access) -> Result<String, ExperimentError> {
    let mut child = Child::spawn(move |command| {
        if command != TOUCH {
            return u8::MAX;
        }
        // SAFETY: plain system calls, then a deliberate access to the child's copy of a live
        // mapping: the kernel either allows it or kills the child with a signal. std's
        // SIGSEGV/SIGBUS handler finds no stack guard at the address, restores the default
        // action and returns, so the access faults again and the default action kills.
        unsafe {
            no_core_dump();
            let byte = addr as *mut u8;
            match access {
                Access::Read => {
                    byte.read_volatile();
                }
                Access::Write => byte.write_volatile(SHARED_LETTER),
            }
        }
        0
    })?;
    match child.ask(TOUCH) {
        Ok(_) => {
            child.finish()?;
            Ok("not killed: the access worked".into())
        }
        Err(ChildError::Died { .. } | ChildError::Panicked { .. }) => Ok(match child.end() {
            Some(end) => end_words(end),
            None => "ended, but how is unknown".into(),
        }),
        Err(e) => Err(e.into()),
    }
}

/// `ok` if the mmap worked, else its errno's name.
fn mapped_word(result: &Result<FileMapping, Errno>) -> String {
    result_word(result.as_ref().map(|_| ()).map_err(|e| *e))
}

/// How a child ended, as the lesson words it.
pub fn end_words(end: End) -> String {
    match end {
        End::Exited(status) => format!("exited with status {status}"),
        End::Signaled(signal, _) => format!("killed by {}", signal.as_str()),
        End::Lost(errno) => format!("could not be reaped: {errno}"),
    }
}

/// A child that is meant to crash must leave no core file behind (with `core_pattern`
/// `core` it would land in the working directory, the repository): a limit of 0 stops a
/// plain core file, and not being dumpable also stops a core_pattern pipe handler, which
/// ignores the limit.
///
/// # Safety
/// Call only in a forked child: it changes process-wide settings.
unsafe fn no_core_dump() {
    let zero = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain system calls on a stack value.
    unsafe {
        libc::setrlimit(libc::RLIMIT_CORE, &zero);
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

/// `yes` if the mapping's path column names the file, else what it names.
fn same_path(record: &SmapsRecord, path: &Path) -> Result<String, ExperimentError> {
    // The kernel prints the path it resolved: symbolic links in TMPDIR are followed.
    let real = path
        .canonicalize()
        .map_err(io_context(format!("resolving {}", path.display())))?;
    Ok(match &record.vma.pathname {
        Pathname::File {
            path: mapped,
            deleted: false,
        } if *mapped == real => "yes".into(),
        other => format!("no: maps shows `{other}`, the file is {}", real.display()),
    })
}

/// `yes` if the mapping's device and inode columns are the ones fstat gives for the file.
fn same_inode(record: &SmapsRecord, stat: &std::fs::Metadata) -> String {
    let dev = stat.dev();
    let (major, minor) = (libc::major(dev), libc::minor(dev));
    let vma = &record.vma;
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
    }
}

/// An owned mapping of a file, unmapped on drop. The mapping holds its own reference to the
/// open file: the descriptor it was made from may be closed right away.
pub struct FileMapping {
    ptr: NonNull<libc::c_void>,
    /// Whole pages: what the kernel mapped, as smaps `Size` shows it.
    mapped_len: usize,
}

impl FileMapping {
    /// `mmap(NULL, len, prot, flags, fd, offset)`; the errno as it is, for lessons that show it.
    pub fn map(
        fd: impl AsFd,
        len: NonZeroUsize,
        prot: ProtFlags,
        flags: MapFlags,
        offset: u64,
        page: usize,
    ) -> Result<FileMapping, Errno> {
        let offset = libc::off_t::try_from(offset).map_err(|_| Errno::EOVERFLOW)?;
        // SAFETY: no address and no MAP_FIXED: the kernel picks a free range, so the new
        // mapping replaces nothing.
        let ptr = unsafe { mmap(None, len, prot, flags, fd, offset) }?;
        Ok(FileMapping {
            ptr,
            mapped_len: len.get().next_multiple_of(page),
        })
    }

    pub fn addr(&self) -> usize {
        self.ptr.as_ptr() as usize
    }

    pub fn mapped_len(&self) -> usize {
        self.mapped_len
    }

    /// Reads one byte with a volatile load. The byte must lie in a page that holds part of
    /// the file: beyond the file's last page the kernel sends SIGBUS.
    pub fn read_byte(&self, offset: usize) -> u8 {
        self.check_offset(offset);
        // SAFETY: inside pages this FileMapping owns and keeps mapped; no Rust reference
        // to them exists.
        unsafe { self.ptr.as_ptr().cast::<u8>().add(offset).read_volatile() }
    }

    /// Writes one byte with a volatile store; the mapping must be writable.
    pub fn write_byte(&self, offset: usize, value: u8) {
        self.check_offset(offset);
        // SAFETY: as in `read_byte`.
        unsafe {
            self.ptr
                .as_ptr()
                .cast::<u8>()
                .add(offset)
                .write_volatile(value)
        }
    }

    pub fn read_bytes(&self, range: Range<usize>) -> Vec<u8> {
        range.map(|offset| self.read_byte(offset)).collect()
    }

    /// The bytes in `range` as text, the way lessons write what was read.
    pub fn text(&self, range: Range<usize>) -> String {
        String::from_utf8_lossy(&self.read_bytes(range)).into_owned()
    }

    /// msync(MS_SYNC) of the whole mapping: written back to the file before it returns.
    pub fn msync(&self) -> Result<(), Errno> {
        // SAFETY: our own mapping; msync changes no contents.
        unsafe { msync(self.ptr, self.mapped_len, MsFlags::MS_SYNC) }
    }

    /// The smaps record of this mapping's VMA in `proc`, checked to have exactly its bounds.
    pub fn smaps(&self, proc: Proc) -> Result<SmapsRecord, MappingError> {
        record_at(proc, self.addr(), self.mapped_len)
    }

    fn check_offset(&self, offset: usize) {
        assert!(
            offset < self.mapped_len,
            "offset {offset} is outside the file mapping at {:#x} of {} bytes",
            self.addr(),
            self.mapped_len
        );
    }
}

impl Drop for FileMapping {
    fn drop(&mut self) {
        // SAFETY: owned by self and unmapped once, here; nothing useful can be done about an
        // error in drop.
        let _ = unsafe { munmap(self.ptr, self.mapped_len) };
    }
}

/// The smaps record of the VMA that starts at `start` in `proc`, checked to span exactly
/// `len` bytes: a VMA that merged with a neighbour would count the neighbour's pages too.
pub fn record_at(proc: Proc, start: usize, len: usize) -> Result<SmapsRecord, MappingError> {
    let record =
        procfs::smaps_record(proc, start)?.ok_or(MappingError::NoVma { addr: start, proc })?;
    let end = start + len;
    if (record.vma.start, record.vma.end) != (start, end) {
        return Err(MappingError::Merged {
            start,
            end,
            vma_start: record.vma.start,
            vma_end: record.vma.end,
        });
    }
    Ok(record)
}

fn view(name: &'static str, mapping: &FileMapping) -> Result<Subject, ExperimentError> {
    Ok(Subject::plain(
        name,
        getpid(),
        mapping.smaps(Proc::SelfProcess)?,
    ))
}

/// The file's first `size` bytes, read with pread(2) rather than through any mapping.
fn pread_text(file: &File, path: &Path, size: usize) -> Result<String, ExperimentError> {
    let mut buf = vec![0u8; size];
    file.read_exact_at(&mut buf, 0)
        .map_err(io_context(format!("pread of {}", path.display())))?;
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

pub(crate) fn open(path: &Path, options: &OpenOptions) -> Result<File, ExperimentError> {
    options.open(path).map_err(io_context(format!(
        "opening {} ({options:?})",
        path.display()
    )))
}

fn write_file(path: &Path, contents: &[u8]) -> Result<(), ExperimentError> {
    std::fs::write(path, contents).map_err(io_context(format!("writing {}", path.display())))
}

pub(crate) fn nonzero(len: usize) -> Result<NonZeroUsize, ExperimentError> {
    NonZeroUsize::new(len).ok_or_else(|| ExperimentError::Sys {
        what: "a mapping of 0 bytes".into(),
        errno: Errno::EINVAL,
    })
}

pub(crate) fn sys(what: &'static str) -> impl Fn(Errno) -> ExperimentError {
    move |errno| ExperimentError::Sys {
        what: what.into(),
        errno,
    }
}

pub(crate) fn io_context(what: String) -> impl FnOnce(io::Error) -> ExperimentError {
    move |e| ExperimentError::Io(io::Error::new(e.kind(), format!("{what}: {e}")))
}
