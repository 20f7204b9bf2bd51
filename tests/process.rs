//! Lesson 13, `process`: every claim of lessons/13-process.md, checked on this kernel. Its
//! `core` blocks must hold (not merely skip); the exercises' tests are in tests/exercises.rs.

mod common;

lesson_test!("process");
