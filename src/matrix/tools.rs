//! The host tools the matrix needs, installed when missing: QEMU per architecture, the
//! cross linker for aarch64 glibc, cpio, xz (for kernel modules), and the Rust targets of the
//! guest binaries.

use super::apt::{Apt, Mirrors};
use super::build::{Arch, GuestTarget, Libc};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A tool and the Debian package that has it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tool {
    /// A program on PATH, or an absolute path of a file the package installs.
    pub file: &'static str,
    pub package: &'static str,
}

const BASE: &[Tool] = &[
    Tool {
        file: "apt-get",
        package: "apt",
    },
    Tool {
        file: "dpkg",
        package: "dpkg",
    },
    Tool {
        file: "gzip",
        package: "gzip",
    },
    Tool {
        file: "cpio",
        package: "cpio",
    },
    // Debian's 6.x kernels compress their modules with xz; the guests load them plain.
    Tool {
        file: "xz",
        package: "xz-utils",
    },
];

/// The emulator of an architecture's guests.
pub fn qemu(arch: Arch) -> Tool {
    match arch {
        Arch::X86_64 => Tool {
            file: "qemu-system-x86_64",
            package: "qemu-system-x86",
        },
        Arch::Aarch64 => Tool {
            file: "qemu-system-aarch64",
            package: "qemu-system-arm",
        },
    }
}

/// What linking a guest binary for `target` needs on this host.
pub fn linker_tools(target: GuestTarget, host: Arch) -> Vec<Tool> {
    match (target.libc, target.arch) {
        (Libc::Glibc, Arch::Aarch64) if host != Arch::Aarch64 => vec![
            Tool {
                file: "aarch64-linux-gnu-gcc",
                package: "gcc-aarch64-linux-gnu",
            },
            Tool {
                file: "/usr/aarch64-linux-gnu/lib/libc.a",
                package: "libc6-dev-arm64-cross",
            },
        ],
        (Libc::Glibc, Arch::X86_64) if host != Arch::X86_64 => vec![
            Tool {
                file: "x86_64-linux-gnu-gcc",
                package: "gcc-x86-64-linux-gnu",
            },
            Tool {
                file: "/usr/x86_64-linux-gnu/lib/libc.a",
                package: "libc6-dev-amd64-cross",
            },
        ],
        // The host's own static glibc.
        (Libc::Glibc, Arch::X86_64) => vec![Tool {
            file: "/usr/lib/x86_64-linux-gnu/libc.a",
            package: "libc6-dev",
        }],
        (Libc::Glibc, Arch::Aarch64) => vec![Tool {
            file: "/usr/lib/aarch64-linux-gnu/libc.a",
            package: "libc6-dev",
        }],
        (Libc::Musl, _) => Vec::new(),
    }
}

/// Every tool the given guests and targets need.
pub fn needed(arches: &[Arch], targets: &[GuestTarget], host: Arch) -> Vec<Tool> {
    let mut tools: Vec<Tool> = BASE.to_vec();
    tools.extend(arches.iter().map(|a| qemu(*a)));
    tools.extend(targets.iter().flat_map(|t| linker_tools(*t, host)));
    let mut seen = Vec::new();
    tools.retain(|t| {
        let new = !seen.contains(&t.package);
        seen.push(t.package);
        new
    });
    tools
}

pub fn which(program: &str) -> Option<PathBuf> {
    if program.starts_with('/') {
        return Path::new(program).is_file().then(|| PathBuf::from(program));
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|path| path.is_file())
    })
}

/// Installs the packages of missing tools (as root, through the private apt state).
pub fn install_missing(tools: &[Tool], apt: &Apt, mirrors: &Mirrors) -> Result<(), String> {
    let missing: Vec<&str> = tools
        .iter()
        .filter(|t| which(t.file).is_none())
        .map(|t| t.package)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    // SAFETY: geteuid has no preconditions and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    let sudo = !root
        && which("sudo").is_some()
        && Command::new("sudo")
            .args(["-n", "true"])
            .output()
            .is_ok_and(|o| o.status.success());
    if !root && !sudo {
        return Err(format!(
            "missing tools; as root (or with passwordless sudo) pagelab installs them itself, \
             or run as root: apt-get {}",
            apt.install_arguments(mirrors, &missing).join(" ")
        ));
    }
    eprintln!(
        "installing {}{}...",
        missing.join(" "),
        if sudo { " (sudo)" } else { "" }
    );
    apt.install(mirrors, &missing, sudo)?;
    match tools.iter().find(|t| which(t.file).is_none()) {
        Some(tool) => Err(format!(
            "{} was installed but {} is still missing",
            tool.package, tool.file
        )),
        None => Ok(()),
    }
}

/// Adds the Rust targets that the toolchain building the guests lacks.
pub fn add_rust_targets(targets: &[GuestTarget], manifest_dir: &Path) -> Result<(), String> {
    let sysroot = run(
        Command::new("rustc")
            .args(["--print", "sysroot"])
            .current_dir(manifest_dir),
        "asking rustc for its sysroot",
    )?;
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot).trim());
    let missing: Vec<String> = targets
        .iter()
        .map(|t| t.triple())
        .filter(|t| !sysroot.join("lib/rustlib").join(t).join("lib").is_dir())
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("adding Rust targets {}...", missing.join(" "));
    run(
        Command::new("rustup")
            .args(["target", "add"])
            .args(&missing)
            .current_dir(manifest_dir),
        &format!(
            "adding the Rust targets {} (without rustup, install these targets' std yourself)",
            missing.join(" ")
        ),
    )?;
    Ok(())
}

