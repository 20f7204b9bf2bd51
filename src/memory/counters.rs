//! What the kernel counts of our memory, asked without allocating (a thread that counts its
//! own faults must not fault on its own heap while it does): which pages are resident
//! (mincore), and how many page faults this thread took (getrusage with RUSAGE_THREAD).

use nix::errno::Errno;
use nix::sys::resource::{UsageWho, getrusage};

/// How many pages of `[addr, addr + len)` are resident; `vector` takes one byte a page.
pub fn resident_pages(addr: usize, len: usize, vector: &mut [u8]) -> Result<usize, Errno> {
    assert!(
        vector.len() >= len.div_ceil(crate::kernel::probe::page_size().as_usize()),
        "mincore needs a byte for each page"
    );
    // SAFETY: mincore only writes `vector`, which has a byte for each page of the range.
    let rc = unsafe { libc::mincore(addr as *mut libc::c_void, len, vector.as_mut_ptr()) };
    if rc != 0 {
        return Err(Errno::last());
    }
    Ok(vector.iter().filter(|v| **v & 1 == 1).count())
}

/// The minor faults this thread took while `touch` ran; other threads' faults (other tests)
/// are not in it.
pub fn minor_faults_during(touch: impl FnOnce()) -> Result<u64, Errno> {
    let before = getrusage(UsageWho::RUSAGE_THREAD)?.minor_page_faults();
    touch();
    let after = getrusage(UsageWho::RUSAGE_THREAD)?.minor_page_faults();
    Ok(u64::try_from(after - before).unwrap_or(0))
}
