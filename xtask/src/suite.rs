//! The fixed speed suite behind `cargo xtask bench` (issue "Speed"): training throughput of the
//! 784-400-10 FCN and of the cpu-scale CNN, PGD-10, APGD-CE-100 and AutoAttack (standard) on
//! 1,000 MNIST samples, a
//! universal perturbation, and SVD / operator norms of 512² and 2048² matrices, each with its
//! wall time and peak resident memory. `bench/side_by_side.py` runs the same workloads in
//! PyTorch (torch, torchattacks, ART, numpy) and prints the ratios.
//!
//! Every workload is warmed up once (a short run of the same code) before it is timed.
//! Peak memory is the process's high-water mark `VmHWM` from `/proc/self/status` after the
//! workload, with the mark reset before it by writing `5` to `/proc/self/clear_refs` (Linux);
//! where either is unavailable it is `None`.

use std::time::Instant;

use burn::prelude::*;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use cr_attacks::{
    ApgdConfig, Attack, AttackOptions, AutoAttackConfig, Loss, Norm, PgdConfig, UapConfig,
    run_attack, universal_perturbation,
};
use cr_data::Dataset;
use cr_linalg::{Mat, norms, svd};
use cr_models::{Arch, Model, ModelSpec};
use cr_train::{NoHooks, TrainConfig, TrainOptions};

use cr_experiments::error::ExpError;
use cr_experiments::execute::Context;

/// The workloads, in the order they run.
pub const WORKLOADS: [&str; 9] = [
    "train-fcn",
    "train-cnn",
    "pgd-10",
    "apgd-ce-100",
    "autoattack",
    "uap",
    "svd-512",
    "svd-2048",
    "norms-2048",
];

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
    /// Workload name (one of [`WORKLOADS`]).
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

fn err(what: &str, e: impl std::fmt::Display) -> ExpError {
    ExpError::Other(format!("bench {what}: {e}"))
}

/// CPU model name and logical core count, from `/proc/cpuinfo`.
pub fn machine() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = info
        .lines()
        .find(|l| l.starts_with("model name"))
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{model}, {cores} logical cores")
}

fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn peak_rss() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Runs `f` once untimed (warm-up), then timed with the memory high-water mark reset.
fn measure<T>(
    mut f: impl FnMut(bool) -> Result<T, ExpError>,
) -> Result<(T, f64, Option<u64>), ExpError> {
    f(true)?;
    let reset = reset_peak();
    let start = Instant::now();
    let out = f(false)?;
    let secs = start.elapsed().as_secs_f64();
    let peak = if reset { peak_rss() } else { None };
    Ok((out, secs, peak))
}

fn train_config(epochs: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: 100,
        val_fraction: 0.0,
        early_stopping: None,
        ..TrainConfig::default()
    }
}

/// One epoch of training `spec` on `data` (AdamW 1e-3, batch 100, no validation split);
/// returns samples per second and the trained model.
fn train_epoch(
    spec: &ModelSpec,
    data: &Dataset,
    ctx: &Context,
) -> Result<(f64, f64, Option<u64>, Model), ExpError> {
    let cfg = train_config(1);
    let warm = data.balanced(200.min(data.len()));
    let mut trained = None;
    let (_, secs, peak) = measure(|warmup| {
        let model = Model::new(spec, &ctx.device, 0).map_err(|e| err("model", e))?;
        let d = if warmup { &warm } else { data };
        let out = cr_train::train(
            model,
            d,
            &cfg,
            &mut NoHooks,
            &TrainOptions::default(),
            &ctx.device,
        )
        .map_err(|e| err("training", e))?;
        if !warmup {
            trained = Some(out.model);
        }
        Ok(())
    })?;
    let model = trained.ok_or_else(|| err("training", "no model"))?;
    Ok((data.len() as f64 / secs, secs, peak, model))
}

fn random_matrix(n: usize, seed: u64) -> Mat<f64> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    Mat::from_fn(n, n, |_, _| rng.random::<f64>() - 0.5)
}

