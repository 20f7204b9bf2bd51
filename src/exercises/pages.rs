//! Exercises of lesson 02, `pages` (lessons/02-pages.md).

/// How many pages of `region` are resident in RAM, as mincore(2) reports them. `region`
/// starts on a page boundary.
pub fn resident_pages(region: &[u8]) -> nix::Result<usize> {
    // BEGIN SOLUTION resident-pages
    let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)?
        .ok_or(nix::errno::Errno::EINVAL)? as usize;
    let mut vector = vec![0u8; region.len().div_ceil(page)];
    // SAFETY: `vector` has one byte per page of the range, as mincore requires.
    let rc = unsafe {
        libc::mincore(
            region.as_ptr() as *mut libc::c_void,
            region.len(),
            vector.as_mut_ptr(),
        )
    };
    nix::errno::Errno::result(rc)?;
    Ok(vector.iter().filter(|&&b| b & 1 != 0).count())
    // END SOLUTION
}

/// The record of `/proc/self/smaps` for the mapping that contains `addr`: its header line
/// (the maps line) and every line after it up to the next header, as the kernel wrote them.
/// `None` when no mapping contains `addr`.
pub fn smaps_record(addr: usize) -> std::io::Result<Option<String>> {
    // BEGIN SOLUTION smaps-record
    // A header starts with `start-end` in hex; field lines start with a name and a colon.
    fn range(line: &str) -> Option<(usize, usize)> {
        let (start, end) = line.split_whitespace().next()?.split_once('-')?;
        Some((
            usize::from_str_radix(start, 16).ok()?,
            usize::from_str_radix(end, 16).ok()?,
        ))
    }
    let text = std::fs::read_to_string("/proc/self/smaps")?;
    let mut record: Option<String> = None;
    for line in text.lines() {
        if let Some((start, end)) = range(line) {
            if record.is_some() {
                break;
            }
            if start <= addr && addr < end {
                record = Some(String::new());
            }
        }
        if let Some(record) = &mut record {
            record.push_str(line);
            record.push('\n');
        }
    }
    Ok(record)
    // END SOLUTION
}
