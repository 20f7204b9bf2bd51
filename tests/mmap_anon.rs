//! Lesson 01, `mmap-anon`: every claim of lessons/01-mmap-anon.md, checked on this kernel. Its
//! `core` blocks must hold (not merely skip); the exercises' tests are in tests/exercises.rs.

mod common;

lesson_test!("mmap-anon");
