//! The configuration of one run (`cargo xtask train --config FILE.toml`, and every point of
//! the experiment grid): data, model, training, interventions, adversarial training, an
//! optional transfer stage, and what to measure afterwards.
//!
//! Every table rejects unknown keys, and [`RunConfig::validate`] checks every value, so a typo
//! or an out-of-range number is an error naming the key — never a silent default.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use cr_models::ModelSpec;
use cr_regularize::RegularizeConfig;
use cr_train::TrainConfig;

use crate::error::{ExpError, invalid};

/// Where the data comes from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// Data set name (`mnist`, `fashion-mnist`, `uci-digits`, `cifar10`, `cifar100`, `svhn`,
    /// `synthetic-gmm`, `synthetic-teacher`), optionally `NAME:DIR`.
    pub name: String,
    /// Use at most this many training samples (class-balanced, deterministic).
    #[serde(default)]
    pub train_subset: Option<usize>,
    /// Use at most this many test samples (class-balanced, deterministic).
    #[serde(default)]
    pub test_subset: Option<usize>,
    /// Normalise the inputs inside the model by the data set's per-channel mean and std, as
    /// the authors' code does (default true; `cr_data::Kind::normalization`, or the training
    /// split's statistics for sets without published ones). Ignored when the model spec sets
    /// `normalize` itself. Attacks, budgets and clipping stay in [0, 1] either way.
    #[serde(default = "d_true")]
    pub normalize: bool,
}

fn d_true() -> bool {
    true
}

/// Attack norm (`linf` or `l2`): cr's one norm type.
pub use cr_eval::config::{
    AttackSpec, EvalConfig, Measure, MeasureSettings, Norm, PruningSettings, UapSettings, check_eps,
};

/// PGD adversarial training (Madry), SPEC §3: a fraction of each minibatch replaced by PGD
/// examples.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdversarialTraining {
    /// Threat model.
    pub norm: Norm,
    /// Budget ε.
    pub eps: f64,
    /// PGD iterations.
    #[serde(default = "d_at_steps")]
    pub steps: usize,
    /// Step size (default 2.5·ε/steps).
    #[serde(default)]
    pub step_size: Option<f64>,
    /// Fraction of each minibatch replaced (0.5 in the paper).
    #[serde(default = "d_fraction")]
    pub fraction: f64,
    /// Clip adversarial inputs to [0, 1] (the authors' training did not).
    #[serde(default)]
    pub clip: bool,
    /// Which labels the PGD examples attack: `predicted` (default; the model's predictions on
    /// the clean batch, as the authors' code, which calls ART's `generate(x)` without y) or
    /// `true` (the data's labels).
    #[serde(default)]
    pub labels: AtLabels,
}

/// The labels adversarial training's PGD attacks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AtLabels {
    /// The model's predictions on the clean batch (advcomp / ART `generate(x)`).
    #[default]
    Predicted,
    /// The true labels.
    True,
}

fn d_at_steps() -> usize {
    10
}
fn d_fraction() -> f64 {
    0.5
}

impl AdversarialTraining {
    /// The step size used.
    pub fn step(&self) -> f64 {
        self.step_size
            .unwrap_or(2.5 * self.eps / self.steps.max(1) as f64)
    }
}

/// Transfer learning: after (pre)training, a fresh linear head is trained on another data set
/// on the frozen encoder, and everything is evaluated there.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// Downstream data.
    pub data: DataConfig,
    /// Head training (the loop forces `trainable = "head-only"`).
    #[serde(default)]
    pub train: TrainConfig,
}

/// One complete run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RunConfig {
    /// Training data (its test split is used for evaluation).
    pub data: DataConfig,
    /// Architecture; `input` and `num_classes` must match the data.
    pub model: ModelSpec,
    /// Training hyper-parameters.
    #[serde(default)]
    pub train: TrainConfig,
    /// Compressibility interventions.
    #[serde(default)]
    pub regularize: RegularizeConfig,
    /// PGD adversarial training.
    #[serde(default)]
    pub adversarial: Option<AdversarialTraining>,
    /// Transfer stage.
    #[serde(default)]
    pub transfer: Option<Transfer>,
    /// Evaluation.
    #[serde(default)]
    pub eval: EvalConfig,
    /// Seed of the model initialisation (the training seed is `train.seed`).
    #[serde(default)]
    pub init_seed: u64,
}

impl RunConfig {
    /// Reads and validates a run config from a TOML file.
    pub fn from_file(path: &Path) -> Result<Self, ExpError> {
        let text = std::fs::read_to_string(path).map_err(|source| ExpError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let cfg: RunConfig = toml::from_str(&text).map_err(|e| ExpError::Config {
            path: path.to_path_buf(),
            problem: e.to_string(),
        })?;
        cfg.validate().map_err(|e| ExpError::Config {
            path: path.to_path_buf(),
            problem: e.to_string(),
        })?;
        Ok(cfg)
    }

    /// Checks every value.
    pub fn validate(&self) -> Result<(), ExpError> {
        self.model
            .validate()
            .map_err(|e| invalid("model", e.to_string()))?;
        self.train
            .validate()
            .map_err(|e| invalid("train", e.to_string()))?;
        self.regularize
            .validate()
            .map_err(|e| invalid("regularize", e.to_string()))?;
        if let Some(a) = &self.adversarial {
            check_eps(a.eps, "adversarial.eps")?;
            if a.steps == 0 {
                return Err(invalid("adversarial.steps", "must be >= 1"));
            }
            if let Some(s) = a.step_size {
                check_eps(s, "adversarial.step_size")?;
            }
            if !(a.fraction > 0.0 && a.fraction <= 1.0) {
                return Err(invalid(
                    "adversarial.fraction",
                    format!("{} must be in (0, 1]", a.fraction),
                ));
            }
        }
        if let Some(t) = &self.transfer {
            t.train
                .validate()
                .map_err(|e| invalid("transfer.train", e.to_string()))?;
        }
        self.eval.validate(&self.model)?;
        Ok(())
    }

    /// The config as TOML text (every default resolved).
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# not serialisable: {e}\n"))
    }
}

/// Path helper: `dir/name`.
pub fn join(dir: &Path, name: &str) -> PathBuf {
    dir.join(name)
}
