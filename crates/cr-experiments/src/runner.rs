//! The resumable runner behind `cargo xtask reproduce`: every run of the grid (or of one
//! shard of it) is trained, evaluated and written into its own folder (see [`crate::store`]);
//! finished runs are skipped, interrupted ones resume from their checkpoint, and a failed run
//! does not stop the others.

use std::path::{Path, PathBuf};
use std::time::Instant;

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};

use crate::error::ExpError;
use crate::execute::{Context, train_run};
use crate::grid::{Grid, RunSpec, shard};
use crate::store::{Status, prepare, run_dir, status, write, write_json, write_manifest};
use cr_eval::measures::{Evaluation, evaluate};
use cr_train::TrainMetrics;

/// The `result.json` of a finished run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunResult {
    /// Config hash (see [`crate::store::ResultHeader`]).
    pub hash: String,
    /// Experiment id.
    pub experiment: String,
    /// Run id.
    pub run: String,
    /// Sweep name.
    pub sweep: String,
    /// Swept key.
    pub key: String,
    /// Swept value.
    pub value: serde_json::Value,
    /// Position in the sweep.
    pub index: usize,
    /// Seed index.
    pub seed: usize,
    /// Training metrics.
    pub train: TrainMetrics,
    /// Head-training metrics of a transfer stage.
    pub transfer: Option<TrainMetrics>,
    /// The evaluation.
    pub eval: Evaluation,
    /// Wall seconds of the whole run (training included; 0 for the training part when the
    /// model was reused).
    pub seconds: f64,
    /// The device the run was trained and evaluated on (burn's `Debug` of it, e.g.
    /// `Device<Flex(Cpu)>`; empty in results written before it was recorded).
    #[serde(default)]
    pub device: String,
}

/// Options of [`run_grid`].
#[derive(Debug, Clone)]
pub struct RunnerOptions {
    /// Results folder.
    pub out: PathBuf,
    /// Seeds per point (`None`: each experiment's own).
    pub seeds: Option<usize>,
    /// Shard `(i, n)`.
    pub shard: Option<(usize, usize)>,
    /// Runs executed at once (at least 1; see [`run_grid`]). The CLI's default is one per
    /// CPU core on a CPU device and 1 on a GPU.
    pub jobs: usize,
}

/// What a grid run did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Runs in (this shard of) the grid.
    pub total: usize,
    /// Runs found finished and skipped.
    pub skipped: usize,
    /// Runs completed now.
    pub completed: usize,
    /// Runs that failed, with their errors.
    pub failed: Vec<(String, String)>,
    /// Wall seconds.
    pub seconds: f64,
}

/// Executes one run into `dir`: trains (or reuses the trained model), evaluates, and writes
/// `result.json` last.
pub fn execute_run(spec: &RunSpec, dir: &Path, ctx: &Context) -> Result<RunResult, ExpError> {
    let started = Instant::now();
    let trained = train_run(&spec.config, Some(dir), ctx)?;
    let eval = evaluate(
        &trained.model,
        &trained.eval_data.test,
        &spec.config.eval,
        &ctx.device,
    )?;
    let result = RunResult {
        hash: spec.hash.clone(),
        experiment: spec.experiment.clone(),
        run: spec.id.clone(),
        sweep: spec.sweep.clone(),
        key: spec.key.clone(),
        value: serde_json::to_value(&spec.value).unwrap_or(serde_json::Value::Null),
        index: spec.index,
        seed: spec.seed,
        train: trained.metrics,
        transfer: trained.transfer_metrics,
        eval,
        seconds: started.elapsed().as_secs_f64(),
        device: format!("{:?}", ctx.device),
    };
    write_json(&dir.join("result.json"), &result)?;
    let _ = std::fs::remove_file(dir.join("error.txt"));
    Ok(result)
}

/// The runs of `grid` this invocation is responsible for.
pub fn planned_runs(grid: &Grid, opts: &RunnerOptions) -> Result<Vec<RunSpec>, ExpError> {
    let runs = grid.runs(opts.seeds)?;
    Ok(match opts.shard {
        Some((i, n)) => shard(runs, i, n),
        None => runs,
    })
}

