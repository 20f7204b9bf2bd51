//! The kernel probe: what this kernel is and how it is configured, read from the kernel
//! itself (uname, sysconf, /sys, /proc), never assumed.

use crate::Bytes;
use crate::kernel::meminfo::{MeminfoCount, MeminfoSize};
use crate::kernel::status::{self, StatusSize};
use std::collections::BTreeMap;
use std::ffi::CStr;
use std::fs;
use std::io;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

/// Top-level `/sys/kernel/mm/transparent_hugepage/enabled`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThpMode {
    Always,
    Madvise,
    Never,
}

/// A per-size `hugepages-<size>kB/enabled` (multi-size THP, 6.8+).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PerSizeMode {
    Always,
    Inherit,
    Madvise,
    Never,
}

impl ThpMode {
    /// The word sysfs prints for it.
    pub const fn word(self) -> &'static str {
        match self {
            ThpMode::Always => "always",
            ThpMode::Madvise => "madvise",
            ThpMode::Never => "never",
        }
    }
}

impl PerSizeMode {
    /// The word sysfs prints for it.
    pub const fn word(self) -> &'static str {
        match self {
            PerSizeMode::Always => "always",
            PerSizeMode::Inherit => "inherit",
            PerSizeMode::Madvise => "madvise",
            PerSizeMode::Never => "never",
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ThpSettings {
    pub enabled: ThpMode,
    /// The bracketed word of `defrag`, verbatim (always, defer, defer+madvise, madvise, never).
    pub defrag: String,
    /// `use_zero_page`, if the file exists.
    pub use_zero_page: Option<bool>,
    /// `hpage_pmd_size`: the PMD-sized huge page.
    pub pmd_size: Bytes,
    /// Anonymous per-size controls, keyed by folio size; empty before 6.8.
    pub per_size: BTreeMap<Bytes, PerSizeMode>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OvercommitMode {
    /// 0: heuristic overcommit.
    Heuristic,
    /// 1: always overcommit.
    Always,
    /// 2: strict accounting against CommitLimit.
    Never,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MemlockLimit {
    /// Soft RLIMIT_MEMLOCK; `None` is unlimited.
    pub soft: Option<Bytes>,
    pub hard: Option<Bytes>,
    /// CAP_IPC_LOCK in the effective set, and the process in the initial user namespace:
    /// the limit does not apply to it.
    pub can_exceed: bool,
    /// The process runs in a user namespace of its own (a rootless container): mlock asks
    /// for CAP_IPC_LOCK in the initial one (`capable()`), so a capability in CapEff does
    /// not lift the limit, and `can_exceed` is false. Absent from older result files.
    #[serde(default)]
    pub user_namespace: bool,
    /// `VmSize:` of /proc/self/status at probe time: all the process has mapped, which
    /// `mlockall(MCL_CURRENT)` must be allowed to lock. `None` where the line is missing.
    pub vm_size: Option<Bytes>,
}

impl OvercommitMode {
    /// The value of /proc/sys/vm/overcommit_memory.
    pub fn number(self) -> u8 {
        match self {
            OvercommitMode::Heuristic => 0,
            OvercommitMode::Always => 1,
            OvercommitMode::Never => 2,
        }
    }
}

impl MemlockLimit {
    /// Why `mlock()` of `len` more bytes would be refused here (the process lacks
    /// CAP_IPC_LOCK and its soft limit is below `len`), or `None` when it is within reach.
    pub fn refuses(&self, len: Bytes) -> Option<String> {
        let limit = self.soft.filter(|limit| !self.can_exceed && *limit < len)?;
        Some(format!(
            "locking {len} needs RLIMIT_MEMLOCK of at least {len} without CAP_IPC_LOCK; this process lacks the capability and its limit is {limit}"
        ))
    }

    /// Why the soft limit cannot be set to `soft` (the hard limit is below it), or `None`.
    pub fn cannot_lower_to(&self, soft: Bytes) -> Option<String> {
        let hard = self.hard.filter(|hard| *hard < soft)?;
        Some(format!(
            "setting RLIMIT_MEMLOCK to {soft} needs a hard limit of at least {soft}; the hard limit is {hard}"
        ))
    }
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KernelProbe {
    /// `uname -r`.
    pub release: String,
    /// (major, minor) parsed from the release.
    pub version: (u32, u32),
    pub page_size: Bytes,
    /// `None` where the kernel has no `/sys/kernel/mm/transparent_hugepage`.
    pub thp: Option<ThpSettings>,
    /// `THP_enabled` of /proc/self/status: false after PR_SET_THP_DISABLE.
    pub process_thp_enabled: bool,
    pub overcommit: OvercommitMode,
    /// Whether PR_SET_VMA_ANON_NAME works (CONFIG_ANON_VMA_NAME).
    pub anon_vma_names: bool,
    pub memlock: MemlockLimit,
    /// Where the experiments' temporary files live.
    pub temp_files: TempFiles,
    /// The hugetlbfs pool of the default huge page size; `None` without hugetlbfs
    /// (CONFIG_HUGETLBFS).
    pub hugetlb: Option<HugetlbPool>,
    /// `SwapTotal` of /proc/meminfo: 0 where no swap device or file is on.
    pub swap: Bytes,
}

/// The pool of explicit huge pages (`/proc/meminfo`: `Hugepagesize`, `HugePages_Free`):
/// reserved by the administrator (`vm.nr_hugepages`, or `hugepages=` at boot), not by
/// programs.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HugetlbPool {
    pub page_size: Bytes,
    pub total: u64,
    pub free: u64,
    /// `HugePages_Rsvd`: free pages promised to mappings already, which a new mapping
    /// cannot reserve. Absent from older result files.
    #[serde(default)]
    pub reserved: u64,
    /// `vm.nr_overcommit_hugepages`: surplus pages the kernel may allocate beyond the pool.
    pub overcommit: u64,
}

impl HugetlbPool {
    /// Free pages a new reserving mapping can have ([`unreserved`](crate::kernel::hugetlb::unreserved)).
    pub fn available(&self) -> u64 {
        crate::kernel::hugetlb::unreserved(self.free, self.reserved)
    }

    /// The pool as /proc/meminfo and the sysctl say now; `None` without hugetlbfs. The part
    /// of [`KernelProbe::probe`] a hugetlb check needs, without the rest.
    pub fn probe() -> Result<Option<HugetlbPool>, ProbeError> {
        HugetlbPool::of_meminfo(&read_text(Path::new("/proc/meminfo"))?)
    }

    /// The pool as the text of /proc/meminfo (and the sysctl) say.
    fn of_meminfo(text: &str) -> Result<Option<HugetlbPool>, ProbeError> {
        let sizes = parse_meminfo_sizes(text)?;
        let counts = crate::kernel::meminfo::parse_counts(text);
        let Some(page_size) = sizes.get(MeminfoSize::Hugepagesize) else {
            return Ok(None);
        };
        let count = |key| counts.get(key).unwrap_or(0);
        let overcommit = read_optional(Path::new("/proc/sys/vm/nr_overcommit_hugepages"))?
            .and_then(|text| text.trim().parse().ok())
            .unwrap_or(0);
        Ok(Some(HugetlbPool {
            page_size,
            total: count(MeminfoCount::HugePagesTotal),
            free: count(MeminfoCount::HugePagesFree),
            reserved: count(MeminfoCount::HugePagesRsvd),
            overcommit,
        }))
    }
}

/// The filesystem of the directory temporary files go to (`TMPDIR`, else `/tmp`): on tmpfs
/// (Debian 13's `/tmp`, the kernel matrix's guests) a file's pages live in memory only, and
/// nothing ever writes them back, so they stay dirty; on a disk they turn clean once
/// written back.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TempFiles {
    pub dir: PathBuf,
    /// Its name as `statfs` tells it (`tmpfs`, `ext4`), or the magic number in hex.
    pub filesystem: String,
    /// tmpfs or ramfs.
    pub in_memory: bool,
}

const TMPFS: &str = "tmpfs";
const RAMFS: &str = "ramfs";

/// Filesystem magic numbers by name (include/uapi/linux/magic.h): nix names only some of
/// them, and not the same ones for every libc.
const FILESYSTEMS: &[(u64, &str)] = &[
    (0x0102_1994, TMPFS),
    (0x8584_58f6, RAMFS),
    (0xef53, "ext4"),
    (0x9123_683e, "btrfs"),
    (0x5846_5342, "xfs"),
    (0x794c_7630, "overlayfs"),
    (0x6969, "nfs"),
];

/// `SwapTotal` of the text of /proc/meminfo.
fn swap_total(meminfo: &str) -> Result<Bytes, ProbeError> {
    let sizes = parse_meminfo_sizes(meminfo)?;
    Ok(sizes.get(MeminfoSize::SwapTotal).unwrap_or_default())
}

fn parse_meminfo_sizes(text: &str) -> Result<crate::kernel::meminfo::Meminfo, ProbeError> {
    crate::kernel::meminfo::parse_meminfo(text)
        .map_err(|e| ProbeError::new("parsing /proc/meminfo", e))
}

/// The name of the filesystem `path` lives on (`tmpfs`, `ext4`), or its magic in hex.
pub fn filesystem_of(path: &Path) -> nix::Result<String> {
    let magic = nix::sys::statfs::statfs(path)?.filesystem_type().0 as u64;
    Ok(FILESYSTEMS
        .iter()
        .find(|(m, _)| *m == magic)
        .map_or_else(|| format!("{magic:#x}"), |(_, name)| (*name).to_owned()))
}

impl TempFiles {
    pub fn probe() -> Result<TempFiles, ProbeError> {
        let dir = std::env::temp_dir();
        let filesystem = filesystem_of(&dir)
            .map_err(|e| ProbeError::new(format!("statfs of {}", dir.display()), e))?;
        Ok(TempFiles {
            dir,
            // ramfs keeps files in memory too (an initramfs root is ramfs on kernels
            // without tmpfs; the matrix's guests have tmpfs there and at /tmp).
            in_memory: filesystem == TMPFS || filesystem == RAMFS,
            filesystem,
        })
    }

    /// On ramfs, whose pages are unevictable: reclaim takes none of them, not even out of
    /// the page tables, where tmpfs's stay in memory only for want of swap.
    pub fn unevictable(&self) -> bool {
        self.filesystem == RAMFS
    }
}

#[derive(Debug, thiserror::Error)]
#[error("kernel probe: {what}: {detail}")]
pub struct ProbeError {
    pub what: String,
    pub detail: String,
}

pub(crate) const THP_DIR: &str = "/sys/kernel/mm/transparent_hugepage";

/// CAP_IPC_LOCK's bit in the capability sets (include/uapi/linux/capability.h).
const CAP_IPC_LOCK: u32 = 14;

impl ProbeError {
    fn new(what: impl Into<String>, detail: impl ToString) -> ProbeError {
        ProbeError {
            what: what.into(),
            detail: detail.to_string(),
        }
    }

    fn reading(path: &Path, detail: impl ToString) -> ProbeError {
        ProbeError::new(format!("reading {}", path.display()), detail)
    }
}

impl KernelProbe {
    /// Probes the running kernel.
    pub fn probe() -> Result<KernelProbe, ProbeError> {
        let uts = nix::sys::utsname::uname().map_err(|e| ProbeError::new("uname", e))?;
        let release = uts.release().to_string_lossy().into_owned();
        let version = parse_release(&release).ok_or_else(|| {
            ProbeError::new(
                "parsing the kernel release",
                format!("{release:?} does not start with MAJOR.MINOR"),
            )
        })?;
        let status_path = Path::new("/proc/self/status");
        let status = read_text(status_path)?;
        let process_thp_enabled =
            status_thp_enabled(&status).map_err(|e| ProbeError::reading(status_path, e))?;
        let cap_eff = status_cap_eff(&status).map_err(|e| ProbeError::reading(status_path, e))?;
        let vm_size = status::parse_sizes(&status).get(StatusSize::VmSize);
        let uid_map = Path::new("/proc/self/uid_map");
        let initial = initial_user_namespace().map_err(|e| ProbeError::reading(uid_map, e))?;
        // One reading of /proc/meminfo for the pool and the swap.
        let meminfo = read_text(Path::new("/proc/meminfo"))?;
        Ok(KernelProbe {
            release,
            version,
            page_size: try_page_size()?,
            thp: read_thp_settings(Path::new(THP_DIR))?,
            process_thp_enabled,
            overcommit: read_overcommit()?,
            anon_vma_names: anon_vma_names_supported()?,
            memlock: read_memlock(cap_eff, vm_size, !initial)?,
            temp_files: TempFiles::probe()?,
            hugetlb: HugetlbPool::of_meminfo(&meminfo)?,
            swap: swap_total(&meminfo)?,
        })
    }
}

/// The page size, from sysconf(_SC_PAGESIZE).
/// Whether the kernel has transparent huge pages at all (CONFIG_TRANSPARENT_HUGEPAGE; off in
/// PREEMPT_RT kernels): without them its sysfs directory is missing.
pub fn kernel_has_thp() -> bool {
    Path::new(THP_DIR).is_dir()
}

pub fn page_size() -> Bytes {
    // sysconf(_SC_PAGESIZE) cannot fail on Linux (glibc answers from the auxiliary vector);
    // an error here means a broken libc, not a condition to report.
    try_page_size().unwrap_or_else(|e| panic!("{e}"))
}

fn try_page_size() -> Result<Bytes, ProbeError> {
    use nix::unistd::{SysconfVar, sysconf};
    let answer =
        sysconf(SysconfVar::PAGE_SIZE).map_err(|e| ProbeError::new("sysconf(_SC_PAGESIZE)", e))?;
    answer
        .and_then(|size| u64::try_from(size).ok())
        .filter(|&size| size > 0)
        .map(Bytes)
        .ok_or_else(|| {
            ProbeError::new(
                "sysconf(_SC_PAGESIZE)",
                format!("unusable answer {answer:?}"),
            )
        })
}

/// The PMD-sized THP from `hpage_pmd_size`; `None` where THP is not built in.
pub fn pmd_size() -> Option<Bytes> {
    // Fixed at boot, and callers ask for it in loops (sizes of test cases, alignment checks).
    static PMD_SIZE: std::sync::OnceLock<Option<Bytes>> = std::sync::OnceLock::new();
    *PMD_SIZE.get_or_init(|| {
        read_optional(&Path::new(THP_DIR).join("hpage_pmd_size"))
            .ok()
            .flatten()
            .and_then(|text| parse_size_bytes(&text))
    })
}

/// Parses a sysfs choice line such as `always [madvise] never` into the bracketed word.
pub fn selected_choice(text: &str) -> Option<&str> {
    let (_, rest) = text.split_once('[')?;
    let (word, _) = rest.split_once(']')?;
    let word = word.trim();
    (!word.is_empty()).then_some(word)
}

/// `(major, minor)` from a release such as `6.12.117+deb12-cloud-amd64` or `6.18.44-fc-v857`.
pub fn parse_release(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.trim().splitn(3, '.');
    let major = parts.next()?.parse().ok()?;
    // The minor number may run straight into a suffix (`6.1-rc3`, `6.8+`).
    let minor_text = parts.next()?;
    let digits = minor_text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(minor_text.len());
    let minor = minor_text[..digits].parse().ok()?;
    Some((major, minor))
}

/// `THP_enabled:` of /proc/PID/status (5.0+). Kernels without the line cannot disable THP
/// per process, so its absence means enabled.
pub fn status_thp_enabled(status: &str) -> Result<bool, String> {
    match status_value(status, "THP_enabled") {
        None => Ok(true),
        Some("1") => Ok(true),
        Some("0") => Ok(false),
        Some(other) => Err(format!("THP_enabled is {other:?}, expected 0 or 1")),
    }
}

/// The effective capability set (`CapEff:`, hexadecimal) of /proc/PID/status.
pub fn status_cap_eff(status: &str) -> Result<u64, String> {
    let text = status_value(status, "CapEff").ok_or("no CapEff line")?;
    u64::from_str_radix(text, 16).map_err(|e| format!("CapEff {text:?}: {e}"))
}

/// CAP_SYS_ADMIN's bit in the capability sets (include/uapi/linux/capability.h).
const CAP_SYS_ADMIN: u32 = 21;

/// Whether this process has CAP_SYS_ADMIN where the kernel looks for it (the initial user
/// namespace, as for pagemap's frame numbers): in its effective set, as /proc/self/status
/// says, outside any user namespace of its own. Read once: every experiment's subjects ask,
/// and pagelab changes its own capabilities only in children.
pub fn cap_sys_admin() -> Result<bool, String> {
    static HAS: std::sync::OnceLock<Result<bool, String>> = std::sync::OnceLock::new();
    HAS.get_or_init(|| {
        let status = fs::read_to_string("/proc/self/status")
            .map_err(|e| format!("/proc/self/status: {e}"))?;
        let caps = status_cap_eff(&status).map_err(|e| format!("/proc/self/status: {e}"))?;
        let initial = initial_user_namespace().map_err(|e| format!("/proc/self/uid_map: {e}"))?;
        Ok(caps & (1 << CAP_SYS_ADMIN) != 0 && initial)
    })
    .clone()
}

/// Whether this process runs in the initial user namespace, where the capabilities that
/// mlock and pagemap ask for count (`capable()`, `file_ns_capable(…, &init_user_ns, …)`):
/// its uid_map maps every user id to itself. A rootless container's maps a range, so root
/// in it shows the capabilities in CapEff that the kernel does not honour outside it. A
/// kernel without user namespaces (no uid_map) has only the initial one. Read once: every
/// probe and [`cap_sys_admin`] ask, and the process never changes namespace.
pub fn initial_user_namespace() -> Result<bool, String> {
    static INITIAL: std::sync::OnceLock<Result<bool, String>> = std::sync::OnceLock::new();
    INITIAL
        .get_or_init(|| match fs::read_to_string("/proc/self/uid_map") {
            Ok(text) => Ok(is_identity_uid_map(&text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(true),
            Err(e) => Err(e.to_string()),
        })
        .clone()
}

/// The initial namespace's uid_map: one line, `0 0 4294967295` (every id, to itself).
fn is_identity_uid_map(text: &str) -> bool {
    let lines: Vec<Vec<&str>> = text
        .lines()
        .map(|line| line.split_whitespace().collect())
        .filter(|words: &Vec<&str>| !words.is_empty())
        .collect();
    lines == [["0", "0", "4294967295"]]
}

fn status_value<'a>(status: &'a str, key: &str) -> Option<&'a str> {
    status.lines().find_map(|line| {
        let (name, value) = crate::kernel::named::key_value(line)?;
        (name == key).then_some(value)
    })
}

/// `/proc/sys/vm/overcommit_memory`: 0, 1 or 2.
pub fn parse_overcommit(text: &str) -> Option<OvercommitMode> {
    match text.trim() {
        "0" => Some(OvercommitMode::Heuristic),
        "1" => Some(OvercommitMode::Always),
        "2" => Some(OvercommitMode::Never),
        _ => None,
    }
}

pub fn parse_thp_mode(word: &str) -> Option<ThpMode> {
    use ThpMode::{Always, Madvise, Never};
    [Always, Madvise, Never]
        .into_iter()
        .find(|m| m.word() == word)
}

pub fn parse_per_size_mode(word: &str) -> Option<PerSizeMode> {
    use PerSizeMode::{Always, Inherit, Madvise, Never};
    [Always, Inherit, Madvise, Never]
        .into_iter()
        .find(|m| m.word() == word)
}

/// The folio size named by a per-size directory, `hugepages-64kB` -> 64 KiB.
pub fn parse_hugepages_dir(name: &str) -> Option<Bytes> {
    let kib = name.strip_prefix("hugepages-")?.strip_suffix("kB")?;
    kib.parse().ok().map(Bytes::from_kib)
}

/// A size file in bytes, such as `hpage_pmd_size`.
fn parse_size_bytes(text: &str) -> Option<Bytes> {
    text.trim().parse().ok().filter(|&n| n > 0).map(Bytes)
}

fn read_text(path: &Path) -> Result<String, ProbeError> {
    fs::read_to_string(path).map_err(|e| ProbeError::reading(path, e))
}

/// `Ok(None)` when the file does not exist: sysfs files come and go with kernel versions.
fn read_optional(path: &Path) -> Result<Option<String>, ProbeError> {
    match fs::read_to_string(path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(ProbeError::reading(path, e)),
    }
}

fn read_choice(path: &Path) -> Result<String, ProbeError> {
    let text = read_text(path)?;
    selected_choice(&text).map(str::to_owned).ok_or_else(|| {
        ProbeError::reading(path, format!("no [selected] word in {:?}", text.trim()))
    })
}

fn read_thp_settings(dir: &Path) -> Result<Option<ThpSettings>, ProbeError> {
    if !dir.is_dir() {
        return Ok(None);
    }
    let enabled_path = dir.join("enabled");
    let enabled_word = read_choice(&enabled_path)?;
    let enabled = parse_thp_mode(&enabled_word).ok_or_else(|| {
        ProbeError::reading(&enabled_path, format!("unknown mode {enabled_word:?}"))
    })?;
    let defrag = read_choice(&dir.join("defrag"))?;
    let zero_path = dir.join("use_zero_page");
    let use_zero_page = match read_optional(&zero_path)? {
        None => None,
        Some(text) => Some(match text.trim() {
            "0" => false,
            "1" => true,
            other => {
                return Err(ProbeError::reading(
                    &zero_path,
                    format!("expected 0 or 1, found {other:?}"),
                ));
            }
        }),
    };
    let pmd_path = dir.join("hpage_pmd_size");
    let pmd_text = read_text(&pmd_path)?;
    let pmd_size = parse_size_bytes(&pmd_text).ok_or_else(|| {
        ProbeError::reading(
            &pmd_path,
            format!("not a size in bytes: {:?}", pmd_text.trim()),
        )
    })?;
    Ok(Some(ThpSettings {
        enabled,
        defrag,
        use_zero_page,
        pmd_size,
        per_size: read_per_size(dir)?,
    }))
}

fn read_per_size(dir: &Path) -> Result<BTreeMap<Bytes, PerSizeMode>, ProbeError> {
    let mut per_size = BTreeMap::new();
    let entries = fs::read_dir(dir).map_err(|e| ProbeError::reading(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| ProbeError::reading(dir, e))?;
        let Some(size) = entry.file_name().to_str().and_then(parse_hugepages_dir) else {
            continue;
        };
        // Sizes the kernel cannot use for anonymous memory (order 1, since 6.10 listed for
        // shmem and file folios) have a directory without `enabled`.
        let path: PathBuf = entry.path().join("enabled");
        let Some(text) = read_optional(&path)? else {
            continue;
        };
        let word = selected_choice(&text).ok_or_else(|| {
            ProbeError::reading(&path, format!("no [selected] word in {:?}", text.trim()))
        })?;
        let mode = parse_per_size_mode(word)
            .ok_or_else(|| ProbeError::reading(&path, format!("unknown mode {word:?}")))?;
        per_size.insert(size, mode);
    }
    Ok(per_size)
}

fn read_overcommit() -> Result<OvercommitMode, ProbeError> {
    let path = Path::new("/proc/sys/vm/overcommit_memory");
    let text = read_text(path)?;
    parse_overcommit(&text).ok_or_else(|| {
        ProbeError::reading(path, format!("expected 0, 1 or 2, found {:?}", text.trim()))
    })
}

/// Names a scratch one-page mapping: a kernel without CONFIG_ANON_VMA_NAME answers EINVAL.
fn anon_vma_names_supported() -> Result<bool, ProbeError> {
    use nix::sys::mman::{MapFlags, ProtFlags, mmap_anonymous, munmap};
    const WHAT: &str = "testing PR_SET_VMA_ANON_NAME on a scratch mapping";
    let len = NonZeroUsize::new(try_page_size()?.as_usize())
        .ok_or_else(|| ProbeError::new(WHAT, "page size is zero"))?;
    // SAFETY: a fresh private anonymous mapping at an address the kernel picks aliases nothing.
    let scratch = unsafe { mmap_anonymous(None, len, ProtFlags::PROT_READ, MapFlags::MAP_PRIVATE) }
        .map_err(|e| ProbeError::new(WHAT, format!("mmap: {e}")))?;
    let name: &CStr = c"pagelab-probe";
    let named = nix::sys::prctl::set_vma_anon_name(scratch, len, Some(name));
    // SAFETY: unmaps exactly the scratch mapping made above, which nothing else refers to.
    let unmapped = unsafe { munmap(scratch, len.get()) };
    let supported = match named {
        Ok(()) => true,
        Err(nix::errno::Errno::EINVAL) => false,
        Err(e) => return Err(ProbeError::new(WHAT, format!("prctl: {e}"))),
    };
    unmapped.map_err(|e| ProbeError::new(WHAT, format!("munmap: {e}")))?;
    Ok(supported)
}

fn read_memlock(
    cap_eff: u64,
    vm_size: Option<Bytes>,
    user_namespace: bool,
) -> Result<MemlockLimit, ProbeError> {
    use nix::sys::resource::{Resource, getrlimit};
    let (soft, hard) = getrlimit(Resource::RLIMIT_MEMLOCK)
        .map_err(|e| ProbeError::new("getrlimit(RLIMIT_MEMLOCK)", e))?;
    let limit = |value: libc::rlim_t| (value != libc::RLIM_INFINITY).then_some(Bytes(value));
    Ok(MemlockLimit {
        soft: limit(soft),
        hard: limit(hard),
        can_exceed: cap_eff & (1 << CAP_IPC_LOCK) != 0 && !user_namespace,
        user_namespace,
        vm_size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_identity_uid_map_is_the_initial_user_namespace() {
        assert!(is_identity_uid_map("         0          0 4294967295\n"));
        // Root of a rootless container: its ids map to a range of the host's.
        assert!(!is_identity_uid_map(
            "         0       1000          1\n         1     100000      65536\n"
        ));
        assert!(!is_identity_uid_map("         0     100000      65536\n"));
        assert!(!is_identity_uid_map(""));
    }

    #[test]
    fn selected_choice_is_the_bracketed_word() {
        assert_eq!(selected_choice("always [madvise] never"), Some("madvise"));
        assert_eq!(selected_choice("[always] madvise never\n"), Some("always"));
        assert_eq!(
            selected_choice("always defer defer+madvise [madvise] never"),
            Some("madvise")
        );
        assert_eq!(
            selected_choice("always inherit madvise [never]"),
            Some("never")
        );
        assert_eq!(selected_choice("always madvise never"), None);
        assert_eq!(selected_choice("[]"), None);
        assert_eq!(selected_choice("[always"), None);
    }

    #[test]
    fn release_gives_major_and_minor() {
        assert_eq!(parse_release("6.18.44-fc-v857"), Some((6, 18)));
        assert_eq!(parse_release("6.12.117+deb12-cloud-amd64"), Some((6, 12)));
        assert_eq!(parse_release("6.1.0-50-cloud-amd64"), Some((6, 1)));
        assert_eq!(parse_release("6.8-rc3"), Some((6, 8)));
        assert_eq!(parse_release("6.8"), Some((6, 8)));
        assert_eq!(parse_release("6"), None);
        assert_eq!(parse_release("linux"), None);
        assert_eq!(parse_release(".5.1"), None);
    }

    const STATUS: &str = "Name:\tcat\nUmask:\t0022\nState:\tR (running)\n\
        CapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t000001fffeffbfff\n\
        THP_enabled:\t0\nSpeculation_Store_Bypass:\tthread vulnerable\n";

    #[test]
    fn status_lines_are_found_by_key() {
        assert_eq!(status_thp_enabled(STATUS), Ok(false));
        assert_eq!(status_thp_enabled("THP_enabled:\t1\n"), Ok(true));
        assert_eq!(
            status_thp_enabled("Name:\tcat\n"),
            Ok(true),
            "absent before 5.0"
        );
        assert!(status_thp_enabled("THP_enabled:\tmaybe\n").is_err());
        let cap = status_cap_eff(STATUS).unwrap();
        assert_eq!(cap, 0x1fffeffbfff);
        assert_eq!(
            cap & (1 << CAP_IPC_LOCK),
            0,
            "bit 14 cleared in the fixture"
        );
        assert!(status_cap_eff("Name:\tcat\n").is_err());
        assert!(status_cap_eff("CapEff:\tzz\n").is_err());
    }

    #[test]
    fn sysfs_words_map_to_modes() {
        assert_eq!(parse_overcommit("0\n"), Some(OvercommitMode::Heuristic));
        assert_eq!(parse_overcommit("1"), Some(OvercommitMode::Always));
        assert_eq!(parse_overcommit("2\n"), Some(OvercommitMode::Never));
        assert_eq!(parse_overcommit("3"), None);
        assert_eq!(parse_thp_mode("madvise"), Some(ThpMode::Madvise));
        assert_eq!(parse_thp_mode("inherit"), None);
        assert_eq!(parse_per_size_mode("inherit"), Some(PerSizeMode::Inherit));
        assert_eq!(
            parse_hugepages_dir("hugepages-2048kB"),
            Some(Bytes::from_kib(2048))
        );
        assert_eq!(
            parse_hugepages_dir("hugepages-16kB"),
            Some(Bytes::from_kib(16))
        );
        assert_eq!(parse_hugepages_dir("hugepages-2048KB"), None);
        assert_eq!(parse_hugepages_dir("khugepaged"), None);
        assert_eq!(parse_size_bytes("2097152\n"), Some(Bytes(2097152)));
        assert_eq!(parse_size_bytes("0"), None);
    }

    #[test]
    fn thp_settings_read_from_a_fake_sysfs_tree() {
        let dir = std::env::temp_dir().join(format!("pagelab-probe-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let write = |rel: &str, text: &str| {
            let path = dir.join(rel);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, text).unwrap();
        };
        write("enabled", "always [madvise] never\n");
        write("defrag", "always defer defer+madvise [madvise] never\n");
        write("hpage_pmd_size", "2097152\n");
        write(
            "hugepages-2048kB/enabled",
            "always [inherit] madvise never\n",
        );
        write("hugepages-64kB/enabled", "always inherit [madvise] never\n");
        write(
            "hugepages-8kB/shmem_enabled",
            "always inherit advise [never]\n",
        );
        let thp = read_thp_settings(&dir).unwrap().unwrap();
        fs::remove_dir_all(&dir).unwrap();
        assert_eq!(thp.enabled, ThpMode::Madvise);
        assert_eq!(thp.defrag, "madvise");
        assert_eq!(thp.use_zero_page, None);
        assert_eq!(thp.pmd_size, Bytes::from_kib(2048));
        let expected = BTreeMap::from([
            (Bytes::from_kib(64), PerSizeMode::Madvise),
            (Bytes::from_kib(2048), PerSizeMode::Inherit),
        ]);
        assert_eq!(thp.per_size, expected);
        assert_eq!(
            read_thp_settings(&dir).unwrap(),
            None,
            "no directory, no THP"
        );
    }

    #[test]
    fn probes_this_kernel_without_error() {
        let probe = KernelProbe::probe().unwrap();
        assert!(
            probe
                .release
                .starts_with(&format!("{}.{}", probe.version.0, probe.version.1))
        );
        assert!(probe.page_size.get().is_power_of_two());
        assert_eq!(probe.thp.as_ref().map(|t| t.pmd_size), pmd_size());
    }
}
