//! What an evaluation is asked to measure, as configs write it (`[eval]`): the attacks, the
//! extra analyses ([`Measure`]) and their settings, each checked against the model.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use cr_attacks::{ApgdMode, AttackName, AutoAttackVersion};
/// Attack norm (`linf` or `l2`): cr's one norm type.
pub use cr_linalg::Norm;
use cr_models::ModelSpec;

use crate::error::{EvalError, invalid};

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
    /// Extra analyses ([`Measure`]), by name: `bounds`, `certificate`, `lipschitz`,
    /// `rank-truncation`, `representation`, `uap`, `pruning`, `boundary`, `gap`.
    #[serde(default)]
    pub measures: Vec<Measure>,
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

/// An analysis beyond accuracy, attacks and compressibility (`eval.measures`), by the name a
/// config gives it; reading an unknown name is an error listing the known ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Measure {
    /// The paper's Lipschitz bounds on the robustness gap, per layer and chained.
    Bounds,
    /// Certified radii from the bounds, and certified accuracy at the attack's ε.
    Certificate,
    /// Local Lipschitz estimates at the data, ℓ∞ and ℓ2.
    Lipschitz,
    /// Accuracy with W¹ truncated to each of `eval.settings.ranks`.
    RankTruncation,
    /// How far an attack moves the representation, and its alignment with W¹'s top
    /// singular directions.
    Representation,
    /// A universal adversarial perturbation and its fooling rate.
    Uap,
    /// Accuracy and robust accuracy along a pruning sweep.
    Pruning,
    /// Decision regions on a 2-D slice through a test sample.
    Boundary,
    /// The robustness gap: adversarial minus clean cross-entropy.
    Gap,
}

impl Measure {
    /// Every measure, in the order configs list them.
    pub const ALL: [Measure; 9] = [
        Measure::Bounds,
        Measure::Certificate,
        Measure::Lipschitz,
        Measure::RankTruncation,
        Measure::Representation,
        Measure::Uap,
        Measure::Pruning,
        Measure::Boundary,
        Measure::Gap,
    ];

    /// The name as written (and the key of its result under `eval.measures`).
    pub fn name(self) -> &'static str {
        match self {
            Measure::Bounds => "bounds",
            Measure::Certificate => "certificate",
            Measure::Lipschitz => "lipschitz",
            Measure::RankTruncation => "rank-truncation",
            Measure::Representation => "representation",
            Measure::Uap => "uap",
            Measure::Pruning => "pruning",
            Measure::Boundary => "boundary",
            Measure::Gap => "gap",
        }
    }
}

impl fmt::Display for Measure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Measure {
    type Err = EvalError;

    fn from_str(s: &str) -> Result<Self, EvalError> {
        Self::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = Self::ALL.iter().map(|m| m.name()).collect();
                invalid(
                    "eval.measures",
                    format!("unknown measure `{s}` (known: {})", known.join(", ")),
                )
            })
    }
}

impl Serialize for Measure {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for Measure {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// `v` is a finite number > 0 (a radius or step), else an error naming `field`.
pub fn check_eps(v: f64, field: &str) -> Result<(), EvalError> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(invalid(field, format!("{v} must be a finite number > 0")))
    }
}

impl AttackSpec {
    /// Checks the values, naming `field.*` in errors.
    pub fn validate(&self, field: &str) -> Result<(), EvalError> {
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

impl EvalConfig {
    /// Checks every value against the model it will measure (`eval.*` named in errors).
    pub fn validate(&self, model: &ModelSpec) -> Result<(), EvalError> {
        for (i, a) in self.attacks.iter().enumerate() {
            a.validate(&format!("eval.attacks[{i}]"))?;
        }
        for (i, a) in self.cross_check.iter().enumerate() {
            a.validate(&format!("eval.cross_check[{i}]"))?;
        }
        if let Some(a) = &self.settings.attack {
            a.validate("eval.settings.attack")?;
        }
        if !(self.k_fraction > 0.0 && self.k_fraction <= 1.0) {
            return Err(invalid(
                "eval.k_fraction",
                format!("{} must be in (0, 1]", self.k_fraction),
            ));
        }
        if let Some(u) = &self.settings.uap {
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

        if let Some(p) = &self.settings.pruning {
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
        self.check_first_layer_ks(model)?;
        Ok(())
    }

    /// `eval.settings.alignment_k` and `eval.settings.ranks` count singular directions of the
    /// first layer's effective weight: each must be at most its rank bound `min(out, in)`,
    /// which the model spec fixes (the network is built lazily: nothing is allocated).
    fn check_first_layer_ks(&self, model: &ModelSpec) -> Result<(), EvalError> {
        let s = &self.settings;
        if s.alignment_k.is_none() && s.ranks.is_empty() {
            return Ok(());
        }
        if s.alignment_k == Some(0) {
            return Err(invalid("eval.settings.alignment_k", "must be >= 1"));
        }
        let model = cr_models::Model::build(model, &cr_models::device::cpu())
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
}
