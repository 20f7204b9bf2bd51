//! The static pagelab binaries the guests run: one per architecture and libc, built by
//! cargo with their paths taken from cargo's own report of what it built.

use super::tools::{run, run_quoting};
use std::fmt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// An architecture the matrix boots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Arch {
    X86_64,
    Aarch64,
}

impl Arch {
    /// The architecture of a Debian kernel flavour (`cloud-amd64`, `arm64-16k`).
    pub fn of_debian(debian: &str) -> Option<Arch> {
        match debian {
            "amd64" => Some(Arch::X86_64),
            "arm64" => Some(Arch::Aarch64),
            _ => None,
        }
    }

    /// The architecture of `std::env::consts::ARCH`.
    pub fn of_rust(name: &str) -> Option<Arch> {
        [Arch::X86_64, Arch::Aarch64]
            .into_iter()
            .find(|a| a.name() == name)
    }

    /// This machine's, for `doing` (the matrix, the release), which needs one of ours.
    pub fn host(doing: &str) -> Result<Arch, String> {
        let arch = std::env::consts::ARCH;
        Arch::of_rust(arch)
            .ok_or_else(|| format!("{doing} runs on x86_64 or aarch64 hosts, not {arch}"))
    }

    /// Rust's and the kernel's name (`std::env::consts::ARCH`, `uname -m`).
    pub fn name(self) -> &'static str {
        match self {
            Arch::X86_64 => "x86_64",
            Arch::Aarch64 => "aarch64",
        }
    }

    pub fn debian(self) -> &'static str {
        match self {
            Arch::X86_64 => "amd64",
            Arch::Aarch64 => "arm64",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Libc {
    /// Debian, Raspberry Pi OS, most distributions.
    Glibc,
    /// Alpine.
    Musl,
}

impl Libc {
    pub fn name(self) -> &'static str {
        match self {
            Libc::Glibc => "glibc",
            Libc::Musl => "musl",
        }
    }
}

/// What one guest binary is built for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GuestTarget {
    pub arch: Arch,
    pub libc: Libc,
}

impl fmt::Display for GuestTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.triple())
    }
}

/// The profile of the guest builds: release, under its own name so that neither these
/// builds nor the usual `cargo build --release` ever rebuild the other's outputs.
pub const PROFILE: &str = "matrix-guest";

impl GuestTarget {
    /// Every target a guest or a release binary is built for: both architectures the
    /// matrix boots, each with both C libraries.
    pub const ALL: [GuestTarget; 4] = [
        GuestTarget::new(Arch::X86_64, Libc::Glibc),
        GuestTarget::new(Arch::X86_64, Libc::Musl),
        GuestTarget::new(Arch::Aarch64, Libc::Glibc),
        GuestTarget::new(Arch::Aarch64, Libc::Musl),
    ];

    pub const fn new(arch: Arch, libc: Libc) -> GuestTarget {
        GuestTarget { arch, libc }
    }

    pub fn triple(self) -> String {
        let env = match self.libc {
            Libc::Glibc => "gnu",
            Libc::Musl => "musl",
        };
        format!("{}-unknown-linux-{env}", self.arch.name())
    }

    /// The linker, when the host's default `cc` cannot link this target: Debian's cross
    /// gcc for aarch64 glibc (it brings the static glibc), rust-lld for musl (the musl
    /// targets carry their own C runtime, so no C toolchain is needed).
    pub fn linker(self, host: Arch) -> Option<&'static str> {
        match (self.libc, self.arch) {
            (Libc::Musl, _) => Some("rust-lld"),
            (Libc::Glibc, arch) if arch == host => None,
            (Libc::Glibc, Arch::Aarch64) => Some("aarch64-linux-gnu-gcc"),
            (Libc::Glibc, Arch::X86_64) => Some("x86_64-linux-gnu-gcc"),
        }
    }

    /// Flags for rustc: static, so the binary runs in a guest with no libraries (musl
    /// targets are static by default; saying so costs nothing).
    pub fn rustflags(self) -> &'static [&'static str] {
        &["-C", "target-feature=+crt-static"]
    }

    /// `CARGO_TARGET_<TRIPLE>_<KEY>`.
    fn env_key(self, key: &str) -> String {
        format!(
            "CARGO_TARGET_{}_{key}",
            self.triple().to_ascii_uppercase().replace('-', "_")
        )
    }
}

