//! The lessons' configuration branches, checked on observations from other kernels.
//!
//! This machine runs one configuration; CI's kernel matrix boots the others. These tests
//! replay what those kernels showed (KERNEL-FACTS.md, "Measured under QEMU") through the
//! same claim checker, so a lesson whose branches are wrong for a configuration fails here,
//! on every machine, before any kernel is booted.

mod common;

use pagelab::Bytes;
use pagelab::check::{self, LessonReport, Verdict};
use pagelab::experiment::{Observation, Step, Subject};
use pagelab::experiments;
use pagelab::kernel::probe::{
    KernelProbe, MemlockLimit, OvercommitMode, PerSizeMode, ThpMode, ThpSettings,
};
use pagelab::kernel::smaps::parse_smaps;
use rstest::rstest;
use std::collections::BTreeMap;

const KIB: u64 = 1024;
const PAGE: u64 = 4 * KIB;
const PMD: u64 = 512 * PAGE;
const MAPPING: u64 = 16 * 1024 * KIB;

struct Config {
    release: &'static str,
    enabled: ThpMode,
    /// (size, mode) per-size controls; empty before 6.8.
    per_size: &'static [(u64, PerSizeMode)],
}

fn probe(config: &Config) -> KernelProbe {
    let version = config
        .release
        .split('.')
        .take(2)
        .map(|n| n.parse().unwrap())
        .collect::<Vec<u32>>();
    KernelProbe {
        release: config.release.to_owned(),
        version: (version[0], version[1]),
        page_size: Bytes(PAGE),
        thp: Some(ThpSettings {
            enabled: config.enabled,
            defrag: "madvise".into(),
            use_zero_page: Some(true),
            pmd_size: Bytes(PMD),
            per_size: config
                .per_size
                .iter()
                .map(|(size, mode)| (Bytes(*size), *mode))
                .collect::<BTreeMap<_, _>>(),
        }),
        process_thp_enabled: true,
        overcommit: OvercommitMode::Heuristic,
        anon_vma_names: false,
        memlock: MemlockLimit {
            soft: Some(Bytes(8192 * KIB)),
            hard: Some(Bytes(8192 * KIB)),
            can_exceed: true,
            vm_size: Some(Bytes(1200 * 1024 * KIB)),
        },
    }
}

/// An smaps record of the 16 MiB mapping as a 6.x kernel prints it.
fn subject(start: u64, rss: u64, anon_huge: u64, thp_eligible: u64) -> Subject {
    let text = format!(
        "{start:x}-{end:x} rw-p 00000000 00:00 0 \n\
         Size:              16384 kB\nKernelPageSize:        4 kB\nMMUPageSize:           4 kB\n\
         Rss:            {rss} kB\nPss:            {rss} kB\nPss_Dirty:      {rss} kB\n\
         Shared_Clean:          0 kB\nShared_Dirty:          0 kB\nPrivate_Clean:         0 kB\n\
         Private_Dirty:  {rss} kB\nReferenced:     {rss} kB\nAnonymous:      {rss} kB\n\
         KSM:                   0 kB\nLazyFree:              0 kB\nAnonHugePages:  {anon_huge} kB\n\
         ShmemPmdMapped:        0 kB\nFilePmdMapped:         0 kB\nShared_Hugetlb:        0 kB\n\
         Private_Hugetlb:       0 kB\nSwap:                  0 kB\nSwapPss:               0 kB\n\
         Locked:                0 kB\nTHPeligible:    {thp_eligible}\nVmFlags: rd wr mr mw me ac sd \n",
        end = start + MAPPING,
        rss = rss / KIB,
        anon_huge = anon_huge / KIB,
    );
    let record = parse_smaps(&text).unwrap().remove(0);
    Subject {
        name: "mapping",
        pid: nix::unistd::getpid(),
        write_addr: Some(start as usize + 16),
        read_addr: Some((start + MAPPING - PAGE) as usize),
        after_fault: None,
        record,
    }
}

