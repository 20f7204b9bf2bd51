//! Guests: Debian kernels fetched and unpacked into a cache, this binary linked statically
//! into a busybox initramfs, and a QEMU boot per configuration with a timeout.

use super::Column;
use super::configs::{Config, Kernel};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long one guest may take from boot to power-off before it counts as hung.
pub const BOOT_TIMEOUT: Duration = Duration::from_secs(120);

const BEGIN: &str = "PAGELAB-JSON-BEGIN";
const END: &str = "PAGELAB-JSON-END rc=";
const EXERCISES_BEGIN: &str = "PAGELAB-EXERCISES-BEGIN";
const EXERCISES_END: &str = "PAGELAB-EXERCISES-END rc=";
const INIT: &str = include_str!("init.sh");
/// Busybox applets the init script uses.
const APPLETS: &[&str] = &["sh", "mount", "cat", "echo", "tr", "su", "poweroff"];
/// The tools the matrix needs, and the Debian packages that have them.
const TOOLS: &[(&str, &str)] = &[
    ("qemu-system-x86_64", "qemu-system-x86"),
    ("busybox", "busybox-static"),
    ("cpio", "cpio"),
    ("apt-get", "apt"),
    ("dpkg", "dpkg"),
];

fn run(command: &mut Command, what: &str) -> Result<String, String> {
    let output = command
        .output()
        .map_err(|e| format!("{what}: cannot run {:?}: {e}", command.get_program()))?;
    if output.status.success() {
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    } else {
        Err(format!(
            "{what}: {:?} failed ({}): {}",
            command.get_program(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

/// Fails with the packages to install when a tool is missing.
pub fn check_tools() -> Result<(), String> {
    let missing: Vec<&str> = TOOLS
        .iter()
        .filter(|(tool, _)| which(tool).is_none())
        .map(|(_, package)| *package)
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "missing tools; install them with: apt-get install {}",
            missing.join(" ")
        ))
    }
}

fn which(tool: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(tool))
            .find(|path| path.is_file())
    })
}

/// The package name of a kernel of this series and flavour, newest first by version.
pub fn package_name(version: &str, kernel: Kernel) -> String {
    format!("linux-image-{version}-{}-amd64-unsigned", kernel.flavour)
}

/// Picks the newest `<version>` of `linux-image-<version>-<flavour>-amd64-unsigned` lines
/// (as `apt-cache search --names-only` prints them) in the series.
pub fn newest_version(search_output: &str, kernel: Kernel) -> Option<String> {
    let suffix = format!("-{}-amd64-unsigned", kernel.flavour);
    let prefix = format!("linux-image-{}.", kernel.series);
    search_output
        .lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter_map(|name| {
            name.strip_prefix("linux-image-")?
                .strip_suffix(&suffix)
                .map(str::to_owned)
        })
        .filter(|version| format!("linux-image-{version}").starts_with(&prefix))
        .max_by(|a, b| version_key(a).cmp(&version_key(b)))
}

/// `6.12.117+deb12` -> [6, 12, 117, 12]: numbers compared as numbers.
fn version_key(version: &str) -> Vec<u64> {
    version
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|n| n.parse().ok())
        .collect()
}

/// The cache of downloaded packages, unpacked kernels and built images.
pub struct Cache {
    pub dir: PathBuf,
}

