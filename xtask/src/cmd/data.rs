//! `cargo xtask data`: list and verify the embedded data sets, or verify and summarise
//! official files in a directory. The checks live in `cr_data::check`; this only prints.

use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use cr_data::DataSource;
use cr_data::check::{FileStatus, Summary, check_embedded, check_source, sources_under};

/// Arguments of `data`.
#[derive(clap::Args, Debug)]
#[command(after_help = "\
Without options, lists the data sets compiled into cr (MNIST, Fashion-MNIST and UCI-digits
subsets) and verifies their SHA-256 checksums.

Examples:
  cargo xtask data
  cargo xtask data --data mnist:/data/mnist --data cifar10:/data/cifar-10-batches-bin
  cargo xtask data --data-dir /data          # every data set found under /data
  cargo xtask data --json
  cargo xtask data --synthesize /tmp/fake   # seeded stand-ins of every paper data set

Names: mnist, fashion-mnist, uci-digits, cifar10, cifar100, cifar100-coarse, svhn,
svhn-extra, synthetic-gmm, synthetic-teacher. Exits non-zero when a check fails.")]
pub struct Args {
    /// Verify and summarise a data set read from official files, as NAME:DIR (repeatable).
    /// A NAME without DIR is looked for under --data-dir, or is the embedded set.
    #[arg(long = "data", value_name = "NAME:DIR")]
    data: Vec<String>,
    /// Root folder of official data sets (ROOT/mnist, ROOT/fashion-mnist,
    /// ROOT/cifar-10-batches-bin, ROOT/cifar-100-binary, ROOT/svhn, ...); with no --data,
    /// every data set found there is verified.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Print one JSON object instead of the listing.
    #[arg(long)]
    json: bool,
    /// Write small seeded stand-ins of every paper data set (MNIST, Fashion-MNIST, CIFAR-10,
    /// CIFAR-100, SVHN) in the official formats under DIR, laid out as `--data-dir DIR`
    /// expects, then verify them with the loaders.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["data", "data_dir"])]
    synthesize: Option<PathBuf>,
    /// With --synthesize: training images per class.
    #[arg(long, default_value_t = 20)]
    train_per_class: usize,
    /// With --synthesize: test images per class.
    #[arg(long, default_value_t = 10)]
    test_per_class: usize,
    /// With --synthesize: the seed of every pixel and label.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// Runs `data`.
pub fn run(args: Args) -> Result<()> {
    let (mode, summaries) = if let Some(root) = &args.synthesize {
        let sizes = cr_data::write::SynthSizes {
            train_per_class: args.train_per_class,
            test_per_class: args.test_per_class,
        };
        let files = cr_data::write::synthesize(root, sizes, args.seed)
            .with_context(|| format!("--synthesize {}", root.display()))?;
        if !args.json {
            println!(
                "wrote {} files of seeded stand-in data under {} (seed {}); their numbers mean nothing\n",
                files.len(),
                root.display(),
                args.seed
            );
        }
        let sources = sources_under(root).context("--synthesize")?;
        ("synthesized", sources.iter().map(check_source).collect())
    } else if !args.data.is_empty() {
        let mut out = Vec::new();
        for spec in &args.data {
            let src = DataSource::resolve(spec, args.data_dir.as_deref())
                .with_context(|| format!("--data {spec}"))?;
            out.push(check_source(&src));
        }
        ("sources", out)
    } else if let Some(root) = &args.data_dir {
        let sources = sources_under(root).context("--data-dir")?;
        if sources.is_empty() {
            bail!(
                "--data-dir {}: no data set folder found (looked for mnist, fashion-mnist, uci-digits-8x8, cifar-10-batches-bin, cifar-100-binary, svhn and the other names of `cargo xtask data --help`)",
                root.display()
            );
        }
        ("data-dir", sources.iter().map(check_source).collect())
    } else {
        ("embedded", check_embedded())
    };
    let ok = summaries.iter().all(|s| s.ok);

    if args.json {
        let j = serde_json::json!({ "mode": mode, "ok": ok, "data_sets": summaries });
        println!("{}", serde_json::to_string_pretty(&j)?);
    } else {
        if mode == "embedded" {
            println!(
                "Embedded data sets (compiled into this binary; provenance and licences in data/README.md)\n"
            );
        }
        for s in &summaries {
            print_summary(s);
        }
        if ok {
            let files: usize = summaries.iter().map(|s| s.files.len()).sum();
            println!(
                "All {} data set(s) verified ({files} file(s) checked).",
                summaries.len()
            );
        }
    }
    if !ok {
        let failed: Vec<&str> = summaries
            .iter()
            .filter(|s| !s.ok)
            .map(|s| s.name.as_str())
            .collect();
        bail!("verification FAILED for {}", failed.join(", "));
    }
    Ok(())
}

fn per_class(counts: &[usize]) -> String {
    match counts {
        [] => String::new(),
        [first, ..] if counts.iter().all(|c| c == first) => format!("{first} per class"),
        _ if counts.len() <= 20 => format!(
            "per class {}",
            counts
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(" ")
        ),
        _ => format!(
            "per class min {} max {}",
            counts.iter().min().unwrap_or(&0),
            counts.iter().max().unwrap_or(&0)
        ),
    }
}

fn print_summary(s: &Summary) {
    let [c, h, w] = s.shape;
    let from = if s.source == "embedded" {
        String::new()
    } else {
        format!(" from {}", s.source)
    };
    println!("{}{from}: {c}x{h}x{w}, {} classes", s.name, s.num_classes);
    if let Some(l) = &s.licence {
        println!("  licence   {l}");
    }
    for sp in &s.splits {
        println!(
            "  {:<5} {:>7} images, {}, mean pixel {:.3}",
            sp.split,
            sp.n,
            per_class(&sp.class_counts),
            sp.pixel_mean
        );
    }
    for f in &s.files {
        let status = match f.status {
            FileStatus::Ok => "OK",
            FileStatus::Failed => "FAILED",
            FileStatus::Unknown => "parsed",
        };
        match (f.status, &f.content_sha256) {
            (FileStatus::Unknown, Some(h)) => {
                println!("  {status:<7} {}  sha256 {h}  ({})", f.file, f.note)
            }
            _ => println!("  {status:<7} {}  ({})", f.file, f.note),
        }
    }
    match (&s.error, s.ok) {
        (Some(e), _) => println!("  FAILED  {e}"),
        (None, true) if s.source == "embedded" => println!("  checksums OK"),
        (None, true) => println!("  read OK"),
        (None, false) => println!("  FAILED"),
    }
    println!();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(data: &[&str], json: bool) -> Args {
        Args {
            data: data.iter().map(|s| s.to_string()).collect(),
            data_dir: None,
            json,
            synthesize: None,
            train_per_class: 20,
            test_per_class: 10,
            seed: 0,
        }
    }

    #[test]
    fn embedded_sets_verify_and_bad_sources_fail() {
        run(args(&[], true)).unwrap();
        let e = run(args(&["mnist:/nonexistent/cr-data"], false)).unwrap_err();
        assert!(
            format!("{e:#}").contains("verification FAILED for mnist"),
            "{e:#}"
        );
        let e = run(args(&["imagenet"], false)).unwrap_err();
        assert!(
            format!("{e:#}").contains("unknown data set `imagenet`"),
            "{e:#}"
        );
    }

    #[test]
    fn class_counts_are_summarised_compactly() {
        assert_eq!(per_class(&[800; 10]), "800 per class");
        assert_eq!(per_class(&[1, 2, 3]), "per class 1 2 3");
        let many: Vec<usize> = (0..100).map(|i| 400 + i % 3).collect();
        assert_eq!(per_class(&many), "per class min 400 max 402");
    }
}
