//! `pagelab book OUT`: the course as a static website that shows its proof. pagelab writes
//! the book's source for mdBook (book.toml, SUMMARY.md, a chapter per lesson with its claim
//! blocks as HTML, the figures as SVG) and runs the `mdbook` program to build it. mdBook is a
//! program, not a dependency: nothing of the book reaches a student's `cargo build`.

mod chapter;
mod figures;
mod html;
mod pages;
pub mod results;

use crate::kernel::KernelProbe;
use crate::lesson::Lesson;
use crate::proof::LessonProof;
use crate::results::{LessonsDigest, Loaded};
use results::Configuration;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The mdBook version the recipe and CI install, and the book is tested with (the
/// justfile's `mdbook_version` says it again for the shell).
pub const MDBOOK_VERSION: &str = "0.5.4";

/// Marks a directory as one `pagelab book` wrote, so that writing again may replace it.
const MARKER: &str = "# Written by `pagelab book`; rewritten on every build.";

const CSS: &str = include_str!("pagelab.css");

/// What was written.
pub struct Written {
    /// Chapters in SUMMARY.md (introduction, lessons, exercises, kernels).
    pub pages: usize,
    pub figures: usize,
}

/// Writes the book's source into `dir`: `book.toml`, `pagelab.css` and `src/`. A `dir` that
/// holds anything but an earlier book is refused, never overwritten.
pub fn write_source(
    dir: &Path,
    probe: &KernelProbe,
    lessons: &[(&Lesson, &LessonProof)],
    extra: Vec<Loaded>,
) -> Result<Written, String> {
    prepare(dir)?;
    let proofs: Vec<&LessonProof> = lessons.iter().map(|(_, p)| *p).collect();
    let digest = LessonsDigest::of_lessons(lessons.iter().map(|(l, _)| *l));
    results::same_lessons_as(&digest, &extra)?;
    let mut loaded = vec![results::this_build(probe, &proofs, digest)];
    loaded.extend(extra);
    // The Kernels chapter's table is the one `pagelab matrix --format json` gives.
    let matrix = crate::matrix::table::Matrix::of(&loaded);
    let columns: Vec<Configuration> = loaded
        .iter()
        .enumerate()
        .map(|(n, l)| Configuration::of(&matrix, n + 1, l))
        .collect();
    // Beside each claim line: the configurations other than this build, whose verdict leads.
    let others = &columns[1..];
    let src = dir.join("src");
    let mut summary = String::from("# Summary\n\n[How to read this book](introduction.md)\n\n");
    let mut files = vec![(
        "introduction.md".to_owned(),
        pages::introduction(probe, lessons, others),
    )];
    let mut figures = 0;
    for (lesson, proof) in lessons {
        let name = chapter::file_name(lesson);
        let written = chapter::chapter(lesson, proof, others);
        figures += written.figures;
        summary.push_str(&format!(
            "- [{}]({name})\n",
            lesson.front.title.replace(['[', ']'], "")
        ));
        files.push((name, written.markdown));
    }
    let (kernels, grids) = pages::kernels(lessons, &columns, &matrix);
    figures += grids;
    summary.push_str("- [Exercises](exercises.md)\n- [Kernels](kernels.md)\n");
    files.push(("exercises.md".into(), pages::exercises(lessons)));
    files.push(("kernels.md".into(), kernels));
    let pages = files.len();
    files.push(("SUMMARY.md".into(), summary));
    for (name, text) in &files {
        write(&src.join(name), text)?;
    }
    write(&dir.join("book.toml"), &book_toml())?;
    write(&dir.join("pagelab.css"), CSS)?;
    Ok(Written { pages, figures })
}

fn book_toml() -> String {
    format!(
        "{MARKER}\n[book]\ntitle = \"pagelab: Linux memory, checked on the kernel\"\nauthors = [\"pagelab\"]\nlanguage = \"en\"\ndescription = \"Lessons about Linux memory whose every claim is checked on real kernels.\"\n\n[build]\nbuild-dir = \"html\"\ncreate-missing = false\n\n[output.html]\nadditional-css = [\"pagelab.css\"]\ndefault-theme = \"light\"\n"
    )
}

/// Makes `dir` ready for a fresh book: created if missing, emptied of an earlier book's
/// `src/` and `html/`, refused if it holds something else.
fn prepare(dir: &Path) -> Result<(), String> {
    let toml = dir.join("book.toml");
    if dir.exists() {
        let ours = std::fs::read_to_string(&toml).is_ok_and(|t| t.starts_with(MARKER));
        let empty = std::fs::read_dir(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))?
            .next()
            .is_none();
        if !ours && !empty {
            return Err(format!(
                "{} exists and is not a book `pagelab book` wrote (no book.toml of its own): choose an empty or new directory",
                dir.display()
            ));
        }
        for sub in ["src", "html"] {
            let path = dir.join(sub);
            if path.exists() {
                std::fs::remove_dir_all(&path)
                    .map_err(|e| format!("removing {}: {e}", path.display()))?;
            }
        }
    }
    std::fs::create_dir_all(dir.join("src")).map_err(|e| format!("creating {}: {e}", dir.display()))
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()))
}

/// How to get mdBook, for the message when it is missing.
pub fn install_hint() -> String {
    format!(
        "mdBook {MDBOOK_VERSION} builds the site: install it with `just mdbook` (`just book` does too), or pass --source-only to write only the book's source"
    )
}

/// Runs `mdbook build` on the source in `dir`; returns the site's directory.
pub fn build(dir: &Path) -> Result<PathBuf, String> {
    let output = Command::new("mdbook")
        .arg("build")
        .arg(dir)
        .output()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                format!("no `mdbook` program on PATH. {}", install_hint())
            }
            _ => format!("running mdbook: {e}"),
        })?;
    if !output.status.success() {
        return Err(format!(
            "mdbook build {} failed ({}):\n{}",
            dir.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(dir.join("html"))
}
