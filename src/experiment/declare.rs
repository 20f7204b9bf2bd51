//! How an experiment declares itself: its lesson's id, whether it forks, and the names a
//! lesson may use (steps, subjects, outcomes), each written once.
//!
//! ```text
//! crate::experiment::declare! {
//!     id: "lazy-allocation", forks: false;
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
//! It defines a constant per subject and outcome, for the experiment's code to report by,
//! and `DECLARATION`, whose vocabulary lists them in the order written: the first subject
//! is the one a block without `of=` reads. Listing a name apart from its definition is
//! what let the two drift apart; here they cannot.

use super::Vocabulary;

/// What [`declare!`] produces; [`super::Experiment::declaration`] returns it.
#[derive(Clone, Copy, Debug)]
pub struct Declaration {
    /// The id of the lesson this experiment performs.
    pub id: &'static str,
    /// Whether it forks a child (see [`super::Experiment::forks`]).
    pub forks: bool,
    pub vocabulary: Vocabulary,
}

macro_rules! declare {
    (
        id: $id:literal, forks: $forks:literal;
        steps { $( $step:literal : $title:literal ),+ $(,)? }
        subjects { $( $(#[$smeta:meta])* $subject:ident = $sname:literal ),* $(,)? }
        outcomes { $( $(#[$ometa:meta])* $outcome:ident = $kind:ident $oname:literal ),* $(,)? }
    ) => {
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
