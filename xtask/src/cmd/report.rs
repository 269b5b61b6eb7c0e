//! `cargo xtask report`: figures, report.md and results.csv from a results folder (or the
//! folders of several shards).

use std::path::PathBuf;

use anyhow::Result;
use cr_experiments::report::{Verdict, write_report};

use super::common::ScaleArg;
use super::reproduce::load_grid;

/// Arguments of `report`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Results folder(s); the report is written into the first. Give several to merge the
    /// folders of shards run on different machines.
    #[arg(long, default_value = "results")]
    results: Vec<PathBuf>,
    /// Scale whose grid the results belong to.
    #[arg(long, default_value = "cpu")]
    scale: ScaleArg,
    /// Only these experiments.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Seeds per point, as given to reproduce.
    #[arg(long)]
    seeds: Option<usize>,
    /// Folder with the experiment grid.
    #[arg(long, default_value = "configs")]
    configs: PathBuf,
    /// Print the findings as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `report`.
pub fn run(args: Args) -> Result<()> {
    let grid = load_grid(&args.configs, args.scale, &args.only)?;
    let (first, rest) = args
        .results
        .split_first()
        .ok_or_else(|| anyhow::anyhow!("--results: give at least one folder"))?;
    if !first.is_dir() {
        anyhow::bail!("--results {}: not a directory", first.display());
    }
    let r = write_report(&grid, first, rest, args.seeds)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    println!(
        "wrote {} and {} ({} of {} runs finished)",
        r.report.display(),
        r.csv.display(),
        r.runs.1,
        r.runs.0
    );
    println!("{}", r.summary);
    for f in &r.findings {
        let mark = match f.judgement.verdict {
            Verdict::Supported => "yes",
            Verdict::Contradicted => "NO ",
            Verdict::Inconclusive => " ? ",
        };
        let shape = f
            .judgement
            .shape
            .as_ref()
            .map(|s| format!("; {}", s.describe()))
            .unwrap_or_default();
        println!(
            "  [{mark}] {} ({}): {} — {}{shape}",
            f.experiment,
            f.sweep,
            f.text,
            f.effect()
        );
    }
    Ok(())
}