impl Cache {
    /// Resolves the newest kernel of the series from the package index, downloads it unless
    /// cached, and returns its vmlinuz. Offline, the newest cached one of the series is used.
    pub fn kernel(&self, kernel: Kernel) -> Result<(String, PathBuf), String> {
        let search = run(
            Command::new("apt-cache").args([
                "search",
                "--names-only",
                &format!(
                    "^linux-image-{}\\..*-{}-amd64-unsigned$",
                    kernel.series, kernel.flavour
                ),
            ]),
            "looking up kernels",
        )
        .unwrap_or_default();
        let version = match newest_version(&search, kernel) {
            Some(version) => version,
            None => self.newest_cached(kernel).ok_or_else(|| {
                format!(
                    "no linux-image-{}.*-{}-amd64-unsigned in the package index (run apt-get update) and none cached",
                    kernel.series, kernel.flavour
                )
            })?,
        };
        let unpacked = self
            .dir
            .join("kernels")
            .join(package_name(&version, kernel));
        let vmlinuz = unpacked
            .join("boot")
            .join(format!("vmlinuz-{version}-{}-amd64", kernel.flavour));
        if vmlinuz.is_file() {
            return Ok((version, vmlinuz));
        }
        let debs = self.dir.join("debs");
        std::fs::create_dir_all(&debs).map_err(|e| format!("{}: {e}", debs.display()))?;
        let package = package_name(&version, kernel);
        run(
            Command::new("apt-get")
                .args(["download", "-q", &package])
                .current_dir(&debs),
            "downloading a kernel",
        )?;
        let deb = std::fs::read_dir(&debs)
            .map_err(|e| format!("{}: {e}", debs.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&format!("{package}_")))
            })
            .ok_or_else(|| {
                format!(
                    "apt-get download left no {package}_*.deb in {}",
                    debs.display()
                )
            })?;
        std::fs::create_dir_all(&unpacked).map_err(|e| format!("{}: {e}", unpacked.display()))?;
        run(
            Command::new("dpkg").arg("-x").arg(&deb).arg(&unpacked),
            "unpacking a kernel",
        )?;
        if vmlinuz.is_file() {
            Ok((version, vmlinuz))
        } else {
            Err(format!("{} has no {}", deb.display(), vmlinuz.display()))
        }
    }

    fn newest_cached(&self, kernel: Kernel) -> Option<String> {
        let names: String = std::fs::read_dir(self.dir.join("kernels"))
            .ok()?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .map(|n| n + "\n")
            .collect();
        newest_version(&names, kernel)
    }

    /// Builds the guest's initramfs: busybox, the init script, `binary` and the lessons.
    pub fn initramfs(&self, binary: &Path, lessons: &Path) -> Result<PathBuf, String> {
        let root = self.dir.join("root");
        let _ = std::fs::remove_dir_all(&root);
        let io = |what: &str, e: std::io::Error| format!("building the initramfs ({what}): {e}");
        for dir in ["bin", "etc", "proc", "sys", "tmp", "dev", "lessons"] {
            std::fs::create_dir_all(root.join(dir)).map_err(|e| io(dir, e))?;
        }
        let busybox = which("busybox").ok_or("busybox is not installed")?;
        std::fs::copy(&busybox, root.join("bin/busybox")).map_err(|e| io("busybox", e))?;
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
        std::fs::copy(binary, root.join("pagelab")).map_err(|e| io("pagelab", e))?;
        for entry in std::fs::read_dir(lessons).map_err(|e| io("lessons", e))? {
            let path = entry.map_err(|e| io("lessons", e))?.path();
            if path.extension().is_some_and(|x| x == "md") {
                let name = path.file_name().expect("a file");
                std::fs::copy(&path, root.join("lessons").join(name))
                    .map_err(|e| io("lesson", e))?;
            }
        }
        use std::os::unix::fs::PermissionsExt;
        for file in ["init", "pagelab"] {
            std::fs::set_permissions(root.join(file), std::fs::Permissions::from_mode(0o755))
                .map_err(|e| io(file, e))?;
        }
        let initrd = self.dir.join("initrd.gz");
        run(
            Command::new("sh")
                .arg("-c")
                .arg(format!(
                    "find . | cpio -o -H newc --quiet | gzip -1 > '{}'",
                    initrd.display()
                ))
                .current_dir(&root),
            "packing the initramfs",
        )?;
        Ok(initrd)
    }
}

/// Builds this crate's binary statically, so it runs in a guest with no libraries.
pub fn static_binary(manifest_dir: &Path) -> Result<PathBuf, String> {
    let target = "x86_64-unknown-linux-gnu";
    run(
        Command::new(env!("CARGO"))
            .args([
                "build",
                "--quiet",
                "--release",
                "--bin",
                "pagelab",
                "--target",
                target,
            ])
            .env("RUSTFLAGS", "-C target-feature=+crt-static")
            .current_dir(manifest_dir),
        "building the static guest binary",
    )?;
    Ok(manifest_dir
        .join("target")
        .join(target)
        .join("release/pagelab"))
}

