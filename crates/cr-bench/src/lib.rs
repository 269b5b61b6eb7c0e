//! # cr-bench
//!
//! One job: measure how fast cr is. [`measure`] times a piece of work after a warm-up and
//! reads its peak resident memory; [`run`] is the fixed speed suite behind `cargo xtask
//! bench`: training throughput of the 784-400-10 FCN and of the cpu-scale CNN, ResNet18
//! (CIFAR stem) training steps and forward + input gradient on batches of 64, PGD-10,
//! APGD-CE-100 and AutoAttack (standard) on 1,000 MNIST samples against the FCN, AutoAttack
//! (ℓ∞ and ℓ2) on 200 against the small CNN, a universal perturbation, and SVD / operator
//! norms of 512² and 2048² matrices, each with its wall time and peak resident memory. `bench/side_by_side.py` runs the same workloads in PyTorch (torch,
//! torchattacks, ART, numpy) and prints the ratios.
//!
//! It asserts nothing about speed (speed goals are judged from its numbers and criterion's,
//! never in tests), and it changes no crate's behaviour: every workload calls the crates'
//! public functions as a user would.
//!
//! ```no_run
//! let report = cr_bench::run(
//!     &cr_bench::BenchOptions { quick: true, only: vec!["svd-512".into()] },
//!     &cr_models::device::cpu(),
//! )?;
//! println!("{} on {}", report.rows[0].seconds, report.machine);
//! # Ok::<(), cr_bench::BenchError>(())
//! ```

pub mod measure;
mod workloads;

use burn::prelude::*;
use serde::Serialize;

pub use measure::{current_rss, machine, measure, peak_rss, reset_peak};
use workloads::{Suite, WORKLOADS};

/// Why the suite stopped.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// `--only` named a workload the suite does not have.
    #[error("--only `{name}`: unknown workload (known: {known})")]
    UnknownWorkload {
        /// The name given.
        name: String,
        /// The known names, comma separated.
        known: String,
    },
    /// A workload failed.
    #[error("bench {what}: {problem}")]
    Workload {
        /// The workload or its step.
        what: String,
        /// The cause.
        problem: String,
    },
}

/// What to run.
#[derive(Debug, Clone, Default)]
pub struct BenchOptions {
    /// A few seconds in all: smaller data and matrices (for tests; not comparable).
    pub quick: bool,
    /// Run only these workloads (all when empty).
    pub only: Vec<String>,
}

/// One measured workload.
#[derive(Debug, Clone, Serialize)]
pub struct BenchRow {
    /// Workload name (one of [`workload_names`]).
    pub workload: String,
    /// What was done, in words (sizes, steps).
    pub what: String,
    /// Throughput (`unit`), or the time itself for one-shot workloads.
    pub value: f64,
    /// Unit of `value`.
    pub unit: String,
    /// Wall seconds of the timed run.
    pub seconds: f64,
    /// Peak resident memory during the workload, bytes.
    pub peak_rss_bytes: Option<u64>,
}

/// The suite's result.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// CPU model and logical cores.
    pub machine: String,
    /// Device the models and attacks ran on.
    pub device: String,
    /// Whether this was the `--quick` variant.
    pub quick: bool,
    /// One row per workload.
    pub rows: Vec<BenchRow>,
}

/// The workloads, in the order they run.
pub fn workload_names() -> Vec<&'static str> {
    WORKLOADS.iter().map(|(name, _)| *name).collect()
}

/// Runs the suite (or `opts.only` of it) on `device`, each workload warmed up once before it
/// is timed.
pub fn run(opts: &BenchOptions, device: &Device) -> Result<BenchReport, BenchError> {
    for o in &opts.only {
        if !WORKLOADS.iter().any(|(name, _)| name == o) {
            return Err(BenchError::UnknownWorkload {
                name: o.clone(),
                known: workload_names().join(", "),
            });
        }
    }
    let mut suite = Suite::new(device, opts.quick)?;
    let mut rows = Vec::new();
    for (name, workload) in WORKLOADS {
        if !opts.only.is_empty() && !opts.only.iter().any(|o| o == name) {
            continue;
        }
        let row = workload(&mut suite)?;
        tracing::info!(
            workload = name,
            value = row.value,
            unit = row.unit,
            seconds = row.seconds,
            "bench"
        );
        rows.push(row);
    }
    Ok(BenchReport {
        machine: machine(),
        device: format!("{device:?}"),
        quick: opts.quick,
        rows,
    })
}
