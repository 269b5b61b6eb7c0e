//! `cargo xtask attack`: attacks a trained model on a data set.

use std::path::PathBuf;

use anyhow::{Result, bail};
use cr_experiments::config::{AttackSpec, NormKind};
use cr_experiments::tools::{Split, attack, samples};

use super::common::RunArgs;

/// Arguments of `attack`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Model file written by cr (`model.safetensors`).
    #[arg(long)]
    model: PathBuf,
    /// Data: `NAME` (embedded) or `NAME:DIR`.
    #[arg(long, default_value = "mnist")]
    data: String,
    /// Split to attack.
    #[arg(long, default_value = "test")]
    split: Split,
    /// Attack the first N samples (class-balanced); all when omitted.
    #[arg(long)]
    n: Option<usize>,
    /// Attack: fgsm, pgd, apgd-ce, apgd-dlr, apgd-t, fab-t, fab, square, autoattack (the
    /// ensemble, see --version) or uap. Repeat for the per-sample worst case.
    #[arg(long, required = true)]
    attack: Vec<String>,
    /// Threat model.
    #[arg(long, default_value = "linf")]
    norm: String,
    /// Budget ε (ξ for uap).
    #[arg(long)]
    eps: f64,
    /// Iterations (PGD 10, APGD 100 by default).
    #[arg(long)]
    steps: Option<usize>,
    /// Restarts.
    #[arg(long)]
    restarts: Option<usize>,
    /// Step size (PGD; APGD's initial step).
    #[arg(long)]
    step_size: Option<f64>,
    /// Seed of random starts and the UAP data order.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// APGD semantics: `reference` (auto-attack) or `art` (ART 1.18).
    #[arg(long)]
    mode: Option<String>,
    /// AutoAttack version: standard (APGD-CE, APGD-T, FAB-T, Square), plus or rand.
    #[arg(long)]
    version: Option<String>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    run: RunArgs,
}

fn norm(s: &str) -> Result<NormKind> {
    match s {
        "linf" | "inf" => Ok(NormKind::Linf),
        "l2" | "2" => Ok(NormKind::L2),
        o => bail!("--norm `{o}`: expected linf or l2"),
    }
}

/// Runs `attack`.
pub fn run(args: Args) -> Result<()> {
    let n = norm(&args.norm)?;
    if !(args.eps.is_finite() && args.eps > 0.0) {
        bail!("--eps {}: must be a finite number > 0", args.eps);
    }
    let ctx = args.run.context(false)?;
    let data = samples(&args.data, args.split, args.n, &ctx)?;
    let mut specs = Vec::new();
    let mut uap = None;
    for a in &args.attack {
        if a == "uap" {
            uap = Some((n, args.eps));
            continue;
        }
        specs.push(AttackSpec {
            attack: a.clone(),
            norm: n,
            eps: args.eps,
            steps: args.steps,
            restarts: args.restarts,
            step_size: args.step_size,
            mode: args.mode.clone(),
            version: args.version.clone(),
        });
    }
    let label = format!("{} ({:?}, {} samples)", args.data, args.split, data.len());
    let r = attack(&args.model, &data, &label, &specs, uap, args.seed, &ctx)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    println!("model {}  data {}", r.model, r.data);
    println!("clean accuracy {:.4}", r.clean_accuracy);
    println!(
        "{:<10} {:<5} {:>8} {:>10} {:>6} {:>8} {:>8} {:>9} {:>8}",
        "attack", "norm", "eps", "step", "steps", "restarts", "mode", "robust", "seconds"
    );
    for a in &r.attacks {
        let p = &a.params;
        println!(
            "{:<10} {:<5} {:>8.4} {:>10.5} {:>6} {:>8} {:>8} {:>9.4} {:>8.1}",
            p.attack,
            p.norm.to_string(),
            p.eps,
            p.step_size,
            p.steps,
            p.restarts,
            p.mode.map(|m| m.name()).unwrap_or("-"),
            a.robust_accuracy,
            a.seconds
        );
    }
    if let Some(w) = r.worst_case_robust_accuracy
        && r.attacks.len() > 1
    {
        println!(
            "worst case over {} attacks (per sample): {:.4}",
            r.attacks.len(),
            w
        );
    }
    if let Some(u) = &r.uap {
        println!(
            "universal perturbation ({} ξ = {}): fooling rate {:.4}, converged {}, {} passes, ‖v‖ = {:.4}",
            u.norm, u.xi, u.fooling_rate, u.converged, u.iterations, u.perturbation_norm
        );
    }
    for a in &r.attacks {
        if a.stages.is_empty() {
            continue;
        }
        println!(
            "{} components (each on the samples still robust):",
            a.params.attack
        );
        for s in &a.stages {
            match &s.skipped {
                Some(why) => println!("  {:<9} skipped: {why}", s.attack),
                None => println!(
                    "  {:<9} broke {:>5}  robust after {:.4}  {:>8.1} s",
                    s.attack, s.broken, s.robust_accuracy, s.seconds
                ),
            }
        }
    }
    for w in &r.warnings {
        println!("warning: {w}");
    }
    println!("{:.1} s", r.seconds);
    Ok(())
}
