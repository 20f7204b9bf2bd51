//! One run of the matrix, phase by phase: package lists, selection, tools, guest builds
//! beside kernel downloads, the plan of what boots, initramfs archives, boots two at a
//! time. Each phase is a function; [`run`] strings them together and times them.

use super::build::{self, Arch, GuestTarget};
use super::kernels::{self, CachedKernel, KernelPackage, KernelRequest};
use super::{Column, Configured, Request, apt, configs, guest, machine_mirrors, tools};
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

/// Runs the whole matrix: the host first, then every selected configuration (two guests
/// at a time, one per core), reporting progress on stderr.
pub fn run(request: &Request, host: Column) -> Result<Vec<Configured>, String> {
    let mut phases = Phases::default();
    let host_arch = Arch::host("the matrix")?;
    let cache = request.cache;
    let mirrors = machine_mirrors()?;
    let apt = apt::Apt {
        dir: cache.join("apt"),
    };
    phases.time("package lists", || {
        apt.prepare(&mirrors, host_arch.debian(), request.refresh)
    })?;
    let Selection {
        candidates,
        mut broken,
    } = select(request, &kernels::images(&apt.linux_packages()?))?;
    let (arches, targets) = platforms(&candidates);
    phases.time("tools", || {
        tools::install_missing(&tools::needed(&arches, &targets, host_arch), &apt, &mirrors)?;
        tools::add_rust_targets(&targets, request.manifest_dir)
    })?;
    let guests = guest::GuestCache {
        dir: cache.to_path_buf(),
    };
    let kernel_cache = kernels::KernelCache {
        dir: cache.join("kernels"),
    };
    let fetching = Fetching {
        apt: &apt,
        kernels: &kernel_cache,
        guests: &guests,
        arches: &arches,
    };
    let made = build_beside_downloads(
        request,
        &candidates,
        &targets,
        host_arch,
        fetching,
        &mut phases,
    )?;
    let planned = plan(request, &candidates, made.kernels, &mut broken)?;
    let initrds = phases.time("initramfs", || {
        initramfs_archives(request, &planned, &guests, &made.busyboxes, &made.binaries)
    });
    let mut results = phases.time("boots", || boot_all(&planned, &initrds));
    results.extend(broken);
    results.sort_by_key(|(i, _)| *i);
    eprintln!("phases: {phases}");
    Ok(std::iter::once(host_column(host_arch, host))
        .chain(results.into_iter().map(|(_, c)| c))
        .collect())
}

/// A configuration the selection keeps, by its place in [`configs::specs`], with the
/// builds of its kernel in the index, newest first.
type Candidate = (usize, configs::Spec, Vec<KernelPackage>);

/// What the selection words keep: configurations to fetch kernels for, and columns that
/// are broken already (no kernel of their series in the index).
struct Selection {
    candidates: Vec<Candidate>,
    broken: Vec<(usize, Configured)>,
}

/// Selection in two steps: a THP word can only be matched against a configuration that
/// boots the kernel's default once the kernel's config is read, so this first step keeps
/// those, and only their kernels are fetched ([`plan`] is the second).
fn select(request: &Request, images: &[KernelPackage]) -> Result<Selection, String> {
    let series = kernels::all_series(images);
    let mut selection = Selection {
        candidates: Vec::new(),
        broken: Vec::new(),
    };
    let mut names_seen = Vec::new();
    for (i, spec) in configs::specs().into_iter().enumerate() {
        let Some(series) = spec.series(&series) else {
            return Err("the package index has no kernel images at all".into());
        };
        names_seen.push(spec.name(series, None));
        let builds = kernels::builds(images, series, spec.flavour);
        match builds.first() {
            Some(newest) if spec.selected(request.only, newest, None) => {
                selection.candidates.push((i, spec, builds));
            }
            Some(_) => {}
            None if spec.selected_as(request.only, series, "", None) => {
                let why = format!(
                    "the package index has no {} kernel of series {series}",
                    spec.flavour
                );
                selection.broken.push((i, broken(&spec, series, why)));
            }
            None => {}
        }
    }
    if selection.candidates.is_empty() && selection.broken.is_empty() {
        return Err(format!(
            "no configuration matches all of `{}`; the configurations are: {}",
            request.only.join(" "),
            names_seen.join(", ")
        ));
    }
    Ok(selection)
}

/// A column that never booted, and why.
fn broken(spec: &configs::Spec, series: kernels::Series, why: String) -> Configured {
    Configured {
        name: spec.name(series, None),
        target: spec.target(),
        column: Column::Broken {
            why,
            console_tail: String::new(),
            seconds: 0.0,
        },
    }
}

