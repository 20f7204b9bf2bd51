//! The kernel matrix: every lesson's checks on real Linux kernels under QEMU, in several
//! configurations, plus the host. Each guest runs this very binary's `check --format json`
//! and `exercise --format json`, so the matrix checks exactly what the lesson tests check:
//! every claim, and every exercise's check on the reference solution.

pub mod apt;
pub mod build;
pub mod configs;
pub mod dist;
pub mod guest;
pub mod kernels;
pub mod modules;
pub mod table;
pub mod tools;

use crate::results::{self, Broken, LessonsDigest, Machine, ResultFile, Run};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What one configuration gave: its result file, or why it gave none.
#[derive(Debug)]
pub enum Column {
    /// Boxed: a whole result file, beside a variant of two strings.
    Ran(Box<ResultFile>),
    Broken {
        why: String,
        /// The end of the console, for a guest that panicked, hung or printed garbage.
        console_tail: String,
        seconds: f64,
    },
}

impl Column {
    pub fn seconds(&self) -> f64 {
        match self {
            Column::Ran(file) => file.seconds.unwrap_or_default(),
            Column::Broken { seconds, .. } => *seconds,
        }
    }

    pub fn failed(&self) -> bool {
        match self {
            Column::Ran(file) => file.failed(),
            Column::Broken { .. } => true,
        }
    }

    /// Reads the result file that `check --format json` printed; `seconds` is how long the
    /// configuration took (for a guest, from boot to power-off).
    pub fn from_json(text: &str, seconds: f64) -> Result<Column, String> {
        let mut file: ResultFile = serde_json::from_str(text)
            .map_err(|e| format!("the check's JSON is not a result file: {e}"))?;
        file.seconds = Some(seconds);
        Ok(Column::Ran(Box::new(file)))
    }

    /// Records errors that make the column fail besides its claims (a setting the guest
    /// could not apply).
    pub fn add_errors(&mut self, more: Vec<String>) {
        if let Column::Ran(file) = self
            && let Run::Checked(checked) = &mut file.run
        {
            checked.setup_errors.extend(more);
        }
    }

    /// Adds the outcomes of `exercise --format json` (the reference solutions, checked on
    /// this kernel), a result file of exercises only.
    pub fn add_exercises(&mut self, text: &str) -> Result<(), String> {
        let Column::Ran(file) = self else {
            return Ok(());
        };
        let exercises: ResultFile = serde_json::from_str(text)
            .map_err(|e| format!("the exercises' JSON is not a result file: {e}"))?;
        let listed = exercises
            .checked()
            .and_then(|c| c.checks.exercises())
            .ok_or("the exercises' result file lists no exercises")?
            .to_vec();
        if let Run::Checked(checked) = &mut file.run {
            let checks =
                std::mem::replace(&mut checked.checks, results::Checks::Claims(Vec::new()));
            checked.checks = checks.with_exercises(listed);
        }
        Ok(())
    }
}

/// A configuration's column, with its name and the binary it was to run.
#[derive(Debug)]
pub struct Configured {
    pub name: String,
    pub target: build::GuestTarget,
    pub column: Column,
}

impl Configured {
    /// Its result file, named after the configuration. A broken one says which binary it
    /// was to run and which lessons it was to check (`lessons`: the ones in its initramfs).
    pub fn into_result(self, lessons: LessonsDigest) -> ResultFile {
        match self.column {
            Column::Ran(mut file) => {
                file.machine.label = Some(self.name);
                *file
            }
            Column::Broken {
                why,
                console_tail,
                seconds,
            } => ResultFile {
                lessons_digest: lessons,
                machine: Machine {
                    label: Some(self.name),
                    arch: self.target.arch.name().to_owned(),
                    libc: match self.target.libc {
                        build::Libc::Glibc => results::Libc::Glibc,
                        build::Libc::Musl => results::Libc::Musl,
                    },
                },
                seconds: Some(seconds),
                run: Run::Broken(Broken { why, console_tail }),
            },
        }
    }
}

