//! The lessons' configuration branches, checked on observations from other kernels.
//!
//! This machine runs one configuration; CI's kernel matrix boots the others. These tests
//! replay what those kernels showed (KERNEL-FACTS.md, "Measured under QEMU") through the
//! same claim checker, so a lesson whose branches are wrong for a configuration fails here,
//! on every machine, before any kernel is booted.

mod common;

use pagelab::Bytes;
use pagelab::check::{self, LessonReport, VerdictKind};
use pagelab::condition::{Branch, Condition};
use pagelab::experiment::{Observation, OutcomeValue, Step, StepReport, Subject};
use pagelab::experiments;
use pagelab::kernel::probe::{
    KernelProbe, MemlockLimit, OvercommitMode, PerSizeMode, TempFiles, ThpMode, ThpSettings,
};
use pagelab::kernel::smaps::parse_smaps;
use pagelab::lesson::Lesson;
use rstest::rstest;
use std::collections::BTreeMap;

const KIB: u64 = 1024;
const PAGE: u64 = 4 * KIB;
const PMD: u64 = 512 * PAGE;
const MAPPING: u64 = 16 * 1024 * KIB;
/// arm64 with 16 kB pages: a PMD maps 2048 pages of 16 kB (KERNEL-FACTS.md).
const PAGE_16K: u64 = 16 * KIB;
const PMD_16K: u64 = 2048 * PAGE_16K;

struct Config {
    release: &'static str,
    page: u64,
    pmd: u64,
    enabled: ThpMode,
    /// (size, mode) per-size controls; empty before 6.8.
    per_size: &'static [(u64, PerSizeMode)],
}

/// The branch the condition `name` takes on `kernel`, with no subject.
fn branch(kernel: &KernelProbe, name: &str) -> Branch {
    let condition: Condition = name.parse().unwrap();
    condition.evaluate(kernel, None)
}

/// Whether the condition `name` applies to `kernel`: `Ok` with the reason it does, `Err`
/// with the reason it does not. One these tests cannot decide fails the test.
fn decided(kernel: &KernelProbe, name: &str) -> Result<String, String> {
    match branch(kernel, name) {
        Branch::Applies(why) => Ok(why),
        Branch::DoesNotApply(why) => Err(why),
        other => panic!("{name}: {other:?}"),
    }
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
        page_size: Bytes(config.page),
        thp: Some(ThpSettings {
            enabled: config.enabled,
            defrag: "madvise".into(),
            use_zero_page: Some(true),
            pmd_size: Bytes(config.pmd),
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
            user_namespace: false,
            vm_size: Some(Bytes(1200 * 1024 * KIB)),
        },
        temp_files: TempFiles {
            dir: "/tmp".into(),
            filesystem: "tmpfs".into(),
            in_memory: true,
        },
        hugetlb: None,
        swap: Bytes(0),
    }
}

/// What a kernel showed of one mapping: where it started, and after the byte was written
/// its Rss, AnonHugePages and THPeligible.
#[derive(Clone, Copy)]
struct Seen {
    start: u64,
    rss: u64,
    anon_huge: u64,
    eligible: u64,
}