/// Runs every planned run that is not finished, `opts.jobs` at a time. Progress: an overall
/// bar (runs done / total, ETA) and one line per worker naming its run.
///
/// Concurrency: each worker runs its runs inside its own rayon pool of
/// `max(1, cores / jobs)` threads, so on a CPU with `jobs` = cores every run is
/// single-threaded. Small models use two cores poorly (a 2-core machine trained the
/// `fcn-standard` sweep in 84 s with one run at a time and 46 s with two), and the numbers do
/// not depend on the thread count (each kernel's reduction order is fixed, and the CLI runs
/// faer on one thread, `cr_linalg::sequential`; checked by `tests/e2e.rs`). Runs are
/// independent (each writes only its own folder); the manifest is rewritten under a lock
/// after each one.
pub fn run_grid(grid: &Grid, opts: &RunnerOptions, ctx: &Context) -> Result<Summary, ExpError> {
    let started = Instant::now();
    let runs = planned_runs(grid, opts)?;
    std::fs::create_dir_all(&opts.out).map_err(|source| ExpError::Io {
        path: opts.out.clone(),
        source,
    })?;
    let manifest = match opts.shard {
        Some((i, n)) => format!("manifest-shard-{i}-of-{n}.json"),
        None => "manifest.json".to_string(),
    };
    let show = ctx.progress;
    let overall = if show {
        cr_train::progress::bar(
            runs.len() as u64,
            "{prefix} [{bar:40}] {pos}/{len} runs, {elapsed} elapsed, ETA {eta} {msg}",
        )
    } else {
        ProgressBar::hidden()
    };
    overall.set_prefix(format!("reproduce ({})", grid.scale));
    write_manifest(&opts.out, &runs, &manifest)?;
    let todo: Vec<&RunSpec> = runs
        .iter()
        .filter(|spec| status(&opts.out, spec) != Status::Done)
        .collect();
    overall.inc((runs.len() - todo.len()) as u64);
    let jobs = opts.jobs.clamp(1, todo.len().max(1));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads = (cores / jobs).max(1);
    tracing::info!(
        "{} runs to do ({} finished), {jobs} at a time, {threads} thread(s) each",
        todo.len(),
        runs.len() - todo.len()
    );
    let workers = Workers {
        summary: Mutex::new(Summary {
            total: runs.len(),
            skipped: runs.len() - todo.len(),
            ..Summary::default()
        }),
        todo: &todo,
        runs: &runs,
        out: &opts.out,
        manifest: &manifest,
        // With several runs at once, per-epoch bars of every run would crowd the terminal:
        // each worker shows one line instead.
        run_ctx: Context {
            progress: show && jobs == 1,
            ..ctx.clone()
        },
        overall: &overall,
        show,
        jobs,
        threads,
        next: AtomicUsize::new(0),
        failure: Mutex::new(None),
    };
    std::thread::scope(|scope| {
        for w in 0..jobs {
            let workers = &workers;
            scope.spawn(move || workers.work(w));
        }
    });
    cr_train::progress::remove(&overall);
    let Workers {
        summary, failure, ..
    } = workers;
    if let Some(e) = failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let mut summary = summary.into_inner().unwrap_or_else(|p| p.into_inner());
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// What the workers of [`run_grid`] share: the runs to do (taken in order through `next`),
/// the summary (whose lock also serialises the manifest writes) and the first failure that
/// stops them all.
struct Workers<'a> {
    summary: Mutex<Summary>,
    todo: &'a [&'a RunSpec],
    runs: &'a [RunSpec],
    out: &'a Path,
    manifest: &'a str,
    run_ctx: Context,
    overall: &'a ProgressBar,
    show: bool,
    jobs: usize,
    threads: usize,
    next: AtomicUsize,
    failure: Mutex<Option<ExpError>>,
}

impl Workers<'_> {
    /// Worker `w`: in its own rayon pool, takes the next run until none is left or a run
    /// failed in a way that stops the grid.
    fn work(&self, w: usize) {
        let pool = match rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads)
            .thread_name(move |i| format!("cr-run{w}-{i}"))
            .build()
        {
            Ok(p) => p,
            Err(e) => return self.fail(ExpError::ThreadPool(e.to_string())),
        };
        let line = if self.show && self.jobs > 1 {
            cr_train::progress::spinner("  {prefix} {elapsed:>4} {msg}")
        } else {
            ProgressBar::hidden()
        };
        line.set_prefix(format!("[{}]", w + 1));
        line.enable_steady_tick(std::time::Duration::from_millis(500));
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(spec) = self.todo.get(i) else { break };
            if self
                .failure
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .is_some()
            {
                break;
            }
            line.reset_elapsed();
            line.set_message(format!("{}/{}", spec.experiment, spec.id));
            if self.jobs == 1 {
                self.overall
                    .set_message(format!("{}/{}", spec.experiment, spec.id));
            }
            let outcome = pool.install(|| run_one(spec, self.out, &self.run_ctx));
            if let Some(e) = self.record(spec, outcome) {
                self.fail(e);
                break;
            }
        }
        cr_train::progress::remove(&line);
    }

    /// Counts a finished run (a run's own error is a failed run; an error of the results
    /// folder stops the grid, returned) and rewrites the manifest.
    fn record(
        &self,
        spec: &RunSpec,
        outcome: Result<Result<(), ExpError>, ExpError>,
    ) -> Option<ExpError> {
        let mut s = self.summary.lock().unwrap_or_else(|p| p.into_inner());
        let stop = match outcome {
            Ok(Ok(())) => {
                s.completed += 1;
                None
            }
            Ok(Err(e)) => {
                s.failed
                    .push((format!("{}/{}", spec.experiment, spec.id), e.to_string()));
                None
            }
            Err(e) => Some(e),
        };
        // The lock on the summary also serialises the manifest writes.
        let written = write_manifest(self.out, self.runs, self.manifest);
        drop(s);
        self.overall.inc(1);
        stop.or(written.err())
    }

    /// Stops every worker after its current run, keeping `e`.
    fn fail(&self, e: ExpError) {
        *self.failure.lock().unwrap_or_else(|p| p.into_inner()) = Some(e);
    }
}

