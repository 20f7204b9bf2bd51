//! Lesson 11, `posix-shm`: every claim of lessons/11-posix-shm.md, checked on this kernel. Its
//! `core` blocks must hold (not merely skip); the exercises' tests are in tests/exercises.rs.

mod common;

lesson_test!("posix-shm");
