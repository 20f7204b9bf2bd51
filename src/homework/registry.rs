//! Every exercise, in lesson order. The id is the one the lesson's ```` ```exercise ````
//! block names; `pagelab dev check` keeps the two in step.

use super::checks;
use super::outcome::{Failure, Passed};
use crate::catalog::Catalog;
use crate::exercises;
use crate::lesson::{ExerciseText, Lesson};

pub struct Exercise {
    /// Stable: students type it (`pagelab hint <id>`), tests are named after it.
    pub id: &'static str,
    /// The id of the lesson that sets it.
    pub lesson: &'static str,
    /// Where the student writes it, relative to the crate.
    pub file: &'static str,
    pub function: &'static str,
    /// Whether its test holds the tests' `fork` lock exclusively (`common::FORK.exclusive()`):
    /// the check forks, or shares process-wide state (the RLIMIT_MEMLOCK budget) with the
    /// lesson's experiment. Otherwise the test holds it shared: it reads its own pages'
    /// smaps fields, which another test's fork would turn shared.
    pub serial: bool,
    /// Calls the student's function and checks what the kernel shows.
    pub check: fn() -> Result<Passed, Failure>,
}

impl Exercise {
    /// The integration test that runs this exercise: `exercise_` and the id in snake case.
    pub fn test_name(&self) -> String {
        format!("exercise_{}", self.id.replace('-', "_"))
    }

    /// The lesson that sets it and its ```` ```exercise ```` block there, if the catalog
    /// has them (the catalog refuses exercise blocks without a registry entry, and dev check
    /// the other way round).
    pub fn text<'a>(&self, catalog: &'a Catalog) -> Option<(&'a Lesson, &'a ExerciseText)> {
        let lesson = catalog.find(self.lesson)?;
        let text = lesson.exercises.iter().find(|t| t.id == self.id)?;
        Some((lesson, text))
    }

    /// The test file of its lesson, `tests/<lesson in snake case>.rs`.
    pub fn test_file(&self) -> String {
        format!("tests/{}.rs", self.lesson.replace('-', "_"))
    }
}