/// The architectures the candidates boot and the pagelab binaries they run, each once.
fn platforms(candidates: &[Candidate]) -> (Vec<Arch>, Vec<GuestTarget>) {
    let mut arches: Vec<Arch> = candidates.iter().map(|(_, s, _)| s.arch()).collect();
    arches.sort();
    arches.dedup();
    let mut targets: Vec<GuestTarget> = candidates.iter().map(|(_, s, _)| s.target()).collect();
    targets.sort();
    targets.dedup();
    (arches, targets)
}

/// Where kernels and busybox come from.
#[derive(Clone, Copy)]
struct Fetching<'a> {
    apt: &'a apt::Apt,
    kernels: &'a kernels::KernelCache,
    guests: &'a guest::GuestCache,
    arches: &'a [Arch],
}

/// The guests' binaries, each candidate's kernel, each architecture's busybox.
struct Made {
    binaries: BTreeMap<GuestTarget, PathBuf>,
    kernels: Vec<Result<CachedKernel, String>>,
    busyboxes: BTreeMap<Arch, Result<PathBuf, String>>,
}

/// The builds keep both cores busy but leave gaps (a single crate compiling, the link);
/// downloads wait on the network and unpack on one core: side by side they take little
/// more than the builds alone.
fn build_beside_downloads(
    request: &Request,
    candidates: &[Candidate],
    targets: &[GuestTarget],
    host_arch: Arch,
    fetching: Fetching<'_>,
    phases: &mut Phases,
) -> Result<Made, String> {
    let requests: Vec<KernelRequest> = candidates
        .iter()
        .map(|(_, spec, builds)| KernelRequest {
            builds: builds.clone(),
            modules: spec.modules(),
        })
        .collect();
    let (binaries, fetched) = std::thread::scope(|scope| {
        let downloads = scope.spawn(|| {
            let started = Instant::now();
            let kernels = fetching.kernels.fetch(fetching.apt, &requests);
            let busyboxes: BTreeMap<Arch, Result<PathBuf, String>> = fetching
                .arches
                .iter()
                .map(|a| (*a, fetching.guests.busybox(fetching.apt, *a)))
                .collect();
            ((kernels, busyboxes), started.elapsed().as_secs_f64())
        });
        let binaries = phases.time("guest builds", || {
            targets
                .iter()
                .map(|t| {
                    eprintln!("building the static pagelab for {t}...");
                    build::build(request.manifest_dir, *t, host_arch).map(|path| (*t, path))
                })
                .collect::<Result<BTreeMap<_, _>, String>>()
        });
        let fetched = downloads.join().map(|(fetched, seconds)| {
            phases.0.push(("downloads (alongside)", seconds));
            fetched
        });
        (binaries, fetched)
    });
    let (kernels, busyboxes) =
        fetched.map_err(|_| "fetching kernels and busybox failed unexpectedly".to_owned())?;
    Ok(Made {
        binaries: binaries?,
        kernels,
        busyboxes,
    })
}

/// One configuration, resolved to a kernel in the cache and ready to boot.
struct Planned {
    name: String,
    arch: Arch,
    target: GuestTarget,
    vmlinuz: PathBuf,
    append: String,
    /// The kernel's package, and the modules the guest loads (appended to its initramfs).
    kernel: String,
    modules: Vec<PathBuf>,
}

impl Planned {
    /// Which initramfs it boots: its target's, with its modules appended where it has any.
    fn archive_key(&self) -> (GuestTarget, String, Vec<PathBuf>) {
        (self.target, self.kernel.clone(), self.modules.clone())
    }
}

/// The second step of the selection, now that each kernel's THP default is known: what
/// boots. A candidate whose kernel could not be fetched becomes a broken column.
fn plan(
    request: &Request,
    candidates: &[Candidate],
    fetched: Vec<Result<CachedKernel, String>>,
    broken_columns: &mut Vec<(usize, Configured)>,
) -> Result<Vec<(usize, Planned)>, String> {
    let mut planned: Vec<(usize, Planned)> = Vec::new();
    for ((i, spec, builds), kernel) in candidates.iter().zip(fetched) {
        let kernel = match kernel {
            Ok(kernel) => kernel,
            Err(why) => {
                let series = builds[0].series();
                if spec.selected_as(request.only, series, &builds[0].version, None) {
                    broken_columns.push((*i, broken(spec, series, why)));
                }
                continue;
            }
        };
        let package = &kernel.package;
        let default = Some(kernel.default_thp);
        if !spec.selected(request.only, package, default) {
            continue;
        }
        let name = spec.name(package.series(), default);
        // Two specs may resolve to one configuration (the oldest series is also a named
        // one, once bullseye is gone): the first stays.
        if planned.iter().any(|(_, p)| p.name == name) {
            continue;
        }
        eprintln!("kernel for {name}: {} ({})", package.name, package.version);
        let words = spec.command_line();
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let thp = spec.thp_argument(kernel.default_thp);
        planned.push((
            *i,
            Planned {
                name,
                arch: spec.arch(),
                target: spec.target(),
                vmlinuz: kernel.vmlinuz.clone(),
                append: guest::append(spec.arch(), thp, &words),
                kernel: package.name.clone(),
                modules: kernel.modules.clone(),
            },
        ));
    }
    if planned.is_empty() && broken_columns.is_empty() {
        return Err(format!(
            "no configuration matches all of `{}` once the kernels' THP defaults are known",
            request.only.join(" ")
        ));
    }
    Ok(planned)
}

