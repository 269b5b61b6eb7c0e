//! # cr-experiments
//!
//! The paper's experiments as data and code: run configs ([`config`]), the experiment grid
//! read from `configs/<scale>/*.toml` ([`grid`]), the execution of one run ([`execute`]:
//! train, then measure with `cr-eval`), the resumable runner and its results folder
//! ([`store`]), the cost model of `--dry-run` ([`cost`]) and the bridge to the report
//! ([`report`]).
//!
//! It is the only crate that knows every other one; the `xtask` CLI is a thin layer over it.
//!
//! ```no_run
//! use cr_experiments::{config::RunConfig, execute::{Context, train_run}};
//! let cfg = RunConfig::from_file(std::path::Path::new("configs/examples/fcn-mnist.toml")).unwrap();
//! let trained = train_run(&cfg, None, &Context::cpu()).unwrap();
//! println!("{} epochs", trained.metrics.epochs.len());
//! ```

pub mod config;
pub mod cost;
pub mod error;
pub mod execute;
pub mod grid;
pub mod report;
pub mod runner;
pub mod store;

pub use error::ExpError;
