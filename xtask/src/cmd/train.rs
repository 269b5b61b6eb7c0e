//! `cargo xtask train`: trains one model from a TOML run config.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use cr_experiments::config::RunConfig;
use cr_experiments::execute::train_run;

use super::common::{RunArgs, show_progress};

/// Arguments of `train`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The run config (TOML; see configs/examples/).
    #[arg(long)]
    config: PathBuf,
    /// Output folder (default: results/train/<config name>). Holds model.safetensors,
    /// metrics.json and config.toml (every default resolved); an interrupted run resumes from
    /// its checkpoint there.
    #[arg(long)]
    out: Option<PathBuf>,
    #[command(flatten)]
    run: RunArgs,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `train`.
pub fn run(args: Args) -> Result<()> {
    let cfg = RunConfig::from_file(&args.config)?;
    let out = args.out.unwrap_or_else(|| {
        let stem = args
            .config
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "run".into());
        PathBuf::from("results/train").join(stem)
    });
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    cr_experiments::store::write(&out.join("config.toml"), cfg.to_toml().as_bytes())?;
    let ctx = args.run.context(show_progress())?;
    let started = std::time::Instant::now();
    let trained = train_run(&cfg, Some(&out), &ctx)?;
    let test = cr_train::evaluate(
        &trained.model,
        &trained.eval_data.test,
        &(0..trained.eval_data.test.len()).collect::<Vec<_>>(),
        cfg.train.eval_batch_size,
        &ctx.device,
    );
    let m = trained
        .transfer_metrics
        .as_ref()
        .unwrap_or(&trained.metrics);
    let summary = serde_json::json!({
        "out": out,
        "epochs": m.epochs.len(),
        "best_epoch": m.best_epoch,
        "stopped_early": m.stopped_early,
        "parameters": trained.model.num_params(),
        "test_accuracy": test.accuracy,
        "test_loss": test.loss,
        "test_samples": test.n,
        "seconds": started.elapsed().as_secs_f64(),
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        println!(
            "trained {} ({} parameters)",
            cfg.model.arch_name(),
            trained.model.num_params()
        );
        println!(
            "  epochs {} (best {:?}{}), test accuracy {:.4} on {} samples, {:.1} s",
            m.epochs.len(),
            m.best_epoch,
            if m.stopped_early {
                ", stopped early"
            } else {
                ""
            },
            test.accuracy,
            test.n,
            started.elapsed().as_secs_f64()
        );
        println!(
            "  wrote {}/{{model.safetensors,metrics.json,config.toml}}",
            out.display()
        );
    }
    Ok(())
}
