//! Lesson 03, `lazy-allocation`: every claim of lessons/03-lazy-allocation.md, checked on this kernel.

mod common;

/// Reads Private_Dirty of its own pages, which a fork elsewhere in the process would make
/// shared for a while.
#[test]
fn every_claim_of_the_lesson_holds_on_this_kernel() {
    let _fork = common::FORK.shared();
    common::every_claim_holds("lazy-allocation");
}
