//! Kernel modules a configuration needs (zram, for swap): found in the kernel's package,
//! their dependencies read from each module's own `.modinfo` section (the package has no
//! `modules.dep`: depmod writes it when the package is installed), decompressed on the
//! host, and kept in the kernel's cache slot in load order, dependencies first. The guest's
//! busybox `insmod` loads them as they are; it resolves nothing itself.

use super::find_files;
use super::tools::run;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A module's name from its file name: `lz4hc_compress.ko.xz` -> `lz4hc_compress`. The
/// kernel treats `-` and `_` in module names alike; file names use either.
pub fn module_name(file_name: &str) -> Option<String> {
    let stem = [".ko", ".ko.xz", ".ko.gz"]
        .iter()
        .find_map(|ext| file_name.strip_suffix(ext))?;
    (!stem.is_empty()).then(|| stem.replace('-', "_"))
}

/// The `key=value` strings of an ELF file's `.modinfo` section (64-bit, little-endian: the
/// x86-64 and arm64 kernels the matrix boots).
pub fn modinfo(elf: &[u8]) -> Result<Vec<(String, String)>, String> {
    let bad = |what: &str| format!("not a 64-bit little-endian ELF module: {what}");
    if elf.len() < 64 || &elf[..4] != b"\x7fELF" || elf[4] != 2 || elf[5] != 1 {
        return Err(bad("header"));
    }
    let u16_at = |at: usize| -> Result<usize, String> {
        elf.get(at..at + 2)
            .map(|b| u16::from_le_bytes([b[0], b[1]]) as usize)
            .ok_or_else(|| bad("truncated"))
    };
    let u32_at = |at: usize| -> Result<usize, String> {
        elf.get(at..at + 4)
            .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")) as usize)
            .ok_or_else(|| bad("truncated"))
    };
    let u64_at = |at: usize| -> Result<usize, String> {
        elf.get(at..at + 8)
            .map(|b| u64::from_le_bytes(b.try_into().expect("8 bytes")) as usize)
            .ok_or_else(|| bad("truncated"))
    };
    let (shoff, shentsize, shnum, shstrndx) =
        (u64_at(0x28)?, u16_at(0x3a)?, u16_at(0x3c)?, u16_at(0x3e)?);
    let section = |i: usize| -> Result<(usize, &[u8]), String> {
        let header = shoff + i * shentsize;
        let (name, offset, size) = (
            u32_at(header)?,
            u64_at(header + 0x18)?,
            u64_at(header + 0x20)?,
        );
        let data = elf
            .get(offset..offset + size)
            .ok_or_else(|| bad("section past the end"))?;
        Ok((name, data))
    };
    let (_, names) = section(shstrndx)?;
    for i in 0..shnum {
        let (name, data) = section(i)?;
        let name = names
            .get(name..)
            .and_then(|rest| rest.split(|b| *b == 0).next())
            .ok_or_else(|| bad("section name"))?;
        if name == b".modinfo" {
            return Ok(data
                .split(|b| *b == 0)
                .filter_map(|entry| {
                    let text = std::str::from_utf8(entry).ok()?;
                    let (key, value) = text.split_once('=')?;
                    Some((key.to_owned(), value.to_owned()))
                })
                .collect());
        }
    }
    Err("the module has no .modinfo section".into())
}

/// The modules `depends=` names in a module's `.modinfo` (modular dependencies only:
/// built-in ones are not listed).
pub fn depends(elf: &[u8]) -> Result<Vec<String>, String> {
    Ok(modinfo(elf)?
        .into_iter()
        .filter(|(key, _)| key == "depends")
        .flat_map(|(_, value)| {
            value
                .split(',')
                .filter(|d| !d.is_empty())
                .map(|d| d.replace('-', "_"))
                .collect::<Vec<_>>()
        })
        .collect())
}

/// A module's dependencies by name, or `None` where it is built into the kernel (nothing
/// to load).
pub type DependsOf<'a> = dyn FnMut(&str) -> Result<Option<Vec<String>>, String> + 'a;

/// The load order of `wanted` and what it depends on, dependencies first.
pub fn load_order(wanted: &str, depends_of: &mut DependsOf<'_>) -> Result<Vec<String>, String> {
    fn visit(
        name: &str,
        depends_of: &mut DependsOf<'_>,
        visiting: &mut Vec<String>,
        order: &mut Vec<String>,
    ) -> Result<(), String> {
        if order.iter().any(|n| n == name) {
            return Ok(());
        }
        if visiting.iter().any(|n| n == name) {
            return Err(format!(
                "modules depend on each other in a cycle: {} -> {name}",
                visiting.join(" -> ")
            ));
        }
        let Some(depends) = depends_of(name)? else {
            return Ok(());
        };
        visiting.push(name.to_owned());
        for dependency in &depends {
            visit(dependency, depends_of, visiting, order)?;
        }
        visiting.pop();
        order.push(name.to_owned());
        Ok(())
    }
    let mut order = Vec::new();
    visit(
        &wanted.replace('-', "_"),
        depends_of,
        &mut Vec::new(),
        &mut order,
    )?;
    Ok(order)
}