/// Boots one configuration and returns its column; never hangs past [`BOOT_TIMEOUT`].
pub fn boot(config: &Config, vmlinuz: &Path, initrd: &Path) -> Column {
    let started = Instant::now();
    let mut append = String::from("console=ttyS0 quiet loglevel=0 panic=-1");
    if let Some(thp) = config.thp {
        append.push_str(&format!(" transparent_hugepage={thp}"));
    }
    for word in config.init {
        append.push(' ');
        append.push_str(word);
    }
    // TCG: /dev/kvm exists on the development machine but KVM guests hung there.
    // 1 GiB: with 512 MiB or less the kernel switches THP off at boot.
    let spawned = Command::new("qemu-system-x86_64")
        .args([
            "-accel",
            "tcg",
            "-cpu",
            "max",
            "-m",
            "1024",
            "-nographic",
            "-no-reboot",
        ])
        .arg("-kernel")
        .arg(vmlinuz)
        .arg("-initrd")
        .arg(initrd)
        .args(["-append", &append])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut qemu = match spawned {
        Ok(qemu) => qemu,
        Err(e) => {
            return Column::Broken {
                why: format!("cannot start qemu-system-x86_64: {e}"),
                console_tail: String::new(),
                seconds: 0.0,
            };
        }
    };
    let mut stdout = qemu.stdout.take().expect("piped");
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let mut console = Vec::new();
        let _ = stdout.read_to_end(&mut console);
        let _ = sender.send(console);
    });
    let console = receiver.recv_timeout(BOOT_TIMEOUT);
    let timed_out = console.is_err();
    if timed_out {
        let _ = qemu.kill();
    }
    let _ = qemu.wait();
    let seconds = started.elapsed().as_secs_f64();
    let console = match console {
        Ok(bytes) => String::from_utf8_lossy(&bytes).replace('\r', ""),
        Err(_) => {
            return Column::Broken {
                why: format!("no power-off within {}s: killed", BOOT_TIMEOUT.as_secs()),
                console_tail: String::new(),
                seconds,
            };
        }
    };
    let column = parse_console(&console).and_then(|(checks, exercises)| {
        let mut column = Column::from_json(checks, seconds)?;
        column.add_exercises(exercises)?;
        Ok(column)
    });
    column.unwrap_or_else(|why| Column::Broken {
        why,
        console_tail: tail(&console),
        seconds,
    })
}

/// The claims' JSON and the exercises' JSON, each between the markers the guest's init
/// prints around it.
pub fn parse_console(console: &str) -> Result<(&str, &str), String> {
    let checks = between(console, BEGIN, END, "the checks")?;
    let exercises = between(console, EXERCISES_BEGIN, EXERCISES_END, "the exercises")?;
    Ok((checks, exercises))
}

fn between<'a>(console: &'a str, begin: &str, end: &str, what: &str) -> Result<&'a str, String> {
    let start = console
        .find(begin)
        .ok_or_else(|| format!("the guest never started {what} (no begin marker)"))?
        + begin.len();
    let stop = console[start..]
        .find(end)
        .ok_or_else(|| format!("{what} never finished (no end marker)"))?
        + start;
    Ok(console[start..stop].trim())
}

/// The last lines of a console, for a report.
pub fn tail(console: &str) -> String {
    let lines: Vec<&str> = console.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_version_compares_numbers() {
        let kernel = Kernel {
            series: "6.12",
            flavour: "cloud",
        };
        let index = "linux-image-6.12.9+deb12-cloud-amd64-unsigned - Linux\n\
                     linux-image-6.12.117+deb12-cloud-amd64-unsigned - Linux\n\
                     linux-image-6.12.117+deb12-rt-amd64-unsigned - Linux\n\
                     linux-image-6.1.0-56-cloud-amd64-unsigned - Linux\n";
        assert_eq!(
            newest_version(index, kernel).as_deref(),
            Some("6.12.117+deb12")
        );
        let old = Kernel {
            series: "6.1",
            flavour: "cloud",
        };
        assert_eq!(newest_version(index, old).as_deref(), Some("6.1.0-56"));
    }

    #[test]
    fn console_markers() {
        let console = "boot noise\nPAGELAB-JSON-BEGIN\n{\"a\": 1}\nPAGELAB-JSON-END rc=0\n\
                       PAGELAB-EXERCISES-BEGIN\n{\"b\": 2}\nPAGELAB-EXERCISES-END rc=0\n";
        assert_eq!(parse_console(console), Ok(("{\"a\": 1}", "{\"b\": 2}")));
        assert!(parse_console("Kernel panic").is_err());
        assert!(parse_console("PAGELAB-JSON-BEGIN\n{").is_err());
        let no_exercises = "PAGELAB-JSON-BEGIN\n{}\nPAGELAB-JSON-END rc=0\n";
        assert!(
            parse_console(no_exercises)
                .unwrap_err()
                .contains("exercises")
        );
    }
}