/// The three steps of `mmap-anon` as a kernel showed them: Rss after the write, then after
/// the read of an untouched page.
fn replay(
    config: &Config,
    start: u64,
    rss_written: u64,
    anon_huge: u64,
    eligible: u64,
) -> LessonReport {
    let lesson = common::lesson("mmap-anon");
    let steps = experiments::find("mmap-anon").unwrap().vocabulary().steps;
    let step = |id: &str| -> Step { *steps.iter().find(|s| s.id == id).unwrap() };
    let observed = vec![
        (
            step("mapped"),
            Observation {
                subjects: vec![subject(start, 0, 0, eligible)],
                outcomes: vec![],
            },
        ),
        (
            step("one-byte-written"),
            Observation {
                subjects: vec![subject(start, rss_written, anon_huge, eligible)],
                outcomes: vec![],
            },
        ),
        (
            step("untouched-page-read"),
            Observation {
                subjects: vec![subject(start, rss_written, anon_huge, eligible)],
                outcomes: vec![("byte read", "0".into())],
            },
        ),
    ];
    check::evaluate(&lesson, &probe(config), &observed)
}

fn assert_no_failure(report: &LessonReport, config: &Config) {
    if let Some(failures) = pagelab::report::failures(report, &probe(config)) {
        panic!("{failures}");
    }
}

const DEBIAN_6_1_ALWAYS: Config = Config {
    release: "6.1.0-50-cloud-amd64",
    enabled: ThpMode::Always,
    per_size: &[],
};
const DEBIAN_6_12_ALWAYS: Config = Config {
    release: "6.12.117+deb12-cloud-amd64",
    enabled: ThpMode::Always,
    per_size: &[
        (16 * KIB, PerSizeMode::Never),
        (64 * KIB, PerSizeMode::Never),
        (PMD, PerSizeMode::Inherit),
    ],
};
const DEBIAN_6_12_MTHP_64K: Config = Config {
    release: "6.12.117+deb12-cloud-amd64",
    enabled: ThpMode::Never,
    per_size: &[
        (16 * KIB, PerSizeMode::Never),
        (64 * KIB, PerSizeMode::Always),
        (PMD, PerSizeMode::Never),
    ],
};
const MADVISE_6_18: Config = Config {
    release: "6.18.44",
    enabled: ThpMode::Madvise,
    per_size: &[(64 * KIB, PerSizeMode::Never), (PMD, PerSizeMode::Inherit)],
};

/// An address aligned to the PMD size, and one a page past it.
const ALIGNED: u64 = 0x7f00_0000_0000;
const UNALIGNED: u64 = ALIGNED + PAGE;

#[rstest]
#[case::debian_6_1_always_unaligned_gets_a_base_page(&DEBIAN_6_1_ALWAYS, UNALIGNED, PAGE, 0, 1)]
#[case::debian_6_12_always_aligned_gets_a_huge_page(&DEBIAN_6_12_ALWAYS, ALIGNED, PMD, PMD, 1)]
#[case::madvise_without_advice_gets_a_base_page(&MADVISE_6_18, ALIGNED, PAGE, 0, 0)]
#[case::multi_size_thp_64k_gets_a_64k_folio(&DEBIAN_6_12_MTHP_64K, ALIGNED, 64 * KIB, 0, 1)]
fn the_lesson_holds_where_it_was_measured(
    #[case] config: &Config,
    #[case] start: u64,
    #[case] rss: u64,
    #[case] anon_huge: u64,
    #[case] eligible: u64,
) {
    let report = replay(config, start, rss, anon_huge, eligible);
    assert_no_failure(&report, config);
    assert!(
        common::verdicts(&report, "one-byte-written", "Rss").contains(&Verdict::Held),
        "one Rss claim after the write must hold: {:?}",
        common::verdicts(&report, "one-byte-written", "Rss")
    );
}