/// An smaps record of an anonymous mapping of `len` bytes as a 6.x kernel prints it.
fn subject(config: &Config, name: &str, len: u64, seen: Seen, written: bool) -> Subject {
    let (rss, anon_huge) = if written {
        (seen.rss / KIB, seen.anon_huge / KIB)
    } else {
        (0, 0)
    };
    let text = format!(
        "{start:x}-{end:x} rw-p 00000000 00:00 0 \n\
         Size:           {size} kB\nKernelPageSize:  {page} kB\nMMUPageSize:     {page} kB\n\
         Rss:            {rss} kB\nPss:            {rss} kB\nPss_Dirty:      {rss} kB\n\
         Shared_Clean:          0 kB\nShared_Dirty:          0 kB\nPrivate_Clean:         0 kB\n\
         Private_Dirty:  {rss} kB\nReferenced:     {rss} kB\nAnonymous:      {rss} kB\n\
         KSM:                   0 kB\nLazyFree:              0 kB\nAnonHugePages:  {anon_huge} kB\n\
         ShmemPmdMapped:        0 kB\nFilePmdMapped:         0 kB\nShared_Hugetlb:        0 kB\n\
         Private_Hugetlb:       0 kB\nSwap:                  0 kB\nSwapPss:               0 kB\n\
         Locked:                0 kB\nTHPeligible:    {eligible}\nVmFlags: rd wr mr mw me ac sd \n",
        start = seen.start,
        end = seen.start + len,
        size = len / KIB,
        page = config.page / KIB,
        eligible = seen.eligible,
    );
    let record = parse_smaps(&text).unwrap().remove(0);
    let vocabulary = experiments::find("mmap-anon").unwrap().vocabulary();
    Subject {
        name: vocabulary.subject(name).unwrap(),
        pid: nix::unistd::getpid(),
        write_addr: Some(seen.start as usize + 16),
        read_addr: (len == MAPPING).then(|| (seen.start + MAPPING - config.page) as usize),
        after_fault: None,
        residency: None,
        record,
    }
}

/// The steps of `mmap-anon` as a kernel showed them: the 16 MiB mapping before and after the
/// write and after the read of an untouched page, then the aligned mapping of one huge page
/// before and after its byte.
fn replay(config: &Config, mapping: Seen, aligned: Seen) -> LessonReport {
    replay_lesson(&common::lesson("mmap-anon"), config, mapping, aligned)
}

/// [`replay`], for a lesson of `mmap-anon` other than the one in the tree.
fn replay_lesson(lesson: &Lesson, config: &Config, mapping: Seen, aligned: Seen) -> LessonReport {
    let vocabulary = experiments::find("mmap-anon").unwrap().vocabulary();
    let steps = vocabulary.steps;
    let byte_read = vocabulary.outcome("byte read").unwrap();
    let step = |id: &str| -> Step { *steps.iter().find(|s| s.id == id).unwrap() };
    let seen = |id: &str, subject: Subject, outcomes| {
        let observation = Observation {
            subjects: vec![subject],
            outcomes,
        };
        (step(id), StepReport::from(observation))
    };
    let big = |written| subject(config, "mapping", MAPPING, mapping, written);
    let huge = |written| subject(config, "aligned-mapping", config.pmd, aligned, written);
    let observed = vec![
        seen("mapped", big(false), vec![]),
        seen("one-byte-written", big(true), vec![]),
        seen(
            "untouched-page-read",
            big(true),
            vec![(byte_read, OutcomeValue::Count(0))],
        ),
        seen("huge-page-mapped", huge(false), vec![]),
        seen("huge-page-byte-written", huge(true), vec![]),
    ];
    check::evaluate(lesson, &probe(config), &observed)
}

fn assert_no_failure(report: &LessonReport, config: &Config) {
    if let Some(failures) = pagelab::report::failures(report, &probe(config)) {
        panic!("{failures}");
    }
}

