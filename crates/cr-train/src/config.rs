//! The `[train]` table of a config: every knob of the training loop, with the paper's
//! defaults (SPEC §4: AdamW, lr 1e-3, weight decay 0.01, batch 100, early stopping on a 10%
//! validation split by validation loss, best model kept).

use serde::{Deserialize, Serialize};

use crate::error::{TrainError, invalid};
use crate::optim::OptimizerConfig;
use crate::schedule::Schedule;

/// Early stopping on validation loss.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EarlyStopping {
    /// Epochs without improvement before stopping.
    #[serde(default = "d_patience")]
    pub patience: usize,
    /// Smallest decrease of the validation loss that counts as an improvement.
    #[serde(default)]
    pub min_delta: f64,
}

fn d_patience() -> usize {
    5
}

impl Default for EarlyStopping {
    fn default() -> Self {
        Self {
            patience: d_patience(),
            min_delta: 0.0,
        }
    }
}

/// Which parameters are trained.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trainable {
    /// Every parameter.
    #[default]
    All,
    /// Only the linear head (transfer learning on a frozen encoder).
    HeadOnly,
}

/// Training hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainConfig {
    /// Optimiser (AdamW lr 1e-3 wd 0.01 by default).
    #[serde(default)]
    pub optimizer: OptimizerConfig,
    /// Learning-rate schedule, stepped per epoch.
    #[serde(default)]
    pub schedule: Schedule,
    /// Minibatch size.
    #[serde(default = "d_batch")]
    pub batch_size: usize,
    /// Number of epochs (the upper limit when early stopping is on).
    #[serde(default = "d_epochs")]
    pub epochs: usize,
    /// Stop after this many optimiser steps in total, if set.
    #[serde(default)]
    pub max_steps: Option<u64>,
    /// Fraction of the training set held out for validation (0 disables validation and
    /// early stopping).
    #[serde(default = "d_val")]
    pub val_fraction: f64,
    /// Early stopping on validation loss (`None`: run every epoch, keep the last model).
    #[serde(default = "d_es")]
    pub early_stopping: Option<EarlyStopping>,
    /// Random crop (zero padding 4) and horizontal flip of training images.
    #[serde(default)]
    pub augment: bool,
    /// Seed of the data order, the split, augmentation and everything a hook draws.
    #[serde(default)]
    pub seed: u64,
    /// All parameters, or the head only.
    #[serde(default)]
    pub trainable: Trainable,
    /// Batch size for evaluation passes.
    #[serde(default = "d_eval_batch")]
    pub eval_batch_size: usize,
}

fn d_batch() -> usize {
    100
}
fn d_epochs() -> usize {
    20
}
fn d_val() -> f64 {
    0.1
}
fn d_es() -> Option<EarlyStopping> {
    Some(EarlyStopping::default())
}
fn d_eval_batch() -> usize {
    500
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            optimizer: OptimizerConfig::default(),
            schedule: Schedule::default(),
            batch_size: d_batch(),
            epochs: d_epochs(),
            max_steps: None,
            val_fraction: d_val(),
            early_stopping: d_es(),
            augment: false,
            seed: 0,
            trainable: Trainable::All,
            eval_batch_size: d_eval_batch(),
        }
    }
}

impl TrainConfig {
    /// Checks every value, naming the field of a bad one.
    pub fn validate(&self) -> Result<(), TrainError> {
        self.optimizer.validate()?;
        self.schedule.validate()?;
        if self.batch_size == 0 {
            return Err(invalid("train.batch_size", "must be >= 1"));
        }
        if self.eval_batch_size == 0 {
            return Err(invalid("train.eval_batch_size", "must be >= 1"));
        }
        if self.epochs == 0 {
            return Err(invalid("train.epochs", "must be >= 1"));
        }
        if self.max_steps == Some(0) {
            return Err(invalid("train.max_steps", "must be >= 1 when set"));
        }
        if !(self.val_fraction.is_finite() && (0.0..0.9).contains(&self.val_fraction)) {
            return Err(invalid(
                "train.val_fraction",
                format!("{} must be in [0, 0.9)", self.val_fraction),
            ));
        }
        if let Some(es) = &self.early_stopping {
            if es.patience == 0 {
                return Err(invalid("train.early_stopping.patience", "must be >= 1"));
            }
            if !(es.min_delta.is_finite() && es.min_delta >= 0.0) {
                return Err(invalid(
                    "train.early_stopping.min_delta",
                    format!("{} must be >= 0", es.min_delta),
                ));
            }
        }
        Ok(())
    }
}
