//! What the kernel counts of our memory, asked without allocating (a thread that counts its
//! own faults must not fault on its own heap while it does): which pages are resident
//! (mincore), and how many page faults this thread took (getrusage with RUSAGE_THREAD).

use nix::errno::Errno;
use nix::sys::resource::{UsageWho, getrusage};

/// How many pages of `[addr, addr + len)` are resident; `vector` takes one byte a page.
pub fn resident_pages(addr: usize, len: usize, vector: &mut [u8]) -> Result<usize, Errno> {
    assert!(
        vector.len() >= len.div_ceil(page()),
        "mincore needs a byte for each page"
    );
    // SAFETY: mincore only writes `vector`, which has a byte for each page of the range.
    let rc = unsafe { libc::mincore(addr as *mut libc::c_void, len, vector.as_mut_ptr()) };
    if rc != 0 {
        return Err(Errno::last());
    }
    Ok(vector.iter().filter(|v| **v & 1 == 1).count())
}

/// The page faults this thread took: minor ones (the page was in memory, or none was
/// needed yet) and major ones (it had to be read in: from a file, or from swap).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Faults {
    pub minor: u64,
    pub major: u64,
    /// Whether the thread was switched out meanwhile. On its way back the kernel writes the
    /// thread's rseq area (glibc registers one), and where that page is shared
    /// copy-on-write since a fork the write is a fault of this thread's too.
    pub switched: bool,
}

/// The faults this thread took while `touch` ran; other threads' faults (other tests) are
/// not in it.
pub fn faults_during(touch: impl FnOnce()) -> Result<Faults, Errno> {
    let before = getrusage(UsageWho::RUSAGE_THREAD)?;
    touch();
    let after = getrusage(UsageWho::RUSAGE_THREAD)?;
    let grew = |a: i64, b: i64| u64::try_from(a - b).unwrap_or(0);
    let switches = |usage: &nix::sys::resource::Usage| {
        usage.voluntary_context_switches() + usage.involuntary_context_switches()
    };
    Ok(Faults {
        minor: grew(after.minor_page_faults(), before.minor_page_faults()),
        major: grew(after.major_page_faults(), before.major_page_faults()),
        switched: switches(&after) != switches(&before),
    })
}

/// The minor faults this thread took while `touch` ran.
pub fn minor_faults_during(touch: impl FnOnce()) -> Result<u64, Errno> {
    faults_during(touch).map(|f| f.minor)
}

/// Code that touches the first byte of every page of `[addr, addr + len)`.
pub type Touch = fn(addr: usize, len: usize);

/// Writes 1 into the first byte of every page of the range.
#[inline(never)]
pub fn write_first_bytes(addr: usize, len: usize) {
    for offset in (0..len).step_by(page()) {
        // SAFETY: the callers of `faults_of` vouch for the range (see there).
        unsafe { ((addr + offset) as *mut u8).write_volatile(1) };
    }
}

/// Reads the first byte of every page of the range.
#[inline(never)]
pub fn read_first_bytes(addr: usize, len: usize) {
    for offset in (0..len).step_by(page()) {
        // SAFETY: as for `write_first_bytes`.
        std::hint::black_box(unsafe { ((addr + offset) as *const u8).read_volatile() });
    }
}

/// The minor faults this thread takes while `touch` runs over the range, and only those:
/// the same code first runs, measured the same way, over a page of its own. A program's
/// instructions are mapped lazily too, page by page, and the first run of a loop can
/// fault on its own code (measured: 1 fault in 12 of 150 runs of a check that wrote 4
/// locked pages); the second run finds it mapped.
///
/// # Safety
/// The range must be memory of the caller's, mapped (and writable for a writing `touch`),
/// that nothing else accesses while this runs.
pub unsafe fn faults_of(touch: Touch, addr: usize, len: usize) -> Result<Faults, Errno> {
    let mut scratch = vec![0u8; page()];
    scratch.fill(1);
    measured(touch, scratch.as_mut_ptr() as usize, scratch.len())?;
    measured(touch, addr, len)
}

#[inline(never)]
fn measured(touch: Touch, addr: usize, len: usize) -> Result<Faults, Errno> {
    faults_during(|| touch(addr, len))
}

fn page() -> usize {
    crate::kernel::probe::page_size().as_usize()
}
