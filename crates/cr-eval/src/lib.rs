//! # cr-eval
//!
//! One question: *what does this trained model measure?* Clean accuracy and loss, robust
//! accuracy under the configured attacks (their per-sample worst case) and the cross-check
//! attacks, the compressibility of every layer, and the analyses the paper's figures need
//! ([`config::Measure`]: the Lipschitz bounds, certificates, local Lipschitz estimates, rank
//! truncation, representation change and alignment, universal perturbations, pruning curves,
//! decision regions, the robustness gap). [`measures::evaluate`] does it for a run of the
//! grid; [`tools`] holds the single-model commands (`attack`, `predict`, `analyze`, `prune`).
//!
//! It does not train, choose runs, read or write a results folder, or judge anything: the
//! experiment grid (`cr-experiments`) calls it on each trained model and stores what it
//! returns; the report (`cr-report`) judges it.
//!
//! ```no_run
//! use cr_eval::config::{AttackSpec, AttackName, EvalConfig, Measure, Norm};
//! use cr_eval::measures::evaluate;
//! # fn run(model: &cr_models::Model, test: &cr_data::Dataset) -> Result<(), cr_eval::EvalError> {
//! let cfg = EvalConfig {
//!     attacks: vec![AttackSpec {
//!         attack: AttackName::ApgdCe,
//!         norm: Norm::Linf,
//!         eps: 0.1,
//!         steps: None,
//!         restarts: None,
//!         step_size: None,
//!         mode: None,
//!         version: None,
//!     }],
//!     measures: vec![Measure::Bounds, Measure::Gap],
//!     ..EvalConfig::default()
//! };
//! let e = evaluate(model, test, &cfg, &cr_models::device::cpu())?;
//! println!("clean {} robust {:?}", e.clean_accuracy, e.robust_accuracy);
//! # Ok(()) }
//! ```

pub mod analyses;
pub mod attacking;
pub mod certify;
pub mod compressibility;
pub mod config;
pub mod context;
pub mod error;
pub mod measures;
pub mod tools;

pub use context::Context;
pub use error::EvalError;
