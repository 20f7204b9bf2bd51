//! pagelab's smaps parser against an independent one, the `procfs` crate's, on the smaps of
//! every process of this machine whose smaps can be read, and on the fixtures.
//!
//! Each file is read once and the same text goes to both parsers (procfs parses any
//! `BufRead` through `FromBufRead`), so a process changing its mappings between two reads
//! cannot make them disagree. They are compared field by field: address range, permissions,
//! offset, device, inode, pathname, every `Key: value` field and the VmFlags.
//!
//! Where procfs represents something differently, the comparison maps one onto the other
//! (see `same_pathname` and `procfs_flags`); nothing is left uncompared silently: VmFlags
//! tokens procfs does not know are counted and listed in the report.
//!
//! The report (processes and mappings compared, processes skipped and why) goes to stderr,
//! past the harness's capture.

use pagelab::kernel::maps::{MapsLine, Pathname};
use pagelab::kernel::smaps::{FieldValue, SmapsRecord, parse_smaps};
use procfs::FromBufRead;
use procfs::process::{MMPermissions, MMapPath, MemoryMap, MemoryMaps, VmFlags};
use std::collections::BTreeMap;
use std::io::{ErrorKind, Write};

/// What comparing one text found: the number of mappings compared, and the VmFlags tokens
/// procfs cannot represent, with how often each was seen.
#[derive(Default)]
struct Agreement {
    mappings: usize,
    unknown_flags: BTreeMap<String, usize>,
}

/// Parses `text` with both parsers and compares every record; `Err` lists each difference.
fn compare(text: &str, what: &str, agreement: &mut Agreement) -> Result<(), String> {
    let ours = parse_smaps(text).map_err(|e| format!("{what}: pagelab cannot parse: {e}"))?;
    let theirs = MemoryMaps::from_buf_read(text.as_bytes())
        .map_err(|e| format!("{what}: procfs cannot parse: {e}"))?
        .0;
    if ours.len() != theirs.len() {
        return Err(format!(
            "{what}: pagelab sees {} mappings, procfs {}",
            ours.len(),
            theirs.len()
        ));
    }
    let mut differences = Vec::new();
    for (ours, theirs) in ours.iter().zip(&theirs) {
        for difference in compare_record(ours, theirs, &mut agreement.unknown_flags) {
            differences.push(format!("{what}: {}: {difference}", ours.vma));
        }
    }
    agreement.mappings += ours.len();
    if differences.is_empty() {
        Ok(())
    } else {
        Err(differences.join("\n"))
    }
}

fn compare_record(
    ours: &SmapsRecord,
    theirs: &MemoryMap,
    unknown_flags: &mut BTreeMap<String, usize>,
) -> Vec<String> {
    let mut differences = Vec::new();
    let mut differ = |what: &str, ours: String, theirs: String| {
        if ours != theirs {
            differences.push(format!("{what}: pagelab {ours}, procfs {theirs}"));
        }
    };
    let vma: &MapsLine = &ours.vma;
    differ(
        "address range",
        format!("{:x}-{:x}", vma.start, vma.end),
        format!("{:x}-{:x}", theirs.address.0, theirs.address.1),
    );
    differ("permissions", vma.perms.to_string(), theirs.perms.as_str());
    // procfs sets exactly one of SHARED and PRIVATE; `as_str` would hide a line with both.
    differ(
        "shared/private bits",
        format!("{}", vma.perms.shared),
        format!(
            "{}",
            theirs.perms.contains(MMPermissions::SHARED)
                && !theirs.perms.contains(MMPermissions::PRIVATE)
        ),
    );
    differ("offset", vma.offset.to_string(), theirs.offset.to_string());
    // procfs keeps major and minor as i32, pagelab as u32; the kernel prints at most 12
    // and 20 bits (MAJOR/MINOR), so both fit either way.
    differ(
        "device",
        format!("{}:{}", vma.device.major, vma.device.minor),
        format!("{}:{}", theirs.dev.0, theirs.dev.1),
    );
    differ("inode", vma.inode.to_string(), theirs.inode.to_string());
    if !same_pathname(&vma.pathname, &theirs.pathname) {
        differ(
            "pathname",
            format!("{:?}", vma.pathname),
            format!("{:?}", theirs.pathname),
        );
    }

    // Fields: procfs keeps them in a HashMap in bytes for `kB` values and as the bare number
    // otherwise, which is exactly pagelab's Size (in bytes) and Number.
    let map = &theirs.extension.map;
    for (key, value) in &ours.fields {
        let ours = match value {
            FieldValue::Size(bytes) => bytes.0,
            FieldValue::Number(n) => *n,
        };
        differ(
            &format!("field {key}"),
            ours.to_string(),
            map.get(key.as_str())
                .map_or("absent".to_owned(), u64::to_string),
        );
    }
    let mut our_keys: Vec<&str> = ours.fields.iter().map(|(k, _)| k.as_str()).collect();
    our_keys.sort_unstable();
    our_keys.dedup();
    let mut their_keys: Vec<&str> = map.keys().map(String::as_str).collect();
    their_keys.sort_unstable();
    differ("field names", our_keys.join(","), their_keys.join(","));

    // VmFlags: procfs knows 32 of them as bits and drops the others (`sl`, `bt`, `mt`,
    // `ss`, `dp`, `lf`, `sd` is known, ...: flags added after it was written); so only
    // the tokens it knows can be compared, and the rest are counted for the report.
    let ours_flags = ours.vm_flags.as_deref().unwrap_or_default();
    let mut known = VmFlags::NONE;
    for token in ours_flags {
        match procfs_flag(token) {
            Some(bit) => known |= bit,
            None => *unknown_flags.entry(token.clone()).or_default() += 1,
        }
    }
    differ(
        "VmFlags",
        format!("{known:?}"),
        format!("{:?}", theirs.extension.vm_flags),
    );
    differences
}

