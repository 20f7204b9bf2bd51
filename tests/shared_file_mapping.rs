//! Lesson 06, `shared-file-mapping`: every claim of lessons/06-shared-file-mapping.md,
//! checked on this kernel.

mod common;

use rstest::rstest;

/// The client is a forked child: while it lives, every private page of this process is
/// shared, which other tests' Pss/Private_* readings must not see.
#[test]
fn every_claim_of_the_lesson_holds_on_this_kernel() {
    let _fork = common::FORK.exclusive();
    common::every_claim_holds("shared-file-mapping");
}

/// Whatever the kernel, the heart of the lesson must be checked, not skipped: the server
/// reads what the client wrote, the page is shared by both, write-only descriptors are
/// refused, and the lock excludes across processes and survives its holder's death.
#[rstest]
#[case::server_reads_the_name("client-wrote", "server reads name")]
#[case::server_reads_the_value("client-wrote", "server reads value")]
#[case::one_page_shared_by_both("client-wrote", "Shared_Dirty")]
#[case::half_each("client-wrote", "Pss")]
#[case::shared_maps_line("client-wrote", "maps line")]
#[case::write_only_refused("client-mapped", "client maps the file from an O_WRONLY descriptor")]
#[case::lock_excludes_the_server("client-holds-lock", "server try-locks the record")]
#[case::owner_died("client-exited", "server locks the record")]
fn core_claim_held(#[case] step: &str, #[case] field: &str) {
    let _fork = common::FORK.exclusive();
    common::all_claims_held("shared-file-mapping", step, field);
}
