//! Lesson 02, `pages`: every claim of lessons/02-pages.md, checked on this kernel.

mod common;

/// The experiment forks: while the child lives, every private page of this process is
/// shared, which other tests' Pss/Private_* readings must not see.
#[test]
fn every_claim_of_the_lesson_holds_on_this_kernel() {
    let _fork = common::FORK.exclusive();
    common::every_claim_holds("pages");
}