/// Each target's initramfs, and for a guest that loads modules its target's archive with
/// them appended, keyed as [`Planned::archive_key`]; or why it could not be made, which
/// breaks only the columns that boot it.
type Archives = BTreeMap<(GuestTarget, String, Vec<PathBuf>), Result<PathBuf, String>>;

fn initramfs_archives(
    request: &Request,
    planned: &[(usize, Planned)],
    guests: &guest::GuestCache,
    busyboxes: &BTreeMap<Arch, Result<PathBuf, String>>,
    binaries: &BTreeMap<GuestTarget, PathBuf>,
) -> Archives {
    let mut plain: BTreeMap<GuestTarget, Result<PathBuf, String>> = BTreeMap::new();
    let mut archives = Archives::new();
    for (_, p) in planned {
        if let Entry::Vacant(slot) = plain.entry(p.target) {
            slot.insert(busyboxes[&p.arch].clone().and_then(|busybox| {
                guests.initramfs(p.target, &busybox, &binaries[&p.target], request.lessons)
            }));
        }
        if let Entry::Vacant(slot) = archives.entry(p.archive_key()) {
            let own = plain[&p.target].clone();
            slot.insert(if p.modules.is_empty() {
                own
            } else {
                own.and_then(|initrd| guests.with_modules(&initrd, &p.kernel, &p.modules))
            });
        }
    }
    archives
}

/// Boots every planned guest, two at a time. Slowest first (arm64 is emulated instruction
/// by instruction), so that the last guests to finish are short ones and both cores stay
/// busy to the end.
fn boot_all(planned: &[(usize, Planned)], archives: &Archives) -> Vec<(usize, Configured)> {
    let mut order: Vec<usize> = (0..planned.len()).collect();
    order.sort_by_key(|&n| std::cmp::Reverse(guest::timeout(planned[n].1.arch)));
    let total = planned.len();
    let (next, done) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let results = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                loop {
                    let k = next.fetch_add(1, Ordering::SeqCst);
                    let Some(&n) = order.get(k) else { break };
                    let (i, p) = &planned[n];
                    eprintln!("[{}/{total}] booting {}...", k + 1, p.name);
                    let column = match &archives[&p.archive_key()] {
                        Ok(initrd) => guest::boot(
                            p.arch,
                            &p.vmlinuz,
                            initrd,
                            &p.append,
                            guest::timeout(p.arch),
                        ),
                        Err(why) => Column::Broken {
                            why: format!("no initramfs: {why}"),
                            console_tail: String::new(),
                            seconds: 0.0,
                        },
                    };
                    let finished = done.fetch_add(1, Ordering::SeqCst) + 1;
                    let verdict = if column.failed() { "FAILED" } else { "ok" };
                    eprintln!(
                        "[{finished}/{total} done] {}: {:.1}s, {verdict}",
                        p.name,
                        column.seconds()
                    );
                    let configured = Configured {
                        name: p.name.clone(),
                        target: p.target,
                        column,
                    };
                    results
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push((*i, configured));
                }
            });
        }
    });
    results.into_inner().unwrap_or_else(PoisonError::into_inner)
}

/// The host's own column, as the binary that runs the matrix was built.
fn host_column(host_arch: Arch, column: Column) -> Configured {
    let libc = if cfg!(target_env = "musl") {
        build::Libc::Musl
    } else {
        build::Libc::Glibc
    };
    Configured {
        name: "host".to_owned(),
        target: GuestTarget::new(host_arch, libc),
        column,
    }
}

/// Seconds per phase, for the budget: printed at the end of a run.
#[derive(Default)]
struct Phases(Vec<(&'static str, f64)>);

impl Phases {
    fn time<T>(&mut self, name: &'static str, work: impl FnOnce() -> T) -> T {
        let started = Instant::now();
        let result = work();
        self.0.push((name, started.elapsed().as_secs_f64()));
        result
    }
}

impl std::fmt::Display for Phases {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(n, s)| format!("{n} {s:.0}s")).collect();
        write!(f, "{}", parts.join(", "))
    }
}
