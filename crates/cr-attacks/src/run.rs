//! One entry point for every attack, results, worst case over attacks, and ε-sweeps.

use std::time::Instant;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::apgd::{ApgdConfig, ApgdMode, apgd_restarts};
use crate::error::{Result, invalid};
use crate::fgsm::{FgsmConfig, fgsm_batch};
use crate::loss::Loss;
use crate::model::{Classifier, correct, forward, prepare, read_bool};
use crate::norm::Norm;
use crate::pgd::{PgdConfig, pgd_restarts};
use crate::sanity::{SanityWarning, sanity_checks};

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
}

impl Attack {
    /// Short name: `fgsm`, `fgm`, `pgd`, `apgd-ce`, `apgd-dlr`.
    pub fn name(&self) -> &'static str {
        match self {
            Attack::Fgsm(c) => match c.norm {
                Norm::Linf => "fgsm",
                Norm::L2 => "fgm",
            },
            Attack::Pgd(_) => "pgd",
            Attack::Apgd(c) => c.name(),
        }
    }

    /// The threat model's norm.
    pub fn norm(&self) -> Norm {
        match self {
            Attack::Fgsm(c) => c.norm,
            Attack::Pgd(c) => c.norm,
            Attack::Apgd(c) => c.norm,
        }
    }

    /// The radius ε.
    pub fn eps(&self) -> f32 {
        match self {
            Attack::Fgsm(c) => c.eps,
            Attack::Pgd(c) => c.eps,
            Attack::Apgd(c) => c.eps,
        }
    }

    /// Whether results are clipped to `[0, 1]`.
    pub fn clip(&self) -> bool {
        match self {
            Attack::Fgsm(c) => c.clip,
            Attack::Pgd(c) => c.clip,
            Attack::Apgd(c) => c.clip,
        }
    }

    /// The same attack at radius `eps` (step sizes keep their ratio to ε).
    pub fn with_eps(&self, eps: f32) -> Self {
        match self {
            Attack::Fgsm(c) => Attack::Fgsm(FgsmConfig { eps, ..*c }),
            Attack::Pgd(c) => Attack::Pgd(c.with_eps(eps)),
            Attack::Apgd(c) => Attack::Apgd(c.with_eps(eps)),
        }
    }

    /// Checks the configuration.
    pub fn validate(&self) -> Result<()> {
        match self {
            Attack::Fgsm(c) => c.validate(),
            Attack::Pgd(c) => c.validate(),
            Attack::Apgd(c) => c.validate(),
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
    /// Step size (FGSM: ε; PGD: α; APGD: the initial η₀).
    pub step_size: f32,
    /// Iterations per restart (FGSM: 1).
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

fn fraction(v: &[bool]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().filter(|b| **b).count() as f64 / v.len() as f64
    }
}

/// Runs one attack on one chunk; returns (adversarial, correct_clean, robust).
fn attack_chunk<C: Classifier + ?Sized>(
    model: &C,
    attack: &Attack,
    x: Tensor<4>,
    y: Tensor<1, Int>,
    offset: usize,
) -> Result<(Tensor<4>, Vec<bool>, Vec<bool>)> {
    let batch = prepare(model, x, y, attack.clip())?;
    match attack {
        Attack::Fgsm(c) => {
            c.loss.check_classes(batch.num_classes)?;
            let adv = fgsm_batch(model, batch.x.clone(), batch.y.clone(), c);
            let still = correct(forward(model, adv.clone()), batch.y.clone());
            let robust = read_bool(batch.correct.clone().bool_and(still), "FGSM predictions")?;
            // Misclassified samples keep the clean input.
            let adv = crate::norm::select_images(batch.correct, adv, batch.x);
            Ok((adv, batch.correct_host, robust))
        }
        Attack::Pgd(c) => {
            c.loss.check_classes(batch.num_classes)?;
            let positions: Vec<usize> = (offset..offset + batch.len()).collect();
            let (adv, fooled) =
                pgd_restarts(model, batch.x, batch.y, &positions, &batch.correct_host, c)?;
            let robust = robust_from(&batch.correct_host, &fooled);
            Ok((adv, batch.correct_host, robust))
        }
        Attack::Apgd(c) => {
            c.loss.check_classes(batch.num_classes)?;
            let positions: Vec<usize> = (offset..offset + batch.len()).collect();
            let (adv, fooled) =
                apgd_restarts(model, batch.x, batch.y, &positions, &batch.correct_host, c)?;
            let robust = robust_from(&batch.correct_host, &fooled);
            Ok((adv, batch.correct_host, robust))
        }
    }
}

fn robust_from(correct: &[bool], fooled: &[bool]) -> Vec<bool> {
    correct.iter().zip(fooled).map(|(c, f)| *c && !*f).collect()
}

fn chunks(n: usize, batch_size: Option<usize>) -> Result<Vec<(usize, usize)>> {
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
    let [n, ..] = x.dims();
    let [ny] = y.dims();
    if ny != n {
        return Err(crate::AttackError::Shape(format!(
            "{n} images but {ny} labels"
        )));
    }
    let mut advs = Vec::new();
    let mut correct_clean = Vec::with_capacity(n);
    let mut robust = Vec::with_capacity(n);
    for (s, e) in chunks(n, opts.batch_size)? {
        let xs = x.clone().slice([s..e]);
        let ys = y.clone().slice([s..e]);
        let (adv, c, r) = attack_chunk(model, attack, xs, ys, s)?;
        advs.push(adv);
        correct_clean.extend(c);
        robust.extend(r);
        tracing::debug!(attack = attack.name(), done = e, total = n, "attack batch");
    }
    let adversarial = if advs.len() == 1 {
        advs.pop()
    } else {
        Some(Tensor::cat(advs, 0))
    };
    let result = AttackResult {
        params: attack.params(),
        n,
        clean_accuracy: fraction(&correct_clean),
        robust_accuracy: fraction(&robust),
        correct_clean,
        robust,
        seconds: start.elapsed().as_secs_f64(),
        adversarial,
    };
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

/// The loss-maximising points of [`max_loss_points`].
#[derive(Debug, Clone)]
pub struct MaxLossResult {
    /// The attack's parameters.
    pub params: AttackParams,
    /// Samples.
    pub n: usize,
    /// Per sample: the point of highest attack loss found, `[N, C, H, W]`.
    pub points: Tensor<4>,
    /// Per sample: that loss (the attack's loss: cross-entropy for APGD-CE).
    pub loss: Vec<f32>,
}

/// The loss-maximising perturbation of EVERY sample, clean-misclassified ones included
/// (SPEC §2, the empirical robustness gap): APGD's best-loss point, as auto-attack's
/// `perturb(best_loss=True)`. [`run_attack`]'s adversarial examples are not this: they are
/// the first misclassified iterate of a broken sample and the clean input of a misclassified
/// one.
///
/// # Errors
/// [`crate::AttackError::InvalidParam`] for an attack other than APGD (FGSM and PGD have no
/// best-loss output), and the errors of [`run_attack`].
pub fn max_loss_points<C: Classifier + ?Sized>(
    model: &C,
    attack: &Attack,
    x: Tensor<4>,
    y: Tensor<1, Int>,
    opts: &RunOptions,
) -> Result<MaxLossResult> {
    attack.validate()?;
    let Attack::Apgd(cfg) = attack else {
        return Err(invalid(
            "attack",
            format!(
                "the loss-maximising point needs an APGD attack (`{}` given)",
                attack.name()
            ),
        ));
    };
    let [n, ..] = x.dims();
    let [ny] = y.dims();
    if ny != n {
        return Err(crate::AttackError::Shape(format!(
            "{n} images but {ny} labels"
        )));
    }
    let mut points = Vec::new();
    let mut loss = Vec::with_capacity(n);
    for (s, e) in chunks(n, opts.batch_size)? {
        let batch = prepare(
            model,
            x.clone().slice([s..e]),
            y.clone().slice([s..e]),
            cfg.clip,
        )?;
        cfg.loss.check_classes(batch.num_classes)?;
        let positions: Vec<usize> = (s..e).collect();
        let (p, l) = crate::apgd::apgd_max_loss(model, batch.x, batch.y, &positions, cfg);
        points.push(p);
        loss.extend(l.into_data().try_into_vec_as::<f32>().map_err(|e| {
            crate::AttackError::Read {
                what: "APGD losses",
                message: format!("{e:?}"),
            }
        })?);
    }
    let points = match points.len() {
        1 => points.swap_remove(0),
        _ => Tensor::cat(points, 0),
    };
    Ok(MaxLossResult {
        params: attack.params(),
        n,
        points,
        loss,
    })
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

/// Worst case over several attacks.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorstCaseResult {
    /// Each attack's own result.
    pub attacks: Vec<AttackResult>,
    /// Number of samples.
    pub n: usize,
    /// Per sample: classified correctly without perturbation.
    pub correct_clean: Vec<bool>,
    /// Per sample: robust against every attack.
    pub robust: Vec<bool>,
    /// Fraction classified correctly.
    pub clean_accuracy: f64,
    /// Fraction robust against every attack (per sample, not an average over attacks).
    pub robust_accuracy: f64,
    /// Sanity-check warnings (empty when none fired or checks were off).
    pub warnings: Vec<SanityWarning>,
    /// Wall time in seconds, all attacks and checks included.
    pub seconds: f64,
}

/// Runs every attack on every sample and reports the per-sample worst case: a sample is robust
/// only if it survives every attack (SPEC §3, "Worst-case robust accuracy … per sample").
pub fn worst_case<C: Classifier + ?Sized>(
    model: &C,
    attacks: &[Attack],
    x: Tensor<4>,
    y: Tensor<1, Int>,
    opts: &RunOptions,
) -> Result<WorstCaseResult> {
    if attacks.is_empty() {
        return Err(invalid("attacks", "the list of attacks is empty"));
    }
    let start = Instant::now();
    let warnings = if opts.sanity {
        let [n, ..] = x.dims();
        let end = opts.batch_size.unwrap_or(n).min(n);
        sanity_checks(model, x.clone().slice([0..end]), y.clone().slice([0..end]))?
    } else {
        Vec::new()
    };
    let mut results = Vec::with_capacity(attacks.len());
    for a in attacks {
        results.push(run_attack(model, a, x.clone(), y.clone(), opts)?);
    }
    let n = results[0].n;
    let correct_clean = results[0].correct_clean.clone();
    let robust: Vec<bool> = (0..n)
        .map(|i| results.iter().all(|r| r.robust[i]))
        .collect();
    Ok(WorstCaseResult {
        n,
        clean_accuracy: fraction(&correct_clean),
        robust_accuracy: fraction(&robust),
        correct_clean,
        robust,
        attacks: results,
        warnings,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// One point of an ε-sweep.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepPoint {
    /// The radius.
    pub eps: f32,
    /// Worst-case robust accuracy over the attacks at this ε.
    pub robust_accuracy: f64,
    /// Each attack's robust accuracy at this ε, in the order given.
    pub per_attack: Vec<f64>,
    /// Per sample: robust against every attack at this ε.
    pub robust: Vec<bool>,
}

/// A robust-accuracy curve over ε.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepResult {
    /// Attack names, in the order of [`SweepPoint::per_attack`].
    pub attacks: Vec<String>,
    /// Clean accuracy.
    pub clean_accuracy: f64,
    /// Number of samples.
    pub n: usize,
    /// One point per ε, in the order given.
    pub points: Vec<SweepPoint>,
    /// Sanity-check warnings.
    pub warnings: Vec<SanityWarning>,
    /// Wall time in seconds.
    pub seconds: f64,
}

impl SweepResult {
    /// The curve `(ε, worst-case robust accuracy)`.
    pub fn curve(&self) -> Vec<(f32, f64)> {
        self.points
            .iter()
            .map(|p| (p.eps, p.robust_accuracy))
            .collect()
    }
}

/// The worst case over `attacks` at every radius in `eps` (each attack rescaled with
/// [`Attack::with_eps`]), in one call.
pub fn eps_sweep<C: Classifier + ?Sized>(
    model: &C,
    attacks: &[Attack],
    eps: &[f32],
    x: Tensor<4>,
    y: Tensor<1, Int>,
    opts: &RunOptions,
) -> Result<SweepResult> {
    if eps.is_empty() {
        return Err(invalid("eps", "the list of radii is empty"));
    }
    let start = Instant::now();
    let mut points = Vec::with_capacity(eps.len());
    let mut warnings = Vec::new();
    let mut clean = (0.0, 0);
    for (j, &e) in eps.iter().enumerate() {
        let scaled: Vec<Attack> = attacks.iter().map(|a| a.with_eps(e)).collect();
        let o = RunOptions {
            sanity: opts.sanity && j == 0,
            ..*opts
        };
        let wc = worst_case(model, &scaled, x.clone(), y.clone(), &o)?;
        if j == 0 {
            warnings = wc.warnings.clone();
            clean = (wc.clean_accuracy, wc.n);
        }
        points.push(SweepPoint {
            eps: e,
            robust_accuracy: wc.robust_accuracy,
            per_attack: wc.attacks.iter().map(|r| r.robust_accuracy).collect(),
            robust: wc.robust,
        });
    }
    Ok(SweepResult {
        attacks: attacks.iter().map(|a| a.name().to_string()).collect(),
        clean_accuracy: clean.0,
        n: clean.1,
        points,
        warnings,
        seconds: start.elapsed().as_secs_f64(),
    })
}