/// A module file's contents, decompressed (Debian compresses modules with xz from 6.x on).
pub fn read_module(path: &Path) -> Result<Vec<u8>, String> {
    let name = path.display();
    let program = match path.extension().and_then(|e| e.to_str()) {
        Some("ko") => return std::fs::read(path).map_err(|e| format!("{name}: {e}")),
        Some("xz") => "xz",
        Some("gz") => "gzip",
        _ => return Err(format!("{name}: not a module file this matrix can read")),
    };
    run(
        Command::new(program).arg("-dc").arg(path),
        "decompressing a kernel module",
    )
}

/// The modules an unpacked kernel package has: name -> file, and the names built in
/// (`modules.builtin`), under `lib/modules/<release>/` or `usr/lib/modules/<release>/`.
pub struct PackageModules {
    pub files: BTreeMap<String, PathBuf>,
    pub builtin: BTreeSet<String>,
}

impl PackageModules {
    pub fn find(root: &Path) -> PackageModules {
        let mut files = BTreeMap::new();
        let mut builtin = BTreeSet::new();
        for base in ["lib/modules", "usr/lib/modules"] {
            let Ok(releases) = std::fs::read_dir(root.join(base)) else {
                continue;
            };
            for release in releases.filter_map(|e| e.ok().map(|e| e.path())) {
                if let Ok(text) = std::fs::read_to_string(release.join("modules.builtin")) {
                    builtin.extend(
                        text.lines().filter_map(|line| {
                            module_name(line.rsplit('/').next().unwrap_or(line))
                        }),
                    );
                }
                for path in find_files(&release.join("kernel"), &|_| true) {
                    if let Some(name) = path
                        .file_name()
                        .and_then(|n| n.to_str())
                        .and_then(module_name)
                    {
                        files.insert(name, path);
                    }
                }
            }
        }
        PackageModules { files, builtin }
    }

