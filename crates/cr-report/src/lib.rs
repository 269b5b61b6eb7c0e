//! # cr-report
//!
//! The report of a reproduction: the paper's claims as data ([`claims`]), a judge that gives
//! each claim a verdict from a statistic with a seed-paired t interval ([`judge`], [`tsim`]),
//! and the
//! `report.md`, `findings.json`, `results.csv` and figures written from a results folder
//! ([`report`], [`plot`]).
//!
//! It reads runs as JSON (`result.json`, through [`quantity`] paths) and experiment files as
//! TOML, and knows nothing of models, tensors or burn: it does not train, attack or measure
//! anything, and the experiment crate (`cr-experiments`) only hands it the finished runs.
//!
//! ```
//! use cr_report::claims::Direction;
//! use cr_report::judge::{Obs, PointObs, Settings, Verdict, judge_trend};
//! // Robust accuracy at three strengths, three seeds each, falling steadily.
//! let points: Vec<PointObs> = [0.8, 0.6, 0.4]
//!     .iter()
//!     .enumerate()
//!     .map(|(i, y)| PointObs {
//!         label: i.to_string(),
//!         strength: i as f64,
//!         runs: [-0.01, 0.0, 0.01].iter().map(|e| Obs::new(y + e)).collect(),
//!     })
//!     .collect();
//! let j = judge_trend(&points, false, Direction::Decreasing, 0.02, &Settings::default());
//! assert_eq!(j.verdict, Verdict::Supported);
//! ```

pub mod claims;
pub mod csv;
pub mod curves;
pub mod determinism;
pub mod error;
pub mod files;
pub mod findings;
pub mod judge;
pub mod panels;
pub mod plot;
pub mod quantity;
pub mod report;
pub mod stats;
pub mod tables;
pub mod tsim;

pub use error::ReportError;