/// The executable of binary `bin` in cargo's `--message-format=json` output: the last
/// `compiler-artifact` message of that bin target.
pub fn executable(messages: &str, bin: &str) -> Result<PathBuf, String> {
    let mut found = None;
    for line in messages.lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let target = &message["target"];
        let is_bin = target["kind"]
            .as_array()
            .is_some_and(|kinds| kinds.iter().any(|k| k == "bin"));
        if message["reason"] == "compiler-artifact"
            && target["name"] == bin
            && is_bin
            && let Some(path) = message["executable"].as_str()
        {
            found = Some(PathBuf::from(path));
        }
    }
    found.ok_or_else(|| format!("cargo reported no executable for bin `{bin}`"))
}

/// The rendered compiler errors in cargo's JSON output, for a failed build's message.
fn compiler_errors(messages: &str) -> String {
    messages
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|m| m["reason"] == "compiler-message" && m["message"]["level"] == "error")
        .filter_map(|m| m["message"]["rendered"].as_str().map(str::to_owned))
        .collect::<Vec<_>>()
        .join("")
}

/// Builds the static pagelab for `target` and returns its path.
pub fn build(manifest_dir: &Path, target: GuestTarget, host: Arch) -> Result<PathBuf, String> {
    let what = format!("building the static guest binary for {target}");
    let mut command = Command::new(env!("CARGO"));
    command
        .args(["build", "--bin", "pagelab", "--message-format=json"])
        .args(["--target", &target.triple(), "--profile", PROFILE])
        .args([
            "--config",
            &format!("profile.{PROFILE}.inherits=\"release\""),
        ])
        // The guest's flags must not depend on the caller's RUSTFLAGS (which would also
        // take precedence over target-specific ones): only this target's, set here.
        .env_remove("RUSTFLAGS")
        .env("CARGO_ENCODED_RUSTFLAGS", target.rustflags().join("\u{1f}"))
        .current_dir(manifest_dir);
    if let Some(linker) = target.linker(host) {
        command.env(target.env_key("LINKER"), linker);
    }
    let messages = run_quoting(&mut command, &what, |output| {
        // cargo reports a failed compilation in its JSON on stdout, not on stderr.
        format!(
            "{}{}",
            compiler_errors(&String::from_utf8_lossy(&output.stdout)),
            String::from_utf8_lossy(&output.stderr).trim()
        )
    })?;
    executable(&String::from_utf8_lossy(&messages), "pagelab").map_err(|e| format!("{what}: {e}"))
}

/// cargo's target directory (`CARGO_TARGET_DIR`, `build.target-dir` or `<workspace>/target`),
/// as cargo itself resolves it.
pub fn target_directory(manifest_dir: &Path) -> Result<PathBuf, String> {
    let metadata = run(
        Command::new(env!("CARGO"))
            .args(["metadata", "--format-version", "1", "--no-deps"])
            .current_dir(manifest_dir),
        "asking cargo for its target directory",
    )?;
    target_directory_of(&String::from_utf8_lossy(&metadata))
}

