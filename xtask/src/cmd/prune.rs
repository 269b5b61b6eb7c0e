//! `cargo xtask prune`: prunes a trained model, reports what went, saves and evaluates it.

use std::path::PathBuf;

use anyhow::{Result, bail};
use cr_eval::config::{AttackSpec, Norm};
use cr_eval::tools::{Split, prune, samples};
use cr_prune::{Method, PruneConfig};

use super::common::{AttackArg, NormArg, RunArgs, with_spinner};

/// Arguments of `prune`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Model file written by cr (`model.safetensors`).
    #[arg(long)]
    model: PathBuf,
    /// What to remove.
    #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(cr_prune::Method::NAMES))]
    method: String,
    /// Fraction removed (rows, weights, or rank for lowrank), in [0, 1).
    #[arg(long)]
    ratio: Option<f64>,
    /// Rank kept (lowrank).
    #[arg(long)]
    rank: Option<usize>,
    /// Target compressibility per layer (eps-target).
    #[arg(long)]
    eps_target: Option<f64>,
    /// What eps-target measures ε on.
    #[arg(long, default_value = "nu")]
    eps_vector: EpsVectorArg,
    /// Most rows any one layer may lose.
    #[arg(long, default_value_t = cr_prune::DEFAULT_MAX_LAYER_RATIO)]
    max_layer_ratio: f64,
    /// Write the pruned model here (the physically smaller form where there is one).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Evaluate before and after on the test split.
    #[arg(long)]
    eval: bool,
    /// Data for --eval: `NAME` (embedded) or `NAME:DIR`.
    #[arg(long, default_value = "mnist")]
    data: String,
    /// Evaluate on the first N test samples (class-balanced).
    #[arg(long, default_value_t = 1000)]
    n: usize,
    /// Attacks for --eval; worst case over them.
    #[arg(long)]
    attack: Vec<AttackArg>,
    /// Threat model of the attacks.
    #[arg(long, default_value = "linf")]
    norm: NormArg,
    /// Budget of the attacks.
    #[arg(long)]
    eps: Option<f64>,
    /// Seed of the attacks' random starts.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    run: RunArgs,
}

/// `--eps-vector`: what eps-target measures ε on.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum EpsVectorArg {
    /// Theorem 3.1's row ℓ1 norms (q = 1).
    Nu,
    /// Row ℓ2 norms (q = 2).
    RowL2,
}

/// Runs `prune`.
pub fn run(args: Args) -> Result<()> {
    let method: Method = args.method.parse()?;
    let cfg = PruneConfig {
        method,
        ratio: args.ratio,
        rank: args.rank,
        eps_target: args.eps_target,
        eps_vector: match args.eps_vector {
            EpsVectorArg::Nu => cr_prune::EpsVector::Nu,
            EpsVectorArg::RowL2 => cr_prune::EpsVector::RowL2,
        },
        max_layer_ratio: args.max_layer_ratio,
        physical: method.is_structured() || (method == Method::LowRank && args.rank.is_some()),
    };
    cfg.validate()?;
    let specs = attack_specs(&args)?;
    let ctx = args.run.context(false)?;
    let data = if args.eval {
        Some(samples(&args.data, Split::Test, Some(args.n), &ctx)?)
    } else {
        None
    };
    let r = with_spinner(format!("{} pruning", args.method), || {
        prune(
            &args.model,
            &cfg,
            args.out.as_deref(),
            data.as_ref().map(|d| (d, specs.as_slice())),
            args.seed,
            &ctx,
        )
    })?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    print_outcome(&r);
    println!("({:.1} s)", r.seconds);
    Ok(())
}

/// The attacks of `--eval` (`--attack`, all at `--norm` and `--eps`).
fn attack_specs(args: &Args) -> Result<Vec<AttackSpec>> {
    let norm: Norm = args.norm.into();
    if !args.attack.is_empty() && !args.eval {
        bail!("--attack needs --eval");
    }
    Ok(match (args.attack.is_empty(), args.eps) {
        (true, _) => Vec::new(),
        (false, None) => bail!("--attack needs --eps"),
        (false, Some(e)) if !(e.is_finite() && e > 0.0) => {
            bail!("--eps {e}: must be a finite number > 0")
        }
        (false, Some(eps)) => args
            .attack
            .iter()
            .map(|a| match a.attack() {
                Some(attack) => Ok(AttackSpec {
                    attack,
                    norm,
                    eps,
                    steps: None,
                    restarts: None,
                    step_size: None,
                    mode: None,
                    version: None,
                }),
                None => bail!("--attack uap: pruning evaluates per-sample attacks only"),
            })
            .collect::<Result<_>>()?,
    })
}

/// The pruning report: per layer, the sizes and the accuracies before and after.
fn print_outcome(r: &cr_eval::tools::PruneOutcome) {
    let rep = &r.report;
    println!(
        "model {}  method {}  requested {:.3}  achieved {:.3}{}",
        r.model,
        rep.method.name(),
        rep.requested,
        rep.achieved,
        rep.eps
            .map(|e| format!("  (ε = {e:.4})"))
            .unwrap_or_default()
    );
    println!(
        "{:<24} {:>8} {:>8} {:>7}",
        "layer", "before", "kept", "ratio"
    );
    for l in &rep.layers {
        println!(
            "{:<24} {:>8} {:>8} {:>7.3}",
            l.name, l.rows, l.kept, l.ratio
        );
    }
    println!(
        "parameters {} → {} ({:.1}%)   FLOPs {} → {} ({:.1}%)",
        rep.params_before,
        rep.params_after,
        100.0 * rep.params_after as f64 / rep.params_before.max(1) as f64,
        rep.flops_before,
        rep.flops_after,
        100.0 * rep.flops_after as f64 / rep.flops_before.max(1) as f64,
    );
    if let Some((path, after, before)) = &r.saved {
        println!(
            "wrote {path} ({} form): {after} bytes (input {before} bytes)",
            r.form
        );
    }
    if let (Some(b), Some(a)) = (&r.before, &r.after) {
        let ra = |v: Option<f64>| v.map(|v| format!("{v:.4}")).unwrap_or_else(|| "-".into());
        println!(
            "clean accuracy {:.4} → {:.4}   robust accuracy {} → {}",
            b.clean_accuracy,
            a.clean_accuracy,
            ra(b.robust_accuracy),
            ra(a.robust_accuracy)
        );
    }
    for n in &r.notes {
        println!("note: {n}");
    }
}
