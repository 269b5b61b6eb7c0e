//! The configuration of one run (`cargo xtask train --config FILE.toml`, and every point of
//! the experiment grid): data, model, training, interventions, adversarial training, an
//! optional transfer stage, and what to measure afterwards.
//!
//! Every table rejects unknown keys, and [`RunConfig::validate`] checks every value, so a typo
//! or an out-of-range number is an error naming the key — never a silent default.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use cr_attacks::{ApgdMode, AttackName, AutoAttackVersion};
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
pub use cr_linalg::Norm;

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

/// One attack of an evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AttackSpec {
    /// `fgsm`, `pgd`, `apgd-ce`, `apgd-dlr`, `apgd-t`, `fab-t`, `fab`, `square` or
    /// `autoattack` (the ensemble; see `version`).
    pub attack: AttackName,
    /// Threat model.
    pub norm: Norm,
    /// Budget ε.
    pub eps: f64,
    /// Iterations (PGD 10 and APGD 100 by default).
    #[serde(default)]
    pub steps: Option<usize>,
    /// Restarts (1 by default).
    #[serde(default)]
    pub restarts: Option<usize>,
    /// Step size (PGD: 2.5ε/steps by default).
    #[serde(default)]
    pub step_size: Option<f64>,
    /// APGD semantics: `reference` (auto-attack) or `art` (ART 1.18).
    #[serde(default)]
    pub mode: Option<ApgdMode>,
    /// AutoAttack version: `standard` (default), `plus` or `rand`; only with
    /// `attack = "autoattack"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<AutoAttackVersion>,
}

/// What to measure on a trained model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalConfig {
    /// Evaluate on at most this many test samples (class-balanced; all when unset).
    #[serde(default)]
    pub test_samples: Option<usize>,
    /// Attacks in the primary threat model; robust accuracy is reported per attack and as
    /// the per-sample worst case over them.
    #[serde(default)]
    pub attacks: Vec<AttackSpec>,
    /// Cross-check attacks (typically the other norm, SPEC §6): reported per attack, not part
    /// of the worst case.
    #[serde(default)]
    pub cross_check: Vec<AttackSpec>,
    /// Fraction κ of a vector's length at which compressibility ε_q(⌈κ·d⌉) is reported.
    #[serde(default = "d_kappa")]
    pub k_fraction: f64,
    /// Extra analyses by name: `bounds`, `lipschitz`, `rank-truncation`, `representation`,
    /// `uap`, `pruning`, `boundary`, `gap`.
    #[serde(default)]
    pub measures: Vec<String>,
    /// Settings of the analyses (each optional, with documented defaults).
    #[serde(default)]
    pub settings: MeasureSettings,
    /// Seed of the attacks' random starts.
    #[serde(default)]
    pub seed: u64,
}

fn d_kappa() -> f64 {
    0.1
}

impl Default for EvalConfig {
    fn default() -> Self {
        Self {
            test_samples: None,
            attacks: Vec::new(),
            cross_check: Vec::new(),
            k_fraction: d_kappa(),
            measures: Vec::new(),
            settings: MeasureSettings::default(),
            seed: 0,
        }
    }
}

/// Settings of the optional analyses.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeasureSettings {
    /// Ranks for `rank-truncation` (accuracy of W¹ truncated to each rank).
    #[serde(default)]
    pub ranks: Vec<usize>,
    /// Attack used by `representation`, `gap`, `boundary` and the pruning sweep
    /// (default: the first of `attacks`).
    #[serde(default)]
    pub attack: Option<AttackSpec>,
    /// UAP budget ξ and norm (default: the first attack's).
    #[serde(default)]
    pub uap: Option<UapSettings>,
    /// Pruning ratios and methods for `pruning`.
    #[serde(default)]
    pub pruning: Option<PruningSettings>,
    /// Number of top singular directions k for the alignment measure (default 10).
    #[serde(default)]
    pub alignment_k: Option<usize>,
}

/// Universal perturbation settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UapSettings {
    /// Threat model.
    pub norm: Norm,
    /// Budget ξ.
    pub eps: f64,
    /// FGSM step of the inner attacker (default ε).
    #[serde(default)]
    pub step: Option<f64>,
    /// Target fooling rate 1−δ (δ = 0.2 by default).
    #[serde(default)]
    pub delta: Option<f64>,
    /// Passes over the data (20 by default).
    #[serde(default)]
    pub max_iter: Option<usize>,
    /// Samples used to build v (the rest of the test subset measures it).
    #[serde(default)]
    pub fit_samples: Option<usize>,
}

/// Pruning sweep settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PruningSettings {
    /// Pruning ratios (fraction of neurons/filters removed).
    pub ratios: Vec<f64>,
    /// Methods (cr-prune's names): `layerwise`, `global`, `eps-target`, `unstructured`,
    /// `lowrank` (for `lowrank` the ratio is the fraction of each layer's rank removed).
    pub methods: Vec<String>,
    /// Most a single layer may lose (cr-prune's default 0.9 when absent).
    #[serde(default)]
    pub max_layer_ratio: Option<f64>,
    /// What `eps-target` measures ε on: `nu` (default; Theorem 3.1's row ℓ1 norms, q = 1) or
    /// `row-l2` (row ℓ2 norms, q = 2).
    #[serde(default)]
    pub eps_vector: cr_prune::EpsVector,
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

/// Known analysis names.
pub const MEASURES: [&str; 9] = [
    "bounds",
    "certificate",
    "lipschitz",
    "rank-truncation",
    "representation",
    "uap",
    "pruning",
    "boundary",
    "gap",
];

