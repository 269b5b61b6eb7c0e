//! Per-epoch metrics, kept in memory and written to `metrics.json`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::TrainError;

/// What one epoch measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Epoch index (0-based).
    pub epoch: usize,
    /// Learning rate used.
    pub lr: f64,
    /// Mean data loss (cross-entropy) over the epoch's minibatches.
    pub train_loss: f64,
    /// Mean penalty (regulariser) term.
    pub penalty: f64,
    /// Training accuracy over the epoch (on the possibly adversarial minibatches).
    pub train_accuracy: f64,
    /// Validation loss (NaN when there is no validation split).
    pub val_loss: f64,
    /// Validation accuracy (NaN when there is no validation split).
    pub val_accuracy: f64,
    /// Optimiser steps taken so far (global).
    pub steps: u64,
    /// Wall seconds of the epoch.
    pub seconds: f64,
}

/// The whole run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrainMetrics {
    /// Every epoch in order.
    pub epochs: Vec<EpochMetrics>,
    /// The epoch whose model was kept (lowest validation loss), if validation was on.
    pub best_epoch: Option<usize>,
    /// Whether early stopping ended the run.
    pub stopped_early: bool,
    /// Total optimiser steps.
    pub steps: u64,
    /// Number of trainable parameters.
    pub parameters: usize,
    /// Names of the hooks used.
    pub hooks: String,
}

impl TrainMetrics {
    /// Writes the metrics as pretty JSON, atomically.
    pub fn write_json(&self, path: &Path) -> Result<(), TrainError> {
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| TrainError::Checkpoint(format!("serialising metrics: {e}")))?;
        cr_models::file::write_atomic(path, text.as_bytes()).map_err(|source| TrainError::Io {
            path: path.to_path_buf(),
            source,
        })
    }
}