/// The result files of the latest run: `<cargo's target dir>/kernel-matrix/results`.
pub fn results_dir(manifest_dir: &Path) -> Result<PathBuf, String> {
    Ok(cache_dir(manifest_dir)?.join("results"))
}

/// The table of the result files in `dir`, read back through the loader and renderer that
/// `pagelab matrix DIR` uses, so that the two cannot differ.
pub fn table_of(dir: &Path) -> Result<table::Matrix, String> {
    Ok(table::Matrix::of(&results::load(&[dir.to_owned()])?))
}

/// A file name for a configuration: its number in the table's order (so that a listing of
/// the directory is in that order), then its name in lowercase words joined by `-`.
pub fn result_file_name(number: usize, name: &str) -> String {
    let words: Vec<String> = name
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    format!("{number:02}-{}.json", words.join("-"))
}

/// Writes every configuration's result file into `dir`, in the table's order, after
/// removing the previous run's: the directory is this run, whatever was selected.
pub fn write_results(
    dir: &Path,
    configured: Vec<Configured>,
    lessons: LessonsDigest,
) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    for old in results::expand(&[dir.to_owned()]).unwrap_or_default() {
        std::fs::remove_file(&old).map_err(|e| format!("removing {}: {e}", old.display()))?;
    }
    let mut written = Vec::new();
    for (n, configuration) in configured.into_iter().enumerate() {
        let path = dir.join(result_file_name(n + 1, &configuration.name));
        let file = configuration.into_result(lessons);
        std::fs::write(&path, file.to_json())
            .map_err(|e| format!("writing {}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// What `pagelab kernels` was asked for.
pub struct Request<'a> {
    /// The crate to build the guests' pagelab from.
    pub manifest_dir: &'a Path,
    pub lessons: &'a Path,
    /// Selection words: a configuration runs when it matches every one.
    pub only: &'a [String],
    /// Refresh the private package lists even when they are fresh.
    pub refresh: bool,
}

/// The matrix cache: `<cargo's target dir>/kernel-matrix`.
pub fn cache_dir(manifest_dir: &Path) -> Result<PathBuf, String> {
    Ok(build::target_directory(manifest_dir)?.join("kernel-matrix"))
}

/// One configuration, resolved to a kernel in the cache and ready to boot.
struct Planned {
    name: String,
    arch: build::Arch,
    target: build::GuestTarget,
    vmlinuz: PathBuf,
    append: String,
    /// The kernel's package, and the modules the guest loads (appended to its initramfs).
    kernel: String,
    modules: Vec<PathBuf>,
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

/// The machine's Debian mirrors, from its own apt sources.
pub fn machine_mirrors() -> Result<apt::Mirrors, String> {
    let mut sources = Vec::new();
    for (path, text) in apt::machine_source_files(Path::new("/etc/apt"))? {
        sources.extend(apt::parse_file(&path, &text)?);
    }
    apt::mirrors(&sources)
}

/// Runs the whole matrix: the host first, then every selected configuration (two guests
/// at a time, one per core), reporting progress on stderr.
pub fn run(request: &Request, host: Column) -> Result<Vec<Configured>, String> {
    use build::Arch;
    let mut phases = Phases::default();
    let host_arch = Arch::of_rust(std::env::consts::ARCH).ok_or_else(|| {
        format!(
            "the matrix runs on x86_64 or aarch64 hosts, not {}",
            std::env::consts::ARCH
        )
    })?;
    let cache = cache_dir(request.manifest_dir)?;
    let mirrors = machine_mirrors()?;
    let apt = apt::Apt {
        dir: cache.join("apt"),
    };
    phases.time("package lists", || {
        apt.prepare(&mirrors, host_arch.debian(), request.refresh)
    })?;
    let images = kernels::images(&apt.linux_packages()?);
    let series = kernels::all_series(&images);

    // Selection in two steps: a THP word can only be matched against a configuration
    // that boots the kernel's default once the kernel's config is read, so the first
    // step keeps those, and only their kernels are fetched.
    let mut columns_without_kernel: Vec<(usize, Configured)> = Vec::new();
    let mut candidates: Vec<(usize, configs::Spec, Vec<kernels::KernelPackage>)> = Vec::new();
    let mut names_seen = Vec::new();
    for (i, spec) in configs::specs().into_iter().enumerate() {
        let Some(series) = spec.series(&series) else {
            return Err("the package index has no kernel images at all".into());
        };
        names_seen.push(spec.name(series, None));
        let builds = kernels::builds(&images, series, spec.flavour);
        match builds.first() {
            Some(newest) if spec.selected(request.only, newest, None) => {
                candidates.push((i, spec, builds));
            }
            Some(_) => {}
            None if spec.selected_as(request.only, series, "", None) => {
                columns_without_kernel.push((
                    i,
                    Configured {
                        name: spec.name(series, None),
                        target: spec.target(),
                        column: Column::Broken {
                            why: format!(
                                "the package index has no {} kernel of series {series}",
                                spec.flavour
                            ),
                            console_tail: String::new(),
                            seconds: 0.0,
                        },
                    },
                ));
            }
            None => {}
        }
    }
    if candidates.is_empty() && columns_without_kernel.is_empty() {
        return Err(format!(
            "no configuration matches all of `{}`; the configurations are: {}",
            request.only.join(" "),
            names_seen.join(", ")
        ));
    }

    let mut arches: Vec<Arch> = candidates.iter().map(|(_, s, _)| s.arch()).collect();
    arches.sort();
    arches.dedup();
    let mut targets: Vec<build::GuestTarget> =
        candidates.iter().map(|(_, s, _)| s.target()).collect();
    targets.sort();
    targets.dedup();
    phases.time("tools", || {
        tools::install_missing(&tools::needed(&arches, &targets, host_arch), &apt, &mirrors)?;
        tools::add_rust_targets(&targets, request.manifest_dir)
    })?;
    let kernel_cache = kernels::KernelCache {
        dir: cache.join("kernels"),
    };
    let guest_cache = guest::GuestCache { dir: cache.clone() };
    let requests: Vec<kernels::KernelRequest> = candidates
        .iter()
        .map(|(_, spec, builds)| kernels::KernelRequest {
            builds: builds.clone(),
            modules: spec.modules(),
        })
        .collect();
    // The builds keep both cores busy but leave gaps (a single crate compiling, the
    // link); downloads wait on the network and unpack on one core: side by side they take
    // little more than the builds alone.
    let (binaries, fetched) = std::thread::scope(|scope| {
        let downloads = scope.spawn(|| {
            let started = Instant::now();
            let fetched = kernel_cache.fetch(&apt, &requests);
            let busyboxes: BTreeMap<Arch, Result<PathBuf, String>> = arches
                .iter()
                .map(|a| (*a, guest_cache.busybox(&apt, *a)))
                .collect();
            ((fetched, busyboxes), started.elapsed().as_secs_f64())
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
    let binaries = binaries?;
    let (fetched, busyboxes) =
        fetched.map_err(|_| "fetching kernels and busybox failed unexpectedly".to_owned())?;

    let mut planned: Vec<(usize, Planned)> = Vec::new();
    for ((i, spec, builds), kernel) in candidates.iter().zip(fetched) {
        let kernel = match kernel {
            Ok(kernel) => kernel,
            Err(why) => {
                let series = builds[0].series();
                if spec.selected_as(request.only, series, &builds[0].version, None) {
                    columns_without_kernel.push((
                        *i,
                        Configured {
                            name: spec.name(series, None),
                            target: spec.target(),
                            column: Column::Broken {
                                why,
                                console_tail: String::new(),
                                seconds: 0.0,
                            },
                        },
                    ));
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
        planned.push((
            *i,
            Planned {
                name,
                arch: spec.arch(),
                target: spec.target(),
                vmlinuz: kernel.vmlinuz.clone(),
                append: guest::append(
                    spec.arch(),
                    spec.thp_argument(kernel.default_thp),
                    &spec
                        .command_line()
                        .iter()
                        .map(String::as_str)
                        .collect::<Vec<_>>(),
                ),
                kernel: package.name.clone(),
                modules: kernel.modules.clone(),
            },
        ));
    }

    if planned.is_empty() && columns_without_kernel.is_empty() {
        return Err(format!(
            "no configuration matches all of `{}` once the kernels' THP defaults are known",
            request.only.join(" ")
        ));
    }

    let initrds = phases.time("initramfs", || {
        let mut initrds = BTreeMap::new();
        for (_, p) in &planned {
            if initrds.contains_key(&p.target) {
                continue;
            }
            let busybox = busyboxes[&p.arch].as_ref().map_err(String::clone)?;
            let initrd =
                guest_cache.initramfs(p.target, busybox, &binaries[&p.target], request.lessons)?;
            initrds.insert(p.target, initrd);
        }
        // A guest that loads modules boots its target's archive with them appended.
        let mut with_modules = BTreeMap::new();
        for (_, p) in &planned {
            let key = (p.target, p.kernel.clone(), p.modules.clone());
            if !p.modules.is_empty() && !with_modules.contains_key(&key) {
                let initrd =
                    guest_cache.with_modules(&initrds[&p.target], &p.kernel, &p.modules)?;
                with_modules.insert(key, initrd);
            }
        }
        Ok::<_, String>((initrds, with_modules))
    })?;
    let (initrds, with_modules) = initrds;

    // Slowest first (arm64 is emulated instruction by instruction), so that the last
    // guests to finish are short ones and both cores stay busy to the end.
    let mut order: Vec<usize> = (0..planned.len()).collect();
    order.sort_by_key(|&n| std::cmp::Reverse(guest::timeout(planned[n].1.arch)));
    let total = planned.len();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let results = std::sync::Mutex::new(Vec::new());
    phases.time("boots", || {
        std::thread::scope(|scope| {
            for _ in 0..2 {
                scope.spawn(|| {
                    loop {
                        let k = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        let Some(&n) = order.get(k) else { break };
                        let (i, p) = &planned[n];
                        eprintln!("[{}/{total}] booting {}...", k + 1, p.name);
                        let key = (p.target, p.kernel.clone(), p.modules.clone());
                        let initrd = with_modules.get(&key).unwrap_or(&initrds[&p.target]);
                        let column = guest::boot(
                            p.arch,
                            &p.vmlinuz,
                            initrd,
                            &p.append,
                            guest::timeout(p.arch),
                        );
                        let finished = done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                        eprintln!(
                            "[{finished}/{total} done] {}: {:.1}s, {}",
                            p.name,
                            column.seconds(),
                            if column.failed() { "FAILED" } else { "ok" }
                        );
                        results
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .push((
                                *i,
                                Configured {
                                    name: p.name.clone(),
                                    target: p.target,
                                    column,
                                },
                            ));
                    }
                });
            }
        });
    });
    let mut results = results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    results.extend(columns_without_kernel);
    results.sort_by_key(|(i, _)| *i);
    eprintln!("phases: {phases}");
    let host = Configured {
        name: "host".to_owned(),
        target: build::GuestTarget {
            arch: host_arch,
            libc: if cfg!(target_env = "musl") {
                build::Libc::Musl
            } else {
                build::Libc::Glibc
            },
        },
        column: host,
    };
    Ok(std::iter::once(host)
        .chain(results.into_iter().map(|(_, c)| c))
        .collect())
}
