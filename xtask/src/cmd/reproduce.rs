//! `cargo xtask reproduce`: the paper's experiment grid, resumable, then the report.

use std::path::PathBuf;

use anyhow::{Result, bail};
use cr_experiments::cost::{StepCost, estimate, extrapolate, measure_steps, step_counts};
use cr_experiments::grid::{Grid, RunSpec};
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
    /// With --dry-run: time a few training steps and attack iterations of each experiment's
    /// model at its real size and batch on --device, with the peak memory, and extrapolate
    /// them to every run's full sizes (epochs, data sets, attack steps): the hours and memory
    /// the grid needs (takes a minute or two at paper scale on a CPU).
    #[arg(long, requires = "dry_run")]
    pub measure: bool,
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
        return emit_slurm(&args, &grid, &opts, n);
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

/// `--emit-slurm N`: writes the job-array script of N shards.
fn emit_slurm(args: &Args, grid: &Grid, opts: &RunnerOptions, n: usize) -> Result<()> {
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
            grid,
            &RunnerOptions {
                shard: None,
                ..opts.clone()
            }
        )?
        .len(),
        args.slurm_file.display()
    );
    Ok(())
}

/// One run of the dry run: its line (and, with `--verbose-configs`, its resolved config), its
/// JSON row and its estimated FLOPs.
fn run_row(args: &Args, r: &RunSpec) -> Result<(String, serde_json::Value, f64)> {
    let c = estimate(&r.config)?;
    let mut text = format!(
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
    let row = serde_json::json!({
        "experiment": r.experiment,
        "id": r.id,
        "sweep": r.sweep,
        "key": r.key,
        "value": serde_json::to_value(&r.value)?,
        "seed": r.seed,
        "hash": r.hash,
        "cost": c,
        "config": serde_json::to_value(&r.config)?,
    });
    Ok((text, row, c.total()))
}

/// `--dry-run`: the planned runs with their resolved configs and estimated cost.
fn dry_run(args: &Args, grid: &Grid, opts: &RunnerOptions) -> Result<()> {
    let runs = planned_runs(grid, opts)?;
    let device = if args.measure {
        Some(args.run.context(false)?.device)
    } else {
        None
    };
    let mut measured: Vec<Measured> = Vec::new();
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
        if let Some(device) = &device {
            let m = measured_row(exp.id.as_str(), &mine, device)?;
            text += &m.line();
            measured.push(m);
        }
        for r in mine {
            let (line, row, flops) = run_row(args, r)?;
            total += flops;
            text += &line;
            rows.push(row);
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
            "measured": args.measure.then(|| measured_json(&measured, &args.run.device)),
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
    } else {
        print!("{text}");
        println!(
            "\ntotal ~{total:.2e} FLOP: about {cpu_min:.0} min on 2 CPU cores at {:.0} GFLOP/s, {gpu_min:.1} min on a GPU at {:.0} TFLOP/s",
            CPU_FLOPS / 1e9,
            GPU_FLOPS / 1e12
        );
        if !measured.is_empty() {
            print!("{}", measured_table(&measured, &args.run.device));
        }
    }
    Ok(())
}

/// The assumed ratio of an NVIDIA H200's sustained throughput on these models to this 2-core
/// CPU's, by which measured CPU seconds become GPU seconds. An ASSUMPTION, not a measurement
/// (no GPU has run the grid): the H200's fp32 peak is about 67 TFLOP/s (the H100 SXM's compute
/// die with faster memory); cr's cubecl kernels are assumed to sustain about 15% of it,
/// 10 TFLOP/s (`GPU_FLOPS`), against the 47 GFLOP/s this CPU sustained over the whole cpu grid
/// (`CPU_FLOPS`, measured): 10e12 / 47e9 ≈ 213, rounded to 200.
const ASSUMED_GPU_OVER_CPU: f64 = 200.0;

/// One experiment's measured step costs and their extrapolation to all its runs.
#[derive(Debug, Clone, serde::Serialize)]
struct Measured {
    experiment: String,
    arch: String,
    runs: usize,
    cost: StepCost,
    /// Extrapolated wall seconds of all the experiment's runs on the measuring device.
    seconds: f64,
}

impl Measured {
    fn line(&self) -> String {
        format!(
            "  measured: train step {:.3} s (batch {}), attack iteration {:.2} ms/sample, peak RSS {} ({} held before); all {} runs ~{:.1} h here\n",
            self.cost.train_step_s,
            self.cost.batch_size,
            self.cost.attack_step_per_sample_s * 1e3,
            gib(self.cost.peak_rss_bytes),
            gib(self.cost.rss_before_bytes),
            self.runs,
            self.seconds / 3600.0
        )
    }
}

fn gib(b: Option<u64>) -> String {
    b.map_or_else(
        || "n/a".into(),
        |b| format!("{:.2} GiB", b as f64 / (1u64 << 30) as f64),
    )
}

/// Measures the first run of an experiment and extrapolates to each of its runs.
fn measured_row(
    id: &str,
    runs: &[&cr_experiments::grid::RunSpec],
    device: &burn::prelude::Device,
) -> Result<Measured> {
    let first = runs
        .first()
        .ok_or_else(|| anyhow::anyhow!("{id}: no runs"))?;
    tracing::info!("{id}: measuring {} steps", first.config.model.arch_name());
    let cost = measure_steps(&first.config, device)
        .map_err(|e| anyhow::anyhow!("{id}: measuring {}: {e}", first.id))?;
    let seconds = runs
        .iter()
        .map(|r| extrapolate(&cost, &step_counts(&r.config)))
        .sum();
    Ok(Measured {
        experiment: id.to_string(),
        arch: format!(
            "{} {:.1}M",
            first.config.model.arch_name(),
            cost.params as f64 / 1e6
        ),
        runs: runs.len(),
        cost,
        seconds,
    })
}

fn measured_json(m: &[Measured], device: &str) -> serde_json::Value {
    let total: f64 = m.iter().map(|r| r.seconds).sum();
    serde_json::json!({
        "device": device,
        "experiments": m,
        "total_hours": total / 3600.0,
        "gpu_model": {
            "gpu": "NVIDIA H200 (assumed)",
            "assumed_gpu_over_measured_device": ASSUMED_GPU_OVER_CPU,
            "total_gpu_hours": total / ASSUMED_GPU_OVER_CPU / 3600.0,
            "assumption": "measured CPU seconds / 200: H200 fp32 peak ~67 TFLOP/s, cr's kernels assumed at ~15% (10 TFLOP/s) vs the 47 GFLOP/s this 2-core CPU sustained over the cpu grid; not measured on a GPU",
        },
    })
}

fn measured_table(m: &[Measured], device: &str) -> String {
    let mut t = format!(
        "\nMeasured on `{device}` at each experiment's real model size and batch, extrapolated to its full sizes.\n\
         GPU column: these seconds / {ASSUMED_GPU_OVER_CPU:.0} (ASSUMED H200 over this 2-core CPU: fp32 peak ~67 TFLOP/s,\n\
         cr's kernels assumed at ~15% = 10 TFLOP/s, vs the 47 GFLOP/s measured here over the cpu grid; no GPU measured).\n\n\
         | experiment | model | runs | train step s (batch) | attack ms/sample/iter | peak RSS (held before) | hours here | H200 hours (assumed) |\n\
         | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |\n"
    );
    let mut total = 0.0;
    for r in m {
        total += r.seconds;
        t += &format!(
            "| {} | {} | {} | {:.3} ({}) | {:.2} | {} ({}) | {:.1} | {:.2} |\n",
            r.experiment,
            r.arch,
            r.runs,
            r.cost.train_step_s,
            r.cost.batch_size,
            r.cost.attack_step_per_sample_s * 1e3,
            gib(r.cost.peak_rss_bytes),
            gib(r.cost.rss_before_bytes),
            r.seconds / 3600.0,
            r.seconds / ASSUMED_GPU_OVER_CPU / 3600.0
        );
    }
    t += &format!(
        "| total | | {} | | | | {:.1} | {:.1} |\n",
        m.iter().map(|r| r.runs).sum::<usize>(),
        total / 3600.0,
        total / ASSUMED_GPU_OVER_CPU / 3600.0
    );
    t
}