/// Runs the suite.
pub fn run(opts: &BenchOptions, ctx: &Context) -> Result<BenchReport, ExpError> {
    for o in &opts.only {
        if !WORKLOADS.contains(&o.as_str()) {
            return Err(ExpError::Other(format!(
                "--only `{o}`: unknown workload (known: {})",
                WORKLOADS.join(", ")
            )));
        }
    }
    let want = |w: &str| opts.only.is_empty() || opts.only.iter().any(|o| o == w);
    let q = opts.quick;
    let mut rows = Vec::new();
    let mut push = |workload: &str, what: String, value: f64, unit: &str, seconds: f64, peak| {
        tracing::info!(workload, value, unit, seconds, "bench");
        rows.push(BenchRow {
            workload: workload.into(),
            what,
            value,
            unit: unit.into(),
            seconds,
            peak_rss_bytes: peak,
        });
    };

    let mnist = cr_data::load("mnist", None).map_err(|e| err("data", e))?;
    let n_train = if q { 500 } else { mnist.train.len() };
    let train = mnist.train.balanced(n_train);
    let n_attack = if q { 100 } else { 1000 };
    let test = mnist.test.balanced(n_attack);
    let (x, y) = test.tensors(&ctx.device);

    // The FCN is needed by the attacks too: train it whenever one of them runs.
    let attacks_wanted = ["pgd-10", "apgd-ce-100", "autoattack", "uap"]
        .iter()
        .any(|w| want(w));
    let mut fcn = None;
    if want("train-fcn") || attacks_wanted {
        let spec = ModelSpec {
            arch: Arch::Fcn {
                width: 400,
                depth: 1,
                bias: false,
                layer_rank: None,
            },
            input: [1, 28, 28],
            num_classes: 10,
            pruned: Default::default(),
            normalize: None,
        };
        let (rate, secs, peak, model) = train_epoch(&spec, &train, ctx)?;
        if want("train-fcn") {
            push(
                "train-fcn",
                format!(
                    "784-400-10 FCN, 1 epoch of {} MNIST samples, batch 100, AdamW",
                    train.len()
                ),
                rate,
                "samples/s",
                secs,
                peak,
            );
        }
        fcn = Some(model);
    }
    // `train-cnn` with the device's convolution algorithm (cr_models::conv::algorithm_for).
    if want("train-cnn") {
        let fashion = cr_data::load("fashion-mnist", None).map_err(|e| err("data", e))?;
        let data = fashion.train.balanced(if q { 200 } else { 2000 });
        let spec = ModelSpec {
            arch: Arch::Cnn {
                channels: vec![8, 16],
                hidden: 64,
                layer_rank: None,
            },
            input: [1, 28, 28],
            num_classes: 10,
            pruned: Default::default(),
            normalize: None,
        };
        let (rate, secs, peak, _) = train_epoch(&spec, &data, ctx)?;
        push(
            "train-cnn",
            format!(
                "cpu-scale CNN (conv 8, 16; dense 64), 1 epoch of {} Fashion-MNIST samples, batch 100, AdamW, {} convolution",
                data.len(),
                match cr_models::conv::algorithm_for(&ctx.device) {
                    cr_models::conv::ConvAlgorithm::Im2col => "im2col",
                    cr_models::conv::ConvAlgorithm::Native => "burn's native",
                }
            ),
            rate,
            "samples/s",
            secs,
            peak,
        );
    }
    if let Some(model) = &fcn {
        let f = |x: Tensor<4>| model.forward(x);
        let aopts = AttackOptions {
            batch_size: Some(500),
            sanity: false,
        };
        let attacks = [
            (
                "pgd-10",
                Attack::Pgd(PgdConfig::new(Norm::Linf, 0.1)),
                "PGD-10, l-inf 0.1, step 2.5·ε/10, batch 500",
            ),
            (
                "apgd-ce-100",
                Attack::Apgd(ApgdConfig::new(Norm::Linf, 0.1, Loss::Ce)),
                "APGD-CE, 100 iterations, 1 restart, l-inf 0.1, batch 500",
            ),
            (
                "autoattack",
                Attack::AutoAttack(AutoAttackConfig::new(Norm::Linf, 0.1)),
                "AutoAttack standard (APGD-CE, APGD-T, FAB-T, Square 5000), l-inf 0.1, batch 500",
            ),
        ];
        for (name, attack, what) in attacks {
            if !want(name) {
                continue;
            }
            let (robust, secs, peak) = measure(|warmup| {
                let (xs, ys) = if warmup {
                    (x.clone().narrow(0, 0, 10), y.clone().narrow(0, 0, 10))
                } else {
                    (x.clone(), y.clone())
                };
                run_attack(&f, &attack, xs, ys, &aopts)
                    .map(|r| r.robust_accuracy)
                    .map_err(|e| err(name, e))
            })?;
            push(
                name,
                format!("{what}, {n_attack} MNIST test samples (robust accuracy {robust:.3})"),
                n_attack as f64 / secs,
                "samples/s",
                secs,
                peak,
            );
        }
        if want("uap") {
            let mut c = UapConfig::new(Norm::Linf, 0.15);
            c.max_iter = if q { 1 } else { 5 };
            let n = if q { 50 } else { 500 };
            let (rate, secs, peak) = measure(|warmup| {
                let k = if warmup { 10 } else { n };
                universal_perturbation(&f, x.clone().narrow(0, 0, k), y.clone().narrow(0, 0, k), &c)
                    .map(|r| r.fooling_rate)
                    .map_err(|e| err("uap", e))
            })?;
            push(
                "uap",
                format!(
                    "universal perturbation (FGSM inner attack), l-inf 0.15, {} passes at most over {n} samples (fooling rate {rate:.3})",
                    c.max_iter
                ),
                secs,
                "s",
                secs,
                peak,
            );
        }
    }
    // One large matrix: faer on every core (the CLI otherwise runs it on one thread so that
    // numbers do not depend on the core count; the results are the same up to rounding).
    cr_linalg::parallel();
    for (name, n) in [("svd-512", 512), ("svd-2048", 2048)] {
        if !want(name) {
            continue;
        }
        let n = if q { n / 8 } else { n };
        let w = random_matrix(n, 1);
        let (_, secs, peak) = measure(|_| svd::thin_svd(&w).map_err(|e| err(name, e)))?;
        push(
            name,
            format!("thin SVD (U, σ, V) of a {n}x{n} f64 matrix, faer, all cores"),
            secs,
            "s",
            secs,
            peak,
        );
    }
    if want("norms-2048") {
        let n = if q { 256 } else { 2048 };
        let w = random_matrix(n, 2);
        let (_, secs, peak) = measure(|_| {
            let a = norms::inf_norm(&w);
            let b = norms::one_norm(&w);
            let c = norms::frobenius(&w);
            let d = svd::spectral_norm(&w).map_err(|e| err("norms", e))?;
            Ok(a + b + c + d)
        })?;
        push(
            "norms-2048",
            format!(
                "‖W‖∞, ‖W‖₁, ‖W‖_F and ‖W‖₂ (σ₁ from the Gram matrix's eigenvalues) of a {n}x{n} f64 matrix"
            ),
            secs,
            "s",
            secs,
            peak,
        );
    }
    cr_linalg::sequential();
    Ok(BenchReport {
        machine: machine(),
        device: format!("{:?}", ctx.device),
        quick: q,
        rows,
    })
}
