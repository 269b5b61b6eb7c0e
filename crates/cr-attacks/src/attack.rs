//! The vocabulary of attacks: which attack runs with which parameters ([`Attack`], with
//! AutoAttack's versions and configuration), and what a run produces ([`AttackResult`],
//! [`StageResult`], [`Perturbation`]). Nothing here runs an attack; `run.rs` does.

use std::fmt;
use std::str::FromStr;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::apgd::{ApgdConfig, ApgdMode};
use crate::apgd_t::ApgdTConfig;
use crate::error::{Result, invalid};
use crate::fab::FabConfig;
use crate::fgsm::FgsmConfig;
use crate::loss::Loss;
use crate::norm::{Norm, check_eps};
use crate::pgd::PgdConfig;
use crate::sanity::SanityWarning;
use crate::square::SquareConfig;

/// An attack by name, as configs and the command line spell it (`apgd-ce`, `autoattack`).
/// Reading an unknown name is an error that lists the known ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AttackName {
    /// FGSM (ℓ∞) / FGM (ℓ2).
    Fgsm,
    /// PGD.
    Pgd,
    /// APGD on the cross-entropy loss.
    ApgdCe,
    /// APGD on the DLR loss.
    ApgdDlr,
    /// APGD on the targeted DLR loss.
    ApgdT,
    /// Targeted FAB.
    FabT,
    /// Untargeted FAB.
    Fab,
    /// Square.
    Square,
    /// The AutoAttack ensemble.
    AutoAttack,
}

impl AttackName {
    /// Every attack, in the order configs list them.
    pub const ALL: [AttackName; 9] = [
        AttackName::Fgsm,
        AttackName::Pgd,
        AttackName::ApgdCe,
        AttackName::ApgdDlr,
        AttackName::ApgdT,
        AttackName::FabT,
        AttackName::Fab,
        AttackName::Square,
        AttackName::AutoAttack,
    ];

    /// The name as written: `fgsm`, `pgd`, `apgd-ce`, `apgd-dlr`, `apgd-t`, `fab-t`, `fab`,
    /// `square`, `autoattack`.
    pub fn name(self) -> &'static str {
        match self {
            AttackName::Fgsm => "fgsm",
            AttackName::Pgd => "pgd",
            AttackName::ApgdCe => "apgd-ce",
            AttackName::ApgdDlr => "apgd-dlr",
            AttackName::ApgdT => "apgd-t",
            AttackName::FabT => "fab-t",
            AttackName::Fab => "fab",
            AttackName::Square => "square",
            AttackName::AutoAttack => "autoattack",
        }
    }
}

impl fmt::Display for AttackName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for AttackName {
    type Err = crate::AttackError;

    fn from_str(s: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| {
                let known: Vec<&str> = Self::ALL.iter().map(|a| a.name()).collect();
                invalid(
                    "attack",
                    format!("unknown attack `{s}` (known: {})", known.join(", ")),
                )
            })
    }
}

impl Serialize for AttackName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> Deserialize<'de> for AttackName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An attack and its configuration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "attack", rename_all = "kebab-case")]
pub enum Attack {
    /// FGSM (ℓ∞) / FGM (ℓ2).
    Fgsm(FgsmConfig),
    /// PGD with random start and restarts.
    Pgd(PgdConfig),
    /// APGD-CE / APGD-DLR.
    Apgd(ApgdConfig),
    /// APGD-T: APGD on the targeted DLR loss, over several target classes.
    ApgdT(ApgdTConfig),
    /// FAB-T / FAB: minimal-perturbation boundary attack.
    Fab(FabConfig),
    /// Square: score-based random search (no gradients).
    Square(SquareConfig),
    /// AutoAttack: an ensemble, each component on the samples still robust.
    #[serde(rename = "autoattack")]
    AutoAttack(AutoAttackConfig),
}

