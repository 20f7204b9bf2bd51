//! Checks of lesson `fork-cow`'s exercise.

use super::{Rng, bytes_of, minor_faults, page, record_of, region, size};
use crate::exercises::fork_cow::Views;
use crate::homework::{Failure, Passed};
use crate::kernel::SmapsField;
use crate::memory::Child;
use nix::sys::resource::UsageWho;

crate::homework::declare::exercises! {
    lesson: fork_cow;

    /// Its check forks: it must not overlap another test that reads its pages' sharing.
    write_in_child {
        fork_lock: exclusive,
        // BEGIN FAKES
        fakes: [
            "answering without forking" => |page, value| {
                Ok(Views {
                    child_read: value,
                    parent_read: page[0],
                })
            },
            "writing in the parent" => |page, value| {
                page[0] = value;
                Ok(Views {
                    child_read: value,
                    parent_read: value,
                })
            },
        ],
        // END FAKES
    }

    /// Its check forks a child that shares the pages.
    rss_and_pss {
        fork_lock: exclusive,
        // BEGIN FAKES
        fakes: [
            "zeros" => |_| Ok((0, 0)),
            "Rss as Pss" => |addr| {
                let record = super::record_at(addr)
                    .map_err(|f| std::io::Error::other(f.showed))?
                    .ok_or_else(|| std::io::Error::other("no smaps record"))?;
                let rss = size(&record, SmapsField::Rss).0;
                Ok((rss, rss))
            },
        ],
        // END FAKES
    }
}

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

/// A region of random size, written, while a forked child shares its pages: the answer must
/// be the record's Rss and Pss as the kernel shows them, and the kernel's Pss must be below
/// its Rss (the child holds a share).
pub fn rss_and_pss(f: fn(usize) -> std::io::Result<(u64, u64)>) -> Result<Passed, Failure> {
    let mut rng = Rng::new();
    let n = rng.between(2, 16);
    let mut region = region(n)?;
    let bytes = bytes_of(&mut region);
    for i in 0..n {
        bytes[i * page()] = 1;
    }
    let child = Child::waiting().map_err(|e| Failure::setup("fork a child", e))?;
    let addr = region.addr() + rng.between(0, n * page() - 1);
    let answer = f(addr);
    let truth = record_of(&region);
    child
        .finish()
        .map_err(|e| Failure::setup("end the child", e))?;
    let truth = truth?;
    let (rss, pss) = (
        size(&truth, SmapsField::Rss).0,
        size(&truth, SmapsField::Pss).0,
    );
    let asked = format!("rss_and_pss({addr:#x})");
    let answer = answer.map_err(|e| Failure::returned_error(&asked, e))?;
    if pss >= rss {
        return Err(Failure::setup(
            "see the pages shared with its child",
            format!("Rss {rss} bytes, Pss {pss} bytes"),
        ));
    }
    if answer != (rss, pss) {
        return Err(Failure::new(
            format!("{asked}: ({rss}, {pss}), the record's Rss and Pss in bytes"),
            format!("you returned {answer:?}"),
        ));
    }
    Ok(Passed::Held(format!(
        "Rss {rss} bytes, Pss {pss} bytes: {n} pages shared with one child count half"
    )))
}