const DEBIAN_6_1_ALWAYS: Config = Config {
    release: "6.1.0-50-cloud-amd64",
    page: PAGE,
    pmd: PMD,
    enabled: ThpMode::Always,
    per_size: &[],
};
const DEBIAN_6_12_ALWAYS: Config = Config {
    release: "6.12.117+deb12-cloud-amd64",
    page: PAGE,
    pmd: PMD,
    enabled: ThpMode::Always,
    per_size: &[
        (16 * KIB, PerSizeMode::Never),
        (64 * KIB, PerSizeMode::Never),
        (PMD, PerSizeMode::Inherit),
    ],
};
/// The same kernel with THP only for 64 kB folios (mTHP).
const DEBIAN_6_12_MTHP_64K: Config = Config {
    enabled: ThpMode::Never,
    per_size: &[
        (16 * KIB, PerSizeMode::Never),
        (64 * KIB, PerSizeMode::Always),
        (PMD, PerSizeMode::Never),
    ],
    ..DEBIAN_6_12_ALWAYS
};
const MADVISE_6_18: Config = Config {
    release: "6.18.44",
    page: PAGE,
    pmd: PMD,
    enabled: ThpMode::Madvise,
    per_size: &[(64 * KIB, PerSizeMode::Never), (PMD, PerSizeMode::Inherit)],
};
/// Debian's arm64-16k kernel, THP `always` by default: the 32 MiB huge page does not fit in
/// the 16 MiB mapping (THPeligible 0, one base page), but fills the aligned one.
const DEBIAN_6_12_16K_ALWAYS: Config = Config {
    release: "6.12.117+deb12-arm64-16k",
    page: PAGE_16K,
    pmd: PMD_16K,
    enabled: ThpMode::Always,
    per_size: &[
        (64 * KIB, PerSizeMode::Never),
        (PMD_16K, PerSizeMode::Inherit),
    ],
};

/// An address aligned to the PMD size (of either page size), and one a page past it.
const ALIGNED: u64 = 0x7f00_0000_0000;
const UNALIGNED: u64 = ALIGNED + PAGE;
/// Where the aligned mapping of one huge page lies: a multiple of both PMD sizes.
const HUGE_AT: u64 = 0x7e00_0000_0000;

const fn seen(start: u64, rss: u64, anon_huge: u64, eligible: u64) -> Seen {
    Seen {
        start,
        rss,
        anon_huge,
        eligible,
    }
}

#[rstest]
#[case::debian_6_1_always_unaligned_gets_a_base_page(
    &DEBIAN_6_1_ALWAYS, seen(UNALIGNED, PAGE, 0, 1), seen(HUGE_AT, PMD, PMD, 1)
)]
#[case::debian_6_12_always_aligned_gets_a_huge_page(
    &DEBIAN_6_12_ALWAYS, seen(ALIGNED, PMD, PMD, 1), seen(HUGE_AT, PMD, PMD, 1)
)]
#[case::madvise_without_advice_gets_a_base_page(
    &MADVISE_6_18, seen(ALIGNED, PAGE, 0, 0), seen(HUGE_AT, PAGE, 0, 0)
)]
#[case::multi_size_thp_64k_gets_a_64k_folio(
    &DEBIAN_6_12_MTHP_64K, seen(ALIGNED, 64 * KIB, 0, 1), seen(HUGE_AT, 64 * KIB, 0, 1)
)]
#[case::pages_of_16k_a_huge_page_does_not_fit_in_16_mib(
    &DEBIAN_6_12_16K_ALWAYS, seen(ALIGNED, PAGE_16K, 0, 0), seen(HUGE_AT, PMD_16K, PMD_16K, 1)
)]
fn the_lesson_holds_where_it_was_measured(
    #[case] config: &Config,
    #[case] mapping: Seen,
    #[case] aligned: Seen,
) {
    let report = replay(config, mapping, aligned);
    assert_no_failure(&report, config);
    for step in ["one-byte-written", "huge-page-byte-written"] {
        assert!(
            common::verdicts(&report, step, "Rss").contains(&VerdictKind::Held),
            "one Rss claim after the write in {step} must hold: {:?}",
            common::verdicts(&report, step, "Rss")
        );
    }
}

