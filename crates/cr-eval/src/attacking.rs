//! The attack primitives every measure shares (a leaf module: it uses no other measure): an
//! [`AttackSpec`] turned into a cr-attacks [`Attack`], clean accuracy and loss in batches,
//! adversarial examples, and the robustness gap at APGD's loss-maximising points.

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use cr_attacks::{
    ApgdConfig, ApgdMode, ApgdTConfig, Attack, AttackName, AttackOptions, AutoAttackConfig,
    FabConfig, FgsmConfig, Loss, PgdConfig, SquareConfig, WorstCaseResult, run_attack, worst_case,
};
use cr_models::Model;

use crate::config::AttackSpec;
use crate::error::{EvalError, err};

/// Batch size of attack evaluations.
pub const ATTACK_BATCH: usize = 500;

/// The cr-attacks attack of a spec (with the evaluation seed): each attack's defaults, then
/// the spec's steps, restarts, step size, APGD mode and AutoAttack version where given.
pub fn attack_of(spec: &AttackSpec, seed: u64) -> Attack {
    let (n, eps) = (spec.norm, spec.eps as f32);
    match spec.attack {
        AttackName::Fgsm => Attack::Fgsm(FgsmConfig::new(n, eps)),
        AttackName::Pgd => Attack::Pgd(pgd_of(spec, seed)),
        AttackName::ApgdCe => Attack::Apgd(apgd_of(spec, Loss::Ce, seed)),
        AttackName::ApgdDlr => Attack::Apgd(apgd_of(spec, Loss::Dlr, seed)),
        AttackName::ApgdT => {
            let mut a = ApgdTConfig::new(n, eps);
            a.steps = spec.steps.unwrap_or(a.steps);
            a.restarts = spec.restarts.unwrap_or(a.restarts);
            a.seed = seed;
            Attack::ApgdT(a)
        }
        AttackName::FabT | AttackName::Fab => {
            let mut a = if spec.attack == AttackName::Fab {
                FabConfig::untargeted(n, eps)
            } else {
                FabConfig::new(n, eps)
            };
            a.steps = spec.steps.unwrap_or(a.steps);
            a.restarts = spec.restarts.unwrap_or(a.restarts);
            a.seed = seed;
            Attack::Fab(a)
        }
        AttackName::Square => {
            let mut a = SquareConfig::new(n, eps);
            a.queries = spec.steps.unwrap_or(a.queries);
            a.restarts = spec.restarts.unwrap_or(a.restarts);
            a.seed = seed;
            Attack::Square(a)
        }
        AttackName::AutoAttack => {
            let mut a = AutoAttackConfig::new(n, eps);
            a.version = spec.version.unwrap_or(a.version);
            a.seed = seed;
            Attack::AutoAttack(a)
        }
    }
}

/// PGD: `steps` also sets the step size to 2.5ε/steps unless `step_size` is given.
fn pgd_of(spec: &AttackSpec, seed: u64) -> PgdConfig {
    let eps = spec.eps as f32;
    let mut p = PgdConfig::new(spec.norm, eps);
    if let Some(s) = spec.steps {
        p.steps = s;
        p.step_size = 2.5 * eps / s as f32;
    }
    if let Some(a) = spec.step_size {
        p.step_size = a as f32;
    }
    p.restarts = spec.restarts.unwrap_or(p.restarts);
    p.seed = seed;
    p
}

/// APGD on `loss`, in the spec's mode (ART's defaults with `art`).
fn apgd_of(spec: &AttackSpec, loss: Loss, seed: u64) -> ApgdConfig {
    let (n, eps) = (spec.norm, spec.eps as f32);
    let mut a = match spec.mode {
        Some(ApgdMode::Art) => ApgdConfig::art(n, eps, loss),
        Some(ApgdMode::Reference) | None => ApgdConfig::new(n, eps, loss),
    };
    a.steps = spec.steps.unwrap_or(a.steps);
    a.restarts = spec.restarts.unwrap_or(a.restarts);
    if let Some(s) = spec.step_size {
        a.step_size = Some(s as f32);
    }
    a.seed = seed;
    a
}

/// The per-sample worst case over `specs` on `x`, `y` in batches of [`ATTACK_BATCH`] (the
/// sanity checks on the first), with every warning of the run and of each attack, once.
pub(crate) fn worst_case_of(
    model: &Model,
    specs: &[AttackSpec],
    seed: u64,
    x: &Tensor<4>,
    y: &Tensor<1, Int>,
) -> Result<(WorstCaseResult, Vec<String>), EvalError> {
    let f = |x: Tensor<4>| model.forward(x);
    let list: Vec<Attack> = specs.iter().map(|a| attack_of(a, seed)).collect();
    let wc = worst_case(
        &f,
        &list,
        x.clone(),
        y.clone(),
        &AttackOptions {
            batch_size: Some(ATTACK_BATCH),
            sanity: true,
        },
    )
    .map_err(|e| err("attacks", e))?;
    let mut warnings: Vec<String> = wc.warnings.iter().map(|w| w.to_string()).collect();
    for w in wc.attacks.iter().flat_map(|r| &r.warnings) {
        let w = w.to_string();
        if !warnings.contains(&w) {
            warnings.push(w);
        }
    }
    Ok((wc, warnings))
}

/// One attack's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttackOutcome {
    /// `apgd-ce linf 0.05`.
    pub label: String,
    /// The spec.
    pub spec: AttackSpec,
    /// Robust accuracy.
    pub robust_accuracy: f64,
    /// Wall seconds.
    pub seconds: f64,
    /// AutoAttack: each component's share, in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<cr_attacks::StageResult>,
    /// AutoAttack: per sample, the component that broke it (`null`: robust or misclassified
    /// without perturbation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broken_by: Option<Vec<Option<String>>>,
}