/// The flag procfs represents for a VmFlags token (its table, from proc(5)).
fn procfs_flag(token: &str) -> Option<VmFlags> {
    const TABLE: [(&str, VmFlags); 32] = [
        ("rd", VmFlags::RD),
        ("wr", VmFlags::WR),
        ("ex", VmFlags::EX),
        ("sh", VmFlags::SH),
        ("mr", VmFlags::MR),
        ("mw", VmFlags::MW),
        ("me", VmFlags::ME),
        ("ms", VmFlags::MS),
        ("gd", VmFlags::GD),
        ("pf", VmFlags::PF),
        ("dw", VmFlags::DW),
        ("lo", VmFlags::LO),
        ("io", VmFlags::IO),
        ("sr", VmFlags::SR),
        ("rr", VmFlags::RR),
        ("dc", VmFlags::DC),
        ("de", VmFlags::DE),
        ("ac", VmFlags::AC),
        ("nr", VmFlags::NR),
        ("ht", VmFlags::HT),
        ("sf", VmFlags::SF),
        ("nl", VmFlags::NL),
        ("ar", VmFlags::AR),
        ("wf", VmFlags::WF),
        ("dd", VmFlags::DD),
        ("sd", VmFlags::SD),
        ("mm", VmFlags::MM),
        ("hg", VmFlags::HG),
        ("nh", VmFlags::NH),
        ("mg", VmFlags::MG),
        ("um", VmFlags::UM),
        ("uw", VmFlags::UW),
    ];
    TABLE
        .iter()
        .find(|(name, _)| *name == token)
        .map(|&(_, flag)| flag)
}

