//! Exercises of lesson 04, `fork-cow` (lessons/04-fork-cow.md).

/// What each process read after the child's write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Views {
    /// The first byte of the page as the child read it back after writing it.
    pub child_read: u8,
    /// The first byte of the page as the parent read it after the child was gone.
    pub parent_read: u8,
}

/// Forks. The child writes `value` into `page[0]`, reads that byte back, sends it to the
/// parent through a pipe and ends with `_exit(0)`. The parent reads the child's byte from
/// the pipe, waits for the child (reaps it), then reads `page[0]` itself.
///
/// In the child, only system calls: no allocation, no printing, no panic. The test harness
/// that calls you runs other threads, and the child inherits their locks, held forever.
pub fn write_in_child(page: &mut [u8], value: u8) -> nix::Result<Views> {
    // BEGIN SOLUTION write-in-child
    use nix::sys::wait::waitpid;
    use nix::unistd::{ForkResult, fork, pipe, read, write};
    let (from_child, to_parent) = pipe()?;
    // SAFETY: the child below only writes memory, makes raw system calls and _exits.
    match unsafe { fork() }? {
        ForkResult::Child => {
            page[0] = value;
            let seen = page[0];
            let _ = write(&to_parent, &[seen]);
            // SAFETY: _exit ends the child without running the parent's destructors.
            unsafe { libc::_exit(0) }
        }
        ForkResult::Parent { child } => {
            drop(to_parent);
            let mut byte = [0u8];
            let got = read(&from_child, &mut byte);
            waitpid(child, None)?;
            if got? != 1 {
                return Err(nix::errno::Errno::EPIPE);
            }
            Ok(Views {
                child_read: byte[0],
                parent_read: page[0],
            })
        }
    }
    // END SOLUTION
}

/// The `Rss` and `Pss` of the mapping that contains `addr`, in bytes, as /proc/self/smaps
/// shows them (its values are in kB).
pub fn rss_and_pss(addr: usize) -> std::io::Result<(u64, u64)> {
    // BEGIN SOLUTION rss-and-pss
    use crate::kernel::SmapsField;
    use crate::kernel::procfs::{Proc, smaps_record};
    let record = smaps_record(Proc::SelfProcess, addr).map_err(std::io::Error::other)?;
    let size = |field| Some(record.as_ref()?.size(field)?.0);
    match (size(SmapsField::Rss), size(SmapsField::Pss)) {
        (Some(rss), Some(pss)) => Ok((rss, pss)),
        _ => Err(std::io::Error::new(
            std::io::ErrorKind::NotFound,
            format!("no Rss and Pss for {addr:#x} in /proc/self/smaps"),
        )),
    }
    // END SOLUTION
}
