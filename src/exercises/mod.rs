//! Your homework: one file per lesson, one function per exercise.
//!
//! Each function's documentation says what it must do; its lesson (`lessons/NN-*.md`, or
//! `cargo run -- show <lesson>`) explains the memory behind it. The tests check your function by
//! what the kernel shows after it ran (Rss, smaps fields, maps lines, file contents, fault
//! counts), so it must really make the system calls.
//!
//! `cargo run` shows your progress, `cargo run -- hint <exercise>` the hints, `cargo run --
//! watch` reruns the current exercise every time you save, `cargo test` checks everything.

pub mod file_mappings;
pub mod fork_cow;
pub mod giving_memory_back;
pub mod hugetlb;
pub mod lazy_allocation;
pub mod mmap_anon;
pub mod pages;
pub mod posix_shm;
pub mod process;
pub mod realtime;
pub mod reclaim;
pub mod shared_file_mapping;
pub mod thp;
