//! AutoAttack (Croce & Hein, ICML 2020): an ensemble of parameter-free attacks, each run on
//! the samples the previous ones left robust. SPEC §3, AutoAttack.
//!
//! Versions as auto-attack `autoattack.py` (`set_version`) defines them:
//! * `standard`: APGD-CE (1 run), APGD-T (9 target classes, 1 run each), FAB-T (9 targets,
//!   1 run each), Square (5,000 queries, `p_init` 0.8);
//! * `plus`: APGD-CE (5 restarts), APGD-DLR (5 restarts), FAB (untargeted, 5 restarts),
//!   Square (5,000 queries), APGD-T (9 targets), FAB-T (9 targets);
//! * `rand` (randomised defences): APGD-CE and APGD-DLR with expectation over 20
//!   transformations (EOT) per gradient, 1 run each.
//!
//! All at 100 iterations, ρ = 0.75. The result is the per-sample worst case, and records
//! which attack broke each sample. AutoAttack's checks run as warnings: a forward pass that
//! is not deterministic (skipped for `rand`), outputs that look like probabilities, zero
//! gradients, more target classes than the model has, and — the sign of gradient masking —
//! the gradient-free Square breaking samples the gradient-based attacks could not.

use std::fmt;
use std::str::FromStr;
use std::time::Instant;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::apgd::ApgdConfig;
use crate::apgd_t::ApgdTConfig;
use crate::error::{Result, invalid};
use crate::fab::FabConfig;
use crate::loss::Loss;
use crate::norm::{Norm, check_eps};
use crate::run::Attack;
use crate::square::SquareConfig;

/// Which ensemble to run (auto-attack's `version`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AutoAttackVersion {
    /// APGD-CE, APGD-T, FAB-T, Square.
    Standard,
    /// APGD-CE, APGD-DLR, FAB, Square, APGD-T, FAB-T, with restarts.
    Plus,
    /// APGD-CE and APGD-DLR with EOT (20 passes per gradient), for randomised models.
    Rand,
}

impl AutoAttackVersion {
    /// `standard`, `plus` or `rand`.
    pub fn name(self) -> &'static str {
        match self {
            AutoAttackVersion::Standard => "standard",
            AutoAttackVersion::Plus => "plus",
            AutoAttackVersion::Rand => "rand",
        }
    }
}

impl fmt::Display for AutoAttackVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for AutoAttackVersion {
    type Err = crate::AttackError;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "standard" => Ok(AutoAttackVersion::Standard),
            "plus" => Ok(AutoAttackVersion::Plus),
            "rand" => Ok(AutoAttackVersion::Rand),
            other => Err(invalid(
                "version",
                format!("unknown AutoAttack version `{other}` (expected standard, plus or rand)"),
            )),
        }
    }
}

/// Configuration of AutoAttack.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AutoAttackConfig {
    /// Threat model.
    pub norm: Norm,
    /// Radius ε.
    pub eps: f32,
    /// Which ensemble.
    pub version: AutoAttackVersion,
    /// Seed of every component (each draws from its own streams).
    pub seed: u64,
}

impl AutoAttackConfig {
    /// The standard version, seed 0.
    pub fn new(norm: Norm, eps: f32) -> Self {
        Self {
            norm,
            eps,
            version: AutoAttackVersion::Standard,
            seed: 0,
        }
    }

    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        check_eps("eps", self.eps)
    }

    /// The component attacks in the order they run, with the version's settings.
    pub fn components(&self) -> Vec<Attack> {
        let (norm, eps, seed) = (self.norm, self.eps, self.seed);
        let apgd = |loss, restarts, eot_iter| {
            Attack::Apgd(ApgdConfig {
                restarts,
                eot_iter,
                seed,
                ..ApgdConfig::new(norm, eps, loss)
            })
        };
        let apgd_t = Attack::ApgdT(ApgdTConfig {
            seed,
            ..ApgdTConfig::new(norm, eps)
        });
        let fab_t = Attack::Fab(FabConfig {
            seed,
            ..FabConfig::new(norm, eps)
        });
        let square = Attack::Square(SquareConfig {
            seed,
            ..SquareConfig::new(norm, eps)
        });
        match self.version {
            AutoAttackVersion::Standard => vec![apgd(Loss::Ce, 1, 1), apgd_t, fab_t, square],
            AutoAttackVersion::Plus => vec![
                apgd(Loss::Ce, 5, 1),
                apgd(Loss::Dlr, 5, 1),
                Attack::Fab(FabConfig {
                    restarts: 5,
                    seed,
                    ..FabConfig::untargeted(norm, eps)
                }),
                square,
                apgd_t,
                fab_t,
            ],
            AutoAttackVersion::Rand => vec![apgd(Loss::Ce, 1, 20), apgd(Loss::Dlr, 1, 20)],
        }
    }
}

