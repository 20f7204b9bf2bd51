//! Lesson 03, `lazy-allocation`: every claim of lessons/03-lazy-allocation.md, checked on this kernel. Its
//! `core` blocks must hold (not merely skip); the exercises' tests are in tests/exercises.rs.

mod common;

lesson_test!("lazy-allocation");
