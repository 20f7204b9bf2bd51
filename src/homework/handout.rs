//! `pagelab handout <dir>`: the student's copy of the crate. The same crate, with every
//! exercise's solution (between `// BEGIN SOLUTION <id>` and `// END SOLUTION` in
//! `src/exercises/`) replaced by a `todo!()` stub under the task and first hint, and the
//! fakes the checks must reject (between `// BEGIN FAKES` and `// END FAKES` in
//! `src/homework/checks/`) left out: they are often other exercises' solutions (mlock for a
//! populate, MADV_FREE for a give-back, MAP_SHARED where MAP_PRIVATE was asked). The
//! justfile loses its authors' recipes (between `# BEGIN AUTHORS` and `# END AUTHORS`),
//! whose scripts and `.ci/` the handout does not have.

use crate::lesson::ExerciseText;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// What the student gets: everything that builds and tests the crate, and the one script
/// the student's recipes use. Not `.ci/` and the other scripts (they run the authors'
/// checks: soak, speed, release, CI), not `target/`, not `.git/`.
const COPIED: &[&str] = &[
    "build.rs",
    "Cargo.toml",
    "Cargo.lock",
    "README.md",
    "justfile",
    "benches",
    "lessons",
    "scripts/target-dir.sh",
    "src",
    "tests",
];

/// Put at the top of the handout's README, which otherwise speaks of the solutions.
const HANDOUT_NOTE: &str = "> **This is a handout.** The exercises in `src/exercises/` are \
`todo!()` stubs: `cargo test` fails once for each until you write it. `cargo run` shows your \
progress, `cargo run -- hint <exercise>` the hints, `cargo run -- watch` checks the current \
exercise on every save. The section *Homework* below tells more. The justfile has the \
recipes for the lessons and exercises; the authors' (CI, releases, soak and speed runs) and their \
scripts stay in the pagelab repository.\n\n";

/// Where the student's functions live; every `.rs` file there is stubbed.
pub const EXERCISES_DIR: &str = "src/exercises";

pub const BEGIN: &str = "// BEGIN SOLUTION ";
pub const END: &str = "// END SOLUTION";

/// Where the checks are declared with their fakes; every `.rs` file there loses its fakes.
pub const CHECKS_DIR: &str = "src/homework/checks";

pub const BEGIN_FAKES: &str = "// BEGIN FAKES";
pub const END_FAKES: &str = "// END FAKES";

/// The justfile's authors' recipes are between these lines; the handout's justfile has none.
pub const BEGIN_AUTHORS: &str = "# BEGIN AUTHORS";
pub const END_AUTHORS: &str = "# END AUTHORS";

#[derive(Debug, PartialEq, Eq)]
pub struct Handout {
    pub files: usize,
    /// Exercise ids stubbed, in file order.
    pub stubbed: Vec<String>,
    /// How many `// BEGIN FAKES` regions were left out.
    pub fake_regions: usize,
}

