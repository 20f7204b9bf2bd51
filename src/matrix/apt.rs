//! A private apt state for the matrix: its own sources, lists and cache under the matrix
//! cache, so Debian's kernels of every suite and architecture can be searched and fetched
//! without touching the machine's apt configuration. The mirrors are the ones the
//! machine's own sources already use; this module never names one itself.

use super::tools::run_quoting;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

/// Debian's release names and aliases. A source with one of these as its suite (or with a
/// `-suffix`, e.g. `bookworm-updates`) is Debian's archive; third-party repositories on
/// Debian name suites of their own (`nodistro`, `cloud-sdk-bookworm`, `bookworm-pgdg`
/// with a suffix of their own but another component, ...), so component `main` is also
/// required.
const DEBIAN_RELEASES: &[&str] = &[
    "buster",
    "bullseye",
    "bookworm",
    "trixie",
    "forky",
    "duke",
    "sid",
    "oldoldstable",
    "oldstable",
    "stable",
    "testing",
    "unstable",
];

/// Suites whose kernels the matrix boots: bullseye has 5.10, bookworm 6.1 (and 6.12 in
/// its security suite), trixie 6.12, sid the newest series. bookworm-backports is there
/// for QEMU: the machine's qemu-utils comes from it, and qemu-system-* must match it.
pub const ARCHIVE_SUITES: &[&str] = &[
    "bullseye",
    "bookworm",
    "bookworm-backports",
    "trixie",
    "sid",
];
pub const SECURITY_SUITES: &[&str] = &["bullseye-security", "bookworm-security", "trixie-security"];
/// Debian's names of the architectures the matrix boots.
pub const ARCHITECTURES: &[&str] = &["amd64", "arm64"];

/// How old the private lists may get before a run refreshes them.
pub const LISTS_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);

/// One `deb` entry of an apt sources file, in either format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Source {
    /// `file:line` of the entry, for messages.
    pub origin: String,
    pub types: Vec<String>,
    pub uris: Vec<String>,
    pub suites: Vec<String>,
    pub components: Vec<String>,
    /// The `Signed-By` value in deb822 syntax: keyring paths or fingerprints separated by
    /// spaces, or an inline key whose continuation lines keep their leading space.
    pub signed_by: Option<String>,
    /// `trusted=yes`: the entry is used without signature checks.
    pub trusted: bool,
}

/// Parses a one-line-style file (`*.list`): `deb [options] URI SUITE [COMPONENT...]`.
pub fn parse_one_line(text: &str, file: &str) -> Result<Vec<Source>, String> {
    let mut sources = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let origin = format!("{file}:{}", i + 1);
        let line = raw.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let (kind, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let rest = rest.trim_start();
        let (options, rest) = match rest.strip_prefix('[') {
            Some(inner) => {
                let (options, rest) = inner
                    .split_once(']')
                    .ok_or_else(|| format!("{origin}: `[` of the options is never closed"))?;
                (options, rest)
            }
            None => ("", rest),
        };
        let words: Vec<&str> = rest.split_whitespace().collect();
        let [uri, suite, components @ ..] = words.as_slice() else {
            return Err(format!(
                "{origin}: expected `{kind} URI SUITE [COMPONENT...]`"
            ));
        };
        let mut source = Source {
            origin,
            types: vec![kind.to_owned()],
            uris: vec![(*uri).to_owned()],
            suites: vec![(*suite).to_owned()],
            components: components.iter().map(|c| (*c).to_owned()).collect(),
            signed_by: None,
            trusted: false,
        };
        for option in options.split_whitespace() {
            let Some((key, value)) = option.split_once('=') else {
                continue;
            };
            match key.to_ascii_lowercase().as_str() {
                "signed-by" => source.signed_by = Some(value.replace(',', " ")),
                "trusted" => source.trusted = value.eq_ignore_ascii_case("yes"),
                _ => {}
            }
        }
        sources.push(source);
    }
    Ok(sources)
}

