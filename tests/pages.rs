//! Lesson 02, `pages`: every claim of lessons/02-pages.md, checked on this kernel. Its
//! `core` blocks must hold (not merely skip); the exercises' tests are in tests/exercises.rs.

mod common;

lesson_test!("pages");