/// Writes the handout of the crate at `source` into `dest`, which must not exist or be empty.
pub fn write(
    source: &Path,
    dest: &Path,
    texts: &BTreeMap<String, ExerciseText>,
) -> Result<Handout, String> {
    if dest.exists() {
        let mut entries =
            std::fs::read_dir(dest).map_err(|e| format!("{}: {e}", dest.display()))?;
        if entries.next().is_some() {
            return Err(format!(
                "{} exists and is not empty: a handout goes into a new directory",
                dest.display()
            ));
        }
    }
    std::fs::create_dir_all(dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    let mut handout = Handout {
        files: 0,
        stubbed: Vec::new(),
        fake_regions: 0,
    };
    for name in COPIED {
        let from = source.join(name);
        if !from.exists() {
            return Err(format!(
                "{} is missing: is {} the pagelab crate?",
                from.display(),
                source.display()
            ));
        }
        copy_tree(&from, &dest.join(name), &mut handout.files)?;
    }
    let exercises = dest.join(EXERCISES_DIR);
    for path in rust_files(&exercises)? {
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let shown = Path::new(EXERCISES_DIR).join(path.file_name().unwrap_or_default());
        let (stubbed, ids) = stub(&text, texts).map_err(|e| format!("{}:{e}", shown.display()))?;
        std::fs::write(&path, stubbed).map_err(|e| format!("{}: {e}", path.display()))?;
        handout.stubbed.extend(ids);
    }
    for path in rust_files(&dest.join(CHECKS_DIR))? {
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let shown = Path::new(CHECKS_DIR).join(path.file_name().unwrap_or_default());
        let (kept, regions) = strip_fakes(&text).map_err(|e| format!("{}:{e}", shown.display()))?;
        std::fs::write(&path, kept).map_err(|e| format!("{}: {e}", path.display()))?;
        handout.fake_regions += regions;
    }
    let justfile = dest.join("justfile");
    let text =
        std::fs::read_to_string(&justfile).map_err(|e| format!("{}: {e}", justfile.display()))?;
    let student = strip_authors(&text).map_err(|e| format!("justfile:{e}"))?;
    std::fs::write(&justfile, student).map_err(|e| format!("{}: {e}", justfile.display()))?;
    std::fs::write(dest.join(".gitignore"), "/target\n")
        .map_err(|e| format!("{}: {e}", dest.display()))?;
    let readme = dest.join("README.md");
    let text =
        std::fs::read_to_string(&readme).map_err(|e| format!("{}: {e}", readme.display()))?;
    std::fs::write(&readme, format!("{HANDOUT_NOTE}{text}"))
        .map_err(|e| format!("{}: {e}", readme.display()))?;
    Ok(handout)
}

/// Copies `from` to `to`, counting the files.
fn copy_tree(from: &Path, to: &Path, files: &mut usize) -> Result<(), String> {
    let meta = std::fs::metadata(from).map_err(|e| format!("{}: {e}", from.display()))?;
    if meta.is_dir() {
        std::fs::create_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
        let mut entries: Vec<PathBuf> = std::fs::read_dir(from)
            .map_err(|e| format!("{}: {e}", from.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for entry in entries {
            let name = entry.file_name().unwrap_or_default();
            copy_tree(&entry, &to.join(name), files)?;
        }
    } else {
        if let Some(parent) = to.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("{}: {e}", parent.display()))?;
        }
        std::fs::copy(from, to)
            .map_err(|e| format!("copying {} to {}: {e}", from.display(), to.display()))?;
        *files += 1;
    }
    Ok(())
}

/// The `.rs` files of a directory, sorted.
pub fn rust_files(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rs"))
        .collect();
    files.sort();
    Ok(files)
}

/// A region between a pair of markers: the lines (1-based) of its BEGIN and END, and the
/// name after BEGIN (a solution's exercise id; empty for fakes).
struct Region {
    name: String,
    begin: usize,
    end: usize,
}

/// One kind of region's markers. A named BEGIN ends with a space, the name after it.
struct Markers {
    begin: &'static str,
    end: &'static str,
    named: bool,
}

const SOLUTION_MARKERS: Markers = Markers {
    begin: BEGIN,
    end: END,
    named: true,
};

const FAKE_MARKERS: Markers = Markers {
    begin: BEGIN_FAKES,
    end: END_FAKES,
    named: false,
};

const AUTHORS_MARKERS: Markers = Markers {
    begin: BEGIN_AUTHORS,
    end: END_AUTHORS,
    named: false,
};

impl Markers {
    /// What a region is called in an error.
    fn region(&self, name: &str) -> String {
        if self.named {
            format!("solution `{name}`")
        } else {
            format!("`{}`", self.begin)
        }
    }

    /// The regions of `text`, in order. Errors name the line (`12: …`) of an unbalanced or
    /// nameless marker.
    fn regions(&self, text: &str) -> Result<Vec<Region>, String> {
        let mut found = Vec::new();
        let mut open: Option<(String, usize)> = None;
        for (i, line) in text.lines().enumerate() {
            let trimmed = line.trim();
            let begins = match trimmed.strip_prefix(self.begin) {
                Some(name) if self.named => Some(name.trim()),
                Some("") => Some(""),
                _ => None,
            };
            if let Some(name) = begins {
                if let Some((other, at)) = &open {
                    let region = self.region(other);
                    return Err(format!("{}: {region} (line {at}) is not closed", i + 1));
                }
                if self.named && name.is_empty() {
                    return Err(format!("{}: `{}` names no exercise", i + 1, self.begin));
                }
                open = Some((name.to_owned(), i + 1));
            } else if trimmed == self.end {
                let Some((name, begin)) = open.take() else {
                    return Err(format!("{}: `{}` without a BEGIN", i + 1, self.end));
                };
                found.push(Region {
                    name,
                    begin,
                    end: i + 1,
                });
            }
        }
        match open {
            Some((name, at)) => Err(format!("{at}: {} is not closed", self.region(&name))),
            None => Ok(found),
        }
    }
}

/// `text` with each region (markers included) replaced by what `replace` makes of it, given
/// the indentation of its BEGIN line.
fn replace_regions(
    text: &str,
    regions: &[Region],
    mut replace: impl FnMut(&Region, &str) -> Result<String, String>,
) -> Result<String, String> {
    let mut out = String::new();
    for (i, line) in text.lines().enumerate() {
        let n = i + 1;
        match regions.iter().find(|r| (r.begin..=r.end).contains(&n)) {
            Some(region) if region.begin == n => {
                let indent = &line[..line.len() - line.trim_start().len()];
                out.push_str(&replace(region, indent)?);
            }
            Some(_) => {}
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    Ok(out)
}

/// The solutions of one exercise file: `(id, line of BEGIN)`, in order. Errors name the
/// line (`12: …`) of an unbalanced or nameless marker.
pub fn solutions(text: &str) -> Result<Vec<(String, usize)>, String> {
    let regions = SOLUTION_MARKERS.regions(text)?;
    Ok(regions.into_iter().map(|r| (r.name, r.begin)).collect())
}

/// The code of solution `id` in an exercise file: the lines between its `// BEGIN SOLUTION`
/// and `// END SOLUTION`, markers left out. `None` if the file has no such solution (or its
/// markers do not balance).
pub fn solution_body(text: &str, id: &str) -> Option<String> {
    let regions = SOLUTION_MARKERS.regions(text).ok()?;
    let region = regions.iter().find(|r| r.name == id)?;
    let lines = text
        .lines()
        .skip(region.begin)
        .take(region.end - region.begin - 1);
    Some(lines.flat_map(|line| [line, "\n"]).collect())
}

/// The fake regions of a check file: the lines (1-based) of each `// BEGIN FAKES` and its
/// `// END FAKES`. Errors name the line (`12: …`) of an unbalanced marker.
pub fn fake_regions(text: &str) -> Result<Vec<(usize, usize)>, String> {
    let regions = FAKE_MARKERS.regions(text)?;
    Ok(regions.into_iter().map(|r| (r.begin, r.end)).collect())
}

/// The check file without its fake regions (markers included), and how many there were.
pub fn strip_fakes(text: &str) -> Result<(String, usize), String> {
    let regions = FAKE_MARKERS.regions(text)?;
    let out = replace_regions(text, &regions, |_, _| Ok(String::new()))?;
    Ok((out, regions.len()))
}

/// The justfile without its authors' recipes (markers included). A handout's own justfile
/// has none left (its tests make a handout of it); an authors' recipe left unmarked is found
/// by [`missing_from_justfile`], which the handout's test and `pagelab dev check` run.
pub fn strip_authors(text: &str) -> Result<String, String> {
    let regions = AUTHORS_MARKERS.regions(text)?;
    let out = replace_regions(text, &regions, |_, _| Ok(String::new()))?;
    Ok(format!("{}\n", out.trim_end()))
}

/// The files a justfile's recipes name, with the line (1-based) of each: the words of its
/// recipe lines (comments aside) that are relative paths (`scripts/soak.sh`, `.ci/run`,
/// `src/homework/checks/*.rs`). A word made with a variable (`"$target/release/pagelab"`),
/// an absolute path, an option or a URL is none.
pub fn justfile_paths(text: &str) -> Vec<(usize, String)> {
    let mut paths = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let words = line.split(|c: char| c.is_whitespace() || "\"'(){}[]=;|<>&,".contains(c));
        for word in words {
            let word = word.trim_end_matches([':', '.']);
            let relative = word
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '.');
            if relative && word.contains('/') && !word.contains("://") {
                paths.push((i + 1, word.to_owned()));
            }
        }
    }
    paths
}

/// What the justfile in `dir` names but `dir` does not have, as `justfile:LINE: …`. A glob
/// (`src/homework/checks/*.rs`) needs its directory.
pub fn missing_from_justfile(dir: &Path) -> Result<Vec<String>, String> {
    let justfile = dir.join("justfile");
    let text =
        std::fs::read_to_string(&justfile).map_err(|e| format!("{}: {e}", justfile.display()))?;
    Ok(justfile_paths(&text)
        .into_iter()
        .filter(|(_, path)| {
            let fixed = match path.find(['*', '?']) {
                Some(at) => &path[..path[..at].rfind('/').unwrap_or(0)],
                None => path,
            };
            !dir.join(fixed).exists()
        })
        .map(|(line, path)| format!("justfile:{line}: `{path}` is not in {}", dir.display()))
        .collect())
}

/// Replaces each solution by a stub with the task and first hint as comments. The file then
/// allows unused variables: the stubs do not use their arguments yet.
pub fn stub(
    text: &str,
    texts: &BTreeMap<String, ExerciseText>,
) -> Result<(String, Vec<String>), String> {
    let regions = SOLUTION_MARKERS.regions(text)?;
    let body = replace_regions(text, &regions, |region, indent| {
        let id = &region.name;
        let not_set = |what| format!("{}: solution `{id}` is not {what}", region.begin);
        let exercise = texts
            .get(id)
            .ok_or_else(|| not_set("an exercise any lesson sets"))?;
        let test = crate::homework::find(id)
            .ok_or_else(|| not_set("in the exercise registry"))?
            .test_command();
        let mut lines = format!("{indent}// Exercise `{id}`: {}\n", exercise.task);
        if let Some(hint) = exercise.hints.first() {
            lines.push_str(&format!("{indent}// Hint: {hint}\n"));
        }
        lines.push_str(&format!(
            "{indent}// More hints: `cargo run -- hint {id}`. Check it: `cargo run -- watch` or `{test}`.\n"
        ));
        lines.push_str(&format!("{indent}todo!(\"exercise `{id}`\")\n"));
        Ok(lines)
    })?;
    let out = format!(
        "// The stubs below do not use their arguments yet.\n#![allow(unused_variables)]\n{body}"
    );
    Ok((out, regions.into_iter().map(|r| r.name).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts() -> BTreeMap<String, ExerciseText> {
        let e = ExerciseText {
            id: "map-anonymous".into(),
            line: 3,
            task: "do a".into(),
            hints: vec!["try b".into(), "then c".into()],
            hint_lines: vec![4, 5],
        };
        BTreeMap::from([(e.id.clone(), e)])
    }

    #[test]
    fn stubs_replace_solutions_and_keep_the_rest() {
        let src = "use x;\n\npub fn f(n: u8) -> u8 {\n    // BEGIN SOLUTION map-anonymous\n    n + 1\n    // END SOLUTION\n}\n";
        let (out, ids) = stub(src, &texts()).unwrap();
        assert_eq!(ids, ["map-anonymous"]);
        assert!(!out.contains("n + 1"), "{out}");
        assert!(
            out.contains("    // Exercise `map-anonymous`: do a\n    // Hint: try b\n"),
            "{out}"
        );
        assert!(
            out.contains("`cargo test exercise_map_anonymous`"),
            "the registry's test command: {out}"
        );
        assert!(
            out.contains("    todo!(\"exercise `map-anonymous`\")\n}\n"),
            "{out}"
        );
        assert!(out.contains("use x;\n\npub fn f(n: u8) -> u8 {\n"), "{out}");
        assert!(
            !out.contains("then c"),
            "only the first hint goes in the source"
        );
    }

    #[test]
    fn fakes_are_left_out_with_their_markers() {
        let src = "a! {\n    f {\n        lock,\n        // BEGIN FAKES\n        fakes: [x],\n        // END FAKES\n    }\n}\n// BEGIN FAKES\nmod fake;\n// END FAKES\n";
        let (out, regions) = strip_fakes(src).unwrap();
        assert_eq!(out, "a! {\n    f {\n        lock,\n    }\n}\n");
        assert_eq!(regions, 2);
    }

    /// Every kind of region balances alike: a BEGIN left open, an END without a BEGIN and a
    /// BEGIN inside an open region are errors that name their line.
    #[test]
    fn markers_of_every_kind_must_balance() {
        for markers in [&SOLUTION_MARKERS, &FAKE_MARKERS, &AUTHORS_MARKERS] {
            let begin = if markers.named {
                format!("{}a", markers.begin)
            } else {
                markers.begin.to_owned()
            };
            let end = markers.end;
            let error = |text: String| match markers.regions(&text) {
                Ok(_) => panic!("{text:?} balances"),
                Err(error) => error,
            };
            let unclosed = format!("2: {} is not closed", markers.region("a"));
            assert_eq!(error(format!("x\n{begin}\n")), unclosed);
            assert_eq!(
                error(format!("{end}\n")),
                format!("1: `{end}` without a BEGIN")
            );
            assert!(error(format!("{begin}\n{begin}\n")).starts_with("2:"));
        }
    }

    #[test]
    fn a_solution_is_found_by_the_exercise_it_names_which_must_be_set() {
        assert_eq!(
            solution_body("a\n// BEGIN SOLUTION x\nb\n  c\n// END SOLUTION\n", "x").as_deref(),
            Some("b\n  c\n")
        );
        assert_eq!(solution_body("// BEGIN SOLUTION x\nb\n", "x"), None);
        assert_eq!(
            solution_body("// BEGIN SOLUTION xy\n// END SOLUTION\n", "x"),
            None
        );
        assert!(
            stub("// BEGIN SOLUTION zz\n// END SOLUTION\n", &texts())
                .unwrap_err()
                .contains("`zz` is not an exercise any lesson sets")
        );
        let mut unregistered = texts();
        let mut text = unregistered["map-anonymous"].clone();
        text.id = "zz".into();
        unregistered.insert("zz".into(), text);
        assert!(
            stub("// BEGIN SOLUTION zz\n// END SOLUTION\n", &unregistered)
                .unwrap_err()
                .contains("`zz` is not in the exercise registry")
        );
    }

    #[test]
    fn the_authors_recipes_are_left_out_and_must_be_marked() {
        let justfile = "# list\ndefault:\n    @just --list\n\n# BEGIN AUTHORS\n# CI\nci:\n    bash .ci/run\n\n# END AUTHORS\n";
        assert_eq!(
            strip_authors(justfile).unwrap(),
            "# list\ndefault:\n    @just --list\n"
        );
        let handouts = "# list\ndefault:\n    @just --list\n";
        assert_eq!(strip_authors(handouts).unwrap(), handouts);
        assert!(
            strip_authors("# BEGIN AUTHORS\n")
                .unwrap_err()
                .starts_with("1:")
        );
    }

    #[test]
    fn a_justfiles_paths_are_the_relative_words_of_its_recipes() {
        let justfile = r#"# scripts/in-a-comment.sh
lint:
    cargo fmt --check -- src/homework/checks/*.rs
    bash scripts/soak.sh {{tests}} && python3 scripts/check_formats.py "$kunit" "$(bash scripts/target-dir.sh)/debug/pagelab"
    #!/usr/bin/env bash
    "$target/release/pagelab" matrix > "$target/m.md" 2>/dev/null; bash .ci/run
    curl https://example.org/x -o /tmp/x --results=results/here
"#;
        let expected = [
            (3, "src/homework/checks/*.rs"),
            (4, "scripts/soak.sh"),
            (4, "scripts/check_formats.py"),
            (4, "scripts/target-dir.sh"),
            (6, ".ci/run"),
            (7, "results/here"),
        ]
        .map(|(n, p)| (n, p.to_owned()));
        assert_eq!(justfile_paths(justfile), expected);
    }
}