/// Parses a deb822-style file (`*.sources`): stanzas of `Field: value` separated by blank
/// lines, values continued on lines that start with white space.
pub fn parse_deb822(text: &str, file: &str) -> Result<Vec<Source>, String> {
    let mut sources = Vec::new();
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut start = 0;
    let finish = |fields: &mut Vec<(String, String)>, start: usize, sources: &mut Vec<Source>| {
        if !fields.is_empty() {
            let origin = format!("{file}:{start}");
            if let Some(source) = stanza(std::mem::take(fields), origin)? {
                sources.push(source);
            }
        }
        Ok::<(), String>(())
    };
    for (i, line) in text.lines().enumerate() {
        if line.starts_with('#') {
            continue;
        }
        if line.trim().is_empty() {
            finish(&mut fields, start, &mut sources)?;
            continue;
        }
        if line.starts_with([' ', '\t']) {
            let Some((_, value)) = fields.last_mut() else {
                return Err(format!(
                    "{file}:{}: a continuation line with no field",
                    i + 1
                ));
            };
            value.push('\n');
            value.push_str(line);
            continue;
        }
        let (key, value) = line
            .split_once(':')
            .ok_or_else(|| format!("{file}:{}: expected `Field: value`", i + 1))?;
        if fields.is_empty() {
            start = i + 1;
        }
        fields.push((key.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    finish(&mut fields, start, &mut sources)?;
    Ok(sources)
}

/// One deb822 stanza as a source; `None` when it is disabled.
fn stanza(fields: Vec<(String, String)>, origin: String) -> Result<Option<Source>, String> {
    let field = |name: &str| {
        fields
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    };
    if field("enabled").is_some_and(|v| v.eq_ignore_ascii_case("no")) {
        return Ok(None);
    }
    let words = |name: &str| -> Vec<String> {
        field(name)
            .map(|v| v.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let source = Source {
        types: words("types"),
        uris: words("uris"),
        suites: words("suites"),
        components: words("components"),
        signed_by: field("signed-by").map(str::to_owned),
        trusted: field("trusted").is_some_and(|v| v.eq_ignore_ascii_case("yes")),
        origin,
    };
    if source.types.is_empty() || source.uris.is_empty() || source.suites.is_empty() {
        return Err(format!(
            "{}: a stanza needs Types, URIs and Suites",
            source.origin
        ));
    }
    Ok(Some(source))
}

/// Parses one file of the machine's apt sources by its extension, as apt does.
pub fn parse_file(path: &Path, text: &str) -> Result<Vec<Source>, String> {
    let file = path.display().to_string();
    match path.extension().and_then(|e| e.to_str()) {
        Some("sources") => parse_deb822(text, &file),
        _ => parse_one_line(text, &file),
    }
}

/// The machine's apt source files in apt's order: `sources.list`, then `sources.list.d/`
/// by name (`*.list` and `*.sources` only; apt ignores other names there too).
pub fn machine_source_files(etc_apt: &Path) -> Result<Vec<(PathBuf, String)>, String> {
    let mut paths = vec![etc_apt.join("sources.list")];
    let parts = etc_apt.join("sources.list.d");
    if let Ok(entries) = std::fs::read_dir(&parts) {
        let mut names: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "list" || x == "sources"))
            .collect();
        names.sort();
        paths.extend(names);
    }
    let mut files = Vec::new();
    for path in paths {
        match std::fs::read_to_string(&path) {
            Ok(text) => files.push((path, text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("reading {}: {e}", path.display())),
        }
    }
    Ok(files)
}

/// A repository base URI with how apt checks it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mirror {
    pub uri: String,
    pub signed_by: Option<String>,
    pub trusted: bool,
}

/// Where the machine gets Debian from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Mirrors {
    pub archive: Mirror,
    /// `None` when the machine has no security suite in its sources.
    pub security: Option<Mirror>,
    /// The release the machine runs, from its archive entry (`bookworm`).
    pub release: String,
}

/// `bookworm-security` -> (`bookworm`, Some(`security`)).
fn release_of(suite: &str) -> Option<(&str, Option<&str>)> {
    let (base, suffix) = match suite.split_once('-') {
        Some((base, suffix)) => (base, Some(suffix)),
        None => (suite, None),
    };
    DEBIAN_RELEASES.contains(&base).then_some((base, suffix))
}

/// Finds the Debian archive and the security archive among the machine's sources: the
/// first `deb` entry with component `main` and a Debian suite (for the archive, one
/// without `-security`; for security, `<release>-security`).
pub fn mirrors(sources: &[Source]) -> Result<Mirrors, String> {
    let debian_main = sources
        .iter()
        .filter(|s| s.types.iter().any(|t| t == "deb") && s.components.iter().any(|c| c == "main"));
    let mut archive = None;
    let mut security = None;
    for source in debian_main {
        let mirror = || Mirror {
            uri: source.uris[0].clone(),
            signed_by: source.signed_by.clone(),
            trusted: source.trusted,
        };
        for suite in &source.suites {
            match release_of(suite) {
                Some((_, Some("security"))) if security.is_none() => security = Some(mirror()),
                Some((release, suffix)) if archive.is_none() && suffix != Some("security") => {
                    archive = Some((mirror(), release.to_owned()));
                }
                _ => {}
            }
        }
    }
    let (archive, release) = archive.ok_or_else(|| {
        let origins: Vec<&str> = sources.iter().map(|s| s.origin.as_str()).collect();
        format!(
            "the machine's apt sources name no Debian archive (a `deb` entry with component \
             `main` and a Debian suite such as bookworm); entries seen: {}",
            if origins.is_empty() {
                "none".to_owned()
            } else {
                origins.join(", ")
            }
        )
    })?;
    Ok(Mirrors {
        archive,
        security,
        release,
    })
}

/// Suites from `wanted`, plus the machine's own release and its backports when missing:
/// installing tools needs the lists of the release the machine runs.
fn suites_with(wanted: &[&str], extra: &[String]) -> Vec<String> {
    let mut suites: Vec<String> = wanted.iter().map(|s| (*s).to_owned()).collect();
    for suite in extra {
        if !suites.contains(suite) {
            suites.push(suite.clone());
        }
    }
    suites
}

/// A release that has a `-backports` suite (the development ones do not).
fn has_backports(release: &str) -> bool {
    !matches!(release, "sid" | "unstable" | "testing")
}

fn write_stanza(out: &mut String, mirror: &Mirror, suites: &[String], architectures: &[&str]) {
    let _ = writeln!(out, "Types: deb");
    let _ = writeln!(out, "URIs: {}", mirror.uri);
    let _ = writeln!(out, "Suites: {}", suites.join(" "));
    let _ = writeln!(out, "Components: main");
    let _ = writeln!(out, "Architectures: {}", architectures.join(" "));
    // Only the package lists: no translations, DEP-11 metadata or Contents, which apt
    // would otherwise fetch for every suite and architecture.
    let _ = writeln!(out, "Targets: Packages");
    let _ = writeln!(out, "PDiffs: no");
    if let Some(keys) = &mirror.signed_by {
        let _ = writeln!(out, "Signed-By: {keys}");
    }
    if mirror.trusted {
        let _ = writeln!(out, "Trusted: yes");
    }
    out.push('\n');
}

const HEADER: &str = "# Written by pagelab's kernel matrix from this machine's apt sources; \
                      rewritten on every run.\n\n";

impl Mirrors {
    fn archive_suites(&self) -> Vec<String> {
        let mut own = vec![self.release.clone()];
        if has_backports(&self.release) {
            own.push(format!("{}-backports", self.release));
        }
        suites_with(ARCHIVE_SUITES, &own)
    }

    fn security_suites(&self) -> Vec<String> {
        suites_with(SECURITY_SUITES, &[format!("{}-security", self.release)])
    }

    /// The private sources (deb822): every kernel suite for every matrix architecture.
    pub fn kernel_sources(&self) -> String {
        let mut out = String::from(HEADER);
        write_stanza(
            &mut out,
            &self.archive,
            &self.archive_suites(),
            ARCHITECTURES,
        );
        if let Some(security) = &self.security {
            write_stanza(&mut out, security, &self.security_suites(), ARCHITECTURES);
        }
        out
    }

    /// The sources for installing tools on this machine: only its own release (with
    /// security and backports) and only its own architecture, so apt cannot pull a
    /// library from sid. Each stanza is one the kernel sources also have, so the lists
    /// they fetched serve both.
    pub fn install_sources(&self, native: &str) -> String {
        let mut out = String::from(HEADER);
        let mut suites = vec![self.release.clone()];
        if has_backports(&self.release) {
            suites.push(format!("{}-backports", self.release));
        }
        write_stanza(&mut out, &self.archive, &suites, &[native]);
        if let Some(security) = &self.security {
            write_stanza(
                &mut out,
                security,
                &[format!("{}-security", self.release)],
                &[native],
            );
        }
        out
    }

    /// The suite tools are installed from: backports, where the machine's qemu-utils
    /// comes from, when the release has one.
    pub fn install_suite(&self) -> Option<String> {
        has_backports(&self.release).then(|| format!("{}-backports", self.release))
    }
}

/// What apt printed on stderr but its warnings (`W:`): apt warns on runs that succeed too,
/// so the warnings say nothing of why one failed. The mirrors are left out (see
/// [`without_mirrors`]).
fn apt_errors(output: &Output) -> String {
    let errors = String::from_utf8_lossy(&output.stderr)
        .lines()
        .filter(|l| !l.starts_with("W:"))
        .collect::<Vec<_>>()
        .join("\n");
    without_mirrors(&errors)
}

/// Why `name:arch` did not download, from the failure of the apt-get call that fetched it
/// with others: apt's line about its .deb, from `E: ` on, or else the whole failure.
fn download_failure(name: &str, arch: &str, failure: &str) -> String {
    failure
        .lines()
        .find(|l| l.contains(&format!("/{name}_")))
        .map(|l| {
            let message = l.find("E: ").map_or(l, |at| &l[at..]);
            format!("downloading {name}:{arch}: {}", message.trim())
        })
        .unwrap_or_else(|| failure.to_owned())
}

/// What stands for a mirror in apt's messages.
const MIRROR: &str = "<mirror>";

/// `text` without the mirrors it names: each URI's `scheme://host[:port]` becomes
/// `<mirror>` (its path stays), apt's `[IP: address port]` notes go, and a host or address
/// seen there is `<mirror>` wherever else it stands (`Temporary failure resolving 'host'`).
/// apt's messages end up in result files, reports and the published book, which are not to
/// name the machine's mirror.
fn without_mirrors(text: &str) -> String {
    let bytes = text.as_bytes();
    // Byte ranges to replace, and by what.
    let mut spans: Vec<(usize, usize, &str)> = Vec::new();
    let mut seen: Vec<&str> = Vec::new();
    let mut from = 0;
    while let Some(at) = text[from..].find("://").map(|i| from + i) {
        let mut start = at;
        while start > 0 && is_scheme_byte(bytes[start - 1]) {
            start -= 1;
        }
        // A scheme begins with a letter.
        while start < at && !bytes[start].is_ascii_alphabetic() {
            start += 1;
        }
        let end = at
            + 3
            + text[at + 3..]
                .find(|c: char| c.is_whitespace() || "/?#'\"<>(),".contains(c))
                .unwrap_or(text.len() - at - 3);
        if start < at && end > at + 3 {
            spans.push((start, end, MIRROR));
            let authority = &text[at + 3..end];
            let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
            let host = match host_port.strip_prefix('[') {
                Some(v6) => v6.split(']').next().unwrap_or_default(),
                None => host_port.split(':').next().unwrap_or_default(),
            };
            if !host.is_empty() {
                seen.push(host);
            }
        }
        from = end.max(at + 3);
    }
    let mut from = 0;
    while let Some(at) = text[from..].find("[IP: ").map(|i| from + i) {
        let Some(end) = text[at..].find(']').map(|i| at + i + 1) else {
            break;
        };
        if let Some(address) = text[at + 5..end - 1].split_whitespace().next() {
            seen.push(address);
        }
        let start = text[..at].trim_end_matches([' ', '\t']).len();
        spans.push((start, end, ""));
        from = end;
    }
    // The longest first, so that a host is not taken for part of a longer one.
    seen.sort_by_key(|h| std::cmp::Reverse(h.len()));
    seen.dedup();
    for host in seen {
        for (at, _) in text.match_indices(host) {
            let end = at + host.len();
            let before_ok = at == 0 || !is_host_byte(bytes[at - 1]);
            let after_ok = match bytes.get(end) {
                None => true,
                // A sentence's full stop, not a longer name.
                Some(b'.') => !bytes
                    .get(end + 1)
                    .is_some_and(|b| b.is_ascii_alphanumeric()),
                Some(&b) => !is_host_byte(b),
            };
            let free = spans.iter().all(|&(s, e, _)| end <= s || at >= e);
            if before_ok && after_ok && free {
                spans.push((at, end, MIRROR));
            }
        }
    }
    spans.sort_by_key(|&(s, _, _)| s);
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (start, end, by) in spans {
        out.push_str(&text[copied..start]);
        out.push_str(by);
        copied = end;
    }
    out.push_str(&text[copied..]);
    out
}

fn is_scheme_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"+.-".contains(&b)
}

fn is_host_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b".-_".contains(&b)
}

