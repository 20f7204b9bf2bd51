//! Debian's kernel packages: which versions the index has, per series and flavour, and
//! the images fetched from it into the cache.
//!
//! Two packagings exist: up to 6.x the image is in `linux-image-<version>-<flavour>-unsigned`
//! (`boot/vmlinuz-*`, with `boot/config-*`); from 7.x `linux-image-*` is a meta package and
//! the image is in `linux-binary-<version>-<flavour>` (`usr/lib/modules/<release>/vmlinuz`),
//! its config in `linux-base-<version>-<flavour>`.

use super::apt::Apt;
use super::tools::run;
use super::{find_files, modules};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A kernel series, `6.12`: what Debian keeps one package line for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Series(pub u32, pub u32);

impl fmt::Display for Series {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

impl Series {
    /// `6.12.118+deb13` or `6.12` -> 6.12.
    pub fn of(version: &str) -> Option<Series> {
        let mut numbers = version.split(|c: char| !c.is_ascii_digit());
        let major = numbers.next()?.parse().ok()?;
        let minor = numbers.next()?.parse().ok()?;
        Some(Series(major, minor))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Packaging {
    /// `linux-image-<version>-<flavour>-unsigned`.
    Unsigned,
    /// `linux-binary-<version>-<flavour>` (+ `linux-base-…` for the config).
    Binary,
}

/// One kernel build the index offers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelPackage {
    pub name: String,
    /// `6.12.118+deb13`, `6.1.0-57`, `7.2.13+deb14`.
    pub version: String,
    /// `cloud-amd64`, `rt-amd64`, `arm64`, `arm64-16k`, ...
    pub flavour: String,
    pub packaging: Packaging,
}

impl KernelPackage {
    pub fn series(&self) -> Series {
        Series::of(&self.version).expect("parsed versions have a series")
    }

    /// Debian's architecture of the flavour: its last word.
    pub fn debian_arch(&self) -> &str {
        debian_arch(&self.flavour)
    }

