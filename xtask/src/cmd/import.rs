//! `cargo xtask import`: a PyTorch state dict (safetensors) becomes a cr model file.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use cr_models::import::{ImportArch, ImportOptions, KNOWN_ARCHS, import_file};
use cr_models::{Normalize, file::save_model};

/// Arguments of `import`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The state dict, saved with `safetensors.torch.save_file` (see `python/export.py`).
    state_dict: PathBuf,
    /// Architecture: torchvision-resnet18, torchvision-resnet50, torchvision-resnet18-cifar,
    /// torchvision-vgg16-bn, robustbench-wrn-D-W, robustbench-preact-resnet18, cr-fcn, …
    /// (`--arch help` lists them all).
    #[arg(long)]
    arch: String,
    /// Input shape `C,H,W` (e.g. `3,32,32`).
    #[arg(long, value_parser = parse_input)]
    input: [usize; 3],
    /// Number of classes (checked against the head; read from it when omitted).
    #[arg(long)]
    classes: Option<usize>,
    /// Per-channel input mean the model normalises by (`0.485,0.456,0.406` for torchvision's
    /// ImageNet weights); pixels stay in [0, 1]. Requires `--std`.
    #[arg(long, value_delimiter = ',', requires = "std")]
    mean: Option<Vec<f64>>,
    /// Per-channel input standard deviation. Requires `--mean`.
    #[arg(long, value_delimiter = ',', requires = "mean")]
    std: Option<Vec<f64>>,
    /// The cr model file to write.
    #[arg(long)]
    out: PathBuf,
    /// Print the written model's spec as JSON.
    #[arg(long)]
    json: bool,
    /// Device to build the model on (the file is the same on every device).
    #[arg(long, default_value = "cpu")]
    device: String,
}

fn parse_input(s: &str) -> std::result::Result<[usize; 3], String> {
    let v: Vec<usize> = s
        .split(',')
        .map(|p| p.trim().parse::<usize>())
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| format!("`{s}`: {e} (expected C,H,W, e.g. 3,32,32)"))?;
    <[usize; 3]>::try_from(v).map_err(|v| format!("`{s}`: {} values, expected C,H,W", v.len()))
}

/// Runs `import`.
pub fn run(args: Args) -> Result<()> {
    if args.arch == "help" {
        println!("{}", KNOWN_ARCHS.join("\n"));
        return Ok(());
    }
    let arch: ImportArch = args.arch.parse().context("--arch")?;
    let normalize = match (args.mean, args.std) {
        (Some(mean), Some(std)) => Some(Normalize { mean, std }),
        (None, None) => None,
        _ => bail!("--mean and --std go together"),
    };
    let device = cr_models::device::device_from_name(&args.device)
        .with_context(|| format!("--device {}", args.device))?;
    let opts = ImportOptions {
        arch,
        input: args.input,
        classes: args.classes,
        normalize,
    };
    let model = import_file(&args.state_dict, &opts, &device)?;
    let source = args
        .state_dict
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let extra = BTreeMap::from([
        ("cr.import.arch".to_string(), args.arch.clone()),
        ("cr.import.source".to_string(), source),
    ]);
    save_model(&model, &args.out, &extra)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&model.spec)?);
    } else {
        println!(
            "{} -> {}: {} ({} parameters, {} classes)",
            args.state_dict.display(),
            args.out.display(),
            model.spec.arch_name(),
            model.num_params(),
            model.spec.num_classes
        );
    }
    Ok(())
}