/// Whether the two parsers read the same last column. They classify it differently:
///
/// - procfs keeps ` (deleted)` in the path; pagelab strips it into `deleted`.
/// - procfs trims whitespace at both ends of the column (`str::trim`), so a file name
///   ending in spaces loses them there; pagelab trims only the padding before it.
/// - procfs turns `/SYSV<key in hex> (deleted)` into `Vsys(key)`; pagelab keeps it as a
///   deleted file, as the kernel prints it.
/// - procfs strips the brackets of any other `[...]` into `Other`; pagelab names
///   `[anon:...]` and `[anon_shmem:...]` and keeps the rest, brackets included.
/// - procfs reads `[stack:TID]` (kernels before 4.5) as a thread stack; pagelab keeps it.
/// - a column that is neither a path nor bracketed is a `Path` to procfs and `Other` to
///   pagelab.
fn same_pathname(ours: &Pathname, theirs: &MMapPath) -> bool {
    match (ours, theirs) {
        (Pathname::Anonymous, MMapPath::Anonymous)
        | (Pathname::Heap, MMapPath::Heap)
        | (Pathname::Stack, MMapPath::Stack)
        | (Pathname::Vdso, MMapPath::Vdso)
        | (Pathname::Vvar, MMapPath::Vvar)
        | (Pathname::Vsyscall, MMapPath::Vsyscall) => true,
        (Pathname::File { path, deleted }, MMapPath::Path(theirs)) => {
            let shown = format!(
                "{}{}",
                path.display(),
                if *deleted { " (deleted)" } else { "" }
            );
            shown.trim() == theirs.to_string_lossy()
        }
        (
            Pathname::File {
                path,
                deleted: true,
            },
            MMapPath::Vsys(key),
        ) => path
            .to_str()
            .and_then(|p| p.strip_prefix("/SYSV"))
            .and_then(|hex| u32::from_str_radix(hex.get(..8)?, 16).ok())
            .is_some_and(|k| k as i32 == *key),
        (Pathname::AnonNamed(name), MMapPath::Other(theirs)) => {
            format!("anon:{name}").trim() == theirs
        }
        (Pathname::AnonShmemNamed(name), MMapPath::Other(theirs)) => {
            format!("anon_shmem:{name}").trim() == theirs
        }
        (Pathname::Other(text), MMapPath::Other(theirs)) => {
            text.trim()
                .strip_prefix('[')
                .and_then(|t| t.strip_suffix(']'))
                == Some(theirs)
        }
        (Pathname::Other(text), MMapPath::TStack(tid)) => text.trim() == format!("[stack:{tid}]"),
        (Pathname::Other(text), MMapPath::Path(theirs)) => text.trim() == theirs.to_string_lossy(),
        _ => false,
    }
}

fn report(text: &str) {
    let _ = std::io::stderr().write_all(text.as_bytes());
}

fn flags_line(agreement: &Agreement) -> String {
    if agreement.unknown_flags.is_empty() {
        return "every VmFlags token compared".to_owned();
    }
    let tokens: Vec<String> = agreement
        .unknown_flags
        .iter()
        .map(|(t, n)| format!("{t} ({n}x)"))
        .collect();
    format!(
        "VmFlags tokens procfs cannot represent, not compared: {}",
        tokens.join(", ")
    )
}

#[test]
fn pagelab_and_procfs_agree_on_the_fixtures() {
    let fixtures = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/smaps"))
        .unwrap_or_else(|e| panic!("tests/fixtures/smaps: {e}"));
    let mut agreement = Agreement::default();
    let mut files = 0;
    let mut failures = Vec::new();
    for entry in fixtures {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        if let Err(e) = compare(&text, &path.display().to_string(), &mut agreement) {
            failures.push(e);
        }
        files += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(files >= 5 && agreement.mappings > 0);
    report(&format!(
        "procfs agreement: {files} fixture files, {} mappings; {}\n",
        agreement.mappings,
        flags_line(&agreement)
    ));
}

#[test]
fn pagelab_and_procfs_agree_on_every_live_process() {
    let mut agreement = Agreement::default();
    let (mut compared, mut vanished, mut denied, mut no_address_space) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    let pids = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok());
    for pid in pids {
        let path = format!("/proc/{pid}/smaps");
        // Read once: both parsers get this very text.
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == ErrorKind::PermissionDenied => {
                denied += 1;
                continue;
            }
            // Gone between the listing and the read, or during it (ENOENT, ESRCH, ...).
            Err(_) if !std::path::Path::new(&format!("/proc/{pid}")).exists() => {
                vanished += 1;
                continue;
            }
            Err(e) if e.raw_os_error() == Some(libc::ESRCH) => {
                vanished += 1;
                continue;
            }
            Err(e) => panic!("reading {path}: {e}"),
        };
        if bytes.is_empty() {
            // A kernel thread or a zombie: no address space, nothing to compare. (A process
            // that exits mid-read ends up here too.)
            no_address_space += 1;
            continue;
        }
        // Lossy, as pagelab's own reader does: a file name need not be UTF-8, and procfs's
        // line reader would refuse such a line outright.
        let text = String::from_utf8_lossy(&bytes);
        match compare(&text, &path, &mut agreement) {
            Ok(()) => compared += 1,
            Err(e) => failures.push(e),
        }
    }
    report(&format!(
        "procfs agreement: {compared} processes, {} mappings compared field by field; \
         skipped {vanished} gone, {denied} not readable, {no_address_space} without an \
         address space; {}\n",
        agreement.mappings,
        flags_line(&agreement)
    ));
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    // At least this very process was compared.
    assert!(compared >= 1 && agreement.mappings > 0);
}