    /// The packages to fetch: the image, and for 7.x the base package with the config.
    pub fn packages(&self) -> Vec<String> {
        match self.packaging {
            Packaging::Unsigned => vec![self.name.clone()],
            Packaging::Binary => vec![
                self.name.clone(),
                format!("linux-base-{}-{}", self.version, self.flavour),
            ],
        }
    }
}

/// `arm64-16k` -> `arm64`, `cloud-amd64` -> `amd64`.
pub fn debian_arch(flavour: &str) -> &str {
    flavour
        .split('-')
        .find(|w| {
            matches!(
                *w,
                "amd64" | "arm64" | "i386" | "armhf" | "ppc64el" | "s390x"
            )
        })
        .unwrap_or(flavour)
}

/// Splits `<version>-<flavour>`: the version is the leading `-`-separated words that start
/// with a digit (`6.1.0-0.deb11.52`), the flavour the rest (`cloud-amd64`).
fn split_version(rest: &str) -> Option<(&str, &str)> {
    let mut end = 0;
    for (i, word) in rest.split('-').enumerate() {
        if !word.starts_with(|c: char| c.is_ascii_digit()) {
            break;
        }
        end += word.len() + usize::from(i > 0);
    }
    let version = &rest[..end];
    let flavour = rest.get(end + 1..)?;
    (!version.is_empty() && !flavour.is_empty() && Series::of(version).is_some())
        .then_some((version, flavour))
}

/// The kernel build a package name stands for, if it is an image package; release
/// candidates are left out (the matrix boots what Debian releases).
pub fn parse_package(name: &str) -> Option<KernelPackage> {
    let (rest, packaging) = if let Some(rest) = name.strip_prefix("linux-binary-") {
        (rest, Packaging::Binary)
    } else {
        let rest = name
            .strip_prefix("linux-image-")?
            .strip_suffix("-unsigned")?;
        (rest, Packaging::Unsigned)
    };
    let (version, flavour) = split_version(rest)?;
    let candidate = |w: &str| {
        w.strip_prefix("rc")
            .is_some_and(|n| n.starts_with(|c: char| c.is_ascii_digit()))
    };
    if version.contains("rc") || flavour.split('-').any(candidate) {
        return None;
    }
    Some(KernelPackage {
        name: name.to_owned(),
        version: version.to_owned(),
        flavour: flavour.to_owned(),
        packaging,
    })
}

/// `6.12.117+deb12` -> [6, 12, 117, 12]: numbers compared as numbers, so 6.12.9 sorts
/// before 6.12.117 and 6.1.0-0.deb11.52 (a backport to bullseye) before 6.1.0-57.
pub fn version_key(version: &str) -> Vec<u64> {
    version
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect()
}

/// Every image package the index has.
pub fn images(names: &[String]) -> Vec<KernelPackage> {
    names.iter().filter_map(|n| parse_package(n)).collect()
}

/// Every series the index has an image of, in any flavour.
pub fn all_series(images: &[KernelPackage]) -> BTreeSet<Series> {
    images.iter().map(KernelPackage::series).collect()
}

/// The builds of a series in a flavour, newest first.
pub fn builds(images: &[KernelPackage], series: Series, flavour: &str) -> Vec<KernelPackage> {
    let mut builds: Vec<KernelPackage> = images
        .iter()
        .filter(|k| k.flavour == flavour && k.series() == series)
        .cloned()
        .collect();
    builds.sort_by_key(|b| std::cmp::Reverse(version_key(&b.version)));
    builds
}

/// The newest build of a series in a flavour.
pub fn newest(images: &[KernelPackage], series: Series, flavour: &str) -> Option<KernelPackage> {
    builds(images, series, flavour).into_iter().next()
}

/// The THP mode a kernel boots with when the command line says nothing, from its config:
/// `always`, `madvise` or `never`; `None` for a kernel without THP.
pub fn default_thp(config: &str) -> Option<&'static str> {
    let set = |option: &str| config.lines().any(|l| l.trim() == format!("{option}=y"));
    if !set("CONFIG_TRANSPARENT_HUGEPAGE") {
        return None;
    }
    [
        ("CONFIG_TRANSPARENT_HUGEPAGE_ALWAYS", "always"),
        ("CONFIG_TRANSPARENT_HUGEPAGE_MADVISE", "madvise"),
        ("CONFIG_TRANSPARENT_HUGEPAGE_NEVER", "never"),
    ]
    .into_iter()
    .find(|(option, _)| set(option))
    .map(|(_, mode)| mode)
}

/// A kernel in the cache: its image and what its config says.
#[derive(Clone, Debug)]
pub struct CachedKernel {
    pub package: KernelPackage,
    pub vmlinuz: PathBuf,
    pub default_thp: Option<&'static str>,
    /// The modules asked for and their dependencies, decompressed, in load order.
    pub modules: Vec<PathBuf>,
}

/// What a configuration needs of a kernel: the builds of its series and flavour, newest
/// first, and modules by name (`zram`) to load at boot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelRequest {
    pub builds: Vec<KernelPackage>,
    pub modules: Vec<&'static str>,
}

/// A cached module's file name without the `NN-` its closure numbered it by: `zram.ko` of
/// `02-zram.ko`.
pub(super) fn unnumbered_file_name(file: &Path) -> Option<&str> {
    let name = file.file_name()?.to_str()?;
    Some(name.split_once('-').map_or(name, |(_, rest)| rest))
}

/// Whether a path inside a kernel package is its image: `boot/vmlinuz-*` or
/// `usr/lib/modules/*/vmlinuz`.
fn is_image(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let parent = path.parent().and_then(|p| p.to_str()).unwrap_or("");
    (parent == "boot" && name.starts_with("vmlinuz-"))
        || (name == "vmlinuz" && parent.starts_with("usr/lib/modules/"))
}

/// Whether a path inside a kernel package is its config.
fn is_config(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let parent = path.parent().and_then(|p| p.to_str()).unwrap_or("");
    (parent == "boot" && name.starts_with("config-"))
        || (name == "config" && parent.starts_with("usr/lib/modules/"))
}

/// The kernels' part of the cache: `<cache>/kernels/<package>/{vmlinuz,config}`, and
/// `modules/<name>/NN-<module>.ko` for a module a configuration asked for (its dependencies
/// first). Only these are kept; the .debs (modules: up to 90 MB each) are removed once
/// unpacked.
pub struct KernelCache {
    pub dir: PathBuf,
}

impl KernelCache {
    fn slot(&self, package: &KernelPackage) -> PathBuf {
        self.dir.join(&package.name)
    }

