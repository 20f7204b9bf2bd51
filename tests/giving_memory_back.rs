//! Lesson 09, `giving-memory-back`: every claim of lessons/09-giving-memory-back.md, checked on this kernel. Its
//! `core` blocks must hold (not merely skip); the exercises' tests are in tests/exercises.rs.

mod common;

lesson_test!("giving-memory-back");
