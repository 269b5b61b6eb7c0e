//! `cargo xtask reproduce`: the paper's experiment grid, resumable, then the report.

use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use cr_experiments::cost::estimate;
use cr_experiments::grid::{Grid, SCALES};
use cr_experiments::report::write_report;
use cr_experiments::runner::{RunnerOptions, planned_runs, run_grid, slurm_script};

use super::common::{RunArgs, show_progress};

/// Arguments of `reproduce`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Scale: `smoke` (seconds, CI), `cpu` (the embedded data, minutes on 2 cores), `paper`
    /// (full data sets on CUDA; needs --data-dir).
    #[arg(long, default_value = "cpu")]
    pub scale: String,
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
    #[arg(long)]
    pub shard: Option<String>,
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
    #[arg(long, value_name = "N")]
    pub jobs: Option<usize>,
    /// Print every resolved config with --dry-run.
    #[arg(long)]
    pub verbose_configs: bool,
    #[command(flatten)]
    pub run: RunArgs,
}

/// Parses `i/n`.
pub fn parse_shard(s: &str) -> Result<(usize, usize)> {
    let (i, n) = s
        .split_once('/')
        .with_context(|| format!("--shard `{s}`: expected i/n, e.g. 0/4"))?;
    let (i, n): (usize, usize) = (
        i.trim()
            .parse()
            .with_context(|| format!("--shard `{s}`: `{i}` is not a number"))?,
        n.trim()
            .parse()
            .with_context(|| format!("--shard `{s}`: `{n}` is not a number"))?,
    );
    if n == 0 || i >= n {
        bail!("--shard `{s}`: needs 0 <= i < n");
    }
    Ok((i, n))
}

/// Loads the grid of a scale, with a clear error for an unknown scale.
pub fn load_grid(configs: &std::path::Path, scale: &str, only: &[String]) -> Result<Grid> {
    if !SCALES.contains(&scale) && !configs.join(scale).is_dir() {
        bail!("--scale `{scale}`: unknown (known: {})", SCALES.join(", "));
    }
    Ok(Grid::load(configs, scale)?.select(only)?)
}

/// Runs `reproduce`.
pub fn run(args: Args) -> Result<()> {
    let grid = load_grid(&args.configs, &args.scale, &args.only)?;
    let shard = args.shard.as_deref().map(parse_shard).transpose()?;
    if let Some(s) = args.seeds
        && s == 0
    {
        bail!("--seeds must be >= 1");
    }
    if args.jobs == Some(0) {
        bail!("--jobs must be >= 1");
    }
    let jobs = args.jobs.unwrap_or_else(|| {
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
        let script = slurm_script(&args.scale, n, &args.out, &args.only, &extra);
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
        let runs = planned_runs(&grid, &opts)?;
        let mut total = 0.0;
        println!(
            "scale `{}`: {} runs{}",
            args.scale,
            runs.len(),
            shard
                .map(|(i, n)| format!(" (shard {i}/{n})"))
                .unwrap_or_default()
        );
        for exp in &grid.experiments {
            let mine: Vec<_> = runs.iter().filter(|r| r.experiment == exp.id).collect();
            if mine.is_empty() {
                continue;
            }
            println!(
                "\n{} — {} ({}): {} runs",
                exp.id,
                exp.title,
                exp.figure,
                mine.len()
            );
            for r in mine {
                let c = estimate(&r.config)?;
                total += c.total();
                println!(
                    "  {:<40} {} = {:<10} data {:<16} model {:<6} {:>8.3} MFLOP/sample  ~{:.2e} FLOP",
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
                        println!("      {line}");
                    }
                }
            }
        }
        // 25 GFLOP/s: the throughput measured for the cpu scale on 2 cores (bench/RESULTS.md).
        println!(
            "\ntotal ~{:.2e} FLOP: about {:.0} min on 2 CPU cores at 25 GFLOP/s, {:.1} min on a GPU at 10 TFLOP/s",
            total,
            total / 25e9 / 60.0,
            total / 10e12 / 60.0
        );
        return Ok(());
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
        let full = load_grid(&args.configs, &args.scale, &[])?;
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
