//! Arguments and helpers shared by several commands.

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use cr_experiments::execute::Context;

/// Where to run and where full data sets live.
#[derive(clap::Args, Debug, Clone)]
pub struct RunArgs {
    /// Device: `cpu` (default; burn's flex backend), `ndarray` (burn's older CPU backend, for
    /// comparison), or `cuda`/`vulkan` when built with that feature.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Root folder of full official data sets (e.g. DIR/mnist, DIR/cifar-10-batches-bin);
    /// without it the embedded subsets are used.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

impl RunArgs {
    /// The execution context.
    pub fn context(&self, progress: bool) -> Result<Context> {
        let device = cr_models::device::device_from_name(&self.device)
            .with_context(|| format!("--device {}", self.device))?;
        if let Some(d) = &self.data_dir
            && !d.is_dir()
        {
            anyhow::bail!("--data-dir {}: not a directory", d.display());
        }
        Ok(Context {
            device,
            data_dir: self.data_dir.clone(),
            progress,
        })
    }
}

/// Whether progress bars are drawn (stderr is a terminal and not `--quiet`; decided once in
/// `main`).
pub fn show_progress() -> bool {
    cr_train::progress::enabled()
}
