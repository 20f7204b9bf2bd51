//! Lesson 05, `file-mappings`: every claim of lessons/05-file-mappings.md, checked on this kernel. Its
//! `core` blocks must hold (not merely skip); the exercises' tests are in tests/exercises.rs.

mod common;

lesson_test!("file-mappings");
