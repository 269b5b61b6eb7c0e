//! `cargo xtask bench`: the fixed speed and memory suite (`cr_bench`).

use anyhow::Result;
use cr_bench::{BenchOptions, run as run_bench};

use super::common::RunArgs;

/// Arguments of `bench`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// A few seconds in all (small data and matrices; numbers not comparable).
    #[arg(long)]
    quick: bool,
    /// Run only these workloads (comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    run: RunArgs,
}

/// Runs `bench`.
pub fn run(args: Args) -> Result<()> {
    let ctx = args.run.context(false)?;
    let r = run_bench(
        &BenchOptions {
            quick: args.quick,
            only: args.only.clone(),
        },
        &ctx.device,
    )?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    println!(
        "machine {}  device {}{}",
        r.machine,
        r.device,
        if r.quick { "  (quick)" } else { "" }
    );
    println!(
        "{:<12} {:>12} {:<10} {:>9} {:>10}  what",
        "workload", "value", "unit", "seconds", "peak MiB"
    );
    for row in &r.rows {
        println!(
            "{:<12} {:>12.3} {:<10} {:>9.3} {:>10}  {}",
            row.workload,
            row.value,
            row.unit,
            row.seconds,
            row.peak_rss_bytes
                .map(|b| format!("{:.1}", b as f64 / 1048576.0))
                .unwrap_or_else(|| "n/a".into()),
            row.what
        );
    }
    Ok(())
}
