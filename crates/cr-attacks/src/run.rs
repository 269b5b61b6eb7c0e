//! One entry point for every attack ([`run_attack`]) and its result.

use std::time::Instant;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::apgd::{ApgdConfig, ApgdMode, apgd_restarts};
use crate::apgd_t::{ApgdTConfig, apgd_targeted};
use crate::autoattack::{AutoAttackConfig, AutoAttackVersion, StageResult, ensemble_chunk};
use crate::error::{Result, invalid};
use crate::fab::{FabConfig, fab_attack};
use crate::fgsm::{FgsmConfig, fgsm_batch};
use crate::loss::Loss;
use crate::model::{Classifier, correct, forward, prepare, read_bool};
use crate::norm::Norm;
use crate::pgd::{PgdConfig, pgd_restarts};
use crate::sanity::{SanityWarning, sanity_checks};
use crate::square::{SquareConfig, square_attack};

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
        match self {
            Attack::Fgsm(c) => AttackParams {
                attack: self.name().into(),
                norm: c.norm,
                eps: c.eps,
                step_size: c.eps,
                steps: 1,
                restarts: 1,
                seed: None,
                mode: None,
                loss: c.loss,
                random_start: false,
                clip: c.clip,
                ..AttackParams::base(self)
            },
            Attack::Pgd(c) => AttackParams {
                attack: self.name().into(),
                norm: c.norm,
                eps: c.eps,
                step_size: c.step_size,
                steps: c.steps,
                restarts: c.restarts,
                seed: Some(c.seed),
                mode: None,
                loss: c.loss,
                random_start: c.random_start,
                clip: c.clip,
                ..AttackParams::base(self)
            },
            Attack::Apgd(c) => AttackParams {
                attack: self.name().into(),
                norm: c.norm,
                eps: c.eps,
                step_size: c.initial_step(),
                steps: c.steps,
                restarts: c.restarts,
                seed: Some(c.seed),
                mode: Some(c.mode),
                loss: c.loss,
                random_start: true,
                clip: c.clip,
                eot_iter: (c.eot_iter > 1).then_some(c.eot_iter),
                ..AttackParams::base(self)
            },
            Attack::ApgdT(c) => AttackParams {
                step_size: 2.0 * c.eps,
                steps: c.steps,
                restarts: c.restarts,
                seed: Some(c.seed),
                mode: Some(ApgdMode::Reference),
                loss: Loss::Dlr,
                random_start: true,
                clip: c.clip,
                targets: Some(c.targets),
                ..AttackParams::base(self)
            },
            Attack::Fab(c) => AttackParams {
                step_size: c.eta,
                steps: c.steps,
                restarts: c.restarts,
                seed: Some(c.seed),
                loss: Loss::Margin,
                random_start: c.restarts > 1,
                targets: c.targeted.then_some(c.targets),
                ..AttackParams::base(self)
            },
            Attack::Square(c) => AttackParams {
                step_size: c.p_init,
                steps: c.queries,
                restarts: c.restarts,
                seed: Some(c.seed),
                loss: Loss::Margin,
                random_start: true,
                ..AttackParams::base(self)
            },
            Attack::AutoAttack(c) => AttackParams {
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
                ..AttackParams::base(self)
            },
        }
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

/// Options of a run that do not change the attack.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RunOptions {
    /// Samples per device batch (`None`: all at once). Random starts are keyed by the
    /// sample's position, so the chunking does not change which noise a sample gets.
    pub batch_size: Option<usize>,
    /// Run the sanity checks ([`sanity_checks`]) on the first batch in [`worst_case`] and
    /// [`eps_sweep`].
    pub sanity: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            batch_size: None,
            sanity: true,
        }
    }
}

pub(crate) fn fraction(v: &[bool]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().filter(|b| **b).count() as f64 / v.len() as f64
    }
}

/// AutoAttack's per-chunk bookkeeping: per sample the component index that broke it; seconds
/// and skip reasons per component.
type EnsembleInfo = (Vec<Option<usize>>, Vec<f64>, Vec<Option<String>>);

