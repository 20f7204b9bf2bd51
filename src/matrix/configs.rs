//! The configurations the matrix boots. Each is a row of [`specs`]: a Debian kernel
//! flavour and series, the libc of the pagelab it runs, the THP mode it boots with, and
//! what the guest's init changes before the checks run. Series and THP modes are resolved
//! from the package index and the kernel's own config, never written down here.

use super::build::{Arch, GuestTarget, Libc};
use super::kernels::{self, KernelPackage, Series};

/// Which series of a flavour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pick {
    Named(Series),
    /// The highest series the index has.
    Newest,
    /// The lowest series the index has: the oldest LTS Debian still serves.
    Oldest,
}

/// The THP mode a configuration boots with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Thp {
    /// The kernel's default: no `transparent_hugepage=` on the command line.
    Default,
    /// Whichever of `always` and `madvise` the kernel does not default to.
    OtherThanDefault,
    Set(&'static str),
}

/// What the guest has besides its RAM.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Memory {
    /// RAM only: no swap, no huge pages reserved (a guest's default).
    Plain,
    /// Swap on a zram device of [`swap_mib`], set up by init.sh with the zram module.
    Swap,
    /// `hugepages=` on the command line: a pool of [`HUGE_PAGES`] explicit huge pages of the
    /// default size, reserved at boot.
    HugePages,
}

/// The explicit huge pages a `Memory::HugePages` guest reserves at boot: as many as the
/// hugetlb lesson maps at once, so that its pool has a free page and nothing to spare.
pub const HUGE_PAGES: u64 = crate::experiments::hugetlb::HUGE_PAGES_MAPPED;

/// The swap of a `Memory::Swap` guest, in MiB: zram-generator's default size for a zram
/// swap device, `min(ram / 2, 4096)` (half the guest's RAM here).
pub fn swap_mib(arch: Arch) -> u64 {
    (super::guest::memory_mib(arch) / 2).min(4096)
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Spec {
    /// Debian's kernel flavour: `cloud-amd64`, `rt-amd64`, `arm64`, `arm64-16k`.
    pub flavour: &'static str,
    pub series: Pick,
    pub libc: Libc,
    pub thp: Thp,
    /// What the configuration changes besides THP, as its name says it.
    pub setting: Option<&'static str>,
    /// `KEY=value` words for the kernel command line; the kernel hands them to /init as
    /// environment variables (see init.sh).
    pub init: &'static [&'static str],
    /// Swap or reserved huge pages; the name says which, with its size.
    pub memory: Memory,
}

const V6_1: Pick = Pick::Named(Series(6, 1));
const V6_12: Pick = Pick::Named(Series(6, 12));

/// Multi-size THP, in sizes relative to the page: every size off, then 16 pages (64 kB on
/// 4 kB pages, 256 kB on 16 kB pages) always. The PMD size is off with the rest.
const MTHP: &[&str] = &["PAGELAB_MTHP=all:never,16p:always"];
const OVERCOMMIT_1: &[&str] = &["PAGELAB_OVERCOMMIT=1"];
const OVERCOMMIT_2: &[&str] = &["PAGELAB_OVERCOMMIT=2"];
const NOBODY: &[&str] = &["PAGELAB_USER=nobody", "PAGELAB_MEMLOCK_KB=64"];
const NOBODY_UNLIMITED: &[&str] = &["PAGELAB_USER=nobody", "PAGELAB_MEMLOCK_KB=unlimited"];
/// An empty hugetlb pool that allows as many surplus pages as the lesson maps.
const HUGETLB_SURPLUS: &[&str] = &["PAGELAB_HUGETLB_SURPLUS=1"];
const _: () = assert!(
    HUGE_PAGES == 1,
    "HUGETLB_SURPLUS allows as many pages as are mapped"
);

const X86: &str = "cloud-amd64";
const ARM: &str = "arm64";
const ARM_16K: &str = "arm64-16k";

/// Every configuration, in the order of the table.
pub fn specs() -> Vec<Spec> {
    use Libc::{Glibc, Musl};
    use Thp::{Default, OtherThanDefault as Other};
    let mut specs = vec![
        spec(X86, Pick::Oldest, Glibc, Default, None, &[]),
        spec(X86, Pick::Oldest, Glibc, Other, None, &[]),
        spec(X86, V6_1, Glibc, Default, None, &[]),
        spec(X86, V6_1, Glibc, Other, None, &[]),
    ];
    specs.extend(modes_and_settings(X86));
    specs.extend([
        spec(X86, V6_12, Musl, Default, None, &[]),
        spec(ARM, V6_12, Glibc, Default, None, &[]),
        spec(ARM, V6_12, Glibc, Other, None, &[]),
        spec(ARM, V6_12, Musl, Default, None, &[]),
        spec(ARM, Pick::Newest, Glibc, Default, None, &[]),
        spec(ARM, Pick::Newest, Glibc, Other, None, &[]),
    ]);
    specs.extend(modes_and_settings(ARM_16K));
    specs
}