/// The private apt state: `<cache>/apt/`.
pub struct Apt {
    pub dir: PathBuf,
}

impl Apt {
    fn lists(&self) -> PathBuf {
        self.dir.join("lists")
    }

    fn kernel_sources(&self) -> PathBuf {
        self.dir.join("kernels.sources")
    }

    fn install_sources(&self) -> PathBuf {
        self.dir.join("install.sources")
    }

    /// Written after each successful update; its age is the lists' age.
    fn stamp(&self) -> PathBuf {
        self.dir.join("updated")
    }

    /// The package names of the index, saved after each update so a warm run asks apt
    /// nothing (apt-cache parses every list on each call: seconds).
    fn names_file(&self) -> PathBuf {
        self.dir.join("linux-packages.txt")
    }

    /// The options that make apt use the private state and only the given sources.
    fn options(&self, sources: &Path, architectures: &[&str]) -> Vec<String> {
        let mut options = vec![
            format!("Dir::State::Lists={}", self.lists().display()),
            format!("Dir::Etc::SourceList={}", sources.display()),
            "Dir::Etc::SourceParts=/dev/null".to_owned(),
            format!("Dir::Cache={}", self.dir.join("cache").display()),
            // Without its binary cache apt parses all 16 lists (~160 MB) on every call:
            // 5 s each, and a cold run makes several. One cache per sources file, so the
            // install sources do not invalidate the kernel sources' cache; no source cache
            // (another 190 MB, and only a faster rebuild after an update).
            format!(
                "Dir::Cache::pkgcache={}",
                self.dir
                    .join("cache")
                    .join(sources.file_stem().unwrap_or_default())
                    .with_extension("bin")
                    .display()
            ),
            "Dir::Cache::srcpkgcache=".to_owned(),
        ];
        options.extend(
            architectures
                .iter()
                .map(|a| format!("APT::Architectures::={a}")),
        );
        options
            .into_iter()
            .flat_map(|o| ["-o".to_owned(), o])
            .collect()
    }