/// Each configuration takes exactly one branch for each written byte.
#[rstest]
#[case::base_page(&MADVISE_6_18, seen(ALIGNED, PAGE, 0, 0), seen(HUGE_AT, PAGE, 0, 0), "write-fault-base-page", "write-fault-base-page")]
#[case::pmd_thp(&DEBIAN_6_12_ALWAYS, seen(ALIGNED, PMD, PMD, 1), seen(HUGE_AT, PMD, PMD, 1), "write-fault-pmd-thp", "write-fault-pmd-thp")]
#[case::mthp(&DEBIAN_6_12_MTHP_64K, seen(ALIGNED, 64 * KIB, 0, 1), seen(HUGE_AT, 64 * KIB, 0, 1), "write-fault-mthp", "write-fault-mthp")]
#[case::pages_of_16k(&DEBIAN_6_12_16K_ALWAYS, seen(ALIGNED, PAGE_16K, 0, 0), seen(HUGE_AT, PMD_16K, PMD_16K, 1), "write-fault-base-page", "write-fault-pmd-thp")]
fn exactly_the_matching_branch_applies(
    #[case] config: &Config,
    #[case] mapping: Seen,
    #[case] aligned: Seen,
    #[case] branch: &str,
    #[case] aligned_branch: &str,
) {
    let report = replay(config, mapping, aligned);
    for (step, branch) in [
        ("one-byte-written", branch),
        ("huge-page-byte-written", aligned_branch),
    ] {
        let applied: Vec<&str> = report
            .claims
            .iter()
            .filter(|c| {
                c.place.step == step
                    && c.place.field == "Rss"
                    && c.verdict.kind() == VerdictKind::Held
            })
            .filter_map(|c| c.verdict.branch())
            .collect();
        assert_eq!(applied.len(), 1, "{step}: branches that held: {applied:?}");
        assert!(
            applied[0].starts_with(branch),
            "{step}: {} is not {branch}",
            applied[0]
        );
    }
}

/// THPeligible mirrors the kernel: allowed by the settings is not enough, an aligned range
/// of the size must fit in the VMA. On 16 kB pages the 16 MiB mapping is not eligible under
/// THP `always`, and a kernel that printed 1 there would fail the claim.
#[test]
fn eligibility_needs_an_aligned_range_that_fits() {
    let config = &DEBIAN_6_12_16K_ALWAYS;
    let report = replay(
        config,
        seen(ALIGNED, PAGE_16K, 0, 0),
        seen(HUGE_AT, PMD_16K, PMD_16K, 1),
    );
    let eligible = |step: &str| -> Vec<(VerdictKind, Option<String>)> {
        report
            .claims
            .iter()
            .filter(|c| c.place.step == step && c.place.field == "THPeligible")
            .map(|c| (c.verdict.kind(), c.verdict.reason().map(str::to_owned)))
            .collect()
    };
    let mapped = eligible("mapped");
    assert!(
        mapped.iter().any(|(v, _)| *v == VerdictKind::Held),
        "{mapped:?}"
    );
    assert!(
        mapped.iter().any(|(v, reason)| *v == VerdictKind::Skipped
            && reason.as_deref().unwrap().contains("no aligned range")),
        "the thp-eligible branch must say why it does not apply: {mapped:?}"
    );
    assert_eq!(
        common::verdicts(&report, "one-byte-written", "AnonHugePages"),
        [
            VerdictKind::Held,
            VerdictKind::Skipped,
            VerdictKind::Skipped,
            VerdictKind::Held
        ],
        "base-page branch and huge-page-does-not-fit held, the others skipped"
    );
    let wrong = replay(
        config,
        seen(ALIGNED, PAGE_16K, 0, 1),
        seen(HUGE_AT, PMD_16K, PMD_16K, 1),
    );
    assert!(common::verdicts(&wrong, "mapped", "THPeligible").contains(&VerdictKind::Failed));
}

