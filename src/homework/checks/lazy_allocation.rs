//! Checks of lesson `lazy-allocation`'s exercise.

use super::{StudentMapping, page_round, record_at, residency};
use crate::Bytes;
use crate::homework::{Failure, Passed};
use crate::kernel::meminfo::read_meminfo;
use crate::kernel::probe::{KernelProbe, OvercommitMode};
use std::num::NonZeroUsize;
use std::ptr::NonNull;

/// Twice the machine's RAM and swap: the mapping must exist, carry VmFlags `nr` (no
/// reservation), be read-write and private, and hold nothing yet.
pub fn reserve_without_commit(
    f: fn(NonZeroUsize) -> nix::Result<NonNull<u8>>,
) -> Result<Passed, Failure> {
    let probe = KernelProbe::probe().map_err(|e| Failure::setup("probe the kernel", e))?;
    if probe.overcommit == OvercommitMode::Never {
        return Ok(Passed::Skipped(
            "overcommit mode 2 (vm.overcommit_memory = 2): the kernel ignores MAP_NORESERVE and \
             sets no `nr` flag, so a reservation cannot be told from a commitment"
                .into(),
        ));
    }
    let meminfo = read_meminfo().map_err(|e| Failure::setup("read /proc/meminfo", e))?;
    let total = |k: &str| meminfo.get(k).copied().unwrap_or(Bytes(0)).as_usize();
    let len = page_round(2 * (total("MemTotal") + total("SwapTotal")));
    let asked = format!("reserve_without_commit({})", Bytes(len as u64));
    let start = f(NonZeroUsize::new(len).expect("RAM is not empty"))
        .map_err(|e| Failure::returned_error(&asked, e))?;
    let addr = start.as_ptr() as usize;
    let expected =
        format!("{asked}: a read-write private mapping with VmFlags `nr`, nothing resident");
    let Some(record) = record_at(addr)? else {
        return Err(Failure::new(
            expected,
            format!("nothing is mapped at {addr:#x}"),
        ));
    };
    let vma = &record.vma;
    if !(vma.perms.read && vma.perms.write && !vma.perms.shared)
        || vma.inode != 0
        || vma.start > addr
        || vma.end < addr + len
    {
        return Err(Failure::new(
            expected,
            format!("the mapping at {addr:#x} is `{vma}`"),
        ));
    }
    let _unmap = StudentMapping { start, len };
    let flags = record.vm_flags.clone().unwrap_or_default().join(" ");
    if !record.has_flag("nr") {
        return Err(Failure::new(expected, format!("VmFlags: {flags}")));
    }
    // The kernel may merge the reservation with a neighbour that has `nr` too (glibc's
    // malloc arenas do), so the record's Rss is not only ours: ask mincore about our ends.
    let page = super::page();
    for at in [addr, addr + len - page] {
        if residency(at, page).is_none_or(|r| r[0]) {
            return Err(Failure::new(
                expected,
                format!("the page at {at:#x} is resident"),
            ));
        }
    }
    Ok(Passed::Held(format!(
        "{} reserved (RAM + swap twice over), VmFlags: {flags}, nothing resident",
        Bytes(len as u64)
    )))
}
