//! `cargo xtask reproduce`: the paper's experiment grid, resumable, then the report.

use std::path::PathBuf;

use anyhow::{Result, bail};
use cr_experiments::cost::estimate;
use cr_experiments::grid::Grid;
use cr_experiments::report::write_report;
use cr_experiments::runner::{RunnerOptions, planned_runs, run_grid, slurm_script};

use super::common::{RunArgs, ScaleArg, parse_shard, show_progress};

/// Arguments of `reproduce`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Scale of the grid.
    #[arg(long, default_value = "cpu")]
    pub scale: ScaleArg,
    /// Only these experiments (comma separated ids).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<String>,
    /// Results folder.
    #[arg(long, default_value = "results")]
    pub out: PathBuf,
    /// Seeds per point (error bars); default: each experiment's own.
    #[arg(long)]
    pub seeds: Option<usize>,
    /// Run shard i of n (`i/n`, 0-based): a deterministic partition of the grid.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<(usize, usize)>,
    /// List the runs with their resolved configs and estimated cost; run nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Write a Slurm job-array script for N shards (to --slurm-file) instead of running.
    #[arg(long, value_name = "N")]
    pub emit_slurm: Option<usize>,
    /// Where --emit-slurm writes its script.
    #[arg(long, default_value = "reproduce.slurm")]
    pub slurm_file: PathBuf,
    /// Skip the report at the end (shards: the report runs once all are done).
    #[arg(long)]
    pub no_report: bool,
    /// Folder with the experiment grid (`<scale>/*.toml`).
    #[arg(long, default_value = "configs")]
    pub configs: PathBuf,
    /// Runs trained at once; default: one per CPU core on a CPU device (each run then uses one
    /// thread; the numbers do not depend on it), 1 on a GPU.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub jobs: Option<u32>,
    /// With --dry-run: print one JSON object (every run with its resolved config and
    /// estimated cost) instead of the listing.
    #[arg(long, requires = "dry_run")]
    pub json: bool,
    /// Print every resolved config with --dry-run.
    #[arg(long)]
    pub verbose_configs: bool,
    #[command(flatten)]
    pub run: RunArgs,
}

/// Loads the grid of a scale (`configs/<scale>/*.toml`), restricted to `only`.
pub fn load_grid(configs: &std::path::Path, scale: ScaleArg, only: &[String]) -> Result<Grid> {
    Ok(Grid::load(configs, &scale.to_string())?.select(only)?)
}

/// Runs `reproduce`.
pub fn run(args: Args) -> Result<()> {
    let grid = load_grid(&args.configs, args.scale, &args.only)?;
    let shard = args.shard;
    if let Some(s) = args.seeds
        && s == 0
    {
        bail!("--seeds must be >= 1");
    }
    let jobs = args.jobs.map(|j| j as usize).unwrap_or_else(|| {
        if matches!(args.run.device.as_str(), "cpu" | "ndarray") {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        } else {
            1
        }
    });
    let opts = RunnerOptions {
        out: args.out.clone(),
        seeds: args.seeds,
        shard,
        jobs,
    };
    if let Some(n) = args.emit_slurm {
        if n == 0 {
            bail!("--emit-slurm needs at least 1 shard");
        }
        let extra = format!("--device {}", args.run.device)
            + &args
                .run
                .data_dir
                .as_ref()
                .map(|d| format!(" --data-dir {}", d.display()))
                .unwrap_or_default();
        let script = slurm_script(&args.scale.to_string(), n, &args.out, &args.only, &extra);
        cr_experiments::store::write(&args.slurm_file, script.as_bytes())?;
        println!(
            "wrote {} ({} shards of {} runs); submit with: sbatch {}",
            args.slurm_file.display(),
            n,
            planned_runs(
                &grid,
                &RunnerOptions {
                    shard: None,
                    ..opts.clone()
                }
            )?
            .len(),
            args.slurm_file.display()
        );
        return Ok(());
    }
    if args.dry_run {
        return dry_run(&args, &grid, &opts);
    }
    let ctx = args.run.context(show_progress())?;
    let summary = run_grid(&grid, &opts, &ctx)?;
    println!(
        "{} runs: {} finished now, {} already done, {} failed ({:.1} s)",
        summary.total,
        summary.completed,
        summary.skipped,
        summary.failed.len(),
        summary.seconds
    );
    for (run, err) in &summary.failed {
        eprintln!("  failed: {run}: {err}");
    }
    if !args.no_report {
        // The report covers every experiment with results in the folder, not only those
        // selected by --only this time.
        let full = load_grid(&args.configs, args.scale, &[])?;
        let r = write_report(&full, &args.out, &[], args.seeds)?;
        println!(
            "report: {} ({} of {} runs; {} figures). {}",
            r.report.display(),
            r.runs.1,
            r.runs.0,
            r.figures.len(),
            r.summary
        );
    }
    if !summary.failed.is_empty() {
        bail!(
            "{} run(s) failed; rerun the same command to retry them",
            summary.failed.len()
        );
    }
    Ok(())
}