impl Attack {
    /// Short name: `fgsm`, `fgm`, `pgd`, `apgd-ce`, `apgd-dlr`, `apgd-t`, `fab-t`, `fab`,
    /// `square`, `autoattack`.
    pub fn name(&self) -> &'static str {
        match self {
            Attack::Fgsm(c) => match c.norm {
                Norm::Linf => "fgsm",
                Norm::L2 => "fgm",
            },
            Attack::Pgd(_) => "pgd",
            Attack::Apgd(c) => c.name(),
            Attack::ApgdT(_) => "apgd-t",
            Attack::Fab(c) => c.name(),
            Attack::Square(_) => "square",
            Attack::AutoAttack(_) => "autoattack",
        }
    }

    /// The threat model's norm.
    pub fn norm(&self) -> Norm {
        match self {
            Attack::Fgsm(c) => c.norm,
            Attack::Pgd(c) => c.norm,
            Attack::Apgd(c) => c.norm,
            Attack::ApgdT(c) => c.norm,
            Attack::Fab(c) => c.norm,
            Attack::Square(c) => c.norm,
            Attack::AutoAttack(c) => c.norm,
        }
    }

    /// The radius ε.
    pub fn eps(&self) -> f32 {
        match self {
            Attack::Fgsm(c) => c.eps,
            Attack::Pgd(c) => c.eps,
            Attack::Apgd(c) => c.eps,
            Attack::ApgdT(c) => c.eps,
            Attack::Fab(c) => c.eps,
            Attack::Square(c) => c.eps,
            Attack::AutoAttack(c) => c.eps,
        }
    }

    /// Whether results are clipped to `[0, 1]` (always for FAB, Square and AutoAttack, whose
    /// searches live in the box).
    pub fn clip(&self) -> bool {
        match self {
            Attack::Fgsm(c) => c.clip,
            Attack::Pgd(c) => c.clip,
            Attack::Apgd(c) => c.clip,
            Attack::ApgdT(c) => c.clip,
            Attack::Fab(_) | Attack::Square(_) | Attack::AutoAttack(_) => true,
        }
    }

    /// The same attack at radius `eps` (step sizes keep their ratio to ε).
    pub fn with_eps(&self, eps: f32) -> Self {
        match self {
            Attack::Fgsm(c) => Attack::Fgsm(FgsmConfig { eps, ..*c }),
            Attack::Pgd(c) => Attack::Pgd(c.with_eps(eps)),
            Attack::Apgd(c) => Attack::Apgd(c.with_eps(eps)),
            Attack::ApgdT(c) => Attack::ApgdT(ApgdTConfig { eps, ..*c }),
            Attack::Fab(c) => Attack::Fab(FabConfig { eps, ..*c }),
            Attack::Square(c) => Attack::Square(SquareConfig { eps, ..*c }),
            Attack::AutoAttack(c) => Attack::AutoAttack(AutoAttackConfig { eps, ..*c }),
        }
    }

    /// Checks the configuration.
    pub fn validate(&self) -> Result<()> {
        match self {
            Attack::Fgsm(c) => c.validate(),
            Attack::Pgd(c) => c.validate(),
            Attack::Apgd(c) => c.validate(),
            Attack::ApgdT(c) => c.validate(),
            Attack::Fab(c) => c.validate(),
            Attack::Square(c) => c.validate(),
            Attack::AutoAttack(c) => c.validate(),
        }
    }

    /// Every parameter, flattened for reports.
    pub fn params(&self) -> AttackParams {
        let base = AttackParams::base(self);
        match self {
            Attack::Fgsm(c) => fgsm_params(c, base),
            Attack::Pgd(c) => pgd_params(c, base),
            Attack::Apgd(c) => apgd_params(c, base),
            Attack::ApgdT(c) => apgd_t_params(c, base),
            Attack::Fab(c) => fab_params(c, base),
            Attack::Square(c) => square_params(c, base),
            Attack::AutoAttack(c) => autoattack_params(c, base),
        }
    }
}

// The per-attack fields of [`Attack::params`]; `base` ([`AttackParams::base`]) already holds
// the shared ones (name, norm, ε, clipping).

/// FGSM / FGM: one step of size ε, nothing drawn.
fn fgsm_params(c: &FgsmConfig, base: AttackParams) -> AttackParams {
    AttackParams {
        step_size: c.eps,
        steps: 1,
        restarts: 1,
        seed: None,
        mode: None,
        loss: c.loss,
        random_start: false,
        ..base
    }
}

