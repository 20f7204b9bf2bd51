//! The command line's longer commands, one module each.

pub mod homework;