/// One component's share of an AutoAttack run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageResult {
    /// `apgd-ce`, `apgd-t`, `fab-t`, `square`, `apgd-dlr` or `fab`.
    pub attack: String,
    /// Samples this component broke (robust before it, not after).
    pub broken: usize,
    /// Robust accuracy after this component (cumulative over the ensemble so far).
    pub robust_accuracy: f64,
    /// Wall seconds spent in this component.
    pub seconds: f64,
    /// A component that could not run on this model (e.g. APGD-T with fewer than 4
    /// classes): why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}

/// What one chunk of an AutoAttack run found.
pub(crate) struct EnsembleChunk {
    /// Adversarial examples (clean input where not broken).
    pub adv: Tensor<4>,
    /// Per sample, the index of the component that broke it.
    pub broken_by: Vec<Option<usize>>,
    /// Seconds per component.
    pub seconds: Vec<f64>,
    /// Per component, why it was skipped.
    pub skipped: Vec<Option<String>>,
}

/// Runs the ensemble on one validated chunk: each component on the samples still robust.
pub(crate) fn ensemble_chunk<C: Classifier + ?Sized>(
    model: &C,
    cfg: &AutoAttackConfig,
    x: Tensor<4>,
    y: Tensor<1, Int>,
    positions: &[usize],
    correct: &[bool],
    num_classes: usize,
) -> Result<EnsembleChunk> {
    let comps = cfg.components();
    let n = correct.len();
    let mut robust = correct.to_vec();
    let mut adv = x.clone();
    let mut broken_by = vec![None; n];
    let mut seconds = vec![0.0; comps.len()];
    let mut skipped = vec![None; comps.len()];
    for (j, comp) in comps.iter().enumerate() {
        if !robust.iter().any(|r| *r) {
            break;
        }
        if matches!(comp, Attack::ApgdT(_)) && num_classes < 4 {
            skipped[j] = Some(format!(
                "the targeted DLR loss needs at least 4 classes, the model has {num_classes}"
            ));
            continue;
        }
        if matches!(comp, Attack::Apgd(a) if a.loss == Loss::Dlr) && num_classes < 3 {
            skipped[j] = Some(format!(
                "the DLR loss needs at least 3 classes, the model has {num_classes}"
            ));
            continue;
        }
        let start = Instant::now();
        let (a, fooled) = crate::run::attack_active(
            model,
            comp,
            x.clone(),
            y.clone(),
            positions,
            &robust,
            num_classes,
        )?;
        seconds[j] = start.elapsed().as_secs_f64();
        let take: Vec<bool> = (0..n).map(|i| robust[i] && fooled[i]).collect();
        let all: Vec<usize> = (0..n).collect();
        adv = crate::model::scatter_rows(adv, a, &all, &take);
        for i in 0..n {
            if take[i] {
                robust[i] = false;
                broken_by[i] = Some(j);
            }
        }
        tracing::debug!(
            attack = comp.name(),
            robust = robust.iter().filter(|r| **r).count(),
            seconds = seconds[j],
            "AutoAttack component"
        );
    }
    Ok(EnsembleChunk {
        adv,
        broken_by,
        seconds,
        skipped,
    })
}

use crate::model::Classifier;