/// PGD: its step size α, steps, restarts and random start.
fn pgd_params(c: &PgdConfig, base: AttackParams) -> AttackParams {
    AttackParams {
        step_size: c.step_size,
        steps: c.steps,
        restarts: c.restarts,
        seed: Some(c.seed),
        mode: None,
        loss: c.loss,
        random_start: c.random_start,
        ..base
    }
}

/// APGD: the initial step η₀, the mode, and the EOT passes when more than 1.
fn apgd_params(c: &ApgdConfig, base: AttackParams) -> AttackParams {
    AttackParams {
        step_size: c.initial_step(),
        steps: c.steps,
        restarts: c.restarts,
        seed: Some(c.seed),
        mode: Some(c.mode),
        loss: c.loss,
        random_start: true,
        eot_iter: (c.eot_iter > 1).then_some(c.eot_iter),
        ..base
    }
}

/// APGD-T: the reference APGD on the targeted DLR loss, η₀ = 2ε, with its target count.
fn apgd_t_params(c: &ApgdTConfig, base: AttackParams) -> AttackParams {
    AttackParams {
        step_size: 2.0 * c.eps,
        steps: c.steps,
        restarts: c.restarts,
        seed: Some(c.seed),
        mode: Some(ApgdMode::Reference),
        loss: Loss::Dlr,
        random_start: true,
        targets: Some(c.targets),
        ..base
    }
}

/// FAB / FAB-T: the overshoot η as step size, random starts from the second run on.
fn fab_params(c: &FabConfig, base: AttackParams) -> AttackParams {
    AttackParams {
        step_size: c.eta,
        steps: c.steps,
        restarts: c.restarts,
        seed: Some(c.seed),
        loss: Loss::Margin,
        random_start: c.restarts > 1,
        targets: c.targeted.then_some(c.targets),
        ..base
    }
}

/// Square: `p_init` as step size, queries as steps.
fn square_params(c: &SquareConfig, base: AttackParams) -> AttackParams {
    AttackParams {
        step_size: c.p_init,
        steps: c.queries,
        restarts: c.restarts,
        seed: Some(c.seed),
        loss: Loss::Margin,
        random_start: true,
        ..base
    }
}

/// AutoAttack: its first component's settings (APGD-CE), the version and the target count.
fn autoattack_params(c: &AutoAttackConfig, base: AttackParams) -> AttackParams {
    AttackParams {
        step_size: 2.0 * c.eps,
        steps: 100,
        restarts: if c.version == AutoAttackVersion::Plus {
            5
        } else {
            1
        },
        seed: Some(c.seed),
        mode: Some(ApgdMode::Reference),
        loss: Loss::Ce,
        random_start: true,
        version: Some(c.version),
        targets: (c.version != AutoAttackVersion::Rand).then_some(9),
        ..base
    }
}

/// The parameters of an attack run, as recorded in every result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttackParams {
    /// `fgsm`, `fgm`, `pgd`, `apgd-ce` or `apgd-dlr`.
    pub attack: String,
    /// Threat model.
    pub norm: Norm,
    /// Radius ε.
    pub eps: f32,
    /// Step size (FGSM: ε; PGD: α; APGD, APGD-T, AutoAttack: the initial η₀; FAB: the
    /// overshoot η; Square: `p_init`).
    pub step_size: f32,
    /// Iterations per restart (FGSM: 1; Square: queries).
    pub steps: usize,
    /// Restarts (FGSM: 1).
    pub restarts: usize,
    /// Seed of the random starts (`None`: the attack draws nothing).
    pub seed: Option<u64>,
    /// APGD mode (`None` for other attacks).
    pub mode: Option<ApgdMode>,
    /// Loss ascended.
    pub loss: Loss,
    /// Whether the attack starts at a random point.
    pub random_start: bool,
    /// Whether points are clipped to `[0, 1]`.
    pub clip: bool,
    /// Target classes (APGD-T, FAB-T, AutoAttack's targeted components).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub targets: Option<usize>,
    /// AutoAttack version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<AutoAttackVersion>,
    /// EOT passes per gradient, when more than 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eot_iter: Option<usize>,
}

