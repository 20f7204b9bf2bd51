//! Guests: a busybox initramfs per architecture and libc with the static pagelab in it,
//! and a QEMU boot per configuration with a timeout.

use super::Column;
use super::apt::Apt;
use super::build::{Arch, GuestTarget};
use super::kernels::unnumbered_file_name;
use super::tools::run;
use std::ffi::OsString;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

const BEGIN: &str = "PAGELAB-JSON-BEGIN";
const END: &str = "PAGELAB-JSON-END rc=";
/// What init.sh prints when it cannot apply a setting of the configuration.
const CONFIG_ERROR: &str = "PAGELAB-CONFIG-ERROR ";
const INIT: &str = include_str!("init.sh");
/// Busybox applets the init script uses.
const APPLETS: &[&str] = &[
    "sh", "mount", "mkdir", "cat", "echo", "tr", "su", "insmod", "mkswap", "swapon", "poweroff",
];

/// How long a guest may take from boot to power-off, checks included, before it counts as
/// hung. Measured on 2 cores with two guests at a time and a build running beside them:
/// x86 3-15 s, arm64 (every instruction emulated) 4-11 s; the limits leave ten times that
/// for slower machines, more for arm64, whose emulation slows most with a slower host.
pub fn timeout(arch: Arch) -> Duration {
    match arch {
        Arch::X86_64 => Duration::from_secs(120),
        Arch::Aarch64 => Duration::from_secs(180),
    }
}

/// The guest-side part of the cache: busybox per architecture, initramfs per target.
pub struct GuestCache {
    pub dir: PathBuf,
}

impl GuestCache {
    /// Debian's static busybox for `arch`, fetched and unpacked into the cache unless
    /// there (never installed: the host's own busybox may be another architecture or
    /// dynamically linked).
    pub fn busybox(&self, apt: &Apt, arch: Arch) -> Result<PathBuf, String> {
        let dir = self.dir.join("busybox").join(arch.debian());
        let busybox = dir.join("busybox");
        if busybox.is_file() {
            return Ok(busybox);
        }
        let staging = dir.join("unpacking");
        let _ = std::fs::remove_dir_all(&staging);
        let mut debs = apt.download(&[("busybox-static".to_owned(), arch.debian())], &staging)?;
        let deb = debs.pop().expect("one result per package")?;
        let unpacked = staging.join("root");
        run(
            Command::new("dpkg").arg("-x").arg(&deb).arg(&unpacked),
            &format!("unpacking {}", deb.display()),
        )?;
        let found = ["bin/busybox", "usr/bin/busybox"]
            .iter()
            .map(|p| unpacked.join(p))
            .find(|p| p.is_file())
            .ok_or_else(|| format!("busybox-static:{} has no busybox binary", arch.debian()))?;
        std::fs::rename(&found, &busybox)
            .map_err(|e| format!("{} -> {}: {e}", found.display(), busybox.display()))?;
        std::fs::remove_dir_all(&staging).map_err(|e| format!("{}: {e}", staging.display()))?;
        Ok(busybox)
    }

