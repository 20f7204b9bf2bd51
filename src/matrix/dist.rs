//! `pagelab dev dist` (`just dist`): the static release binaries that the kernel matrix
//! boots, for x86-64 and aarch64 with glibc and with musl, built by the same function with
//! the same flags and profile (so each build serves both), copied into one directory with
//! a `SHA256SUMS` file that `sha256sum -c` checks.

use super::build::{self, Arch, GuestTarget};
use super::tools::{self, run, run_quoting};
use super::{apt, cache_dir, machine_mirrors};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The name of a target's binary in the release: `pagelab-x86_64-unknown-linux-musl`.
pub fn file_name(target: GuestTarget) -> String {
    format!("pagelab-{}", target.triple())
}

/// The release directory: `<cargo's target dir>/dist`.
pub fn default_dir(manifest_dir: &Path) -> Result<PathBuf, String> {
    Ok(build::target_directory(manifest_dir)?.join("dist"))
}

/// Builds every target's binary ([`GuestTarget::ALL`]) into `out`, then `SHA256SUMS`;
/// returns the binaries.
pub fn dist(manifest_dir: &Path, out: &Path) -> Result<Vec<PathBuf>, String> {
    let host = Arch::host("the release's build")?;
    let targets = GuestTarget::ALL;
    install_linkers(manifest_dir, &targets, host)?;
    tools::add_rust_targets(&targets, manifest_dir)?;
    std::fs::create_dir_all(out).map_err(|e| format!("creating {}: {e}", out.display()))?;
    let mut written = Vec::new();
    for target in targets {
        eprintln!("building the static pagelab for {target}...");
        let built = build::build(manifest_dir, target, host)?;
        let path = out.join(file_name(target));
        std::fs::copy(&built, &path)
            .map_err(|e| format!("{} -> {}: {e}", built.display(), path.display()))?;
        written.push(path);
    }
    write_sums(out, &written)?;
    Ok(written)
}

/// The cross linkers and static C libraries the glibc targets need, installed as the
/// kernel matrix installs them (as root or with passwordless sudo) where they are missing.
fn install_linkers(manifest_dir: &Path, targets: &[GuestTarget], host: Arch) -> Result<(), String> {
    let needed: Vec<tools::Tool> = targets
        .iter()
        .flat_map(|t| tools::linker_tools(*t, host))
        .collect();
    if needed.iter().all(|t| tools::which(t.file).is_some()) {
        return Ok(());
    }
    let mirrors = machine_mirrors()?;
    let apt = apt::Apt {
        dir: cache_dir(manifest_dir)?.join("apt"),
    };
    apt.prepare(&mirrors, host.debian(), false)?;
    tools::install_missing(&needed, &apt, &mirrors)
}

/// `SHA256SUMS` by `sha256sum` itself, checked back with `sha256sum -c`.
fn write_sums(out: &Path, binaries: &[PathBuf]) -> Result<(), String> {
    let names: Vec<&std::ffi::OsStr> = binaries.iter().filter_map(|p| p.file_name()).collect();
    let sums = run(
        Command::new("sha256sum").args(&names).current_dir(out),
        "summing the release binaries",
    )?;
    let path = out.join("SHA256SUMS");
    std::fs::write(&path, &sums).map_err(|e| format!("writing {}: {e}", path.display()))?;
    // `--check --quiet` names the files that do not match on stdout.
    run_quoting(
        Command::new("sha256sum")
            .args(["--check", "--quiet", "SHA256SUMS"])
            .current_dir(out),
        &format!("checking {}", path.display()),
        |output| String::from_utf8_lossy(&output.stdout).into_owned(),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_release_has_both_architectures_with_both_libcs() {
        let names: Vec<String> = GuestTarget::ALL.into_iter().map(file_name).collect();
        assert_eq!(
            names,
            [
                "pagelab-x86_64-unknown-linux-gnu",
                "pagelab-x86_64-unknown-linux-musl",
                "pagelab-aarch64-unknown-linux-gnu",
                "pagelab-aarch64-unknown-linux-musl"
            ]
        );
    }

    #[test]
    fn the_sums_are_sha256sums_own_and_checked_back() {
        let dir = tempfile::tempdir().unwrap();
        let binaries: Vec<PathBuf> = ["pagelab-a", "pagelab-b"]
            .iter()
            .map(|name| {
                let path = dir.path().join(name);
                std::fs::write(&path, name).unwrap();
                path
            })
            .collect();
        write_sums(dir.path(), &binaries).unwrap();
        let sums = std::fs::read_to_string(dir.path().join("SHA256SUMS")).unwrap();
        let names: Vec<&str> = sums
            .lines()
            .map(|l| l.split_once("  ").unwrap().1)
            .collect();
        assert_eq!(names, ["pagelab-a", "pagelab-b"], "{sums}");
        let error = write_sums(dir.path(), &[dir.path().join("missing")]).unwrap_err();
        assert!(
            error.starts_with("summing the release binaries: `sha256sum missing`"),
            "{error}"
        );
        // sha256sum's own words on stderr, which begin with the file (the rest is in the
        // locale's language).
        assert!(error.contains("): sha256sum: missing: "), "{error}");
    }
}