    /// `wanted` and its dependencies, decompressed, in load order; empty where the kernel
    /// has it built in.
    pub fn closure(&self, wanted: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
        let mut contents: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let order = load_order(wanted, &mut |name| {
            if let Some(path) = self.files.get(name) {
                let bytes = read_module(path)?;
                let depends = depends(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
                contents.insert(name.to_owned(), bytes);
                Ok(Some(depends))
            } else if self.builtin.contains(name) {
                Ok(None)
            } else {
                Err(format!(
                    "the kernel package has no module {name}, and it is not built in"
                ))
            }
        })?;
        Ok(order
            .into_iter()
            .map(|name| {
                let bytes = contents.remove(&name).expect("read while ordering");
                (name, bytes)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ELF64 little-endian file: a null section, `.shstrtab`, and `.modinfo` with
    /// `entries`.
    fn elf_with_modinfo(entries: &[&str]) -> Vec<u8> {
        let names = b"\0.shstrtab\0.modinfo\0".to_vec();
        let mut modinfo = Vec::new();
        for entry in entries {
            modinfo.extend_from_slice(entry.as_bytes());
            modinfo.push(0);
        }
        let mut elf = vec![0u8; 64];
        elf[..4].copy_from_slice(b"\x7fELF");
        elf[4] = 2;
        elf[5] = 1;
        let names_at = elf.len();
        elf.extend_from_slice(&names);
        let modinfo_at = elf.len();
        elf.extend_from_slice(&modinfo);
        let shoff = elf.len();
        let header = |name: u32, offset: usize, size: usize| {
            let mut h = vec![0u8; 64];
            h[..4].copy_from_slice(&name.to_le_bytes());
            h[0x18..0x20].copy_from_slice(&(offset as u64).to_le_bytes());
            h[0x20..0x28].copy_from_slice(&(size as u64).to_le_bytes());
            h
        };
        elf.extend(header(0, 0, 0));
        elf.extend(header(1, names_at, names.len()));
        elf.extend(header(11, modinfo_at, modinfo.len()));
        elf[0x28..0x30].copy_from_slice(&(shoff as u64).to_le_bytes());
        elf[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
        elf[0x3c..0x3e].copy_from_slice(&3u16.to_le_bytes());
        elf[0x3e..0x40].copy_from_slice(&1u16.to_le_bytes());
        elf
    }

    #[test]
    fn dependencies_come_from_the_modinfo_section() {
        // As in Debian's 6.12 cloud-amd64 zram.ko.
        let zram = elf_with_modinfo(&[
            "license=Dual BSD/GPL",
            "depends=zsmalloc,lz4hc_compress,lz4_compress",
            "name=zram",
        ]);
        assert_eq!(
            depends(&zram).unwrap(),
            ["zsmalloc", "lz4hc_compress", "lz4_compress"]
        );
        assert!(
            depends(&elf_with_modinfo(&["depends=", "name=zsmalloc"]))
                .unwrap()
                .is_empty()
        );
        assert!(
            modinfo(b"not an elf file at all, but long enough to have a header......").is_err()
        );
    }

    #[test]
    fn dependencies_load_first_and_once_built_in_ones_not_at_all() {
        let graph: BTreeMap<&str, Option<&[&str]>> = [
            (
                "zram",
                Some(&["zsmalloc", "lz4_compress", "lz4hc_compress"][..]),
            ),
            ("lz4hc_compress", Some(&["lz4_compress"][..])),
            ("lz4_compress", Some(&[][..])),
            ("zsmalloc", None),
        ]
        .into();
        let mut depends_of = |name: &str| {
            graph
                .get(name)
                .map(|d| d.map(|d| d.iter().map(|s| (*s).to_owned()).collect()))
                .ok_or_else(|| format!("no {name}"))
        };
        assert_eq!(
            load_order("zram", &mut depends_of).unwrap(),
            ["lz4_compress", "lz4hc_compress", "zram"]
        );
        assert_eq!(
            load_order("zsmalloc", &mut depends_of).unwrap(),
            Vec::<String>::new()
        );
        assert!(load_order("nothing", &mut depends_of).is_err());
        let mut cycle = |name: &str| Ok(Some(vec![if name == "a" { "b" } else { "a" }.to_owned()]));
        assert!(load_order("a", &mut cycle).unwrap_err().contains("cycle"));
    }

    #[test]
    fn compressed_modules_are_read_decompressed() {
        let dir = tempfile::tempdir().unwrap();
        let module = dir.path().join("zram.ko");
        std::fs::write(&module, b"\x7fELF a module").unwrap();
        run(Command::new("gzip").arg("-k").arg(&module), "compressing").unwrap();
        assert_eq!(
            read_module(&dir.path().join("zram.ko.gz")).unwrap(),
            b"\x7fELF a module"
        );
        let broken = dir.path().join("broken.ko.gz");
        std::fs::write(&broken, b"not gzip").unwrap();
        let error = read_module(&broken).unwrap_err();
        assert!(
            error.starts_with(&format!(
                "decompressing a kernel module: `gzip -dc {}` failed",
                broken.display()
            )),
            "{error}"
        );
        // gzip's own words on stderr, which begin with the file (the rest is in the locale's
        // language).
        let quoted = format!("): gzip: {}: ", broken.display());
        assert!(error.contains(&quoted), "{error}");
    }

    #[test]
    fn a_packages_modules_are_found_by_name_under_either_modules_directory() {
        let root = tempfile::tempdir().unwrap();
        let files = [
            "lib/modules/6.1.0-57-cloud-amd64/kernel/drivers/block/zram/zram.ko.xz",
            "lib/modules/6.1.0-57-cloud-amd64/kernel/lib/lz4hc-compress.ko",
            "lib/modules/6.1.0-57-cloud-amd64/kernel/lib/README",
            "usr/lib/modules/7.2.13+deb14-arm64/kernel/mm/zsmalloc.ko.gz",
        ];
        for file in files {
            let path = root.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
        std::fs::write(
            root.path()
                .join("lib/modules/6.1.0-57-cloud-amd64/modules.builtin"),
            "kernel/lib/lz4/lz4_compress.ko\n",
        )
        .unwrap();
        let found = PackageModules::find(root.path());
        let names: Vec<&str> = found.files.keys().map(String::as_str).collect();
        assert_eq!(names, ["lz4hc_compress", "zram", "zsmalloc"]);
        assert_eq!(
            found.files["zram"],
            root.path().join(files[0]),
            "{:?}",
            found.files
        );
        assert_eq!(found.builtin, BTreeSet::from(["lz4_compress".to_owned()]));
    }

    #[test]
    fn module_names_from_file_names() {
        assert_eq!(module_name("zram.ko.xz").as_deref(), Some("zram"));
        assert_eq!(module_name("virtio-blk.ko").as_deref(), Some("virtio_blk"));
        assert_eq!(module_name("zram.ko.zst"), None);
        assert_eq!(module_name("modules.dep"), None);
    }
}
