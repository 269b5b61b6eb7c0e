//! `cargo xtask analyze`: Lipschitz bounds of a trained model (paper Theorems 3.1 and 3.2).

use std::path::PathBuf;

use anyhow::{Result, bail};
use cr_bounds::{Estimator, KChoice};
use cr_eval::tools::{AnalyzeOptions, Split, analyze, samples};

use super::common::{RunArgs, value_name, with_spinner};

/// Arguments of `analyze`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Model file written by cr (`model.safetensors`).
    #[arg(long)]
    model: PathBuf,
    /// Use this k in every layer (clamped to the layer's size).
    #[arg(long, conflicts_with_all = ["k_fraction", "eps_target"])]
    k: Option<usize>,
    /// Use k = ⌈f·h⌉ in every layer, f in (0, 1].
    #[arg(long, conflicts_with = "eps_target")]
    k_fraction: Option<f64>,
    /// Use, per layer, the least k whose compressibility ε(k) is at most E.
    #[arg(long)]
    eps_target: Option<f64>,
    /// Alignment estimator (data-driven and local-search need --data).
    #[arg(long, default_value = "certified-upper")]
    estimator: EstimatorArg,
    /// Bound the encoder Φ only and report the head apart (default: input → logits).
    #[arg(long)]
    encoder: bool,
    /// Data for activation patterns: `NAME` (embedded) or `NAME:DIR` (bias-free FCNs).
    #[arg(long)]
    data: Option<String>,
    /// Samples of the test split whose patterns are used.
    #[arg(long, default_value_t = 1000)]
    n: usize,
    /// Seed of the local search.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    run: RunArgs,
}

/// `--estimator`: how the alignment terms of the bounds are estimated.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum EstimatorArg {
    /// A certified upper estimate (any width).
    #[value(alias = "certified")]
    CertifiedUpper,
    /// Exact enumeration of activation patterns (h ≤ 20).
    Exact,
    /// The patterns the data's samples produce (a lower estimate).
    #[value(alias = "data")]
    DataDriven,
    /// A seeded local search from the data's patterns (a lower estimate).
    LocalSearch,
}

impl From<EstimatorArg> for Estimator {
    fn from(e: EstimatorArg) -> Self {
        match e {
            EstimatorArg::CertifiedUpper => Estimator::CertifiedUpper,
            EstimatorArg::Exact => Estimator::Exact,
            EstimatorArg::DataDriven => Estimator::DataDriven,
            EstimatorArg::LocalSearch => Estimator::LocalSearch,
        }
    }
}

/// Runs `analyze`.
pub fn run(args: Args) -> Result<()> {
    let k = k_choice(&args)?;
    let estimator: Estimator = args.estimator.into();
    if matches!(estimator, Estimator::DataDriven | Estimator::LocalSearch) && args.data.is_none() {
        bail!("--estimator {}: needs --data", value_name(&args.estimator));
    }
    if args.n == 0 {
        bail!("--n 0: at least one sample is needed");
    }
    let ctx = args.run.context(false)?;
    let data = match &args.data {
        Some(d) => Some(samples(d, Split::Test, Some(args.n), &ctx)?),
        None => None,
    };
    let label = args
        .data
        .as_ref()
        .zip(data.as_ref())
        .map(|(l, d)| format!("{l} (test, {} samples)", d.len()));
    let opts = AnalyzeOptions {
        k,
        estimator,
        include_head: !args.encoder,
        seed: args.seed,
    };
    let r = with_spinner(
        format!("bounds ({} estimator)", value_name(&args.estimator)),
        || {
            analyze(
                &args.model,
                data.as_ref().zip(label.as_deref()),
                &opts,
                &ctx,
            )
        },
    )?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    print_report(&r)?;
    println!("({:.1} s)", r.seconds);
    Ok(())
}

/// `--k`, `--k-fraction` or `--eps-target` (at most one applies, in that order), else the
/// k that minimises the bound.
fn k_choice(args: &Args) -> Result<KChoice> {
    Ok(match (args.k, args.k_fraction, args.eps_target) {
        (Some(0), ..) => bail!("--k 0: k must be at least 1"),
        (Some(k), ..) => KChoice::Fixed(k),
        (_, Some(f), _) if !(f > 0.0 && f <= 1.0) => bail!("--k-fraction {f}: must be in (0, 1]"),
        (_, Some(f), _) => KChoice::Fraction(f),
        (.., Some(e)) if !(0.0..=1.0).contains(&e) => bail!("--eps-target {e}: must be in [0, 1]"),
        (.., Some(e)) => KChoice::EpsTarget(e),
        _ => KChoice::Minimise,
    })
}

/// The per-layer table and the network bounds.
fn print_report(r: &cr_eval::tools::AnalyzeReport) -> Result<()> {
    println!("model {} ({})  k: {:?}", r.model, r.arch, r.bounds.k_choice);
    if !r.chained {
        println!(
            "note: layers do not chain as matrices (conv filters): norms are of the matricised \
             filters and the network bound is not certified for the convolution operator"
        );
    }
    println!(
        "{:<22} {:>11} {:>9} {:>9} {:>9} {:>7} {:>7} {:>20} {:>20} {:>10} {:>10}",
        "layer",
        "shape",
        "‖W‖∞",
        "‖W‖₂",
        "‖W‖F",
        "stable",
        "eff.",
        "ν: ε k β",
        "σ: ε k β",
        "Th3.1(a)",
        "Th3.1(b)"
    );
    for l in &r.bounds.layers {
        println!(
            "{:<22} {:>11} {:>9.3} {:>9.3} {:>9.3} {:>7.1} {:>7.1} {:>20} {:>20} {:>10.3e} {:>10.3e}",
            l.name,
            format!("{}x{}", l.shape[0], l.shape[1]),
            l.norm_inf,
            l.norm_2,
            l.norm_fro,
            l.stable_rank,
            l.effective_rank,
            format!("{:.3} {} {:.3}", l.nu.eps, l.nu.k, l.nu.beta),
            format!("{:.3} {} {:.3}", l.sigma.eps, l.sigma.k, l.sigma.beta),
            l.theorem_3_1_linf.bound,
            l.theorem_3_1_l2.bound,
        );
    }
    for (name, b) in [("ℓ∞", &r.bounds.linf), ("ℓ2", &r.bounds.l2)] {
        println!(
            "{name}: Theorem 3.2 {:.4e} ({}, {}certified)  product of Theorem 3.1 {:.4e}  \
             product of true norms {:.4e}  S_opt pairs {:?}",
            b.theorem_3_2,
            serde_json::to_value(b.estimator)?.as_str().unwrap_or("?"),
            if b.certified { "" } else { "not " },
            b.product_theorem_3_1,
            b.product_true_norms,
            b.s_opt
        );
        if let (Some(t), Some(n)) = (b.head_theorem_3_1, b.head_true_norm) {
            let how = if b.head_included {
                "in the chain"
            } else {
                "reported apart"
            };
            println!("   head ({how}): Theorem 3.1 {t:.4e}, true norm {n:.4e}");
        }
    }
    Ok(())
}
