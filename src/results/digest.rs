//! Which lessons a result file checked: a SHA-256 over every lesson's file name and text.
//! Two files whose digests differ checked different lessons (a claim moved, a value
//! changed), so their verdicts line by line cannot be compared.

use crate::catalog::Catalog;
use crate::lesson::Lesson;
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

const PREFIX: &str = "sha256:";

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct LessonsDigest([u8; 32]);

impl LessonsDigest {
    /// The digest of lessons given as (file name, text), in any order: the same files give
    /// the same digest whether they were built into the binary or read from a directory.
    pub fn of<'a>(lessons: impl IntoIterator<Item = (&'a str, &'a str)>) -> LessonsDigest {
        let mut lessons: Vec<(&str, &str)> = lessons.into_iter().collect();
        lessons.sort();
        let mut hash = Sha256::new();
        for (name, text) in lessons {
            // Lengths first, so that no two different sets frame into the same bytes.
            for part in [name, text] {
                hash.update((part.len() as u64).to_le_bytes());
                hash.update(part.as_bytes());
            }
        }
        LessonsDigest(hash.finalize().into())
    }

    /// The digest of lessons as loaded, by their file names (`01-mmap-anon.md`).
    pub fn of_lessons<'a>(lessons: impl IntoIterator<Item = &'a Lesson>) -> LessonsDigest {
        let named: Vec<(String, &str)> = lessons
            .into_iter()
            .map(|l| {
                let name = l.path.file_name().map(|n| n.to_string_lossy().into_owned());
                (name.unwrap_or_default(), l.source.as_str())
            })
            .collect();
        LessonsDigest::of(named.iter().map(|(name, text)| (name.as_str(), *text)))
    }

    pub fn of_catalog(catalog: &Catalog) -> LessonsDigest {
        LessonsDigest::of_lessons(&catalog.lessons)
    }

    /// `sha256:` and the first 12 hex digits, for messages where the full one is noise.
    pub fn short(&self) -> String {
        let full = self.to_string();
        full[..PREFIX.len() + 12].to_owned()
    }
}

impl fmt::Display for LessonsDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(PREFIX)?;
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for LessonsDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for LessonsDigest {
    type Err = String;

    fn from_str(text: &str) -> Result<LessonsDigest, String> {
        let bad = |why: &str| format!("lessons_digest {text:?}: {why}");
        let hex = text
            .strip_prefix(PREFIX)
            .ok_or_else(|| bad("expected `sha256:` and 64 hex digits"))?;
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad("expected 64 hex digits after `sha256:`"));
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte =
                u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).map_err(|e| bad(&e.to_string()))?;
        }
        Ok(LessonsDigest(bytes))
    }
}

impl serde::Serialize for LessonsDigest {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for LessonsDigest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_covers_names_and_texts_in_any_order() {
        let a = LessonsDigest::of([("01-a.md", "x"), ("02-b.md", "y")]);
        assert_eq!(a, LessonsDigest::of([("02-b.md", "y"), ("01-a.md", "x")]));
        assert_ne!(a, LessonsDigest::of([("01-a.md", "x"), ("02-b.md", "y ")]));
        assert_ne!(a, LessonsDigest::of([("01-a.md", "x"), ("03-b.md", "y")]));
        // Moving a byte from a name into a text changes the framing, and the digest.
        assert_ne!(
            LessonsDigest::of([("ab", "c")]),
            LessonsDigest::of([("a", "bc")])
        );
        let text = a.to_string();
        assert!(
            text.starts_with("sha256:") && text.len() == 7 + 64,
            "{text}"
        );
        assert_eq!(text.parse::<LessonsDigest>(), Ok(a));
        assert_eq!(a.short().len(), 7 + 12);
        for bad in [
            "",
            "sha256:12",
            "md5:00",
            &text.replace("sha256:", "sha256:zz")[..71],
        ] {
            assert!(bad.parse::<LessonsDigest>().is_err(), "{bad}");
        }
    }

    #[test]
    fn embedded_lessons_and_the_same_files_in_a_directory_have_one_digest() {
        let dir = Catalog::load(&crate::catalog::lessons_dir()).unwrap();
        let embedded = Catalog::embedded().unwrap();
        assert_eq!(
            LessonsDigest::of_catalog(&dir),
            LessonsDigest::of_catalog(&embedded)
        );
    }
}