/// Sustained throughput of the cpu grid on 2 cores with one run per core, measured by a whole
/// `cargo xtask reproduce` (README: 6.91e13 estimated FLOP in 1,481 s on a 2-core Intel Xeon
/// with AVX-512): the estimate's FLOP count over the wall time, so it folds in what the FLOP
/// count leaves out (host work such as the nuclear norm's SVDs, attack overhead).
const CPU_FLOPS: f64 = 47e9;
/// An assumed sustained GPU throughput for these small models (not measured).
const GPU_FLOPS: f64 = 10e12;

/// `--dry-run`: the planned runs with their resolved configs and estimated cost.
fn dry_run(args: &Args, grid: &Grid, opts: &RunnerOptions) -> Result<()> {
    let runs = planned_runs(grid, opts)?;
    let mut total = 0.0;
    let mut rows = Vec::new();
    let mut text = format!(
        "scale `{}`: {} runs{}\n",
        args.scale,
        runs.len(),
        opts.shard
            .map(|(i, n)| format!(" (shard {i}/{n})"))
            .unwrap_or_default()
    );
    for exp in &grid.experiments {
        let mine: Vec<_> = runs.iter().filter(|r| r.experiment == exp.id).collect();
        if mine.is_empty() {
            continue;
        }
        text += &format!(
            "\n{} — {} ({}): {} runs\n",
            exp.id,
            exp.title,
            exp.figure,
            mine.len()
        );
        for r in mine {
            let c = estimate(&r.config)?;
            total += c.total();
            text += &format!(
                "  {:<40} {} = {:<10} data {:<16} model {:<6} {:>8.3} MFLOP/sample  ~{:.2e} FLOP\n",
                r.id,
                r.key,
                r.value.to_string(),
                r.config.data.name,
                r.config.model.arch_name(),
                c.model_flops as f64 / 1e6,
                c.total()
            );
            if args.verbose_configs {
                for line in r.config.to_toml().lines() {
                    text += &format!("      {line}\n");
                }
            }
            rows.push(serde_json::json!({
                "experiment": r.experiment,
                "id": r.id,
                "sweep": r.sweep,
                "key": r.key,
                "value": serde_json::to_value(&r.value)?,
                "seed": r.seed,
                "hash": r.hash,
                "cost": c,
                "config": serde_json::to_value(&r.config)?,
            }));
        }
    }
    let (cpu_min, gpu_min) = (total / CPU_FLOPS / 60.0, total / GPU_FLOPS / 60.0);
    if args.json {
        let v = serde_json::json!({
            "scale": args.scale.to_string(),
            "shard": opts.shard,
            "runs": rows,
            "total_flops": total,
            "estimated_minutes": {"cpu_2_cores": cpu_min, "gpu": gpu_min},
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!("{text}");
        println!(
            "\ntotal ~{total:.2e} FLOP: about {cpu_min:.0} min on 2 CPU cores at {:.0} GFLOP/s, {gpu_min:.1} min on a GPU at {:.0} TFLOP/s",
            CPU_FLOPS / 1e9,
            GPU_FLOPS / 1e12
        );
    }
    Ok(())
}
