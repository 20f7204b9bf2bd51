//! Checks of lesson `pages`' exercises.

use super::{Rng, bytes_of, page, pages, record_at, record_of, region, size};
use crate::homework::{Failure, Passed};
use crate::kernel::SmapsField;
use crate::kernel::smaps::parse_smaps;

crate::homework::declare::exercises! {
    lesson: pages;

    resident_pages {
        fork_lock: shared,
        // BEGIN FAKES
        fakes: [
            "0" => |_| Ok(0),
            "3" => |_| Ok(3),
            "every page" => |r| Ok(r.len() / page()),
        ],
        // END FAKES
    }

    smaps_record {
        fork_lock: shared,
        // BEGIN FAKES
        fakes: [
            "None" => |_| Ok(None),
            "the whole file" => |_| {
                std::fs::read_to_string("/proc/self/smaps").map(Some)
            },
            "the first record's first lines" => |_| {
                let text = std::fs::read_to_string("/proc/self/smaps")?;
                Ok(Some(text.split_inclusive('\n').take(3).collect()))
            },
        ],
        // END FAKES
    }
}

/// Twice, a region of random size with a random set of pages written: the count must be the
/// one smaps' Rss shows for the region. The two rounds write different numbers of pages,
/// never none and never all, so that no constant and no "every page" can pass (the soak
/// caught `3` passing when both rounds happened to write 3).
pub fn resident_pages(f: fn(&[u8]) -> nix::Result<usize>) -> Result<Passed, Failure> {
    let mut rng = Rng::new();
    let mut shown = Vec::new();
    let mut counts: Vec<usize> = Vec::new();
    for _ in 0..2 {
        let n = rng.between(4, 32);
        let mut region = region(n)?;
        let bytes = bytes_of(&mut region);
        let mut k = rng.between(1, n - 1);
        if counts.contains(&k) {
            k = if k > 1 { k - 1 } else { k + 1 };
        }
        counts.push(k);
        let mut touched: Vec<usize> = (0..n).collect();
        // A random k of the n pages: shuffle, keep k, sort for the report.
        rng.shuffle(&mut touched);
        touched.truncate(k);
        touched.sort_unstable();
        for &i in &touched {
            bytes[i * page()] = 1;
        }
        let answer = f(bytes).map_err(|e| Failure::returned_error("resident_pages(region)", e))?;
        let rss = size(&record_of(&region)?, SmapsField::Rss);
        let resident = rss.as_usize() / page();
        if answer != resident {
            return Err(Failure::new(
                format!(
                    "resident_pages() of a {n}-page region with pages {touched:?} written: {resident}"
                ),
                format!(
                    "Rss of the region: {rss} = {}; you returned {answer}",
                    pages(resident)
                ),
            ));
        }
        shown.push(format!("{answer} of {n}"));
    }
    Ok(Passed::Held(format!(
        "resident pages counted as smaps' Rss shows them: {}",
        shown.join(", then ")
    )))
}

/// A fenced region with a random number of pages written, asked about at a random address
/// inside it: the text must parse as one smaps record with the region's bounds and the Rss
/// the kernel shows. An address nothing maps (0: mmap_min_addr keeps it free) gives `None`.
pub fn smaps_record(f: fn(usize) -> std::io::Result<Option<String>>) -> Result<Passed, Failure> {
    let mut rng = Rng::new();
    let n = rng.between(3, 16);
    let mut region = region(n)?;
    let bytes = bytes_of(&mut region);
    let written = rng.between(1, n);
    for i in 0..written {
        bytes[i * page()] = 1;
    }
    let addr = region.addr() + rng.between(0, n * page() - 1);
    let asked = format!("smaps_record({addr:#x})");
    let text = f(addr)
        .map_err(|e| Failure::returned_error(&asked, e))?
        .ok_or_else(|| {
            Failure::new(
                format!("{asked}: the record of the mapping at {:#x}", region.addr()),
                "you returned None".to_owned(),
            )
        })?;
    let records = parse_smaps(&text).map_err(|e| {
        Failure::new(
            format!("{asked}: one smaps record"),
            format!("what you returned does not parse as smaps: {e}"),
        )
    })?;
    let truth =
        record_at(addr)?.ok_or_else(|| Failure::setup("find the region in smaps", "gone"))?;
    let [record] = records.as_slice() else {
        return Err(Failure::new(
            format!("{asked}: exactly one record"),
            format!("{} records", records.len()),
        ));
    };
    if record.vma.start != truth.vma.start || record.vma.end != truth.vma.end {
        return Err(Failure::new(
            format!("{asked}: the record of `{}`", truth.vma),
            format!("the record of `{}`", record.vma),
        ));
    }
    let (theirs, kernels) = (size(record, SmapsField::Rss), size(&truth, SmapsField::Rss));
    if theirs != kernels || record.fields.len() != truth.fields.len() {
        return Err(Failure::new(
            format!("{asked}: all {} fields, Rss {kernels}", truth.fields.len()),
            format!("{} fields, Rss {theirs}", record.fields.len()),
        ));
    }
    if let Some(text) = f(0).map_err(|e| Failure::returned_error("smaps_record(0)", e))? {
        return Err(Failure::new(
            "smaps_record(0): None, nothing maps address 0",
            format!("you returned {} bytes of text", text.len()),
        ));
    }
    Ok(Passed::Held(format!(
        "the record of `{}` with Rss {kernels} ({written} of {n} pages written), and None for address 0",
        truth.vma
    )))
}
