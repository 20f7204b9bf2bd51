//! Lesson 06, `shared-file-mapping`: every claim of lessons/06-shared-file-mapping.md, checked on this kernel. Its
//! `core` blocks must hold (not merely skip); the exercises' tests are in tests/exercises.rs.

mod common;

lesson_test!("shared-file-mapping");