/// `target_directory` of `cargo metadata` JSON.
pub fn target_directory_of(metadata: &str) -> Result<PathBuf, String> {
    let json: serde_json::Value = serde_json::from_str(metadata)
        .map_err(|e| format!("cargo metadata printed malformed JSON: {e}"))?;
    json["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .ok_or_else(|| "cargo metadata has no target_directory".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bin_artifacts_executable_is_taken_not_a_library_or_build_script() {
        let messages = r#"{"reason":"compiler-artifact","target":{"kind":["custom-build"],"name":"build-script-build"},"executable":null}
{"reason":"compiler-artifact","target":{"kind":["lib"],"name":"pagelab"},"filenames":["/t/x/libpagelab.rlib"],"executable":null}
{"reason":"compiler-message","message":{"level":"warning","rendered":"warning: x"}}
not json at all
{"reason":"compiler-artifact","target":{"kind":["bin"],"name":"other"},"executable":"/t/other"}
{"reason":"compiler-artifact","target":{"kind":["bin"],"name":"pagelab"},"executable":"/elsewhere/aarch64-unknown-linux-musl/matrix-guest/pagelab","fresh":true}
{"reason":"build-finished","success":true}"#;
        assert_eq!(
            executable(messages, "pagelab").unwrap(),
            Path::new("/elsewhere/aarch64-unknown-linux-musl/matrix-guest/pagelab")
        );
        assert!(executable("{\"reason\":\"build-finished\"}", "pagelab").is_err());
    }

    #[test]
    fn errors_of_a_failed_build_are_rendered() {
        let messages = r#"{"reason":"compiler-message","message":{"level":"error","rendered":"error[E0308]: mismatched types\n"}}
{"reason":"compiler-message","message":{"level":"warning","rendered":"warning: unused\n"}}"#;
        assert_eq!(
            compiler_errors(messages),
            "error[E0308]: mismatched types\n"
        );
    }

    #[test]
    fn target_directory_comes_from_cargo_metadata() {
        let metadata = r#"{"packages":[],"target_directory":"/somewhere/else","version":1}"#;
        assert_eq!(
            target_directory_of(metadata).unwrap(),
            Path::new("/somewhere/else")
        );
        assert!(target_directory_of("{}").is_err());
    }

    /// Skipped, saying so, where this user cannot run the cargo that built the test (as
    /// `nobody`, `scripts/unprivileged.sh`: root's toolchain is not theirs to run).
    #[test]
    fn cargo_names_the_target_directory_this_test_was_built_in() {
        let cargo = Path::new(env!("CARGO"));
        if let Err(e) = std::process::Command::new(cargo).arg("--version").output() {
            eprintln!("skipped: {} cannot be run here: {e}", cargo.display());
            return;
        }
        let target = target_directory(Path::new(env!("CARGO_MANIFEST_DIR"))).unwrap();
        // Both resolved: the kernel names the running executable by its resolved path.
        let target = target.canonicalize().unwrap();
        let this_test = std::env::current_exe().unwrap().canonicalize().unwrap();
        assert!(
            this_test.starts_with(&target),
            "{} is not under {}",
            this_test.display(),
            target.display()
        );
    }

    #[test]
    fn triples_linkers_and_env_keys() {
        let arm_gnu = GuestTarget::new(Arch::Aarch64, Libc::Glibc);
        let x86_musl = GuestTarget::new(Arch::X86_64, Libc::Musl);
        let x86_gnu = GuestTarget::new(Arch::X86_64, Libc::Glibc);
        assert_eq!(arm_gnu.triple(), "aarch64-unknown-linux-gnu");
        assert_eq!(x86_musl.triple(), "x86_64-unknown-linux-musl");
        assert_eq!(arm_gnu.linker(Arch::X86_64), Some("aarch64-linux-gnu-gcc"));
        assert_eq!(x86_musl.linker(Arch::X86_64), Some("rust-lld"));
        assert_eq!(x86_gnu.linker(Arch::X86_64), None);
        assert_eq!(
            arm_gnu.env_key("LINKER"),
            "CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER"
        );
        assert_eq!(Arch::of_debian("arm64"), Some(Arch::Aarch64));
        assert_eq!(Arch::of_debian("s390x"), None);
    }
}
