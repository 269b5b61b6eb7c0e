//! `cargo xtask predict`: each sample's logits and label, for parity checks against other
//! tools.

use std::path::PathBuf;

use anyhow::Result;
use cr_eval::tools::{SampleSelection, Split, predict, select_samples};

use super::common::RunArgs;

/// Arguments of `predict`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Model file written by cr (`model.safetensors`, or one `import` wrote).
    #[arg(long)]
    model: PathBuf,
    /// Data: `NAME` (embedded) or `NAME:DIR`.
    #[arg(long, default_value = "mnist")]
    data: String,
    /// Split.
    #[arg(long, default_value = "test")]
    split: Split,
    /// N class-balanced samples (as `attack --n`); all when neither this nor --first is given.
    #[arg(long, conflicts_with = "first")]
    n: Option<usize>,
    /// The first N samples in file order.
    #[arg(long)]
    first: Option<usize>,
    /// Print one JSON object (every sample's label, prediction and logits).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    run: RunArgs,
}

/// Runs `predict`.
pub fn run(args: Args) -> Result<()> {
    let ctx = args.run.context(false)?;
    let selection = SampleSelection::from_flags(args.n, args.first)?;
    let data = select_samples(&args.data, args.split, selection, &ctx)?;
    let label = format!("{} ({:?}, {} samples)", args.data, args.split, data.len());
    let r = predict(&args.model, &data, &label, selection, &ctx)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(());
    }
    println!("model {}  data {}", r.model, r.data);
    println!("{:>6} {:>6} {:>9}  logits", "sample", "label", "predicted");
    for (i, p) in r.predictions.iter().enumerate() {
        let logits: Vec<String> = p.logits.iter().map(|v| format!("{v:.4}")).collect();
        println!(
            "{i:>6} {:>6} {:>9}  {}",
            p.label,
            p.predicted,
            logits.join(" ")
        );
    }
    println!("accuracy {:.4} on {} samples", r.accuracy, r.samples);
    Ok(())
}