    /// Builds the initramfs of a target: its busybox, the init script, its pagelab and
    /// the lessons. Rebuilt on every run (under a second): nothing can be stale.
    pub fn initramfs(
        &self,
        target: GuestTarget,
        busybox: &Path,
        binary: &Path,
        lessons: &Path,
    ) -> Result<PathBuf, String> {
        let base = self.dir.join("initramfs");
        let root = base.join(target.triple());
        let _ = std::fs::remove_dir_all(&root);
        let io = |what: &str, e: std::io::Error| {
            format!("building the initramfs of {target} ({what}): {e}")
        };
        for dir in ["bin", "etc", "proc", "sys", "tmp", "dev", "lessons"] {
            std::fs::create_dir_all(root.join(dir)).map_err(|e| io(dir, e))?;
        }
        std::fs::copy(busybox, root.join("bin/busybox"))
            .map_err(|e| io(&busybox.display().to_string(), e))?;
        for applet in APPLETS {
            std::os::unix::fs::symlink("busybox", root.join("bin").join(applet))
                .map_err(|e| io(applet, e))?;
        }
        std::fs::write(
            root.join("etc/passwd"),
            "root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/sh\n",
        )
        .map_err(|e| io("passwd", e))?;
        std::fs::write(root.join("etc/group"), "root:x:0:\nnogroup:x:65534:\n")
            .map_err(|e| io("group", e))?;
        std::fs::write(root.join("init"), INIT).map_err(|e| io("init", e))?;
        std::fs::copy(binary, root.join("pagelab"))
            .map_err(|e| io(&binary.display().to_string(), e))?;
        for entry in std::fs::read_dir(lessons).map_err(|e| io("lessons", e))? {
            let path = entry.map_err(|e| io("lessons", e))?.path();
            if let (Some(name), true) = (
                path.file_name(),
                path.extension().is_some_and(|x| x == "md"),
            ) {
                std::fs::copy(&path, root.join("lessons").join(name))
                    .map_err(|e| io(&path.display().to_string(), e))?;
            }
        }
        use std::os::unix::fs::PermissionsExt;
        for file in ["init", "pagelab", "bin/busybox"] {
            std::fs::set_permissions(root.join(file), std::fs::Permissions::from_mode(0o755))
                .map_err(|e| io(file, e))?;
        }
        let initrd = base.join(format!("{}.gz", target.triple()));
        pack(
            &root,
            ".",
            &initrd,
            &format!("packing the initramfs of {target}"),
        )?;
        std::fs::remove_dir_all(&root).map_err(|e| io("cleaning up", e))?;
        Ok(initrd)
    }
}

impl GuestCache {
    /// `initrd` with a second archive appended that holds a kernel's modules as
    /// `/modules/NN-<name>.ko`, numbered in load order for init.sh. The kernel unpacks
    /// concatenated archives one after the other (`Documentation/driver-api/early-userspace/
    /// buffer-format.rst`), so the target's archive is reused as it is. Rebuilt on every run.
    pub fn with_modules(
        &self,
        initrd: &Path,
        kernel: &str,
        modules: &[PathBuf],
    ) -> Result<PathBuf, String> {
        let base = self.dir.join("initramfs");
        let root = base.join(format!("{kernel}.modules"));
        let io = |what: &Path, e: std::io::Error| {
            format!(
                "building the module archive of {kernel} ({}): {e}",
                what.display()
            )
        };
        let archive = base.join(format!("{kernel}.modules.gz"));
        let _ = std::fs::remove_dir_all(&root);
        let build = || -> Result<(), String> {
            std::fs::create_dir_all(root.join("modules")).map_err(|e| io(&root, e))?;
            for (i, module) in modules.iter().enumerate() {
                let name = unnumbered_file_name(module)
                    .ok_or_else(|| format!("{}: not a module file name", module.display()))?;
                let into = root.join("modules").join(format!("{:02}-{name}", i + 1));
                std::fs::copy(module, &into).map_err(|e| io(module, e))?;
            }
            pack(
                &root,
                "modules",
                &archive,
                &format!("packing the modules of {kernel}"),
            )
        };
        let packed = build();
        // The copies go on every path, and a failed archive with them: nothing half-made
        // stays for the next run to boot.
        let _ = std::fs::remove_dir_all(&root);
        if packed.is_err() {
            let _ = std::fs::remove_file(&archive);
        }
        packed?;
        let name = initrd
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".gz"))
            .unwrap_or("initrd");
        let loaded: Vec<&str> = modules
            .iter()
            .filter_map(|m| unnumbered_file_name(m))
            .map(|name| name.strip_suffix(".ko").unwrap_or(name))
            .collect();
        let combined = base.join(format!("{name}+{kernel}+{}.gz", loaded.join(",")));
        let mut bytes = std::fs::read(initrd).map_err(|e| io(initrd, e))?;
        bytes.extend(std::fs::read(&archive).map_err(|e| io(&archive, e))?);
        std::fs::write(&combined, bytes).map_err(|e| io(&combined, e))?;
        std::fs::remove_file(&archive).map_err(|e| io(&archive, e))?;
        Ok(combined)
    }
}