/// What one chunk of a run produced.
struct Chunk {
    adv: Tensor<4>,
    correct: Vec<bool>,
    robust: Vec<bool>,
    /// AutoAttack only: per sample, the component index that broke it; seconds and skip
    /// reasons per component.
    ensemble: Option<EnsembleInfo>,
    num_classes: usize,
}

/// Runs a multi-step attack on the samples marked `active` of a validated batch; returns the
/// adversarial batch and the host mask of samples fooled. `positions` key the random streams.
pub(crate) fn attack_active<C: Classifier + ?Sized>(
    model: &C,
    attack: &Attack,
    x: Tensor<4>,
    y: Tensor<1, Int>,
    positions: &[usize],
    active: &[bool],
    num_classes: usize,
) -> Result<(Tensor<4>, Vec<bool>)> {
    match attack {
        Attack::Pgd(c) => {
            c.loss.check_classes(num_classes)?;
            pgd_restarts(model, x, y, positions, active, c)
        }
        Attack::Apgd(c) => {
            c.loss.check_classes(num_classes)?;
            apgd_restarts(model, x, y, positions, active, c)
        }
        Attack::ApgdT(c) => apgd_targeted(model, x, y, positions, active, c, num_classes),
        Attack::Fab(c) => fab_attack(model, x, y, positions, active, c, num_classes),
        Attack::Square(c) => square_attack(model, x, y, positions, active, c),
        Attack::Fgsm(_) | Attack::AutoAttack(_) => Err(invalid(
            "attack",
            format!("{} cannot run as a component of an ensemble", attack.name()),
        )),
    }
}

/// Runs one attack on one chunk.
fn attack_chunk<C: Classifier + ?Sized>(
    model: &C,
    attack: &Attack,
    x: Tensor<4>,
    y: Tensor<1, Int>,
    offset: usize,
) -> Result<Chunk> {
    let batch = prepare(model, x, y, attack.clip())?;
    let positions: Vec<usize> = (offset..offset + batch.len()).collect();
    match attack {
        Attack::Fgsm(c) => {
            c.loss.check_classes(batch.num_classes)?;
            let adv = fgsm_batch(model, batch.x.clone(), batch.y.clone(), c);
            let still = correct(forward(model, adv.clone()), batch.y.clone());
            let robust = read_bool(batch.correct.clone().bool_and(still), "FGSM predictions")?;
            // Misclassified samples keep the clean input.
            let adv = crate::norm::select_images(batch.correct, adv, batch.x);
            Ok(Chunk {
                adv,
                correct: batch.correct_host,
                robust,
                ensemble: None,
                num_classes: batch.num_classes,
            })
        }
        Attack::AutoAttack(c) => {
            let e = ensemble_chunk(
                model,
                c,
                batch.x,
                batch.y,
                &positions,
                &batch.correct_host,
                batch.num_classes,
            )?;
            let robust = batch
                .correct_host
                .iter()
                .zip(&e.broken_by)
                .map(|(c, b)| *c && b.is_none())
                .collect();
            Ok(Chunk {
                adv: e.adv,
                correct: batch.correct_host,
                robust,
                ensemble: Some((e.broken_by, e.seconds, e.skipped)),
                num_classes: batch.num_classes,
            })
        }
        other => {
            let (adv, fooled) = attack_active(
                model,
                other,
                batch.x,
                batch.y,
                &positions,
                &batch.correct_host,
                batch.num_classes,
            )?;
            let robust = robust_from(&batch.correct_host, &fooled);
            Ok(Chunk {
                adv,
                correct: batch.correct_host,
                robust,
                ensemble: None,
                num_classes: batch.num_classes,
            })
        }
    }
}

fn robust_from(correct: &[bool], fooled: &[bool]) -> Vec<bool> {
    correct.iter().zip(fooled).map(|(c, f)| *c && !*f).collect()
}

