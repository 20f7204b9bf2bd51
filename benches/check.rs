//! `pagelab check` over all lessons, in process: the experiments plus claim evaluation.
//! Run with `cargo bench --bench check`.

use pagelab::catalog::{Catalog, lessons_dir};
use pagelab::check::check_lesson;
use pagelab::kernel::KernelProbe;

fn main() {
    divan::main();
}

#[divan::bench(sample_count = 50)]
fn check_all_lessons(bencher: divan::Bencher) {
    let catalog = Catalog::load(&lessons_dir()).expect("lessons load");
    let probe = KernelProbe::probe().expect("kernel probe");
    bencher.bench_local(|| {
        for lesson in &catalog.lessons {
            let report = check_lesson(lesson, &probe);
            assert!(
                report.passed(),
                "lesson {} fails: run pagelab check",
                report.id
            );
            divan::black_box(report);
        }
    });
}

#[divan::bench(sample_count = 50)]
fn load_and_validate_all_lessons() -> Catalog {
    Catalog::load(&lessons_dir()).expect("lessons load")
}

#[divan::bench(sample_count = 50)]
fn probe_the_kernel() -> KernelProbe {
    KernelProbe::probe().expect("kernel probe")
}