/// `what` below `dir` (`find`'s start: `.` or a subdirectory) as a gzip'd newc cpio archive,
/// the initramfs format. gzip -1: a few percent bigger than -9, several times faster to
/// pack, and the guest unpacks either in the same time. The stages run one after the other
/// through files beside the archive, so that a failed one (which a shell pipeline without
/// pipefail hid, leaving a truncated archive) is an error naming it; on an error no archive
/// is left.
fn pack(dir: &Path, what: &str, archive: &Path, doing: &str) -> Result<(), String> {
    let beside = |suffix: &str| {
        let mut name = archive.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    let (list, cpio) = (beside(".list"), beside(".cpio"));
    let create = |path: &Path| {
        std::fs::File::create(path).map_err(|e| format!("{doing}: {}: {e}", path.display()))
    };
    let open = |path: &Path| {
        std::fs::File::open(path).map_err(|e| format!("{doing}: {}: {e}", path.display()))
    };
    let stages = || -> Result<(), String> {
        run(
            Command::new("find")
                .arg(what)
                .stdout(create(&list)?)
                .current_dir(dir),
            &format!("{doing}: listing the files (find)"),
        )?;
        run(
            Command::new("cpio")
                .args(["-o", "-H", "newc", "--quiet"])
                .stdin(open(&list)?)
                .stdout(create(&cpio)?)
                .current_dir(dir),
            &format!("{doing}: archiving them (cpio)"),
        )?;
        run(
            Command::new("gzip")
                .args(["-1", "-c"])
                .stdin(open(&cpio)?)
                .stdout(create(archive)?),
            &format!("{doing}: compressing the archive (gzip)"),
        )
        .map(drop)
    };
    let packed = stages();
    let _ = std::fs::remove_file(&list);
    let _ = std::fs::remove_file(&cpio);
    if packed.is_err() {
        let _ = std::fs::remove_file(archive);
    }
    packed
}

/// A guest's RAM in MiB.
pub fn memory_mib(arch: Arch) -> u64 {
    match arch {
        // 1 GiB: with 512 MiB or less the kernel switches THP off at boot.
        Arch::X86_64 => 1024,
        // 2 GiB: room for 32 MiB huge pages of 16 kB-page kernels.
        Arch::Aarch64 => 2048,
    }
}

/// The kernel command line of a guest.
pub fn append(arch: Arch, thp: Option<&str>, init: &[&str]) -> String {
    let console = match arch {
        Arch::X86_64 => "ttyS0",
        Arch::Aarch64 => "ttyAMA0",
    };
    // loglevel=2: only emergencies and alerts, so that a panic or an oops still reaches the
    // console (and the broken column's tail) while boot messages do not.
    let mut line = format!("console={console} quiet loglevel=2 panic=-1");
    if arch == Arch::X86_64 {
        // The kernel checks early that the IO-APIC timer ticks within a few emulated
        // milliseconds; under TCG on a loaded host it may not, and the kernel panics ("IO-APIC
        // + timer doesn't work!": one x86 6.12 guest of a cold run, with builds beside it).
        // no_timer_check skips that test (Documentation/admin-guide/kernel-parameters.txt),
        // as virtual machines commonly boot.
        line.push_str(" no_timer_check");
    }
    if let Some(thp) = thp {
        line.push_str(&format!(" transparent_hugepage={thp}"));
    }
    for word in init {
        line.push(' ');
        line.push_str(word);
    }
    line
}

/// The QEMU command of a guest: program and arguments.
pub fn qemu_command(
    arch: Arch,
    vmlinuz: &Path,
    initrd: &Path,
    append: &str,
) -> (&'static str, Vec<OsString>) {
    // TCG everywhere: /dev/kvm exists on the development machine but KVM guests hung
    // there, and arm64 guests are emulated anyway. `-cpu max` has every feature QEMU
    // emulates (on arm64 the 16K translation granule that arm64-16k kernels need).
    // The program is the file the tools step installs and checks for.
    let program = super::tools::qemu(arch).file;
    let machine: &[&str] = match arch {
        Arch::X86_64 => &["-accel", "tcg", "-cpu", "max"],
        Arch::Aarch64 => &["-M", "virt", "-accel", "tcg", "-cpu", "max"],
    };
    let mut args: Vec<OsString> = machine.iter().map(OsString::from).collect();
    args.push("-m".into());
    args.push(memory_mib(arch).to_string().into());
    args.extend(["-nographic", "-no-reboot", "-kernel"].map(OsString::from));
    args.push(vmlinuz.into());
    args.push("-initrd".into());
    args.push(initrd.into());
    args.push("-append".into());
    args.push(append.into());
    (program, args)
}

/// Reads a pipe to its end into a shared buffer, so a hung guest's console so far can
/// still be shown after it is killed.
fn drain(mut pipe: impl Read + Send + 'static) -> (Arc<Mutex<Vec<u8>>>, mpsc::Receiver<()>) {
    let buffer = Arc::new(Mutex::new(Vec::new()));
    let (done, finished) = mpsc::channel();
    let shared = Arc::clone(&buffer);
    std::thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        loop {
            match pipe.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => shared
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .extend_from_slice(&chunk[..n]),
            }
        }
        let _ = done.send(());
    });
    (buffer, finished)
}