pub(crate) fn chunks(n: usize, batch_size: Option<usize>) -> Result<Vec<(usize, usize)>> {
    let bs = match batch_size {
        Some(0) => return Err(invalid("batch_size", "must be ≥ 1")),
        Some(b) => b,
        None => n.max(1),
    };
    Ok((0..n).step_by(bs).map(|s| (s, (s + bs).min(n))).collect())
}

/// Runs `attack` on the samples `x` `[N, C, H, W]` (f32 in `[0, 1]` when clipping) with labels
/// `y` `[N]`, in device batches of `opts.batch_size`. See [`Attack`] for the algorithms.
pub fn run_attack<C: Classifier + ?Sized>(
    model: &C,
    attack: &Attack,
    x: Tensor<4>,
    y: Tensor<1, Int>,
    opts: &RunOptions,
) -> Result<AttackResult> {
    attack.validate()?;
    let start = Instant::now();
    let passes_before = crate::model::passes_on_this_thread();
    let [n, ..] = x.dims();
    let [ny] = y.dims();
    if ny != n {
        return Err(crate::AttackError::Shape(format!(
            "{n} images but {ny} labels"
        )));
    }
    let x_clean = x.clone();
    let mut advs = Vec::new();
    let mut correct_clean = Vec::with_capacity(n);
    let mut robust = Vec::with_capacity(n);
    let mut broken_by: Vec<Option<usize>> = Vec::with_capacity(n);
    let mut stage_seconds: Vec<f64> = Vec::new();
    let mut skipped: Vec<Option<String>> = Vec::new();
    let mut warnings = Vec::new();
    let mut num_classes = 0;
    for (s, e) in chunks(n, opts.batch_size)? {
        let xs = x.clone().slice([s..e]);
        let ys = y.clone().slice([s..e]);
        if s == 0
            && opts.sanity
            && let Attack::AutoAttack(c) = attack
        {
            warnings.extend(
                sanity_checks(model, xs.clone(), ys.clone())?
                    .into_iter()
                    .filter(|w| {
                        c.version != AutoAttackVersion::Rand
                            || !matches!(w, SanityWarning::NonDeterministic { .. })
                    }),
            );
        }
        let chunk = attack_chunk(model, attack, xs, ys, s)?;
        num_classes = chunk.num_classes;
        advs.push(chunk.adv);
        correct_clean.extend(chunk.correct);
        robust.extend(chunk.robust);
        if let Some((b, secs, skip)) = chunk.ensemble {
            broken_by.extend(b);
            stage_seconds.resize(secs.len(), 0.0);
            skipped.resize(secs.len(), None);
            for (j, v) in secs.into_iter().enumerate() {
                stage_seconds[j] += v;
            }
            for (j, v) in skip.into_iter().enumerate() {
                if v.is_some() {
                    skipped[j] = v;
                }
            }
        }
        tracing::debug!(attack = attack.name(), done = e, total = n, "attack batch");
    }
    let adversarial = if advs.len() == 1 {
        advs.pop()
    } else {
        Some(Tensor::cat(advs, 0))
    };
    let (stages, broken_by) = match attack {
        Attack::AutoAttack(c) => {
            let comps = c.components();
            let names: Vec<String> = comps.iter().map(|a| a.name().to_string()).collect();
            let mut left = correct_clean.iter().filter(|b| **b).count();
            let mut stages = Vec::with_capacity(comps.len());
            for (j, name) in names.iter().enumerate() {
                let broken = broken_by.iter().filter(|b| **b == Some(j)).count();
                left -= broken;
                stages.push(StageResult {
                    attack: name.clone(),
                    broken,
                    robust_accuracy: if n == 0 { 0.0 } else { left as f64 / n as f64 },
                    seconds: stage_seconds.get(j).copied().unwrap_or(0.0),
                    skipped: skipped.get(j).cloned().flatten(),
                });
            }
            warnings.extend(crate::sanity::ensemble_warnings(
                c,
                &stages,
                fraction(&correct_clean),
                num_classes,
            ));
            let by = broken_by
                .iter()
                .map(|b| b.map(|j| names[j].clone()))
                .collect();
            (stages, Some(by))
        }
        _ => (Vec::new(), None),
    };
    for w in &warnings {
        tracing::warn!("AutoAttack check: {w}");
    }
    let seconds = start.elapsed().as_secs_f64();
    let perturbation = adversarial
        .as_ref()
        .and_then(|a| Perturbation::of(a, &x_clean, attack.norm()));
    let result = AttackResult {
        params: attack.params(),
        n,
        clean_accuracy: fraction(&correct_clean),
        robust_accuracy: fraction(&robust),
        correct_clean,
        robust,
        seconds,
        adversarial,
        broken_by,
        stages,
        warnings,
        passes: crate::model::passes_on_this_thread() - passes_before,
        perturbation,
    };
    if let Attack::AutoAttack(_) = attack {
        log_like_reference(&result, attack.norm());
    }
    tracing::info!(
        attack = attack.name(),
        norm = %attack.norm(),
        eps = attack.eps(),
        clean = result.clean_accuracy,
        robust = result.robust_accuracy,
        seconds = result.seconds,
        "attack finished"
    );
    Ok(result)
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

/// AutoAttack's own log lines (fra31/auto-attack's wording), at debug level (`xtask -v`):
/// initial accuracy, robust accuracy after each component with the time so far, the largest
/// perturbation and its range, and the final robust accuracy.
fn log_like_reference(r: &AttackResult, norm: Norm) {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    tracing::debug!("initial accuracy: {:.2}%", 100.0 * r.clean_accuracy);
    let mut total = 0.0;
    for s in &r.stages {
        total += s.seconds;
        match &s.skipped {
            Some(why) => tracing::debug!("{} skipped: {why}", s.attack.to_uppercase()),
            None => tracing::debug!(
                "robust accuracy after {}: {:.2}% (total time {:.1} s)",
                s.attack.to_uppercase(),
                100.0 * s.robust_accuracy,
                total
            ),
        }
    }
    if let Some(p) = &r.perturbation {
        let name = match norm {
            Norm::Linf => "Linf",
            Norm::L2 => "L2",
        };
        tracing::debug!(
            "max {name} perturbation: {:.5}, nan in tensor: {}, max: {:.5}, min: {:.5}",
            p.max_norm,
            p.nans,
            p.max,
            p.min
        );
    }
    tracing::debug!("robust accuracy: {:.2}%", 100.0 * r.robust_accuracy);
}

/// FGSM / FGM on all samples (see [`FgsmConfig`]).
pub fn fgsm<C: Classifier + ?Sized>(
    model: &C,
    x: Tensor<4>,
    y: Tensor<1, Int>,
    cfg: &FgsmConfig,
) -> Result<AttackResult> {
    run_attack(model, &Attack::Fgsm(*cfg), x, y, &RunOptions::default())
}

/// PGD on all samples (see [`PgdConfig`]). The clean-misclassified samples are not attacked;
/// restarts attack only the samples still robust; per sample the first successful restart is
/// kept, else the final iterate with the highest loss.
pub fn pgd<C: Classifier + ?Sized>(
    model: &C,
    x: Tensor<4>,
    y: Tensor<1, Int>,
    cfg: &PgdConfig,
) -> Result<AttackResult> {
    run_attack(model, &Attack::Pgd(*cfg), x, y, &RunOptions::default())
}

/// APGD-CE / APGD-DLR on all samples (see [`ApgdConfig`] and the `apgd` module docs).
pub fn apgd<C: Classifier + ?Sized>(
    model: &C,
    x: Tensor<4>,
    y: Tensor<1, Int>,
    cfg: &ApgdConfig,
) -> Result<AttackResult> {
    run_attack(model, &Attack::Apgd(*cfg), x, y, &RunOptions::default())
}
