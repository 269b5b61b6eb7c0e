//! Where a model is measured.

use std::path::PathBuf;

use burn::prelude::*;

/// Where and how runs execute.
#[derive(Debug, Clone)]
pub struct Context {
    /// The device (plain; autodiff is added where needed).
    pub device: Device,
    /// Root of full official data sets (`--data-dir`), if any.
    pub data_dir: Option<PathBuf>,
    /// Show progress bars.
    pub progress: bool,
}

impl Context {
    /// The CPU device, embedded data, no progress bars.
    pub fn cpu() -> Self {
        Self {
            device: cr_models::device::cpu(),
            data_dir: None,
            progress: false,
        }
    }
}