/// One run of the grid: `Ok(Ok(()))` when it finished, `Ok(Err(e))` when the run itself
/// failed (recorded in its `error.txt`; the grid goes on), `Err(e)` when the results folder
/// cannot be written (the grid stops).
fn run_one(spec: &RunSpec, out: &Path, ctx: &Context) -> Result<Result<(), ExpError>, ExpError> {
    let dir = prepare(out, spec)?;
    tracing::info!("run {}/{}", spec.experiment, spec.id);
    match execute_run(spec, &dir, ctx) {
        Ok(r) => {
            tracing::info!(
                "{}/{}: clean {:.4}, robust {:?}, {:.1} s",
                spec.experiment,
                spec.id,
                r.eval.clean_accuracy,
                r.eval.robust_accuracy,
                r.seconds
            );
            Ok(Ok(()))
        }
        Err(e) => {
            tracing::error!("{}/{} failed: {e}", spec.experiment, spec.id);
            write(&dir.join("error.txt"), format!("{e}\n").as_bytes())?;
            Ok(Err(e))
        }
    }
}

/// Reads the finished results of `runs` from `out` (skipping unfinished ones).
pub fn collect(out: &Path, runs: &[RunSpec]) -> Vec<RunResult> {
    collect_many(&[out.to_path_buf()], runs)
}

/// Reads the finished results of `runs` from several results folders (e.g. one per shard,
/// copied from different machines): for each run, the first folder holding a result with the
/// run's config hash.
pub fn collect_many(dirs: &[PathBuf], runs: &[RunSpec]) -> Vec<RunResult> {
    runs.iter()
        .filter_map(|r| {
            dirs.iter().find_map(|d| {
                let res: RunResult = crate::store::read_json(&run_dir(d, r).join("result.json"))?;
                (res.hash == r.hash).then_some(res)
            })
        })
        .collect()
}

/// A Slurm job-array script that runs the grid in `shards` shards and then the report.
pub fn slurm_script(
    scale: &str,
    shards: usize,
    out: &Path,
    only: &[String],
    extra: &str,
) -> String {
    let only = if only.is_empty() {
        String::new()
    } else {
        format!(" --only {}", only.join(","))
    };
    let out = out.display();
    format!(
        r#"#!/bin/bash
# Slurm job array for `cargo xtask reproduce --scale {scale}`: one task per shard; the
# report is drawn by a dependent job once every shard has finished. Submit with
#   sbatch reproduce.slurm
# Adjust the resources to your cluster (a GPU per task for --device cuda).
#SBATCH --job-name=cr-reproduce
#SBATCH --array=0-{last}
#SBATCH --cpus-per-task=8
#SBATCH --mem=32G
#SBATCH --time=24:00:00
#SBATCH --output=cr-reproduce-%A_%a.out
set -euo pipefail
# Build once before submitting (cargo build --release -p xtask), so tasks do not race.
BIN=${{CR_BIN:-target/release/xtask}}
"$BIN" reproduce --scale {scale}{only} --out {out} --shard "$SLURM_ARRAY_TASK_ID/{shards}" --no-report {extra}
if [ "$SLURM_ARRAY_TASK_ID" -eq 0 ]; then
  # Queue the report after the whole array (afterany: also after failures, so the report
  # shows what finished).
  sbatch --dependency=afterany:"$SLURM_ARRAY_JOB_ID" --job-name=cr-report \
    --wrap="$BIN report --scale {scale}{only} --results {out}"
fi
"#,
        last = shards.saturating_sub(1)
    )
}