/// A flavour's 6.12 in each THP mode and with each thing the guest's init changes, then its
/// newest series: what x86 and arm64-16k (the other page size) are both run with.
fn modes_and_settings(flavour: &'static str) -> Vec<Spec> {
    use Libc::Glibc;
    use Thp::{Default, OtherThanDefault as Other, Set};
    let mut specs = vec![
        spec(flavour, V6_12, Glibc, Default, None, &[]),
        spec(flavour, V6_12, Glibc, Other, None, &[]),
        spec(flavour, V6_12, Glibc, Set("never"), None, &[]),
        setting(flavour, "mTHP 16 pages", MTHP),
    ];
    if flavour == X86 {
        // Mode 1 only here: lesson 03's `overcommit-always` branch holds nowhere else.
        specs.push(setting(flavour, "overcommit 1", OVERCOMMIT_1));
    }
    specs.push(setting(flavour, "overcommit 2", OVERCOMMIT_2));
    if flavour == X86 {
        specs.push(spec(
            "rt-amd64",
            V6_12,
            Glibc,
            Default,
            Some("PREEMPT_RT"),
            &[],
        ));
    }
    specs.extend([
        setting(flavour, "nobody, memlock 64 KiB", NOBODY),
        with(flavour, Memory::Swap),
        with(flavour, Memory::HugePages),
    ]);
    if flavour == X86 {
        // lesson 12's `hugetlb-surplus` branch: one configuration shows it.
        specs.push(setting(flavour, "hugetlb surplus 1", HUGETLB_SURPLUS));
        // lesson 07's `mlockall-allowed` without CAP_IPC_LOCK (a realtime setup's limits).
        specs.push(setting(
            flavour,
            "nobody, memlock unlimited",
            NOBODY_UNLIMITED,
        ));
    }
    specs.extend([
        spec(flavour, Pick::Newest, Glibc, Default, None, &[]),
        spec(flavour, Pick::Newest, Glibc, Other, None, &[]),
    ]);
    specs
}

/// A configuration with RAM only.
fn spec(
    flavour: &'static str,
    series: Pick,
    libc: Libc,
    thp: Thp,
    setting: Option<&'static str>,
    init: &'static [&'static str],
) -> Spec {
    Spec {
        flavour,
        series,
        libc,
        thp,
        setting,
        init,
        memory: Memory::Plain,
    }
}

/// A 6.12 kernel in its default THP mode, with one thing changed by the guest's init.
fn setting(flavour: &'static str, name: &'static str, init: &'static [&'static str]) -> Spec {
    spec(flavour, V6_12, Libc::Glibc, Thp::Default, Some(name), init)
}

/// A 6.12 kernel in its default THP mode, with swap or reserved huge pages.
fn with(flavour: &'static str, memory: Memory) -> Spec {
    Spec {
        memory,
        ..spec(flavour, V6_12, Libc::Glibc, Thp::Default, None, &[])
    }
}

/// The THP modes a name can say.
const THP_WORDS: &[&str] = &["always", "madvise", "never"];

/// The mode `OtherThanDefault` boots with.
fn other_than(default: Option<&str>) -> &'static str {
    match default {
        Some("always") => "madvise",
        _ => "always",
    }
}

impl Spec {
    pub fn arch(&self) -> Arch {
        Arch::of_debian(kernels::debian_arch(self.flavour)).expect("a flavour of a matrix arch")
    }

    pub fn target(&self) -> GuestTarget {
        GuestTarget::new(self.arch(), self.libc)
    }

    /// `x86` for every amd64 flavour (the setting names rt), the flavour's words otherwise.
    fn platform(&self) -> String {
        match self.arch() {
            Arch::X86_64 => "x86".to_owned(),
            Arch::Aarch64 => self.flavour.trim_start_matches("cloud-").to_owned(),
        }
    }

    /// The kernel's series, resolved from the index.
    pub fn series(&self, index: &std::collections::BTreeSet<Series>) -> Option<Series> {
        match self.series {
            Pick::Named(series) => Some(series),
            Pick::Newest => index.last().copied(),
            Pick::Oldest => index.first().copied(),
        }
    }

