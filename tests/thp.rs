//! Lesson 08, `thp`: every claim of lessons/08-thp.md, checked on this kernel. Its
//! `core` blocks must hold (not merely skip); the exercises' tests are in tests/exercises.rs.

mod common;

lesson_test!("thp");