fn text(buffer: &Mutex<Vec<u8>>) -> String {
    let bytes = buffer
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    String::from_utf8_lossy(&bytes).replace('\r', "")
}

/// Boots one guest and returns its column; never runs past `timeout`: a guest still
/// running then is killed and is a broken column with its console so far.
pub fn boot(arch: Arch, vmlinuz: &Path, initrd: &Path, append: &str, timeout: Duration) -> Column {
    let started = Instant::now();
    let (program, args) = qemu_command(arch, vmlinuz, initrd, append);
    let mut command = Command::new(program);
    command
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // A guest must not outlive the matrix: if pagelab dies (Ctrl-C, a kill), the kernel
    // kills its QEMU too.
    // SAFETY: prctl is async-signal-safe and changes only the child's own state.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let spawned = command.spawn();
    let mut qemu = match spawned {
        Ok(qemu) => qemu,
        Err(e) => {
            return Column::Broken {
                why: format!("cannot start {program}: {e}"),
                console_tail: String::new(),
                seconds: 0.0,
            };
        }
    };
    let (console, console_done) = drain(qemu.stdout.take().expect("piped"));
    let (stderr, stderr_done) = drain(qemu.stderr.take().expect("piped"));
    let timed_out = console_done.recv_timeout(timeout).is_err();
    if timed_out {
        let _ = qemu.kill();
    }
    let status = qemu.wait();
    let _ = console_done.recv_timeout(Duration::from_secs(5));
    let _ = stderr_done.recv_timeout(Duration::from_secs(5));
    let seconds = started.elapsed().as_secs_f64();
    let console = text(&console);
    let stderr = text(&stderr);
    let broken = |why: String| Column::Broken {
        why,
        console_tail: tail(&format!("{console}{stderr}")),
        seconds,
    };
    if timed_out {
        return broken(format!(
            "no power-off within {}s: killed",
            timeout.as_secs()
        ));
    }
    let column = parse_console(&console).and_then(|checks| {
        let mut column = Column::from_json(checks, seconds)?;
        column.add_errors(config_errors(&console));
        Ok(column)
    });
    column.unwrap_or_else(|why| {
        let status = status
            .map(|s| s.to_string())
            .unwrap_or_else(|e| e.to_string());
        broken(format!("{why} (qemu: {status})"))
    })
}

/// The result file (claims and exercises) between the markers the guest's init prints
/// around it.
pub fn parse_console(console: &str) -> Result<&str, String> {
    let start = console
        .find(BEGIN)
        .ok_or("the guest never started the checks (no begin marker)")?
        + BEGIN.len();
    let stop = console[start..]
        .find(END)
        .ok_or("the checks never finished (no end marker)")?
        + start;
    Ok(console[start..stop].trim())
}

/// Settings init.sh could not apply: the configuration is not what its name says.
pub fn config_errors(console: &str) -> Vec<String> {
    console
        .lines()
        .filter_map(|l| l.strip_prefix(CONFIG_ERROR))
        .map(|e| format!("configuration: {}", e.trim()))
        .collect()
}