impl AttackParams {
    /// The fields every attack shares, the others at neutral values (filled in by
    /// [`Attack::params`]).
    fn base(attack: &Attack) -> Self {
        Self {
            attack: attack.name().into(),
            norm: attack.norm(),
            eps: attack.eps(),
            step_size: attack.eps(),
            steps: 1,
            restarts: 1,
            seed: None,
            mode: None,
            loss: Loss::Ce,
            random_start: false,
            clip: attack.clip(),
            targets: None,
            version: None,
            eot_iter: None,
        }
    }
}

/// The outcome of one attack on a set of samples.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttackResult {
    /// What ran.
    pub params: AttackParams,
    /// Number of samples.
    pub n: usize,
    /// Per sample: classified correctly without perturbation.
    pub correct_clean: Vec<bool>,
    /// Per sample: classified correctly and not broken by the attack.
    pub robust: Vec<bool>,
    /// Fraction classified correctly.
    pub clean_accuracy: f64,
    /// Fraction robust.
    pub robust_accuracy: f64,
    /// Wall time in seconds.
    pub seconds: f64,
    /// The adversarial examples `[n, C, H, W]` (for samples misclassified without
    /// perturbation, the clean input). Not serialised; `None` after deserialisation.
    #[serde(skip)]
    pub adversarial: Option<Tensor<4>>,
    /// AutoAttack: per sample, the component that broke it (`None`: robust, or
    /// misclassified without perturbation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broken_by: Option<Vec<Option<String>>>,
    /// AutoAttack: each component's share, in the order they ran.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<StageResult>,
    /// AutoAttack's checks that fired.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<SanityWarning>,
    /// Forward and backward passes the run made (sanity checks included), per sample.
    #[serde(default)]
    pub passes: crate::model::PassCount,
    /// Where the adversarial examples lie (largest perturbation, value range, NaNs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perturbation: Option<Perturbation>,
}

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

/// Where the adversarial examples lie: the largest perturbation in the attack's norm, the
/// range of their values and how many are NaN. What a reader checks before trusting a robust
/// accuracy (every point in the ε-ball and in `[0, 1]`), on every backend alike.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Perturbation {
    /// Largest `‖x_adv − x‖` over the samples, in the attack's norm.
    pub max_norm: f32,
    /// Smallest value of any adversarial example.
    pub min: f32,
    /// Largest value of any adversarial example.
    pub max: f32,
    /// NaN values among the adversarial examples.
    pub nans: usize,
}

impl Perturbation {
    /// The summary of `adv` against the clean `x` in `norm`; `None` when the backend cannot
    /// hand the values back as `f32`.
    pub fn of(adv: &Tensor<4>, x: &Tensor<4>, norm: Norm) -> Option<Self> {
        let [b, ..] = adv.dims();
        let d = (adv.clone() - x.clone()).reshape([b as i32, -1]);
        let per_sample = match norm {
            Norm::Linf => d.abs().max_dim(1),
            Norm::L2 => d.powf_scalar(2.0).sum_dim(1).sqrt(),
        };
        let max_norm = per_sample
            .into_data()
            .try_to_vec::<f32>()
            .ok()?
            .into_iter()
            .fold(0f32, f32::max);
        let values = adv
            .clone()
            .reshape([1, -1])
            .into_data()
            .try_to_vec::<f32>()
            .ok()?;
        let (mut min, mut max, mut nans) = (f32::INFINITY, f32::NEG_INFINITY, 0usize);
        for v in values {
            if v.is_nan() {
                nans += 1;
            } else {
                min = min.min(v);
                max = max.max(v);
            }
        }
        Some(Self {
            max_norm,
            min,
            max,
            nans,
        })
    }
}

/// The fraction of `true` values (0 for none).
pub(crate) fn fraction(v: &[bool]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().filter(|b| **b).count() as f64 / v.len() as f64
    }
}