/// Accuracy and mean cross-entropy of `model` on `(x, y)`, in batches.
pub fn accuracy_and_loss(model: &Model, x: &Tensor<4>, y: &Tensor<1, Int>) -> (f64, f64) {
    let [n, ..] = x.dims();
    let mut correct = 0usize;
    let mut loss = 0.0f64;
    for s in (0..n).step_by(ATTACK_BATCH) {
        let e = (s + ATTACK_BATCH).min(n);
        let (l, c) = cr_train::batch_loss_correct(
            model,
            x.clone().narrow(0, s, e - s),
            y.clone().narrow(0, s, e - s),
        );
        loss += l;
        correct += c;
    }
    (correct as f64 / n.max(1) as f64, loss / n.max(1) as f64)
}

/// Each sample's cross-entropy under `model`, in batches.
fn per_sample_loss(
    model: &Model,
    x: &Tensor<4>,
    y: &Tensor<1, Int>,
) -> Result<Vec<f64>, EvalError> {
    let [n, ..] = x.dims();
    let mut out = Vec::with_capacity(n);
    for s in (0..n).step_by(ATTACK_BATCH) {
        let e = (s + ATTACK_BATCH).min(n);
        let logits = model.forward(x.clone().narrow(0, s, e - s));
        let l = burn::tensor::activation::log_softmax(logits, 1)
            .gather(1, y.clone().narrow(0, s, e - s).unsqueeze_dim(1))
            .neg();
        // Read as f32 whatever the backend's float type.
        let v = l
            .try_into_vec_as::<f32>()
            .map_err(|e| err("per-sample loss", format!("{e:?}")))?;
        out.extend(v.into_iter().map(f64::from));
    }
    Ok(out)
}

/// The standard error of the mean of `v` over its finite values (`NaN` below 2 values): the
/// test-sample noise of a mean the judge adds to the seeds' (`<quantity>_se` beside it). The
/// sample standard deviation is the report's ([`cr_report::stats::mean_std`]), one rule.
pub fn standard_error(v: impl IntoIterator<Item = f64>) -> f64 {
    let v: Vec<f64> = v.into_iter().filter(|x| x.is_finite()).collect();
    match cr_report::stats::mean_std(&v).1 {
        Some(sd) => sd / (v.len() as f64).sqrt(),
        None => f64::NAN,
    }
}

/// The attack's adversarial examples (the first misclassified iterate of a broken sample, the
/// clean input of a misclassified one) and the clean-correct mask.
pub fn adversarial(
    model: &Model,
    spec: &AttackSpec,
    x: &Tensor<4>,
    y: &Tensor<1, Int>,
    seed: u64,
) -> Result<(Tensor<4>, Vec<bool>), EvalError> {
    let f = |x: Tensor<4>| model.forward(x);
    let r = run_attack(
        &f,
        &attack_of(spec, seed),
        x.clone(),
        y.clone(),
        &AttackOptions {
            batch_size: Some(ATTACK_BATCH),
            sanity: false,
        },
    )
    .map_err(|e| err("attack", e))?;
    let adv = r
        .adversarial
        .ok_or_else(|| err("attack", "no adversarial examples returned"))?;
    Ok((adv, r.correct_clean))
}

/// The empirical robustness gap (SPEC §2, paper Figure 3): the mean cross-entropy at the
/// loss-maximising point of EVERY test sample (APGD's best-loss point, auto-attack's
/// `perturb(best_loss=True)`; clean-misclassified samples are attacked too) minus the mean
/// clean cross-entropy.
pub(crate) fn gap(
    model: &Model,
    spec: &AttackSpec,
    x: &Tensor<4>,
    y: &Tensor<1, Int>,
    seed: u64,
    clean_loss: f64,
) -> Result<serde_json::Value, EvalError> {
    let f = |x: Tensor<4>| model.forward(x);
    let r = cr_attacks::max_loss_points(
        &f,
        &attack_of(spec, seed),
        x.clone(),
        y.clone(),
        &AttackOptions {
            batch_size: Some(ATTACK_BATCH),
            sanity: false,
        },
    )
    .map_err(|e| err("gap", e))?;
    let (adv_acc, adv_loss) = accuracy_and_loss(model, &r.points, y);
    // The gap is a mean over the test samples of (adversarial − clean) loss: its standard
    // error over them, from the paired per-sample differences.
    let per_adv = per_sample_loss(model, &r.points, y)?;
    let per_clean = per_sample_loss(model, x, y)?;
    let gap_se = standard_error(per_adv.iter().zip(&per_clean).map(|(a, c)| a - c));
    let record = GapRecord {
        attack: spec.label(),
        point: "max-loss (APGD best loss, every sample)",
        clean_loss,
        adversarial_loss: adv_loss,
        gap: adv_loss - clean_loss,
        gap_se,
        adversarial_accuracy: adv_acc,
    };
    serde_json::to_value(record).map_err(|e| err("gap", e))
}

/// The `gap` measure, as recorded.
#[derive(Debug, Clone, Serialize)]
struct GapRecord {
    attack: String,
    /// Where the adversarial loss is taken.
    point: &'static str,
    clean_loss: f64,
    adversarial_loss: f64,
    /// `adversarial_loss − clean_loss`.
    gap: f64,
    /// Its standard error over the test samples.
    gap_se: f64,
    adversarial_accuracy: f64,
}
