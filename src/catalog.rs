//! All lessons of a directory, checked against the experiments that perform them: ids
//! unique, each lesson has its experiment, every step, subject and outcome a block names
//! exists there.

use crate::experiment::{Experiment, OutcomeKind};
use crate::experiments;
use crate::homework;
use crate::lesson::value::OutcomeExpected;
use crate::lesson::{BlockKind, Claimed, Lesson, LessonError};
use std::path::{Path, PathBuf};

pub struct Catalog {
    pub lessons: Vec<Lesson>,
}

/// Every problem found, so an author fixes them in one go.
#[derive(Debug, thiserror::Error)]
#[error("{}", errors.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))]
pub struct CatalogError {
    pub errors: Vec<LessonError>,
}

/// The lessons as they were when this binary was built (build.rs), so that it checks
/// them wherever it runs, with no source tree.
mod embedded {
    include!(concat!(env!("OUT_DIR"), "/lessons.rs"));
}

/// The directory that holds the source tree's lessons: `$PAGELAB_LESSONS`, else this
/// crate's `lessons/`. For the authors' tools (handout, dev check) and the tests.
pub fn lessons_dir() -> PathBuf {
    lessons_from_env().unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("lessons"))
}

/// `$PAGELAB_LESSONS`, unless it is unset or empty: `PAGELAB_LESSONS= pagelab` (a variable
/// cleared the shell's way) names no directory, and would fail to read "".
fn lessons_from_env() -> Option<PathBuf> {
    std::env::var_os("PAGELAB_LESSONS")
        .filter(|dir| !dir.is_empty())
        .map(PathBuf::from)
}

/// Where the lessons a command checks come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A directory of lessons, named by `$PAGELAB_LESSONS` (authors, handouts under way).
    Dir(PathBuf),
    /// The lessons built into the binary.
    Embedded,
}

impl Source {
    /// `$PAGELAB_LESSONS` when it is set and not empty, else the built-in lessons.
    pub fn from_env() -> Source {
        match lessons_from_env() {
            Some(dir) => Source::Dir(dir),
            None => Source::Embedded,
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Dir(dir) => write!(f, "the lessons in {}", dir.display()),
            Source::Embedded => f.write_str("the lessons built into this binary"),
        }
    }
}

impl Catalog {
    pub fn open(source: &Source) -> Result<Catalog, CatalogError> {
        match source {
            Source::Dir(dir) => Catalog::load(dir),
            Source::Embedded => Catalog::embedded(),
        }
    }

    /// The built-in lessons, named `lessons/NN-slug.md` as in the source tree.
    pub fn embedded() -> Result<Catalog, CatalogError> {
        let parsed = embedded::EMBEDDED.iter().map(|(name, text)| {
            let path = Path::new("lessons").join(name);
            (path.clone(), Lesson::parse(&path, (*text).to_owned()))
        });
        Catalog::gather(parsed).map_err(|mut e| {
            if e.errors.is_empty() {
                e.errors.push(LessonError {
                    file: PathBuf::from("lessons"),
                    line: 0,
                    message: "no lessons were built into this binary".into(),
                });
            }
            e
        })
    }

    pub fn load(dir: &Path) -> Result<Catalog, CatalogError> {
        let fail = |line, message: String| CatalogError {
            errors: vec![LessonError {
                file: dir.to_owned(),
                line,
                message,
            }],
        };
        let entries = std::fs::read_dir(dir)
            .map_err(|e| fail(0, format!("cannot read the lessons directory: {e}")))?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "md"))
            .collect();
        paths.sort();
        let loaded = paths.into_iter().map(|path| {
            let lesson = Lesson::load(&path);
            (path, lesson)
        });
        Catalog::gather(loaded).map_err(|mut e| {
            if e.errors.is_empty() {
                e.errors = fail(0, "no lessons (NN-slug.md files) found".into()).errors;
            }
            e
        })
    }

    /// Lessons read one by one, checked as a whole: file names, unique ids, each against
    /// its experiment. An empty error list means there were no lessons at all.
    fn gather(
        read: impl Iterator<Item = (PathBuf, Result<Lesson, LessonError>)>,
    ) -> Result<Catalog, CatalogError> {
        let mut errors = Vec::new();
        let mut lessons: Vec<Lesson> = Vec::new();
        for (path, lesson) in read {
            if let Err(e) = check_file_name(&path) {
                errors.push(e);
                continue;
            }
            match lesson {
                Ok(lesson) => {
                    if let Some(other) = lessons.iter().find(|l| l.id() == lesson.id()) {
                        errors.push(LessonError {
                            file: path.clone(),
                            line: lesson.id_line(),
                            message: format!(
                                "duplicate id `{}`: {} has it too",
                                lesson.id(),
                                other.path.display()
                            ),
                        });
                        continue;
                    }
                    errors.extend(validate(&lesson));
                    lessons.push(lesson);
                }
                Err(e) => errors.push(e),
            }
        }
        if errors.is_empty() && !lessons.is_empty() {
            Ok(Catalog { lessons })
        } else {
            Err(CatalogError { errors })
        }
    }

    /// Finds a lesson by id, by file stem (`01-mmap-anon`), by number (`1`, `01`) or by
    /// file name, alone or in a path (`lessons/01-mmap-anon.md`): a path names the lesson
    /// of that file name, as its stem does, wherever the file is.
    pub fn find(&self, name: &str) -> Option<&Lesson> {
        let file_name = name
            .ends_with(".md")
            .then(|| Path::new(name).file_name())
            .flatten();
        // Digits only: `u32::from_str` would take `+5` too.
        let number = |text: &str| {
            (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
                .then(|| text.parse::<u32>().ok())
                .flatten()
        };
        let asked = number(name);
        self.lessons.iter().find(|l| {
            let stem = l.path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
            l.id() == name
                || stem == name
                || file_name.is_some_and(|f| l.path.file_name() == Some(f))
                || asked.is_some_and(|n| number(stem.split('-').next().unwrap_or("")) == Some(n))
        })
    }

    pub fn ids(&self) -> Vec<&str> {
        self.lessons.iter().map(|l| l.id()).collect()
    }
}

