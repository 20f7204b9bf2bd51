//! Lesson 04, `fork-cow`: every claim of lessons/04-fork-cow.md, checked on this kernel. Its
//! `core` blocks must hold (not merely skip); the exercises' tests are in tests/exercises.rs.

mod common;

lesson_test!("fork-cow");
