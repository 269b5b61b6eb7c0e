//! Per-epoch metrics, kept in memory and written to `metrics.json`.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::TrainError;

/// Reads a number that JSON may hold as `null`: serde_json writes NaN and ±∞ as `null`, so
/// a value that was not finite when written (no validation split, a diverged loss) comes
/// back as NaN instead of failing the whole file.
pub(crate) fn f64_or_nan<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
}

/// What one epoch measured. Values that are not finite are written as JSON `null` and read
/// back as NaN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// Epoch index (0-based).
    pub epoch: usize,
    /// Learning rate used.
    #[serde(deserialize_with = "f64_or_nan")]
    pub lr: f64,
    /// Mean data loss (cross-entropy) over the epoch's minibatches.
    #[serde(deserialize_with = "f64_or_nan")]
    pub train_loss: f64,
    /// Mean penalty (regulariser) term.
    #[serde(deserialize_with = "f64_or_nan")]
    pub penalty: f64,
    /// Training accuracy over the epoch (on the possibly adversarial minibatches).
    #[serde(deserialize_with = "f64_or_nan")]
    pub train_accuracy: f64,
    /// Validation loss (NaN when there is no validation split).
    #[serde(deserialize_with = "f64_or_nan")]
    pub val_loss: f64,
    /// Validation accuracy (NaN when there is no validation split).
    #[serde(deserialize_with = "f64_or_nan")]
    pub val_accuracy: f64,
    /// Optimiser steps taken so far (global).
    pub steps: u64,
    /// Wall seconds of the epoch.
    #[serde(deserialize_with = "f64_or_nan")]
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
