//! `cargo xtask data`: lists and verifies the embedded data, or summarises a folder of
//! official files.

use std::path::PathBuf;

use anyhow::{Result, bail};
use cr_data::embedded::EMBEDDED;
use cr_data::{Dataset, Splits};
use serde_json::json;

/// Arguments of `data`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Summarise a data set instead of the embedded ones: `NAME` or `NAME:DIR`
    /// (e.g. `cifar10:/data/cifar-10-batches-bin`).
    #[arg(long)]
    data: Option<String>,
    /// Root folder of full official data sets (NAME is looked up in DIR/<its folder>).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Print one JSON object.
    #[arg(long)]
    json: bool,
}

fn summary(d: &Dataset) -> serde_json::Value {
    json!({
        "name": d.name,
        "samples": d.len(),
        "shape": d.shape,
        "classes": d.num_classes,
        "per_class": d.class_counts(),
    })
}

fn print_split(d: &Dataset) {
    println!(
        "  {:<28} {:>6} samples of {:?}, {} classes, per class {:?}",
        d.name,
        d.len(),
        d.shape,
        d.num_classes,
        d.class_counts()
    );
}

/// Runs `data`.
pub fn run(args: Args) -> Result<()> {
    if args.data.is_some() || args.data_dir.is_some() {
        let spec = args.data.clone().unwrap_or_else(|| "mnist".into());
        let s: Splits = cr_data::load(&spec, args.data_dir.as_deref())?;
        if args.json {
            println!(
                "{}",
                serde_json::to_string_pretty(
                    &json!({"data": spec, "train": summary(&s.train), "test": summary(&s.test)})
                )?
            );
        } else {
            println!("{spec}: read and checked");
            print_split(&s.train);
            print_split(&s.test);
        }
        return Ok(());
    }
    let mut out = Vec::new();
    let mut failed = Vec::new();
    for e in EMBEDDED {
        let files: Vec<serde_json::Value> = e
            .files
            .iter()
            .map(|f| {
                let ok = f.verify(e.name).is_ok();
                if !ok {
                    failed.push(format!("{}/{}", e.folder, f.name));
                }
                json!({"file": f.name, "bytes": f.bytes.len(), "sha256": f.sha256, "verified": ok})
            })
            .collect();
        let loaded = e.load();
        if !args.json {
            println!("{} (data/{}; {})", e.name, e.folder, e.licence);
            for f in &files {
                println!(
                    "  {:<30} {:>9} bytes  sha256 {}…  {}",
                    f["file"].as_str().unwrap_or(""),
                    f["bytes"],
                    &f["sha256"].as_str().unwrap_or("")[..16],
                    if f["verified"] == true {
                        "OK"
                    } else {
                        "FAILED"
                    }
                );
            }
        }
        match &loaded {
            Ok(s) if !args.json => {
                print_split(&s.train);
                print_split(&s.test);
            }
            Err(err) => {
                failed.push(format!("{}: {err}", e.name));
                if !args.json {
                    println!("  cannot be read: {err}");
                }
            }
            _ => {}
        }
        out.push(json!({
            "name": e.name,
            "folder": format!("data/{}", e.folder),
            "licence": e.licence,
            "files": files,
            "train": loaded.as_ref().ok().map(|s| summary(&s.train)),
            "test": loaded.as_ref().ok().map(|s| summary(&s.test)),
        }));
    }
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({"embedded": out, "verified": failed.is_empty()}))?
        );
    } else if failed.is_empty() {
        println!("all embedded data verified");
    }
    if !failed.is_empty() {
        bail!("embedded data failed verification: {}", failed.join("; "));
    }
    Ok(())
}