    /// `transparent_hugepage=` for the command line; `default` is the kernel's default
    /// mode (`None` while its config is not at hand, `Some(None)` for a kernel without THP).
    pub fn thp_argument(&self, default: Option<&str>) -> Option<&'static str> {
        match self.thp {
            Thp::Default => None,
            Thp::OtherThanDefault => Some(other_than(default)),
            Thp::Set(mode) => Some(mode),
        }
    }

    /// The configuration's name: platform, libc when not glibc, series, and the setting or
    /// the THP mode. Before the kernel's config is read (`default` is `None`) the THP
    /// mode of `Default` and `OtherThanDefault` is not known and reads `default`/`other`.
    pub fn name(&self, series: Series, default: Option<Option<&str>>) -> String {
        let mut name = self.platform();
        if self.libc != Libc::Glibc {
            name.push(' ');
            name.push_str(self.libc.name());
        }
        name.push_str(&format!(" {series} "));
        let thp = match (self.thp, default) {
            (Thp::Set(mode), _) => mode,
            (Thp::Default, Some(Some(mode))) => mode,
            (Thp::Default, Some(None)) => "no THP",
            (Thp::Default, None) => "default",
            (Thp::OtherThanDefault, Some(known)) => other_than(known),
            (Thp::OtherThanDefault, None) => "other",
        };
        match self.setting_words() {
            Some(setting) if self.thp == Thp::Default => name.push_str(&setting),
            Some(setting) => name.push_str(&format!("{setting}, THP {thp}")),
            None => name.push_str(thp),
        }
        name
    }

    /// What the name says the configuration changes besides THP.
    fn setting_words(&self) -> Option<String> {
        match self.memory {
            Memory::Plain => self.setting.map(str::to_owned),
            Memory::Swap => Some(format!("swap {} MiB", swap_mib(self.arch()))),
            Memory::HugePages => Some(format!("hugepages={HUGE_PAGES}")),
        }
    }

    /// Words for the kernel command line besides the console and THP: the configuration's
    /// own, and those of its memory. `hugepages=` is the kernel's; init.sh gets it again
    /// to check the pool it gave.
    pub fn command_line(&self) -> Vec<String> {
        let mut words: Vec<String> = self.init.iter().map(|w| (*w).to_owned()).collect();
        match self.memory {
            Memory::Plain => {}
            Memory::Swap => words.push(format!("PAGELAB_ZRAM_KB={}", swap_mib(self.arch()) * 1024)),
            Memory::HugePages => words.extend([
                format!("hugepages={HUGE_PAGES}"),
                format!("PAGELAB_HUGEPAGES={HUGE_PAGES}"),
            ]),
        }
        words
    }

    /// Kernel modules the guest loads at boot, by name.
    pub fn modules(&self) -> Vec<&'static str> {
        match self.memory {
            Memory::Swap => vec!["zram"],
            Memory::Plain | Memory::HugePages => Vec::new(),
        }
    }

    /// Whether every selection word matches this configuration (its name's words, its
    /// kernel version, libc, architecture and flavour). `default` as for [`Spec::name`]:
    /// while it is unknown a THP word may still match.
    pub fn selected(
        &self,
        words: &[String],
        package: &KernelPackage,
        default: Option<Option<&str>>,
    ) -> bool {
        self.selected_as(words, package.series(), &package.version, default)
    }

    /// [`Spec::selected`] for a kernel known by its series and version only.
    pub fn selected_as(
        &self,
        words: &[String],
        series: Series,
        version: &str,
        default: Option<Option<&str>>,
    ) -> bool {
        let name = self.name(series, default);
        let mut words_of = tokens(&name);
        words_of.extend(tokens(self.flavour));
        words_of.push(self.libc.name().to_owned());
        words_of.push(self.arch().name().to_owned());
        let thp_pending = default.is_none()
            && match self.thp {
                Thp::Set(_) => false,
                Thp::Default => self.setting_words().is_none(),
                Thp::OtherThanDefault => true,
            };
        words
            .iter()
            .flat_map(|w| w.split_whitespace())
            .all(|word| word_matches(word, &words_of, version, thp_pending))
    }
}

/// A name's words, lower case: split at spaces, commas, hyphens and equals signs
/// (`arm64-16k` is `arm64` and `16k`, `hugepages=1` is `hugepages` and `1`).
pub fn tokens(name: &str) -> Vec<String> {
    name.split([' ', ',', '-', '='])
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect()
}

