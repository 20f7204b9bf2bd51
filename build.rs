//! Embeds the lessons in the binary, so that it checks them wherever it is copied or
//! installed, also after its source tree is gone (`PAGELAB_LESSONS` still points it at a
//! directory, for authors).

use std::path::Path;

fn main() {
    // A directory here makes cargo rerun this script when any file below it changes, is
    // added or removed.
    println!("cargo:rerun-if-changed=lessons");
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let dir = Path::new(&manifest).join("lessons");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.ends_with(".md"))
        .collect();
    names.sort();
    let entries: String = names
        .iter()
        .map(|name| {
            let path = dir.join(name);
            format!(
                "    ({name:?}, include_str!({:?})),\n",
                path.display().to_string()
            )
        })
        .collect();
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("lessons.rs");
    std::fs::write(
        &out,
        format!("/// Each lesson's file name and text.\npub const EMBEDDED: &[(&str, &str)] = &[\n{entries}];\n"),
    )
    .unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
}