    fn cached(&self, package: &KernelPackage, modules: &[&str]) -> Option<CachedKernel> {
        let slot = self.slot(package);
        let vmlinuz = slot.join("vmlinuz");
        let config = std::fs::read_to_string(slot.join("config")).ok()?;
        let mut files: Vec<PathBuf> = Vec::new();
        for module in modules {
            let mut closure: Vec<PathBuf> = std::fs::read_dir(slot.join("modules").join(module))
                .ok()?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            closure.sort();
            for file in closure {
                // A dependency that an earlier module's closure brought in loads once: the
                // closures number their files apart, so compare the names after `NN-`.
                if !files
                    .iter()
                    .any(|f| unnumbered_file_name(f) == unnumbered_file_name(&file))
                {
                    files.push(file);
                }
            }
        }
        vmlinuz.is_file().then(|| CachedKernel {
            package: package.clone(),
            vmlinuz,
            default_thp: default_thp(&config),
            modules: files,
        })
    }

    /// For each request (builds of one series and flavour, newest first) the newest build
    /// that is cached with the modules asked for or that the mirror serves, downloaded (all
    /// missing ones in one apt call per round) and unpacked into the cache. A build the
    /// mirror does not serve is noted and the next older one tried, with a warning.
    pub fn fetch(
        &self,
        apt: &Apt,
        requests: &[KernelRequest],
    ) -> Vec<Result<CachedKernel, String>> {
        let mut fetch = Fetch {
            unavailable: apt.unavailable(),
            errors: vec![Vec::new(); requests.len()],
        };
        // Each round either settles every request or marks one more build unavailable.
        for _round in 0..4 {
            let wanted_modules = fetch.modules_per_build(requests);
            let mut missing: Vec<KernelPackage> = requests
                .iter()
                .filter_map(|r| fetch.pick(r))
                .filter(|b| self.cached(b, &wanted_modules[&b.name]).is_none())
                .collect();
            missing.sort_by(|a, b| a.name.cmp(&b.name));
            missing.dedup();
            if missing.is_empty()
                || !self.download(apt, requests, &missing, &wanted_modules, &mut fetch)
            {
                break;
            }
        }
        let mut warned = Vec::new();
        requests
            .iter()
            .zip(fetch.errors.clone())
            .map(|(request, errors)| self.chosen(request, &fetch.unavailable, &errors, &mut warned))
            .collect()
    }

    /// One round's download and unpacking of the `missing` builds; a build that fails is
    /// marked unavailable (the next round picks an older one). False when apt itself failed,
    /// which no other build would escape.
    fn download(
        &self,
        apt: &Apt,
        requests: &[KernelRequest],
        missing: &[KernelPackage],
        wanted_modules: &BTreeMap<String, Vec<&'static str>>,
        fetch: &mut Fetch,
    ) -> bool {
        let debs_dir = self.dir.join("debs");
        let wanted: Vec<(String, &str)> = missing
            .iter()
            .flat_map(|p| p.packages().into_iter().map(|n| (n, p.debian_arch())))
            .collect();
        let names: Vec<&str> = wanted.iter().map(|(n, _)| n.as_str()).collect();
        eprintln!("downloading {}...", names.join(", "));
        let downloaded = match apt.download(&wanted, &debs_dir) {
            Ok(downloaded) => downloaded,
            Err(e) => {
                fetch
                    .errors
                    .iter_mut()
                    .for_each(|list| list.push(e.clone()));
                return false;
            }
        };
        let mut results = downloaded.into_iter();
        for build in missing {
            let own: Vec<Result<PathBuf, String>> =
                results.by_ref().take(build.packages().len()).collect();
            let failed: Vec<String> = own
                .iter()
                .filter_map(|r| r.as_ref().err().cloned())
                .collect();
            let outcome = if failed.is_empty() {
                let debs: Vec<&PathBuf> = own.iter().filter_map(|r| r.as_ref().ok()).collect();
                self.unpack(build, &debs, &wanted_modules[&build.name])
            } else {
                // Only what the mirror did not serve is remembered across runs; a build
                // that failed to unpack here (a module missing, a tool failing) is tried
                // again next time.
                apt.mark_unavailable(&build.name);
                Err(failed.join("; "))
            };
            if let Err(e) = outcome {
                eprintln!("warning: {e}");
                fetch.give_up_on(build, requests, e);
            }
        }
        let _ = std::fs::remove_dir_all(&debs_dir);
        true
    }