    fn kernel_options(&self) -> Vec<String> {
        self.options(&self.kernel_sources(), ARCHITECTURES)
    }

    /// Writes the private sources from the machine's mirrors and refreshes the lists when
    /// they are missing, older than [`LISTS_MAX_AGE`], made from other sources, or when
    /// `force` is set. A failed refresh with lists at hand is a warning: they still serve.
    pub fn prepare(&self, mirrors: &Mirrors, native: &str, force: bool) -> Result<(), String> {
        let io = |path: &Path, e: std::io::Error| format!("{}: {e}", path.display());
        std::fs::create_dir_all(self.lists().join("partial")).map_err(|e| io(&self.lists(), e))?;
        std::fs::create_dir_all(self.dir.join("cache/archives/partial"))
            .map_err(|e| io(&self.dir, e))?;
        let sources = mirrors.kernel_sources();
        let changed = std::fs::read_to_string(self.kernel_sources()).ok() != Some(sources.clone());
        if changed {
            std::fs::write(self.kernel_sources(), &sources)
                .map_err(|e| io(&self.kernel_sources(), e))?;
        }
        std::fs::write(self.install_sources(), mirrors.install_sources(native))
            .map_err(|e| io(&self.install_sources(), e))?;
        let age = std::fs::metadata(self.stamp())
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| SystemTime::now().duration_since(t).ok());
        let have_lists = age.is_some() && self.names_file().is_file();
        let stale = force || changed || !have_lists || age.is_some_and(|a| a > LISTS_MAX_AGE);
        if !stale {
            return Ok(());
        }
        eprintln!(
            "updating the private package lists ({} suites, {})...",
            mirrors.archive_suites().len()
                + mirrors
                    .security
                    .as_ref()
                    .map_or(0, |_| mirrors.security_suites().len()),
            ARCHITECTURES.join(", ")
        );
        let updated = run_quoting(
            Command::new("apt-get")
                .args(self.kernel_options())
                .args(["update", "-q"]),
            &format!("updating the package lists in {}", self.lists().display()),
            apt_errors,
        )
        .and_then(|_| self.save_names());
        match updated {
            Ok(()) => {
                let _ = std::fs::remove_file(self.unavailable_file());
                std::fs::write(self.stamp(), "").map_err(|e| io(&self.stamp(), e))
            }
            Err(e) if have_lists && !changed => {
                eprintln!("warning: {e}\nwarning: using the package lists of the last update");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    fn save_names(&self) -> Result<(), String> {
        let names = run_quoting(
            Command::new("apt-cache")
                .args(self.kernel_options())
                .args(["pkgnames", "linux-"]),
            "listing the kernel packages",
            apt_errors,
        )?;
        std::fs::write(self.names_file(), names)
            .map_err(|e| format!("{}: {e}", self.names_file().display()))
    }

    /// Every `linux-*` package name in the private index.
    pub fn linux_packages(&self) -> Result<Vec<String>, String> {
        let text = std::fs::read_to_string(self.names_file())
            .map_err(|e| format!("{}: {e}", self.names_file().display()))?;
        Ok(text.lines().map(str::to_owned).collect())
    }

    /// Downloads `name:arch` packages into `into`: each one's .deb, or why it is missing.
    /// One apt call for all (each call parses every list: seconds); a package the mirror
    /// does not serve does not keep the others from downloading.
    pub fn download(
        &self,
        packages: &[(String, &str)],
        into: &Path,
    ) -> Result<Vec<Result<PathBuf, String>>, String> {
        std::fs::create_dir_all(into).map_err(|e| format!("{}: {e}", into.display()))?;
        let qualified: Vec<String> = packages.iter().map(|(n, a)| format!("{n}:{a}")).collect();
        let failure = run_quoting(
            Command::new("apt-get")
                .args(self.kernel_options())
                .args(["download", "-q"])
                .args(&qualified)
                .current_dir(into),
            &format!("downloading {}", qualified.join(" ")),
            apt_errors,
        )
        .err();
        let files: Vec<PathBuf> = std::fs::read_dir(into)
            .map_err(|e| format!("{}: {e}", into.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        Ok(packages
            .iter()
            .map(|(name, arch)| {
                let deb = files.iter().find(|p| {
                    p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                        n.starts_with(&format!("{name}_")) && n.ends_with(&format!("_{arch}.deb"))
                    })
                });
                match (deb, &failure) {
                    (Some(deb), _) => Ok(deb.clone()),
                    (None, Some(failure)) => Err(download_failure(name, arch, failure)),
                    (None, None) => Err(format!(
                        "apt-get download left no {name}_*_{arch}.deb in {}",
                        into.display()
                    )),
                }
            })
            .collect())
    }

    /// Packages the index lists but the mirror did not serve, since the last update (a
    /// mirror's pool can lag behind its index). Forgotten at the next update.
    pub fn unavailable(&self) -> Vec<String> {
        std::fs::read_to_string(self.unavailable_file())
            .map(|t| t.lines().map(str::to_owned).collect())
            .unwrap_or_default()
    }

    pub fn mark_unavailable(&self, name: &str) {
        use std::io::Write;
        let _ = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.unavailable_file())
            .and_then(|mut f| writeln!(f, "{name}"));
    }

    fn unavailable_file(&self) -> PathBuf {
        self.dir.join("unavailable.txt")
    }

    /// The apt-get arguments that install `packages` on this machine from its own release
    /// (backports first), through the private lists: the machine's sources stay as they
    /// are, and nothing is removed.
    pub fn install_arguments(&self, mirrors: &Mirrors, packages: &[&str]) -> Vec<String> {
        let mut args = self.options(&self.install_sources(), &[]);
        // Another apt or dpkg at work (an unattended upgrade, a second install) is waited
        // for, not a failure.
        args.extend(["-o".to_owned(), "DPkg::Lock::Timeout=300".to_owned()]);
        args.extend(
            [
                "install",
                "-y",
                "-q",
                "--no-install-recommends",
                "--no-remove",
            ]
            .map(String::from),
        );
        if let Some(suite) = mirrors.install_suite() {
            args.extend(["-t".to_owned(), suite]);
        }
        args.extend(packages.iter().map(|p| (*p).to_owned()));
        args
    }

    /// Installs packages (see [`Apt::install_arguments`]); through `sudo -n` when `sudo`.
    pub fn install(&self, mirrors: &Mirrors, packages: &[&str], sudo: bool) -> Result<(), String> {
        let mut command = if sudo {
            let mut command = Command::new("sudo");
            command.args(["-n", "env", "DEBIAN_FRONTEND=noninteractive", "apt-get"]);
            command
        } else {
            let mut command = Command::new("apt-get");
            command.env("DEBIAN_FRONTEND", "noninteractive");
            command
        };
        command.args(self.install_arguments(mirrors, packages));
        let result = run_quoting(
            &mut command,
            &format!("installing {}", packages.join(" ")),
            apt_errors,
        );
        // The downloaded .debs are of no further use; they would only fill the cache.
        if let Ok(entries) = std::fs::read_dir(self.dir.join("cache/archives")) {
            for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
                if path.extension().is_some_and(|x| x == "deb") {
                    let _ = std::fs::remove_file(path);
                }
            }
        }
        result.map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE_LINE: &str = "\
# The archive, with a comment line and a trailing comment.
deb [arch=amd64 signed-by=/usr/share/keyrings/one.gpg,/usr/share/keyrings/two.gpg] http://mirror.example/debian bookworm main contrib # main
deb-src http://mirror.example/debian bookworm main
#deb http://old.example/debian buster main

deb http://security.example/debian-security bookworm-security main non-free-firmware
";

    const DEB822: &str = "\
Types: deb deb-src
# a comment inside the stanza
URIs: http://mirror.example/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://security.example/debian-security
Suites: bookworm-security
Components: main
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 mDMEYCQjIxYJKwYBBAHaRw8BAQdAD
 -----END PGP PUBLIC KEY BLOCK-----

Types: deb
Enabled: no
URIs: http://disabled.example/debian
Suites: bookworm
Components: main
";

    #[test]
    fn one_line_entries_with_options_and_comments() {
        let sources = parse_one_line(ONE_LINE, "sources.list").unwrap();
        assert_eq!(sources.len(), 3, "{sources:#?}");
        assert_eq!(sources[0].origin, "sources.list:2");
        assert_eq!(sources[0].uris, ["http://mirror.example/debian"]);
        assert_eq!(sources[0].suites, ["bookworm"]);
        assert_eq!(sources[0].components, ["main", "contrib"]);
        assert_eq!(
            sources[0].signed_by.as_deref(),
            Some("/usr/share/keyrings/one.gpg /usr/share/keyrings/two.gpg")
        );
        assert_eq!(sources[1].types, ["deb-src"]);
        assert_eq!(sources[2].suites, ["bookworm-security"]);
    }

    #[test]
    fn one_line_errors_name_the_line() {
        let error =
            parse_one_line("deb [arch=amd64 http://x.example/ bookworm", "a.list").unwrap_err();
        assert!(error.starts_with("a.list:1:"), "{error}");
        let error = parse_one_line("\ndeb http://x.example/\n", "b.list").unwrap_err();
        assert!(error.starts_with("b.list:2:"), "{error}");
    }

    #[test]
    fn deb822_stanzas_with_inline_key_and_disabled_entry() {
        let sources = parse_deb822(DEB822, "debian.sources").unwrap();
        assert_eq!(sources.len(), 2, "{sources:#?}");
        assert_eq!(sources[0].types, ["deb", "deb-src"]);
        assert_eq!(sources[0].suites, ["bookworm", "bookworm-updates"]);
        assert_eq!(sources[0].origin, "debian.sources:1");
        let key = sources[1].signed_by.as_deref().unwrap();
        assert!(key.starts_with("\n -----BEGIN PGP"), "{key:?}");
        assert!(
            key.ends_with("\n -----END PGP PUBLIC KEY BLOCK-----"),
            "{key:?}"
        );
    }

    #[test]
    fn deb822_stanza_without_suites_is_an_error() {
        let error = parse_deb822("Types: deb\nURIs: http://x.example/\n", "x.sources").unwrap_err();
        assert!(error.contains("x.sources:1"), "{error}");
    }

    #[test]
    fn files_are_parsed_by_extension() {
        let one = parse_file(Path::new("/etc/apt/sources.list"), ONE_LINE).unwrap();
        let two = parse_file(Path::new("/etc/apt/sources.list.d/debian.sources"), DEB822).unwrap();
        assert_eq!(one.len(), 3);
        assert_eq!(two.len(), 2);
    }

    #[test]
    fn mirrors_come_from_the_first_debian_entries_across_files() {
        let third_party = "deb [signed-by=/k.gpg] https://vendor.example/node nodistro main\n\
                           deb https://vendor.example/pg bookworm-pgdg other\n";
        let mut sources = parse_one_line(third_party, "vendor.list").unwrap();
        sources.extend(parse_deb822(DEB822, "debian.sources").unwrap());
        sources.extend(parse_one_line(ONE_LINE, "later.list").unwrap());
        let mirrors = mirrors(&sources).unwrap();
        assert_eq!(mirrors.release, "bookworm");
        assert_eq!(mirrors.archive.uri, "http://mirror.example/debian");
        assert_eq!(
            mirrors.archive.signed_by.as_deref(),
            Some("/usr/share/keyrings/debian-archive-keyring.gpg")
        );
        let security = mirrors.security.unwrap();
        assert_eq!(security.uri, "http://security.example/debian-security");
        assert!(security.signed_by.unwrap().contains("BEGIN PGP"));
    }

    #[test]
    fn no_debian_archive_is_an_error_listing_what_was_seen() {
        let sources =
            parse_one_line("deb http://vendor.example/x nodistro main\n", "v.list").unwrap();
        let error = mirrors(&sources).unwrap_err();
        assert!(error.contains("v.list:1"), "{error}");
        assert!(mirrors(&[]).unwrap_err().contains("none"));
    }

    #[test]
    fn kernel_sources_cover_every_suite_and_architecture() {
        let sources = parse_deb822(DEB822, "debian.sources").unwrap();
        let text = mirrors(&sources).unwrap().kernel_sources();
        assert!(
            text.contains(
                "URIs: http://mirror.example/debian\n\
             Suites: bullseye bookworm bookworm-backports trixie sid\n\
             Components: main\nArchitectures: amd64 arm64\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("Suites: bullseye-security bookworm-security trixie-security\n"),
            "{text}"
        );
        // The inline key stays a valid deb822 continuation.
        assert!(
            text.contains("Signed-By: \n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n"),
            "{text}"
        );
        let reparsed = parse_deb822(&text, "kernels.sources").unwrap();
        assert_eq!(reparsed.len(), 2);
    }

    #[test]
    fn install_sources_are_the_machines_release_and_architecture_only() {
        let sources = parse_one_line(ONE_LINE, "sources.list").unwrap();
        let mirrors = mirrors(&sources).unwrap();
        let text = mirrors.install_sources("amd64");
        assert!(
            text.contains("Suites: bookworm bookworm-backports\n"),
            "{text}"
        );
        assert!(text.contains("Suites: bookworm-security\n"), "{text}");
        assert!(!text.contains("sid") && !text.contains("arm64"), "{text}");
        assert_eq!(
            mirrors.install_suite().as_deref(),
            Some("bookworm-backports")
        );
    }

    #[test]
    fn installing_uses_the_private_install_sources_and_removes_nothing() {
        let sources = parse_one_line(ONE_LINE, "sources.list").unwrap();
        let mirrors = mirrors(&sources).unwrap();
        let apt = Apt {
            dir: PathBuf::from("/cache/apt"),
        };
        let args = apt
            .install_arguments(&mirrors, &["qemu-system-arm"])
            .join(" ");
        let has_all = |options: &str, parts: &[&str]| {
            for part in parts {
                assert!(options.contains(part), "{part}: {options}");
            }
        };
        has_all(
            &args,
            &[
                "Dir::Etc::SourceList=/cache/apt/install.sources",
                "Dir::Etc::SourceParts=/dev/null",
                "Dir::State::Lists=/cache/apt/lists",
                "Dir::Cache::pkgcache=/cache/apt/cache/install.bin",
                "install -y -q --no-install-recommends --no-remove -t bookworm-backports qemu-system-arm",
            ],
        );
        assert!(!args.contains("APT::Architectures"), "{args}");
        has_all(
            &apt.kernel_options().join(" "),
            &[
                "APT::Architectures::=amd64 -o APT::Architectures::=arm64",
                "Dir::Cache::pkgcache=/cache/apt/cache/kernels.bin",
            ],
        );
    }

    #[test]
    fn a_release_outside_the_list_adds_its_own_suites() {
        let sources = parse_one_line("deb http://m.example/debian forky main\n", "s.list").unwrap();
        let text = mirrors(&sources).unwrap().kernel_sources();
        assert!(
            text.contains("trixie sid forky forky-backports\n"),
            "{text}"
        );
        assert!(!text.contains("-security"), "no security mirror: {text}");
    }

    /// apt's stderr of a failed run, as run_quoting hands it to apt_errors.
    fn failed_output(stderr: &str) -> Output {
        use std::os::unix::process::ExitStatusExt;
        Output {
            status: std::process::ExitStatus::from_raw(100 << 8),
            stdout: Vec::new(),
            stderr: stderr.as_bytes().to_vec(),
        }
    }

    #[test]
    fn a_failed_download_names_no_mirror() {
        let stderr = "\
Err:1 http://mirror.example.org/debian bookworm/main amd64 linux-image-6.1.0-9-amd64 amd64 6.1.27-1
  404  Not Found [IP: 192.0.2.7 80]
W: an unrelated warning about http://other.example.net/debian
E: Failed to fetch http://mirror.example.org/debian/pool/main/l/linux-signed-amd64/linux-image-6.1.0-9-amd64_6.1.27-1_amd64.deb  404  Not Found [IP: 192.0.2.7 80]
E: Failed to fetch https://user@mirror.example.org:8443/debian-security/pool/main/b/busybox/busybox-static_1.35.0-4_arm64.deb  Temporary failure resolving 'mirror.example.org'
E: Some files failed to download
";
        let failure = apt_errors(&failed_output(stderr));
        for host in [
            "mirror.example.org",
            "192.0.2.7",
            "8443",
            "http",
            "IP:",
            "other.example",
        ] {
            assert!(!failure.contains(host), "{host} in: {failure}");
        }
        assert!(
            failure.starts_with("Err:1 <mirror>/debian bookworm/main amd64 linux-image-6.1.0-9"),
            "{failure}"
        );
        let why = download_failure("linux-image-6.1.0-9-amd64", "amd64", &failure);
        assert_eq!(
            why,
            "downloading linux-image-6.1.0-9-amd64:amd64: E: Failed to fetch \
             <mirror>/debian/pool/main/l/linux-signed-amd64/\
             linux-image-6.1.0-9-amd64_6.1.27-1_amd64.deb  404  Not Found"
        );
        let why = download_failure("busybox-static", "arm64", &failure);
        assert_eq!(
            why,
            "downloading busybox-static:arm64: E: Failed to fetch \
             <mirror>/debian-security/pool/main/b/busybox/busybox-static_1.35.0-4_arm64.deb  \
             Temporary failure resolving '<mirror>'"
        );
        // A package apt did not name gets the whole failure, as free of the mirror.
        let why = download_failure("linux-image-6.12.9-arm64", "arm64", &failure);
        assert_eq!(why, failure);
    }

    #[test]
    fn mirrors_are_left_out_but_what_only_looks_like_them_stays() {
        assert_eq!(
            without_mirrors(
                "Could not connect to mirror.example.org:80 (192.0.2.7) [IP: 192.0.2.7 80]\nErr:2 http://mirror.example.org trixie InRelease"
            ),
            "Could not connect to <mirror>:80 (<mirror>)\nErr:2 <mirror> trixie InRelease"
        );
        assert_eq!(
            without_mirrors("http://[2001:db8::1]:3142/debian and tor+http://m.example/x."),
            "<mirror>/debian and <mirror>/x."
        );
        // A longer name that begins or ends with a mirror's host is another host.
        assert_eq!(
            without_mirrors("http://example.org/d: example.org. example.org.uk, cdn.example.org"),
            "<mirror>/d: <mirror>. example.org.uk, cdn.example.org"
        );
        let plain = "E: Unable to locate package linux-image-9.9: file:/var/lib/apt ://";
        assert_eq!(without_mirrors(plain), plain);
    }
}
