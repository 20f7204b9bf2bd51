//! The configurations the matrix boots. Each names a Debian kernel series, the THP mode it
//! boots with, and what the guest's init changes before the checks run.

/// Which Debian kernel package: `linux-image-<series>.*-<flavour>-amd64-unsigned`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Kernel {
    /// `6.1` or `6.12`.
    pub series: &'static str,
    /// `cloud` or `rt` (PREEMPT_RT).
    pub flavour: &'static str,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub name: &'static str,
    pub kernel: Kernel,
    /// `transparent_hugepage=` on the command line; `None` keeps the kernel's default.
    pub thp: Option<&'static str>,
    /// `KEY=value` words for the kernel command line; the kernel hands them to /init as
    /// environment variables (see init.sh).
    pub init: &'static [&'static str],
}

const DEBIAN_6_1: Kernel = Kernel {
    series: "6.1",
    flavour: "cloud",
};
const DEBIAN_6_12: Kernel = Kernel {
    series: "6.12",
    flavour: "cloud",
};
const DEBIAN_6_12_RT: Kernel = Kernel {
    series: "6.12",
    flavour: "rt",
};

pub fn all() -> Vec<Config> {
    let config = |name, kernel, thp, init| Config {
        name,
        kernel,
        thp,
        init,
    };
    vec![
        config("6.1 always", DEBIAN_6_1, None, &[]),
        config("6.1 madvise", DEBIAN_6_1, Some("madvise"), &[]),
        config("6.12 always", DEBIAN_6_12, None, &[]),
        config("6.12 madvise", DEBIAN_6_12, Some("madvise"), &[]),
        config("6.12 never", DEBIAN_6_12, Some("never"), &[]),
        config(
            "6.12 mTHP 64k",
            DEBIAN_6_12,
            None,
            &["PAGELAB_MTHP=64:always,2048:never"],
        ),
        config(
            "6.12 overcommit 2",
            DEBIAN_6_12,
            None,
            &["PAGELAB_OVERCOMMIT=2"],
        ),
        config("6.12 PREEMPT_RT", DEBIAN_6_12_RT, None, &[]),
        config(
            "6.12 user, memlock 64k",
            DEBIAN_6_12,
            None,
            &["PAGELAB_USER=nobody", "PAGELAB_MEMLOCK_KB=64"],
        ),
    ]
}