/// A huge page was predicted but the kernel gave a base page (fragmentation): the huge-page
/// claims are skipped with that reason, not failed and not passed.
#[test]
fn no_huge_page_obtained_is_a_skip_with_the_reason() {
    let report = replay(
        &DEBIAN_6_12_ALWAYS,
        seen(ALIGNED, PAGE, 0, 1),
        seen(HUGE_AT, PAGE, 0, 1),
    );
    assert_no_failure(&report, &DEBIAN_6_12_ALWAYS);
    for step in ["one-byte-written", "huge-page-byte-written"] {
        let rss = report
            .claims
            .iter()
            .find(|c| {
                c.place.step == step
                    && c.place.field == "Rss"
                    && c.place.expected.contains("huge page")
            })
            .unwrap();
        assert_eq!(rss.verdict.kind(), VerdictKind::Skipped);
        assert!(
            rss.verdict.reason().unwrap().contains("best effort"),
            "{:?}",
            rss.verdict.reason()
        );
    }
}

/// The branch decides, not the observation: a base page where a huge page was due, and
/// huge-page Rss where a base page was due, both fail.
#[rstest]
#[case::huge_page_where_base_page_was_due(&MADVISE_6_18, seen(ALIGNED, PMD, PMD, 0))]
#[case::two_pages_where_one_was_due(&DEBIAN_6_1_ALWAYS, seen(UNALIGNED, 2 * PAGE, 0, 1))]
#[case::a_huge_page_that_cannot_fit(&DEBIAN_6_12_16K_ALWAYS, seen(ALIGNED, PMD_16K, PMD_16K, 0))]
fn a_kernel_that_disagrees_fails_the_claim(#[case] config: &Config, #[case] mapping: Seen) {
    let report = replay(config, mapping, seen(HUGE_AT, PAGE, 0, 0));
    assert!(
        common::verdicts(&report, "one-byte-written", "Rss").contains(&VerdictKind::Failed),
        "{:?}",
        common::verdicts(&report, "one-byte-written", "Rss")
    );
}

/// A 6.18 kernel whose process has the soft and hard memlock limit `soft` and `vm_size`
/// mapped, and CAP_IPC_LOCK where `can_exceed`.
fn with_memlock(can_exceed: bool, soft: Option<u64>, vm_size: Option<Bytes>) -> KernelProbe {
    let mut kernel = probe(&MADVISE_6_18);
    kernel.memlock = MemlockLimit {
        soft: soft.map(Bytes),
        hard: soft.map(Bytes),
        can_exceed,
        user_namespace: false,
        vm_size,
    };
    kernel
}

/// Who may lock what: the capability decides exempt/enforced; mlockall(MCL_CURRENT) is
/// refused only without it and with a finite limit below what this process has mapped.
#[rstest]
#[case::root_default(true, Some(8192 * KIB), "exempt", false, true)]
#[case::nobody_64k(false, Some(64 * KIB), "enforced", true, false)]
#[case::nobody_unlimited(false, None, "enforced", false, true)]
#[case::nobody_a_pebibyte(false, Some(1 << 50), "enforced", false, true)]
#[case::nobody_just_above_mapped(false, Some(1300 * 1024 * KIB), "enforced", false, false)]
fn memlock_conditions(
    #[case] can_exceed: bool,
    #[case] soft: Option<u64>,
    #[case] which: &str,
    #[case] below_mapped: bool,
    #[case] mlockall_allowed: bool,
) {
    let kernel = with_memlock(can_exceed, soft, Some(Bytes(1200 * 1024 * KIB)));
    let applies = |name: &str| decided(&kernel, name).is_ok();
    assert_eq!(applies("memlock-exempt"), which == "exempt");
    assert_eq!(applies("memlock-enforced"), which == "enforced");
    assert_eq!(applies("memlock-below-mapped"), below_mapped);
    assert_eq!(applies("mlockall-allowed"), mlockall_allowed);
}

