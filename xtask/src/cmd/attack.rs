//! `cargo xtask attack`: attacks a trained model on a data set.

use std::path::PathBuf;

use anyhow::{Result, bail};
use cr_eval::config::{AttackSpec, Norm};
use cr_eval::tools::{SampleSelection, Split, attack, select_samples};

use super::common::{AttackArg, ModeArg, NormArg, RunArgs, VersionArg, value_name, with_spinner};

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
    /// Attack N class-balanced samples (round robin over the classes, in file order); all
    /// when neither this nor --first is given.
    #[arg(long, conflicts_with = "first")]
    n: Option<usize>,
    /// Attack the first N samples in file order (as AutoAttack, RobustBench and torchattacks
    /// take them).
    #[arg(long)]
    first: Option<usize>,
    /// Attack; repeat for the per-sample worst case.
    #[arg(long, required = true)]
    attack: Vec<AttackArg>,
    /// Threat model.
    #[arg(long, default_value = "linf")]
    norm: NormArg,
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
    /// APGD semantics (default: reference).
    #[arg(long)]
    mode: Option<ModeArg>,
    /// AutoAttack version (default: standard).
    #[arg(long)]
    version: Option<VersionArg>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    run: RunArgs,
}

/// Runs `attack`.
pub fn run(args: Args) -> Result<()> {
    let n: Norm = args.norm.into();
    if !(args.eps.is_finite() && args.eps > 0.0) {
        bail!("--eps {}: must be a finite number > 0", args.eps);
    }
    let ctx = args.run.context(false)?;
    let selection = SampleSelection::from_flags(args.n, args.first)?;
    let data = select_samples(&args.data, args.split, selection, &ctx)?;
    let mut specs = Vec::new();
    let mut uap = None;
    for a in &args.attack {
        let Some(attack) = a.attack() else {
            uap = Some((n, args.eps));
            continue;
        };
        specs.push(AttackSpec {
            attack,
            norm: n,
            eps: args.eps,
            steps: args.steps,
            restarts: args.restarts,
            step_size: args.step_size,
            mode: args.mode.map(Into::into),
            version: args.version.map(Into::into),
        });
    }
    let label = format!("{} ({:?}, {} samples)", args.data, args.split, data.len());
    let names: Vec<String> = args.attack.iter().map(value_name).collect();
    let mut r = with_spinner(
        format!("{} on {} samples", names.join(" + "), data.len()),
        || attack(&args.model, &data, &label, &specs, uap, args.seed, &ctx),
    )?;
    r.selection = Some(selection);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    print_report(&r);
    println!("{:.1} s", r.seconds);
    Ok(())
}

/// The attacks' table, the worst case, the UAP, AutoAttack's components and the warnings.
fn print_report(r: &cr_eval::tools::AttackReport) {
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
}
