//! Lesson 10, `reclaim`: every claim of lessons/10-reclaim.md, checked on this kernel. Its
//! `core` blocks must hold (not merely skip); the exercises' tests are in tests/exercises.rs.

mod common;

lesson_test!("reclaim");