    /// The cached kernel a request gets after the rounds: its newest build the mirror
    /// served, with a warning the first time that is not the newest in the index.
    fn chosen(
        &self,
        request: &KernelRequest,
        unavailable: &[String],
        errors: &[String],
        warned: &mut Vec<String>,
    ) -> Result<CachedKernel, String> {
        let chosen = request
            .builds
            .iter()
            .filter(|b| !unavailable.contains(&b.name))
            .find_map(|b| self.cached(b, &request.modules));
        match (chosen, request.builds.first()) {
            (Some(kernel), Some(newest)) => {
                if kernel.package.name != newest.name && !warned.contains(&newest.name) {
                    warned.push(newest.name.clone());
                    eprintln!(
                        "warning: {} could not be fetched or unpacked; using {} \
                         (`just kernels --refresh` asks the mirror again)",
                        newest.name, kernel.package.name
                    );
                }
                Ok(kernel)
            }
            (_, None) => Err("no build of this kernel in the index".to_owned()),
            (None, Some(newest)) => {
                let why = if errors.is_empty() {
                    String::new()
                } else {
                    format!(": {}", errors.join("; "))
                };
                Err(format!(
                    "no build of {} {} could be fetched{why}",
                    newest.flavour,
                    newest.series()
                ))
            }
        }
    }

    fn unpack(
        &self,
        package: &KernelPackage,
        debs: &[&PathBuf],
        modules: &[&str],
    ) -> Result<(), String> {
        let staging = self.dir.join(format!("{}.unpacking", package.name));
        let _ = std::fs::remove_dir_all(&staging);
        let unpacked = std::fs::create_dir_all(&staging)
            .map_err(|e| format!("{}: {e}", staging.display()))
            .and_then(|()| self.unpack_in(package, debs, modules, &staging));
        // Removed on every path, so that a failed unpacking leaves nothing half-made.
        let _ = std::fs::remove_dir_all(&staging);
        unpacked
    }

    /// [`Self::unpack`]'s work, with the packages unpacked into `staging`.
    fn unpack_in(
        &self,
        package: &KernelPackage,
        debs: &[&PathBuf],
        modules: &[&str],
        staging: &Path,
    ) -> Result<(), String> {
        let slot = self.slot(package);
        for deb in debs {
            run(
                Command::new("dpkg").arg("-x").arg(deb).arg(staging),
                &format!("unpacking {}", deb.display()),
            )?;
        }
        let one = |what: &str, wanted: &dyn Fn(&Path) -> bool| {
            let found = find_files(staging, wanted);
            match found.as_slice() {
                [one] => Ok(one.clone()),
                [] => Err(format!("{} has no {what}", package.name)),
                many => Err(format!("{} has several {what}s: {many:?}", package.name)),
            }
        };
        let vmlinuz = one("kernel image", &is_image)?;
        let config = one("kernel config", &is_config)?;
        let io = |path: &Path, e: std::io::Error| format!("{}: {e}", path.display());
        // Modules asked for before stay: the slot is added to, never emptied.
        std::fs::create_dir_all(&slot).map_err(|e| io(&slot, e))?;
        for (from, to) in [(vmlinuz, "vmlinuz"), (config, "config")] {
            std::fs::rename(&from, slot.join(to))
                .map_err(|e| format!("{} -> {}: {e}", from.display(), slot.join(to).display()))?;
        }
        if !modules.is_empty() {
            let found = modules::PackageModules::find(staging);
            for module in modules {
                let closure = found
                    .closure(module)
                    .map_err(|e| format!("{}: module {module}: {e}", package.name))?;
                let dir = slot.join("modules").join(module);
                let partial = slot.join("modules").join(format!("{module}.unpacking"));
                let _ = std::fs::remove_dir_all(&partial);
                let written = std::fs::create_dir_all(&partial)
                    .map_err(|e| io(&partial, e))
                    .and_then(|()| {
                        closure
                            .iter()
                            .enumerate()
                            .try_for_each(|(i, (name, bytes))| {
                                let file = partial.join(format!("{:02}-{name}.ko", i + 1));
                                std::fs::write(&file, bytes).map_err(|e| io(&file, e))
                            })
                    });
                if let Err(e) = written {
                    let _ = std::fs::remove_dir_all(&partial);
                    return Err(e);
                }
                let _ = std::fs::remove_dir_all(&dir);
                std::fs::rename(&partial, &dir).map_err(|e| io(&dir, e))?;
            }
        }
        Ok(())
    }
}

