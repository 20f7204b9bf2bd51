//! Every lesson's claims, checked on this kernel: a test per lesson of the catalog,
//! generated, so that a new lesson needs no test file. `<slug>::every_claim_holds_on_this_kernel`
//! performs the lesson's experiment once, with the fork lock its `forks()` asks for, and
//! requires every claim to get a verdict, every skip its reason, no failure, and the `core`
//! blocks decided (`common::lesson_holds`). The exercises' tests are in tests/exercises.rs.
//!
//! A `harness = false` test on libtest-mimic, as tests/exercises.rs is: libtest takes tests
//! only from `#[test]` functions, which cannot be generated from the lessons' files.
//! `cargo test --test lessons mmap_anon` runs one lesson's.

mod common;

use libtest_mimic::{Arguments, Failed, Trial};
use std::panic::{AssertUnwindSafe, catch_unwind};

fn main() {
    let args = Arguments::from_args();
    let trials = common::catalog()
        .lessons
        .iter()
        .map(|lesson| {
            let id = lesson.id().to_owned();
            let name = format!("{}::every_claim_holds_on_this_kernel", id.replace('-', "_"));
            Trial::test(name, move || holds(&id))
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

/// [`common::lesson_holds`], whose failed assertion (a panic, printed by the panic hook with
/// its message) is the test's failure.
fn holds(id: &str) -> Result<(), Failed> {
    let _fork = common::fork_lock(id);
    catch_unwind(AssertUnwindSafe(|| common::lesson_holds(id)))
        .map_err(|_| format!("lesson `{id}`: see the panic above").into())
}