pub const ALL: &[Exercise] = &[
    Exercise {
        id: "map-anonymous",
        lesson: "mmap-anon",
        file: "src/exercises/mmap_anon.rs",
        function: "map_anonymous",
        serial: false,
        check: || checks::mmap_anon::map_anonymous(exercises::mmap_anon::map_anonymous),
    },
    Exercise {
        id: "touch-every-page",
        lesson: "mmap-anon",
        file: "src/exercises/mmap_anon.rs",
        function: "touch_every_page",
        serial: false,
        check: || checks::mmap_anon::touch_every_page(exercises::mmap_anon::touch_every_page),
    },
    Exercise {
        id: "resident-pages",
        lesson: "pages",
        file: "src/exercises/pages.rs",
        function: "resident_pages",
        serial: false,
        check: || checks::pages::resident_pages(exercises::pages::resident_pages),
    },
    Exercise {
        id: "smaps-record",
        lesson: "pages",
        file: "src/exercises/pages.rs",
        function: "smaps_record",
        serial: false,
        check: || checks::pages::smaps_record(exercises::pages::smaps_record),
    },
    Exercise {
        id: "reserve-without-commit",
        lesson: "lazy-allocation",
        file: "src/exercises/lazy_allocation.rs",
        function: "reserve_without_commit",
        serial: false,
        check: || {
            checks::lazy_allocation::reserve_without_commit(
                exercises::lazy_allocation::reserve_without_commit,
            )
        },
    },
    Exercise {
        id: "count-first-touch-faults",
        lesson: "lazy-allocation",
        file: "src/exercises/lazy_allocation.rs",
        function: "count_first_touch_faults",
        serial: false,
        check: || {
            checks::lazy_allocation::count_first_touch_faults(
                exercises::lazy_allocation::count_first_touch_faults,
            )
        },
    },
    Exercise {
        id: "write-in-child",
        lesson: "fork-cow",
        file: "src/exercises/fork_cow.rs",
        function: "write_in_child",
        serial: true,
        check: || checks::fork_cow::write_in_child(exercises::fork_cow::write_in_child),
    },
    Exercise {
        id: "rss-and-pss",
        lesson: "fork-cow",
        file: "src/exercises/fork_cow.rs",
        function: "rss_and_pss",
        serial: true,
        check: || checks::fork_cow::rss_and_pss(exercises::fork_cow::rss_and_pss),
    },
    Exercise {
        id: "read-through-mapping",
        lesson: "file-mappings",
        file: "src/exercises/file_mappings.rs",
        function: "read_through_mapping",
        serial: false,
        check: || {
            checks::file_mappings::read_through_mapping(
                exercises::file_mappings::read_through_mapping,
            )
        },
    },
    Exercise {
        id: "write-through-mapping",
        lesson: "file-mappings",
        file: "src/exercises/file_mappings.rs",
        function: "write_through_mapping",
        serial: false,
        check: || {
            checks::file_mappings::write_through_mapping(
                exercises::file_mappings::write_through_mapping,
            )
        },
    },
    Exercise {
        id: "map-file-shared",
        lesson: "shared-file-mapping",
        file: "src/exercises/shared_file_mapping.rs",
        function: "map_file_shared",
        serial: true,
        check: || {
            checks::shared_file_mapping::map_file_shared(
                exercises::shared_file_mapping::map_file_shared,
            )
        },
    },
    Exercise {
        id: "create-shared-file",
        lesson: "shared-file-mapping",
        file: "src/exercises/shared_file_mapping.rs",
        function: "create_shared_file",
        serial: false,
        check: || {
            checks::shared_file_mapping::create_shared_file(
                exercises::shared_file_mapping::create_shared_file,
            )
        },
    },
    Exercise {
        id: "lock-in-ram",
        lesson: "realtime",
        file: "src/exercises/realtime.rs",
        function: "lock_in_ram",
        serial: true,
        check: || checks::realtime::lock_in_ram(exercises::realtime::lock_in_ram),
    },
    Exercise {
        id: "map-populated",
        lesson: "realtime",
        file: "src/exercises/realtime.rs",
        function: "map_populated",
        serial: false,
        check: || checks::realtime::map_populated(exercises::realtime::map_populated),
    },
    Exercise {
        id: "advise-huge-pages",
        lesson: "thp",
        file: "src/exercises/thp.rs",
        function: "advise_huge_pages",
        serial: false,
        check: || checks::thp::advise_huge_pages(exercises::thp::advise_huge_pages),
    },
    Exercise {
        id: "map-aligned",
        lesson: "thp",
        file: "src/exercises/thp.rs",
        function: "map_aligned",
        serial: false,
        check: || checks::thp::map_aligned(exercises::thp::map_aligned),
    },
    Exercise {
        id: "give-back",
        lesson: "giving-memory-back",
        file: "src/exercises/giving_memory_back.rs",
        function: "give_back",
        serial: false,
        check: || checks::giving_memory_back::give_back(exercises::giving_memory_back::give_back),
    },
    Exercise {
        id: "give-back-lazily",
        lesson: "giving-memory-back",
        file: "src/exercises/giving_memory_back.rs",
        function: "give_back_lazily",
        serial: false,
        check: || {
            checks::giving_memory_back::give_back_lazily(
                exercises::giving_memory_back::give_back_lazily,
            )
        },
    },
];

pub fn find(id: &str) -> Option<&'static Exercise> {
    ALL.iter().find(|e| e.id == id)
}

/// The exercises a lesson sets, in order.
pub fn of_lesson(lesson: &str) -> impl Iterator<Item = &'static Exercise> {
    ALL.iter().filter(move |e| e.lesson == lesson)
}