/// Runs a host command to its end and returns what it printed on stdout. An error names
/// `what` the run was for, the command line (and the directory it ran in), its exit status
/// and what it printed on stderr.
pub(super) fn run(command: &mut Command, what: &str) -> Result<Vec<u8>, String> {
    run_quoting(command, what, |output| {
        String::from_utf8_lossy(&output.stderr).into_owned()
    })
}

/// [`run`], with the error of a failed run quoting `quote` of its output instead of its
/// stderr: some programs say what went wrong elsewhere (`sha256sum --check` on stdout,
/// cargo's compiler errors in its JSON) or amid warnings that are no part of the failure.
pub(super) fn run_quoting(
    command: &mut Command,
    what: &str,
    quote: impl FnOnce(&Output) -> String,
) -> Result<Vec<u8>, String> {
    let output = command
        .output()
        .map_err(|e| format!("{what}: cannot run {}: {e}", command_line(command)))?;
    if output.status.success() {
        return Ok(output.stdout);
    }
    let quoted = quote(&output);
    let quoted = quoted.trim();
    // A report of several lines (compiler errors, apt's `E:` lines) reads from its own first
    // line on.
    let separator = match quoted {
        "" => "",
        _ if quoted.contains('\n') => ":\n",
        _ => ": ",
    };
    Err(format!(
        "{what}: {} failed ({}){separator}{quoted}",
        command_line(command),
        output.status
    ))
}

/// The program and its arguments as a POSIX shell would take them (single-quoted where a
/// word has anything the shell would act on), and the directory it runs in when that is not
/// this process's. The environment the caller set is not shown.
fn command_line(command: &Command) -> String {
    let words: Vec<String> = std::iter::once(command.get_program())
        .chain(command.get_args())
        .map(|word| {
            let word = word.to_string_lossy();
            // Only characters no POSIX shell acts on go bare.
            let plain = !word.is_empty()
                && word
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_./:=,+@%-".contains(c));
            if plain {
                word.into_owned()
            } else {
                // Inside single quotes a shell expands nothing; a quote itself is closed,
                // escaped and reopened.
                format!("'{}'", word.replace('\'', r"'\''"))
            }
        })
        .collect();
    match command.get_current_dir() {
        Some(dir) => format!("`{}` (in {})", words.join(" "), dir.display()),
        None => format!("`{}`", words.join(" ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_gives_stdout_and_a_failure_names_the_command_its_status_and_stderr() {
        let printed = run(
            Command::new("sh").args(["-c", "printf out; printf noise >&2"]),
            "printing",
        );
        assert_eq!(printed.unwrap(), b"out");
        let error = run(
            Command::new("sh")
                .args(["-c", "echo 'E: no such package' >&2; exit 3", "x y"])
                .current_dir("/"),
            "fetching",
        )
        .unwrap_err();
        assert_eq!(
            error,
            r#"fetching: `sh -c 'echo '\''E: no such package'\'' >&2; exit 3' 'x y'` (in /) failed (exit status: 3): E: no such package"#
        );
        let error = run(&mut Command::new("/nonexistent/program"), "starting").unwrap_err();
        assert!(
            error.starts_with("starting: cannot run `/nonexistent/program`: "),
            "{error}"
        );
    }

    #[test]
    fn a_failure_can_quote_stdout_and_puts_several_lines_below() {
        let error = run_quoting(
            Command::new("sh").args(["-c", "echo one; echo two; echo noise >&2; false"]),
            "checking",
            |output| String::from_utf8_lossy(&output.stdout).into_owned(),
        )
        .unwrap_err();
        assert_eq!(
            error,
            "checking: `sh -c 'echo one; echo two; echo noise >&2; false'` failed \
             (exit status: 1):\none\ntwo"
        );
        let silent = run(Command::new("sh").args(["-c", "exit 1"]), "x").unwrap_err();
        assert!(silent.ends_with("failed (exit status: 1)"), "{silent}");
    }

    #[test]
    fn tools_follow_the_guests_and_targets() {
        let arm_gnu = GuestTarget::new(Arch::Aarch64, Libc::Glibc);
        let arm_musl = GuestTarget::new(Arch::Aarch64, Libc::Musl);
        let packages = |tools: Vec<Tool>| tools.iter().map(|t| t.package).collect::<Vec<_>>();
        let only_musl = packages(needed(&[Arch::Aarch64], &[arm_musl], Arch::X86_64));
        assert!(only_musl.contains(&"qemu-system-arm"));
        assert!(!only_musl.contains(&"qemu-system-x86"));
        assert!(!only_musl.contains(&"gcc-aarch64-linux-gnu"));
        let both = packages(needed(
            &[Arch::X86_64, Arch::Aarch64],
            &[arm_gnu, arm_musl],
            Arch::X86_64,
        ));
        for package in [
            "qemu-system-x86",
            "gcc-aarch64-linux-gnu",
            "libc6-dev-arm64-cross",
            "cpio",
        ] {
            assert!(both.contains(&package), "{package}: {both:?}");
        }
        assert_eq!(
            both.len(),
            both.iter().collect::<std::collections::BTreeSet<_>>().len()
        );
    }
}