/// Without VmSize a limit that binds decides neither memlock branch that compares with what
/// is mapped; where the limit does not bind, VmSize is not needed.
#[rstest]
#[case::exempt(true, Some(64 * KIB), false)]
#[case::unlimited(false, None, false)]
#[case::binding(false, Some(64 * KIB), true)]
fn a_missing_vm_size_leaves_only_a_binding_limit_undecided(
    #[case] can_exceed: bool,
    #[case] soft: Option<u64>,
    #[case] undecided: bool,
) {
    let kernel = with_memlock(can_exceed, soft, None);
    for name in ["memlock-below-mapped", "mlockall-allowed"] {
        let branch = branch(&kernel, name);
        assert_eq!(
            matches!(branch, Branch::Undecided(ref why) if why.contains("VmSize")),
            undecided,
            "{name}: {branch:?}"
        );
    }
}

/// A reserving mmap needs a free huge page no other mapping has reserved: a pool whose free
/// pages are all promised away (a database's, a VM's) is a pool with none free.
#[rstest]
#[case::one_free(1, 0, 0, "hugetlb-page-free")]
#[case::all_reserved(2, 2, 0, "no-hugetlb-page-free")]
#[case::all_reserved_surplus_allowed(2, 2, 1, "hugetlb-surplus")]
#[case::one_unreserved(3, 2, 0, "hugetlb-page-free")]
fn only_unreserved_free_pages_count(
    #[case] free: u64,
    #[case] reserved: u64,
    #[case] overcommit: u64,
    #[case] applies: &str,
) {
    let mut kernel = probe(&MADVISE_6_18);
    kernel.hugetlb = Some(pagelab::kernel::probe::HugetlbPool {
        page_size: Bytes(2048 * KIB),
        total: free,
        free,
        reserved,
        overcommit,
    });
    for name in [
        "hugetlb-page-free",
        "no-hugetlb-page-free",
        "hugetlb-surplus",
    ] {
        match decided(&kernel, name) {
            Ok(why) => assert_eq!(name, applies, "{why}"),
            Err(why) => assert_ne!(name, applies, "{why}"),
        }
    }
}

/// Root of a rootless container shows CAP_IPC_LOCK in CapEff, but mlock asks for it in the
/// initial user namespace: the limit applies, and the reason says why.
#[test]
fn root_in_a_user_namespace_of_its_own_is_enforced() {
    let mut kernel = probe(&MADVISE_6_18);
    kernel.memlock.can_exceed = false;
    kernel.memlock.user_namespace = true;
    match decided(&kernel, "memlock-enforced") {
        Ok(why) => assert!(why.contains("user namespace of its own"), "{why}"),
        Err(why) => panic!("does not apply: {why}"),
    }
}

/// A condition the block cannot answer (here: a read fault, of a mapping the experiment
/// never reads) is the lesson's mistake on every kernel. An earlier condition that does not
/// apply (swap, off in this configuration) must not turn it into a skip here and a failure
/// only where swap is on.
#[rstest]
#[case::after_one_that_does_not_apply("swap-on,read-fault-zero-page")]
#[case::after_one_that_applies("swap-off,read-fault-zero-page")]
#[case::before_one_that_does_not_apply("read-fault-zero-page,swap-on")]
fn a_condition_wrong_for_its_block_fails_whatever_comes_before_it(#[case] when: &str) {
    let text = format!(
        "---\nid: mmap-anon\ntitle: x\n---\n\n\
         ```smaps step=huge-page-mapped of=aligned-mapping when={when}\nRss: 0 kB\n```\n"
    );
    let lesson = Lesson::parse(std::path::Path::new("01-x.md"), text).unwrap();
    let config = &MADVISE_6_18;
    let report = replay_lesson(
        &lesson,
        config,
        seen(ALIGNED, PAGE, 0, 0),
        seen(HUGE_AT, PAGE, 0, 0),
    );
    let [claim] = &report.claims[..] else {
        panic!("one claim: {:?}", report.claims);
    };
    assert_eq!(
        claim.verdict.kind(),
        VerdictKind::Failed,
        "{:?}",
        claim.verdict
    );
    let why = claim.verdict.reason().unwrap_or_default();
    assert!(why.contains("needs a read in `aligned-mapping`"), "{why}");
}