/// What [`KernelCache::fetch`] has learnt so far: builds the mirror does not serve, and
/// each request's errors.
struct Fetch {
    unavailable: Vec<String>,
    errors: Vec<Vec<String>>,
}

impl Fetch {
    /// The newest build of a request that is not known to be unavailable.
    fn pick(&self, request: &KernelRequest) -> Option<KernelPackage> {
        request
            .builds
            .iter()
            .find(|b| !self.unavailable.contains(&b.name))
            .cloned()
    }

    /// The modules each build is asked for, over every request that picks it.
    fn modules_per_build(&self, requests: &[KernelRequest]) -> BTreeMap<String, Vec<&'static str>> {
        let mut wanted: BTreeMap<String, Vec<&'static str>> = BTreeMap::new();
        for request in requests {
            if let Some(build) = self.pick(request) {
                let modules = wanted.entry(build.name).or_default();
                modules.extend(&request.modules);
                modules.sort_unstable();
                modules.dedup();
            }
        }
        wanted
    }

    /// `build` could not be had: no request picks it again, and the requests whose newest
    /// build is of its flavour and series carry the error.
    fn give_up_on(&mut self, build: &KernelPackage, requests: &[KernelRequest], error: String) {
        self.unavailable.push(build.name.clone());
        for (i, request) in requests.iter().enumerate() {
            if request
                .builds
                .first()
                .is_some_and(|b| b.series() == build.series() && b.flavour == build.flavour)
            {
                self.errors[i].push(error.clone());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modules_of_two_closures_are_told_apart_by_name_not_number() {
        let zram = Path::new("slot/modules/zram/02-zram.ko");
        let again = Path::new("slot/modules/other/01-zram.ko");
        let lz4 = Path::new("slot/modules/zram/01-lz4_compress.ko");
        assert_eq!(unnumbered_file_name(zram), Some("zram.ko"));
        assert_eq!(unnumbered_file_name(zram), unnumbered_file_name(again));
        assert_ne!(unnumbered_file_name(zram), unnumbered_file_name(lz4));
    }

    const INDEX: &[&str] = &[
        "linux-image-5.10.0-30-cloud-amd64-unsigned",
        "linux-image-5.10.0-46-cloud-amd64-unsigned",
        "linux-image-6.1.0-0.deb11.52-cloud-amd64-unsigned",
        "linux-image-6.1.0-57-cloud-amd64-unsigned",
        "linux-image-6.1-cloud-amd64",
        "linux-image-6.12.9+deb13-arm64-16k-unsigned",
        "linux-image-6.12.117+deb12-arm64-16k-unsigned",
        "linux-image-6.12.117+deb12-arm64-unsigned",
        "linux-image-6.12.117+deb12-cloud-arm64-unsigned",
        "linux-image-6.12.118+deb13-cloud-amd64-unsigned",
        "linux-image-6.12.118+deb13-rt-amd64-unsigned",
        "linux-image-7.2.13+deb14-cloud-amd64",
        "linux-image-7.2.13+deb14-cloud-amd64-dbg",
        "linux-binary-7.2.13+deb14-cloud-amd64",
        "linux-binary-unsigned-7.2.13+deb14-cloud-amd64",
        "linux-binary-7.2.13+deb14-arm64-16k",
        "linux-base-7.2.13+deb14-arm64-16k",
        "linux-binary-7.3.0-rc5-cloud-amd64",
        "linux-headers-6.12.118+deb13-common",
    ];

    fn index() -> Vec<KernelPackage> {
        images(&INDEX.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>())
    }

    #[test]
    fn names_split_into_version_and_flavour() {
        let cases = [
            (
                "linux-image-6.1.0-0.deb11.52-cloud-amd64-unsigned",
                ("6.1.0-0.deb11.52", "cloud-amd64", "amd64"),
                Packaging::Unsigned,
                &["linux-image-6.1.0-0.deb11.52-cloud-amd64-unsigned"][..],
            ),
            (
                "linux-image-6.12.117+deb12-arm64-16k-unsigned",
                ("6.12.117+deb12", "arm64-16k", "arm64"),
                Packaging::Unsigned,
                &["linux-image-6.12.117+deb12-arm64-16k-unsigned"],
            ),
            (
                "linux-binary-7.2.13+deb14-cloud-amd64",
                ("7.2.13+deb14", "cloud-amd64", "amd64"),
                Packaging::Binary,
                &[
                    "linux-binary-7.2.13+deb14-cloud-amd64",
                    "linux-base-7.2.13+deb14-cloud-amd64",
                ],
            ),
        ];
        for (name, split, packaging, packages) in cases {
            let k = parse_package(name).unwrap();
            let got = (k.version.as_str(), k.flavour.as_str(), k.debian_arch());
            assert_eq!((got, k.packaging), (split, packaging), "{name}");
            assert_eq!(k.packages(), packages, "{name}");
        }
    }

    #[test]
    fn meta_debug_unsigned_binary_and_rc_packages_are_not_images() {
        for name in [
            "linux-image-6.1-cloud-amd64",
            "linux-image-7.2.13+deb14-cloud-amd64",
            "linux-image-7.2.13+deb14-cloud-amd64-dbg",
            "linux-binary-unsigned-7.2.13+deb14-cloud-amd64",
            "linux-binary-7.3.0-rc5-cloud-amd64",
            "linux-base-7.2.13+deb14-arm64-16k",
            "linux-headers-6.12.118+deb13-common",
        ] {
            assert_eq!(parse_package(name), None, "{name}");
        }
    }

    #[test]
    fn versions_compare_as_numbers() {
        assert!(version_key("6.12.9+deb13") < version_key("6.12.117+deb12"));
        assert!(version_key("6.1.0-0.deb11.52") < version_key("6.1.0-57"));
        assert!(version_key("5.10.0-30") < version_key("5.10.0-46"));
    }

    #[test]
    fn newest_build_of_a_series_in_a_flavour() {
        let index = index();
        let pick = |series, flavour| newest(&index, series, flavour).map(|k| k.version);
        for (series, flavour, version) in [
            (Series(6, 12), "arm64-16k", "6.12.117+deb12"),
            (Series(6, 1), "cloud-amd64", "6.1.0-57"),
            (Series(5, 10), "cloud-amd64", "5.10.0-46"),
            (Series(7, 2), "cloud-amd64", "7.2.13+deb14"),
            (Series(6, 12), "rt-amd64", "6.12.118+deb13"),
        ] {
            let picked = pick(series, flavour);
            assert_eq!(picked.as_deref(), Some(version), "{series:?} {flavour}");
        }
        assert_eq!(pick(Series(6, 1), "arm64"), None);
    }

    #[test]
    fn newest_and_oldest_series_come_from_the_index() {
        let series = all_series(&index());
        assert_eq!(series.first(), Some(&Series(5, 10)));
        assert_eq!(
            series.last(),
            Some(&Series(7, 2)),
            "7.3-rc is not a release"
        );
        assert!(Series(6, 1) < Series(6, 12) && Series(6, 12) < Series(7, 0));
        assert_eq!(Series::of("6.12").unwrap().to_string(), "6.12");
    }

    #[test]
    fn default_thp_from_the_config() {
        let always = "CONFIG_TRANSPARENT_HUGEPAGE=y\nCONFIG_TRANSPARENT_HUGEPAGE_ALWAYS=y\n\
                      # CONFIG_TRANSPARENT_HUGEPAGE_MADVISE is not set\n";
        assert_eq!(default_thp(always), Some("always"));
        let madvise = "CONFIG_TRANSPARENT_HUGEPAGE=y\n\
                       # CONFIG_TRANSPARENT_HUGEPAGE_ALWAYS is not set\n\
                       CONFIG_TRANSPARENT_HUGEPAGE_MADVISE=y\n";
        assert_eq!(default_thp(madvise), Some("madvise"));
        assert_eq!(
            default_thp("# CONFIG_TRANSPARENT_HUGEPAGE is not set\n"),
            None
        );
    }

    #[test]
    fn images_and_configs_of_both_packagings() {
        for path in [
            "boot/vmlinuz-6.12.117+deb12-arm64-16k",
            "usr/lib/modules/7.2.13+deb14-arm64/vmlinuz",
        ] {
            assert!(is_image(Path::new(path)), "{path}");
        }
        for path in [
            "boot/config-6.1.0-57-cloud-amd64",
            "usr/lib/modules/7.2.13+deb14-arm64/config",
        ] {
            assert!(is_config(Path::new(path)), "{path}");
        }
        assert!(!is_image(Path::new(
            "usr/lib/modules/6.1.0-57-cloud-amd64/kernel/fs/x.ko"
        )));
        assert!(!is_config(Path::new("usr/share/doc/linux/config")));
    }
}
