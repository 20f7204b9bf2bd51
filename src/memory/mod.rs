//! Memory the lessons act on: owned mappings, and forked children that act on them.

pub mod child;
pub mod mapping;

pub use child::{Child, ChildError};
pub use mapping::{Mapping, MappingError};