fn check_file_name(path: &Path) -> Result<(), LessonError> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let ok = name.len() > 6
        && name.as_bytes()[..2].iter().all(u8::is_ascii_digit)
        && name.as_bytes()[2] == b'-';
    if ok {
        Ok(())
    } else {
        Err(LessonError {
            file: path.to_owned(),
            line: 0,
            message: "a lesson file is named NN-slug.md (two digits, a dash, a slug)".into(),
        })
    }
}

/// Checks a lesson's blocks against its experiment's vocabulary.
pub fn validate(lesson: &Lesson) -> Vec<LessonError> {
    let error = |line, message: String| LessonError {
        file: lesson.path.clone(),
        line,
        message,
    };
    let experiment = match experiments::performing(lesson.id()) {
        Ok(experiment) => experiment,
        Err(none) => return vec![error(lesson.id_line(), none)],
    };
    let mut errors = validate_against(lesson, experiment);
    errors.extend(validate_exercises(lesson));
    errors
}

/// Checks a lesson's exercise blocks against the exercises that have checks.
fn validate_exercises(lesson: &Lesson) -> Vec<LessonError> {
    lesson
        .exercises
        .iter()
        .filter_map(|text| {
            let message = match homework::find(&text.id) {
                None => format!(
                    "exercise `{}` has no check: no `exercises!` declaration in src/homework/checks/ names it (add `{} {{ fork_lock: … }}` to the `exercises!` of src/homework/checks/{}.rs, a module that checks/mod.rs lists); declared are {}",
                    text.id,
                    text.id.replace('-', "_"),
                    lesson.id().replace('-', "_"),
                    homework::ALL
                        .iter()
                        .map(|e| e.id)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                Some(e) if e.lesson != lesson.id() => format!(
                    "exercise `{}` belongs to lesson `{}`, not `{}`: it is declared in {}",
                    text.id,
                    e.lesson,
                    lesson.id(),
                    e.declared_in()
                ),
                Some(_) => return None,
            };
            Some(LessonError {
                file: lesson.path.clone(),
                line: text.line,
                message,
            })
        })
        .collect()
}

fn validate_against(lesson: &Lesson, experiment: &dyn Experiment) -> Vec<LessonError> {
    let vocabulary = experiment.vocabulary();
    let mut errors = Vec::new();
    let mut error = |line, message: String| {
        errors.push(LessonError {
            file: lesson.path.clone(),
            line,
            message,
        })
    };
    for block in &lesson.blocks {
        if !vocabulary.steps.iter().any(|s| s.id == block.step) {
            let known: Vec<&str> = vocabulary.steps.iter().map(|s| s.id).collect();
            error(
                block.line,
                format!(
                    "step `{}` is not a step of experiment `{}`; its steps: {}",
                    block.step,
                    experiment.id(),
                    known.join(", ")
                ),
            );
        }
        if let Some(of) = &block.of
            && vocabulary.subject(of).is_none()
        {
            let known: Vec<&str> = vocabulary.subjects.iter().map(|s| s.as_str()).collect();
            error(
                block.line,
                format!(
                    "of=`{of}` names nothing experiment `{}` observes; it observes: {}",
                    experiment.id(),
                    known.join(", ")
                ),
            );
        }
        if block.kind == BlockKind::Outcome {
            for claim in &block.claims {
                let Claimed::Outcome {
                    key: name,
                    expected,
                } = &claim.claimed
                else {
                    continue;
                };
                match vocabulary.outcome(name) {
                    None => {
                        let known: Vec<&str> = vocabulary.outcomes.iter().map(|o| o.name).collect();
                        error(
                            claim.line,
                            format!(
                                "outcome `{name}` is not something experiment `{}` reports; it reports: {}",
                                experiment.id(),
                                known.join(", ")
                            ),
                        );
                    }
                    Some(key) => {
                        let problem = match expected {
                            OutcomeExpected::Is(written) => key.kind.accepts(written).err(),
                            OutcomeExpected::Compare(..) if key.kind != OutcomeKind::Count => Some(
                                format!("`{}` compares, and only counts compare", claim.written),
                            ),
                            _ => None,
                        };
                        if let Some(why) = problem {
                            error(claim.line, format!("outcome `{name}`: {why}"));
                        }
                    }
                }
            }
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every way a lesson is named finds it, and a number finds it however it is written;
    /// nothing else finds one.
    #[test]
    fn a_lesson_is_found_by_id_stem_number_or_file_name() {
        let catalog = Catalog::embedded().expect("the built-in lessons load");
        let id = |name: &str| catalog.find(name).map(Lesson::id);
        for name in [
            "file-mappings",
            "05-file-mappings",
            "5",
            "05",
            "005",
            "05-file-mappings.md",
            "/elsewhere/05-file-mappings.md",
        ] {
            assert_eq!(id(name), Some("file-mappings"), "{name}");
        }
        for name in ["0", "99", "-5", "+5", "file", "05-file-mappings.txt", ""] {
            assert_eq!(id(name), None, "{name}");
        }
    }
}
