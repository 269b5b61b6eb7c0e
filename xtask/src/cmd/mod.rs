//! One module per command: its arguments and a `run` that calls into the library crates.

pub mod analyze;
pub mod attack;
pub mod bench;
pub mod common;
pub mod data;
pub mod import;
pub mod predict;
pub mod prune;
pub mod report;
pub mod reproduce;
pub mod train;