/// Each configuration takes exactly one branch for the written byte.
#[rstest]
#[case::base_page(&MADVISE_6_18, ALIGNED, PAGE, 0, 0, "write-fault-base-page")]
#[case::pmd_thp(&DEBIAN_6_12_ALWAYS, ALIGNED, PMD, PMD, 1, "write-fault-pmd-thp")]
#[case::mthp(&DEBIAN_6_12_MTHP_64K, ALIGNED, 64 * KIB, 0, 1, "write-fault-mthp")]
fn exactly_the_matching_branch_applies(
    #[case] config: &Config,
    #[case] start: u64,
    #[case] rss: u64,
    #[case] anon_huge: u64,
    #[case] eligible: u64,
    #[case] branch: &str,
) {
    let report = replay(config, start, rss, anon_huge, eligible);
    let applied: Vec<&str> = report
        .claims
        .iter()
        .filter(|c| c.step == "one-byte-written" && c.field == "Rss" && c.verdict == Verdict::Held)
        .filter_map(|c| c.branch.as_deref())
        .collect();
    assert_eq!(applied.len(), 1, "branches that held: {applied:?}");
    assert!(
        applied[0].starts_with(branch),
        "{} is not {branch}",
        applied[0]
    );
}

/// A huge page was predicted but the kernel gave a base page (fragmentation): the huge-page
/// claims are skipped with that reason, not failed and not passed.
#[test]
fn no_huge_page_obtained_is_a_skip_with_the_reason() {
    let report = replay(&DEBIAN_6_12_ALWAYS, ALIGNED, PAGE, 0, 1);
    assert_no_failure(&report, &DEBIAN_6_12_ALWAYS);
    let rss = report
        .claims
        .iter()
        .find(|c| {
            c.step == "one-byte-written" && c.field == "Rss" && c.expected.contains("huge page")
        })
        .unwrap();
    assert_eq!(rss.verdict, Verdict::Skipped);
    assert!(
        rss.reason.as_deref().unwrap().contains("best effort"),
        "{:?}",
        rss.reason
    );
}

/// The branch decides, not the observation: a base page where a huge page was due, and
/// huge-page Rss where a base page was due, both fail.
#[rstest]
#[case::huge_page_where_base_page_was_due(&MADVISE_6_18, ALIGNED, PMD, PMD, 0)]
#[case::two_pages_where_one_was_due(&DEBIAN_6_1_ALWAYS, UNALIGNED, 2 * PAGE, 0, 1)]
fn a_kernel_that_disagrees_fails_the_claim(
    #[case] config: &Config,
    #[case] start: u64,
    #[case] rss: u64,
    #[case] anon_huge: u64,
    #[case] eligible: u64,
) {
    let report = replay(config, start, rss, anon_huge, eligible);
    assert!(
        common::verdicts(&report, "one-byte-written", "Rss").contains(&Verdict::Failed),
        "{:?}",
        common::verdicts(&report, "one-byte-written", "Rss")
    );
}

/// Who may lock what: the capability decides exempt/enforced; mlockall(MCL_CURRENT) is
/// refused only without it and with a finite limit below what this process has mapped.
#[rstest]
#[case::root_default(true, Some(8192 * KIB), "exempt", false)]
#[case::nobody_64k(false, Some(64 * KIB), "enforced", true)]
#[case::nobody_unlimited(false, None, "enforced", false)]
#[case::nobody_a_pebibyte(false, Some(1 << 50), "enforced", false)]
fn memlock_conditions(
    #[case] can_exceed: bool,
    #[case] soft: Option<u64>,
    #[case] which: &str,
    #[case] below_mapped: bool,
) {
    use pagelab::condition::{Branch, Condition};
    let mut kernel = probe(&MADVISE_6_18);
    kernel.memlock = MemlockLimit {
        soft: soft.map(Bytes),
        hard: soft.map(Bytes),
        can_exceed,
        vm_size: Some(Bytes(1200 * 1024 * KIB)),
    };
    let applies = |name: &str| {
        let condition: Condition = name.parse().unwrap();
        match condition.evaluate(&kernel, None) {
            Branch::Applies(_) => true,
            Branch::DoesNotApply(_) => false,
            other => panic!("{name}: {other:?}"),
        }
    };
    assert_eq!(applies("memlock-exempt"), which == "exempt");
    assert_eq!(applies("memlock-enforced"), which == "enforced");
    assert_eq!(applies("memlock-below-mapped"), below_mapped);
}