/// A selection word matches a token, or a prefix of the kernel version that ends at a
/// number's end (`6.1` is not a prefix of `6.12.118`), or, while the THP mode is not
/// known yet, any THP mode.
fn word_matches(word: &str, tokens: &[String], version: &str, thp_pending: bool) -> bool {
    let word = word.to_ascii_lowercase();
    tokens.contains(&word)
        || version
            .strip_prefix(word.as_str())
            .is_some_and(|rest| !rest.starts_with(|c: char| c.is_ascii_digit()))
        || (thp_pending && THP_WORDS.contains(&word.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::kernels::parse_package;

    fn package(name: &str) -> KernelPackage {
        parse_package(name).unwrap()
    }

    fn find(flavour: &str, pick: Pick, libc: Libc, thp: Thp, setting: Option<&str>) -> Spec {
        specs()
            .into_iter()
            .find(|s| {
                s.flavour == flavour
                    && s.series == pick
                    && s.libc == libc
                    && s.thp == thp
                    && s.setting == setting
            })
            .unwrap()
    }

    /// The one configuration of the rt flavour.
    fn rt() -> Spec {
        find(
            "rt-amd64",
            V6_12,
            Libc::Glibc,
            Thp::Default,
            Some("PREEMPT_RT"),
        )
    }

    #[test]
    fn at_least_22_configurations_with_distinct_shapes() {
        let specs = specs();
        assert!(specs.len() >= 22, "{}", specs.len());
        for (i, a) in specs.iter().enumerate() {
            assert!(!specs[i + 1..].contains(a), "{a:?} twice");
        }
    }

    #[test]
    fn names_say_platform_libc_series_and_setting() {
        let arm16k = find(
            "arm64-16k",
            Pick::Newest,
            Libc::Glibc,
            Thp::OtherThanDefault,
            None,
        );
        assert_eq!(arm16k.name(Series(7, 2), None), "arm64-16k 7.2 other");
        assert_eq!(
            arm16k.name(Series(7, 2), Some(Some("always"))),
            "arm64-16k 7.2 madvise"
        );
        assert_eq!(
            arm16k.name(Series(7, 2), Some(Some("madvise"))),
            "arm64-16k 7.2 always"
        );
        let musl = find("cloud-amd64", V6_12, Libc::Musl, Thp::Default, None);
        assert_eq!(
            musl.name(Series(6, 12), Some(Some("always"))),
            "x86 musl 6.12 always"
        );
        let rt = rt();
        assert_eq!(
            rt.name(Series(6, 12), Some(Some("always"))),
            "x86 6.12 PREEMPT_RT"
        );
        let never = find("arm64-16k", V6_12, Libc::Glibc, Thp::Set("never"), None);
        assert_eq!(never.name(Series(6, 12), None), "arm64-16k 6.12 never");
        assert_eq!(never.thp_argument(None), Some("never"));
        let old = find("cloud-amd64", Pick::Oldest, Libc::Glibc, Thp::Default, None);
        assert_eq!(old.name(Series(5, 10), Some(None)), "x86 5.10 no THP");
        assert_eq!(old.thp_argument(Some("always")), None);
    }

    #[test]
    fn swap_and_huge_page_configurations_say_their_size_and_set_it_up() {
        let with = |flavour: &str, memory| {
            specs()
                .into_iter()
                .find(|s| s.flavour == flavour && s.memory == memory)
                .unwrap_or_else(|| panic!("no {flavour} {memory:?}"))
        };
        let swap = with("cloud-amd64", Memory::Swap);
        assert_eq!(swap.series, V6_12);
        assert_eq!(
            swap.name(Series(6, 12), Some(Some("always"))),
            "x86 6.12 swap 512 MiB",
            "half of the 1 GiB guest"
        );
        assert_eq!(swap.command_line(), ["PAGELAB_ZRAM_KB=524288"]);
        assert_eq!(swap.modules(), ["zram"]);
        let swap16k = with("arm64-16k", Memory::Swap);
        assert_eq!(
            swap16k.name(Series(6, 12), None),
            "arm64-16k 6.12 swap 1024 MiB"
        );
        let huge = with("cloud-amd64", Memory::HugePages);
        assert_eq!(
            huge.name(Series(6, 12), None),
            format!("x86 6.12 hugepages={HUGE_PAGES}")
        );
        assert_eq!(
            huge.command_line(),
            [
                format!("hugepages={HUGE_PAGES}"),
                format!("PAGELAB_HUGEPAGES={HUGE_PAGES}")
            ]
        );
        assert!(huge.modules().is_empty());
        let k = package("linux-image-6.12.118+deb13-cloud-amd64-unsigned");
        let words = |w: &str| vec![w.to_owned()];
        assert!(huge.selected(&words("hugepages"), &k, None));
        assert!(swap.selected(&words("swap"), &k, None));
        assert!(
            !swap.selected(&words("always"), &k, None),
            "its name says no THP mode"
        );
        assert!(with("arm64-16k", Memory::HugePages).selected(
            &words("16k hugepages"),
            &package("linux-image-6.12.118+deb13-arm64-16k-unsigned"),
            None
        ));
    }

    #[test]
    fn series_resolve_from_the_index() {
        let index = [Series(5, 10), Series(6, 1), Series(6, 12), Series(7, 2)].into();
        let newest = find("arm64", Pick::Newest, Libc::Glibc, Thp::Default, None);
        let oldest = find("cloud-amd64", Pick::Oldest, Libc::Glibc, Thp::Default, None);
        assert_eq!(newest.series(&index), Some(Series(7, 2)));
        assert_eq!(oldest.series(&index), Some(Series(5, 10)));
        assert_eq!(newest.series(&Default::default()), None);
    }

    #[test]
    fn selection_words_match_name_words_version_and_flavour() {
        let words = |w: &[&str]| w.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let k16 = package("linux-binary-7.2.13+deb14-arm64-16k");
        let arm16k = find("arm64-16k", Pick::Newest, Libc::Glibc, Thp::Default, None);
        let known = Some(Some("always"));
        let selects = [
            (&["arm64"][..], true),
            (&["16k"], true),
            (&["7.2"], true),
            (&["7.2.13"], true),
            (&["ARM64", "7.2"], true),
            (&["always"], true),
            (&["x86"], false),
            (&["musl"], false),
            (&["6.12"], false),
            (&["7.2.1"], false),
            (&["arm64", "madvise"], false),
        ];
        for (selection, expected) in selects {
            let selected = arm16k.selected(&words(selection), &k16, known);
            assert_eq!(selected, expected, "{selection:?}");
        }
        let k4 = package("linux-image-6.12.118+deb13-arm64-unsigned");
        let arm4k = find("arm64", V6_12, Libc::Glibc, Thp::Default, None);
        assert!(!arm4k.selected(&words(&["16k"]), &k4, known));
        assert!(arm4k.selected(&words(&["arm64 6.12"]), &k4, known));
        let k510 = package("linux-image-5.10.0-46-cloud-amd64-unsigned");
        let old = find(
            "cloud-amd64",
            Pick::Oldest,
            Libc::Glibc,
            Thp::OtherThanDefault,
            None,
        );
        assert!(old.selected(&words(&["5.10"]), &k510, known));
        assert!(!old.selected(&words(&["6.1"]), &k510, known));
        let musl = find("cloud-amd64", V6_12, Libc::Musl, Thp::Default, None);
        let k612 = package("linux-image-6.12.118+deb13-cloud-amd64-unsigned");
        assert!(musl.selected(&words(&["musl"]), &k612, known));
        let rt = rt();
        assert!(rt.selected(
            &words(&["rt"]),
            &package("linux-image-6.12.118+deb13-rt-amd64-unsigned"),
            known
        ));
    }

    #[test]
    fn a_thp_word_keeps_a_configuration_until_its_kernel_tells_the_default() {
        let words = vec!["madvise".to_owned()];
        let k = package("linux-image-5.10.0-46-cloud-amd64-unsigned");
        let default = find("cloud-amd64", Pick::Oldest, Libc::Glibc, Thp::Default, None);
        let other = find(
            "cloud-amd64",
            Pick::Oldest,
            Libc::Glibc,
            Thp::OtherThanDefault,
            None,
        );
        assert!(default.selected(&words, &k, None));
        assert!(other.selected(&words, &k, None));
        assert!(!default.selected(&words, &k, Some(Some("always"))));
        assert!(other.selected(&words, &k, Some(Some("always"))));
        let overcommit = find(
            "cloud-amd64",
            V6_12,
            Libc::Glibc,
            Thp::Default,
            Some("overcommit 2"),
        );
        let k612 = package("linux-image-6.12.118+deb13-cloud-amd64-unsigned");
        assert!(
            !overcommit.selected(&words, &k612, None),
            "its name says no THP mode"
        );
    }
}