fn check_eps(v: f64, field: &str) -> Result<(), ExpError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(invalid(field, format!("{v} must be a finite number > 0")))
    }
}

impl AttackSpec {
    /// Checks the values, naming `field.*` in errors.
    pub fn validate(&self, field: &str) -> Result<(), ExpError> {
        check_eps(self.eps, &format!("{field}.eps"))?;
        if let Some(s) = self.step_size {
            check_eps(s, &format!("{field}.step_size"))?;
        }
        if self.steps == Some(0) {
            return Err(invalid(&format!("{field}.steps"), "must be >= 1"));
        }
        if self.restarts == Some(0) {
            return Err(invalid(&format!("{field}.restarts"), "must be >= 1"));
        }
        if self.version.is_some() && self.attack != AttackName::AutoAttack {
            return Err(invalid(
                &format!("{field}.version"),
                format!(
                    "only `attack = \"autoattack\"` has a version, not `{}`",
                    self.attack
                ),
            ));
        }
        Ok(())
    }

    /// Iterations per restart: `steps`, else the attack's default (FGSM 1, PGD 10, the
    /// others 100).
    pub fn steps_or_default(&self) -> usize {
        self.steps.unwrap_or(match self.attack {
            AttackName::Fgsm => 1,
            AttackName::Pgd => 10,
            _ => 100,
        })
    }

    /// A short label (`apgd-ce linf 0.05`).
    pub fn label(&self) -> String {
        format!("{} {} {}", self.attack, self.norm, self.eps)
    }
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
        for (i, a) in self.eval.attacks.iter().enumerate() {
            a.validate(&format!("eval.attacks[{i}]"))?;
        }
        for (i, a) in self.eval.cross_check.iter().enumerate() {
            a.validate(&format!("eval.cross_check[{i}]"))?;
        }
        if let Some(a) = &self.eval.settings.attack {
            a.validate("eval.settings.attack")?;
        }
        for m in &self.eval.measures {
            if !MEASURES.contains(&m.as_str()) {
                return Err(invalid(
                    "eval.measures",
                    format!("unknown measure `{m}` (known: {})", MEASURES.join(", ")),
                ));
            }
        }
        if !(self.eval.k_fraction > 0.0 && self.eval.k_fraction <= 1.0) {
            return Err(invalid(
                "eval.k_fraction",
                format!("{} must be in (0, 1]", self.eval.k_fraction),
            ));
        }
        if let Some(u) = &self.eval.settings.uap {
            check_eps(u.eps, "eval.settings.uap.eps")?;
            if let Some(d) = u.delta
                && !(0.0..1.0).contains(&d)
            {
                return Err(invalid(
                    "eval.settings.uap.delta",
                    format!("{d} must be in [0, 1)"),
                ));
            }
        }
        self.check_first_layer_ks()?;
        if let Some(p) = &self.eval.settings.pruning {
            for (i, r) in p.ratios.iter().enumerate() {
                if !(0.0..1.0).contains(r) {
                    return Err(invalid(
                        &format!("eval.settings.pruning.ratios[{i}]"),
                        format!("{r} is outside [0, 1)"),
                    ));
                }
            }
            for m in &p.methods {
                if let Err(e) = m.parse::<cr_prune::Method>() {
                    return Err(invalid("eval.settings.pruning.methods", e.to_string()));
                }
            }
            if let Some(c) = p.max_layer_ratio
                && !(0.0..=1.0).contains(&c)
            {
                return Err(invalid(
                    "eval.settings.pruning.max_layer_ratio",
                    format!("{c} is outside [0, 1]"),
                ));
            }
        }
        Ok(())
    }

    /// `eval.settings.alignment_k` and `eval.settings.ranks` count singular directions of the
    /// first layer's effective weight: each must be at most its rank bound `min(out, in)`,
    /// which the model spec fixes (the network is built lazily: nothing is allocated).
    fn check_first_layer_ks(&self) -> Result<(), ExpError> {
        let s = &self.eval.settings;
        if s.alignment_k.is_none() && s.ranks.is_empty() {
            return Ok(());
        }
        if s.alignment_k == Some(0) {
            return Err(invalid("eval.settings.alignment_k", "must be >= 1"));
        }
        let model = cr_models::Model::build(&self.model, &cr_models::device::cpu())
            .map_err(|e| invalid("model", e.to_string()))?;
        let layers = model.layers();
        let Some(first) = layers.first() else {
            return Ok(());
        };
        // A factorised first layer's effective weight is `up · down`: out of `up`, in of `down`.
        let (name, rows, cols) = match &first.factor_of {
            Some(parent) => {
                let up = layers.get(1).map_or(first.rows, |u| u.rows);
                (parent.as_str(), up, first.cols)
            }
            None => (first.name.as_str(), first.rows, first.cols),
        };
        let max = rows.min(cols);
        let too_big = |field: &str, k: usize| {
            invalid(
                field,
                format!(
                    "{k} is larger than the first layer `{name}` ([{rows}, {cols}]) allows: at most {max} singular directions"
                ),
            )
        };
        if let Some(k) = s.alignment_k
            && k > max
        {
            return Err(too_big("eval.settings.alignment_k", k));
        }
        for (i, &r) in s.ranks.iter().enumerate() {
            if r > max {
                return Err(too_big(&format!("eval.settings.ranks[{i}]"), r));
            }
        }
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
