//! How an experiment declares itself: its lesson's id, whether it forks, and the names a
//! lesson may use (steps, subjects, outcomes), each written once.
//!
//! ```text
//! crate::experiment::declare! {
//!     experiment: LazyAllocation, id: "lazy-allocation", forks: false;
//!     steps {
//!         "mapped": "after mapping 100 pages, without THP",
//!     }
//!     subjects { WRITTEN = "written" }
//!     outcomes {
//!         /// Doc comments stay on the constant.
//!         RESIDENT = count "resident pages (mincore)",
//!     }
//! }
//! ```
//!
//! It defines the experiment's unit struct, a constant per subject and outcome, for the
//! experiment's code to report by, and `DECLARATION`, whose vocabulary lists them in the
//! order written: the first subject is the one a block without `of=` reads. The module
//! then writes only `impl Experiment for LazyAllocation { fn run(..) }`. Listing a name
//! apart from its definition is what let the two drift apart; here they cannot.

use super::Vocabulary;

/// What [`declare!`] produces; [`Declared::declaration`] returns it.
#[derive(Clone, Copy, Debug)]
pub struct Declaration {
    /// The id of the lesson this experiment performs.
    pub id: &'static str,
    /// Whether it forks a child (see [`super::Experiment::forks`]).
    pub forks: bool,
    pub vocabulary: Vocabulary,
}

/// The half of an experiment that [`declare!`] writes, so that no experiment repeats it.
pub trait Declared {
    fn declaration(&self) -> &'static Declaration;
}

macro_rules! declare {
    (
        experiment: $experiment:ident, id: $id:literal, forks: $forks:literal;
        steps { $( $step:literal : $title:literal ),+ $(,)? }
        subjects { $( $(#[$smeta:meta])* $subject:ident = $sname:literal ),* $(,)? }
        outcomes { $( $(#[$ometa:meta])* $outcome:ident = $kind:ident $oname:literal ),* $(,)? }
    ) => {
        #[doc = concat!("The experiment of lesson `", $id, "`.")]
        pub struct $experiment;

        impl $crate::experiment::Declared for $experiment {
            fn declaration(&self) -> &'static $crate::experiment::Declaration {
                &DECLARATION
            }
        }

        $(
            $(#[$smeta])*
            const $subject: $crate::experiment::SubjectName = $crate::experiment::SubjectName($sname);
        )*
        $(
            $(#[$ometa])*
            const $outcome: $crate::experiment::OutcomeKey = $crate::experiment::OutcomeKey::$kind($oname);
        )*
        const DECLARATION: $crate::experiment::Declaration = $crate::experiment::Declaration {
            id: $id,
            forks: $forks,
            vocabulary: $crate::experiment::Vocabulary {
                steps: &[$( $crate::experiment::Step::new($step, $title) ),+],
                subjects: &[$( $subject ),*],
                outcomes: &[$( $outcome ),*],
            },
        };
    };
}
pub(crate) use declare;
