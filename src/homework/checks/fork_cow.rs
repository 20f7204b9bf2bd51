//! Checks of lesson `fork-cow`'s exercise.

use super::{Rng, bytes_of, minor_faults, region};
use crate::exercises::fork_cow::Views;
use crate::homework::{Failure, Passed};
use nix::sys::resource::UsageWho;

/// A private page holding a random byte, a random other byte for the child to write: the
/// child must have read its own write, the parent must still see the old byte (in what it
/// returned and in memory), and a child must have been reaped: its page faults, the
/// copy-on-write one among them, now count in RUSAGE_CHILDREN.
pub fn write_in_child(f: fn(&mut [u8], u8) -> nix::Result<Views>) -> Result<Passed, Failure> {
    let mut rng = Rng::new();
    let mut region = region(1)?;
    let page = bytes_of(&mut region);
    let old = rng.next() as u8;
    let new = rng.byte_except(old);
    page[0] = old;
    let before = minor_faults(UsageWho::RUSAGE_CHILDREN)?;
    let views = f(page, new)
        .map_err(|e| Failure::returned_error(&format!("write_in_child(page, {new})"), e))?;
    let after = minor_faults(UsageWho::RUSAGE_CHILDREN)?;
    // SAFETY: the page is ours and mapped; a volatile read sees what memory holds now.
    let now = unsafe { std::ptr::read_volatile(region.as_ptr()) };
    let expected =
        format!("the child reads back {new}, the parent still reads {old}, the child is reaped");
    if after <= before {
        return Err(Failure::new(
            expected,
            "no child was reaped: RUSAGE_CHILDREN's minor faults did not move (did you fork, \
             and wait for the child?)",
        ));
    }
    if views.child_read != new || views.parent_read != old || now != old {
        return Err(Failure::new(
            expected,
            format!(
                "the child read {}, the parent read {} (memory holds {now})",
                views.child_read, views.parent_read
            ),
        ));
    }
    Ok(Passed::Held(format!(
        "child read {new}, parent still reads {old}; the reaped child took {} minor faults",
        after - before
    )))
}