/// The last lines of a console, for a report, without terminal control sequences (the
/// x86 firmware clears the screen), which would garble a terminal or a markdown report.
pub fn tail(console: &str) -> String {
    let console = printable(console);
    let lines: Vec<&str> = console.lines().map(str::trim_end).collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' if chars.peek() == Some(&'[') => {
                chars.next();
                // A control sequence ends with its final byte, `@` to `~`.
                for next in chars.by_ref() {
                    if ('@'..='~').contains(&next) {
                        break;
                    }
                }
            }
            '\u{1b}' => {
                chars.next();
            }
            '\n' | '\t' => out.push(c),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_stage_of_packing_is_an_error_naming_it_and_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("out.gz");
        let error = pack(dir.path(), "no-such-dir", &archive, "packing a test").unwrap_err();
        assert!(
            error.starts_with("packing a test: listing the files (find): `find no-such-dir`"),
            "{error}"
        );
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert!(left.is_empty(), "{left:?}");
    }

    #[test]
    fn packing_makes_a_gzipped_newc_archive() {
        if super::super::tools::which("cpio").is_none() {
            eprintln!("skipped: no cpio here (the kernel matrix installs it)");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("root/modules")).unwrap();
        std::fs::write(dir.path().join("root/modules/01-a.ko"), "a").unwrap();
        let archive = dir.path().join("out.gz");
        pack(
            &dir.path().join("root"),
            "modules",
            &archive,
            "packing a test",
        )
        .unwrap();
        let listed = Command::new("sh")
            .arg("-c")
            .arg("gzip -dc \"$0\" | cpio -it --quiet")
            .arg(&archive)
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8_lossy(&listed.stdout),
            "modules\nmodules/01-a.ko\n"
        );
        let mut left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        left.sort();
        assert_eq!(left, ["out.gz", "root"]);
    }

    #[test]
    fn console_markers() {
        let console = "boot noise\nPAGELAB-JSON-BEGIN\n{\"a\": 1}\nPAGELAB-JSON-END rc=0\n";
        assert_eq!(parse_console(console), Ok("{\"a\": 1}"));
        assert!(
            parse_console("Kernel panic")
                .unwrap_err()
                .contains("never started")
        );
        assert!(
            parse_console("PAGELAB-JSON-BEGIN\n{")
                .unwrap_err()
                .contains("never finished")
        );
    }

    #[test]
    fn a_console_tail_has_no_terminal_control_sequences() {
        let console = "\u{1b}c\u{1b}[?7l\u{1b}[2J\u{1b}[0mSeaBIOS\r\nBooting from ROM..\u{1b}c\u{1b}[?7l\u{1b}[2J[    1.8] Kernel panic - not syncing\n";
        assert_eq!(
            tail(console),
            "SeaBIOS\nBooting from ROM..[    1.8] Kernel panic - not syncing"
        );
        let long: String = (0..40).map(|i| format!("line {i}\n")).collect();
        assert!(tail(&long).starts_with("line 10\n"));
    }

    #[test]
    fn settings_the_guest_could_not_apply_are_errors() {
        let console = "x\nPAGELAB-CONFIG-ERROR no /sys/kernel/mm/transparent_hugepage/hugepages-256kB/enabled\ny\n";
        assert_eq!(
            config_errors(console),
            ["configuration: no /sys/kernel/mm/transparent_hugepage/hugepages-256kB/enabled"]
        );
        assert!(config_errors("PAGELAB-JSON-BEGIN").is_empty());
    }

    #[test]
    fn qemu_and_console_per_architecture() {
        let line = append(Arch::Aarch64, Some("madvise"), &["PAGELAB_OVERCOMMIT=2"]);
        assert_eq!(
            line,
            "console=ttyAMA0 quiet loglevel=2 panic=-1 transparent_hugepage=madvise PAGELAB_OVERCOMMIT=2"
        );
        assert!(append(Arch::X86_64, None, &[]).starts_with("console=ttyS0 "));
        assert!(append(Arch::X86_64, None, &[]).contains(" no_timer_check"));
        assert!(!line.contains("no_timer_check"), "an x86 parameter");
        let (program, args) = qemu_command(Arch::Aarch64, Path::new("/k"), Path::new("/i"), "a");
        assert_eq!(program, "qemu-system-aarch64");
        let args: Vec<String> = args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(&args[..2], ["-M", "virt"]);
        assert!(args.windows(2).any(|w| w == ["-cpu", "max"]));
        assert!(args.ends_with(&[
            "-kernel".into(),
            "/k".into(),
            "-initrd".into(),
            "/i".into(),
            "-append".into(),
            "a".into()
        ]));
        let (program, _) = qemu_command(Arch::X86_64, Path::new("/k"), Path::new("/i"), "a");
        assert_eq!(program, "qemu-system-x86_64");
        assert!(timeout(Arch::Aarch64) > timeout(Arch::X86_64));
    }
}
