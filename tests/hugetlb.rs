//! Lesson 12, `hugetlb`: every claim of lessons/12-hugetlb.md, checked on this kernel. Its
//! `core` blocks must hold (not merely skip); the exercises' tests are in tests/exercises.rs.

mod common;

lesson_test!("hugetlb");
