//! What is measured on a trained model: clean and robust accuracy, compressibility of every
//! layer, and the analyses the paper's figures need.

use std::collections::BTreeMap;
use std::time::Instant;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use cr_attacks::{
    ApgdConfig, ApgdMode, ApgdTConfig, Attack, AutoAttackConfig, FabConfig, FgsmConfig,
    LipschitzConfig, Loss, PgdConfig, RunOptions, SquareConfig, UapConfig, local_lipschitz,
    representation_change, run_attack, singular_alignment, universal_perturbation, worst_case,
};
use cr_data::Dataset;
use cr_linalg::{compress, matrix::from_rows_f32, norms, svd};
use cr_models::{LayerMatrix, Model, Selection};

use crate::config::{AttackSpec, EvalConfig, NormKind};
use crate::error::ExpError;
use crate::execute::norm;

/// Batch size of attack evaluations.
pub const ATTACK_BATCH: usize = 500;

fn err(what: &str, e: impl std::fmt::Display) -> ExpError {
    ExpError::Other(format!("{what}: {e}"))
}

/// The cr-attacks attack of a spec (with the evaluation seed).
pub fn attack_of(spec: &AttackSpec, seed: u64) -> Attack {
    let n = norm(spec.norm);
    let eps = spec.eps as f32;
    match spec.attack.as_str() {
        "fgsm" => Attack::Fgsm(FgsmConfig::new(n, eps)),
        "pgd" => {
            let mut p = PgdConfig::new(n, eps);
            if let Some(s) = spec.steps {
                p.steps = s;
                p.step_size = 2.5 * eps / s as f32;
            }
            if let Some(a) = spec.step_size {
                p.step_size = a as f32;
            }
            if let Some(r) = spec.restarts {
                p.restarts = r;
            }
            p.seed = seed;
            Attack::Pgd(p)
        }
        "apgd-t" => {
            let mut a = ApgdTConfig::new(n, eps);
            if let Some(s) = spec.steps {
                a.steps = s;
            }
            if let Some(r) = spec.restarts {
                a.restarts = r;
            }
            a.seed = seed;
            Attack::ApgdT(a)
        }
        "fab-t" | "fab" => {
            let mut a = if spec.attack == "fab" {
                FabConfig::untargeted(n, eps)
            } else {
                FabConfig::new(n, eps)
            };
            if let Some(s) = spec.steps {
                a.steps = s;
            }
            if let Some(r) = spec.restarts {
                a.restarts = r;
            }
            a.seed = seed;
            Attack::Fab(a)
        }
        "square" => {
            let mut a = SquareConfig::new(n, eps);
            if let Some(s) = spec.steps {
                a.queries = s;
            }
            if let Some(r) = spec.restarts {
                a.restarts = r;
            }
            a.seed = seed;
            Attack::Square(a)
        }
        "autoattack" => {
            let mut a = AutoAttackConfig::new(n, eps);
            // Validated by `AttackSpec::validate`; an unknown name falls back to standard.
            if let Some(v) = spec.version.as_deref().and_then(|v| v.parse().ok()) {
                a.version = v;
            }
            a.seed = seed;
            Attack::AutoAttack(a)
        }
        other => {
            let loss = if other == "apgd-dlr" {
                Loss::Dlr
            } else {
                Loss::Ce
            };
            let mut a = if spec.mode.as_deref() == Some("art") {
                ApgdConfig::art(n, eps, loss)
            } else {
                ApgdConfig::new(n, eps, loss)
            };
            if let Some(s) = spec.steps {
                a.steps = s;
            }
            if let Some(r) = spec.restarts {
                a.restarts = r;
            }
            if let Some(s) = spec.step_size {
                a.step_size = Some(s as f32);
            }
            if spec.mode.as_deref() == Some("art") {
                a.mode = ApgdMode::Art;
            }
            a.seed = seed;
            Attack::Apgd(a)
        }
    }
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

/// Compressibility and norms of one layer (SPEC §1), on its effective `[out, in·kh·kw]`
/// matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerStats {
    /// Layer name.
    pub name: String,
    /// Rows (neurons / filters).
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// ‖W‖_F.
    pub frobenius: f64,
    /// ‖W‖_∞.
    pub inf_norm: f64,
    /// ‖W‖₂.
    pub spectral_norm: f64,
    /// ‖W‖_F²/σ₁².
    pub stable_rank: f64,
    /// exp H(σ/‖σ‖₁).
    pub effective_rank: f64,
    /// k used for ν (⌈κ·rows⌉).
    pub k_nu: usize,
    /// ε₁(ν, k_ν).
    pub eps_nu: f64,
    /// β(ν, k_ν).
    pub beta_nu: f64,
    /// k used for σ (⌈κ·min(rows, cols)⌉).
    pub k_sigma: usize,
    /// ε₁(σ, k_σ).
    pub eps_sigma: f64,
    /// β(σ, k_σ).
    pub beta_sigma: f64,
    /// advcomp's compressibility at level κ of the flattened weights, 1 − ε₂(⌈κ·d⌉).
    pub advcomp: f64,
    /// Numerical rank: singular values above `σ₁ · max(rows, cols) · 2⁻²³` (f32 rounding).
    #[serde(default)]
    pub numerical_rank: usize,
    /// ε₁ of ν and σ at several fractions of their length ([`LEVELS`]), so that a measure
    /// still moves where one level has saturated.
    #[serde(default)]
    pub levels: Vec<Level>,
}

/// The fractions (in percent) of a vector's length at which [`LayerStats::levels`] reads ε.
pub const LEVELS: [u32; 5] = [1, 5, 10, 25, 50];

/// ε₁ of ν and σ keeping `percent`% of their entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Level {
    /// Fraction kept, in percent.
    pub percent: u32,
    /// k for ν (⌈percent/100 · rows⌉).
    pub k_nu: usize,
    /// ε₁(ν, k_nu).
    pub eps_nu: f64,
    /// k for σ.
    pub k_sigma: usize,
    /// ε₁(σ, k_sigma).
    pub eps_sigma: f64,
}

/// Compressibility of the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Compressibility {
    /// κ.
    pub kappa: f64,
    /// Per hidden layer (effective matrices; head and first conv excluded).
    pub layers: Vec<LayerStats>,
    /// Mean over layers of `1 − ε₁(ν, ⌈κh⌉)`: neuron compressibility (higher = more).
    pub neuron: f64,
    /// Mean over layers of `1 − ε₁(σ, ⌈κr⌉)`: spectral compressibility.
    pub spectral: f64,
    /// Mean over layers of the stable rank.
    #[serde(default)]
    pub stable_rank: f64,
    /// Mean over layers of the effective rank.
    #[serde(default)]
    pub effective_rank: f64,
    /// Mean over layers of ε₁ of ν and σ at each of [`LEVELS`] (k the mean of the layers' k).
    #[serde(default)]
    pub levels: Vec<Level>,
}

/// Statistics of one matrix.
pub fn layer_stats(name: &str, m: &LayerMatrix, kappa: f64) -> Result<LayerStats, ExpError> {
    let w = from_rows_f32(m.rows, m.cols, &m.data).map_err(|e| err(name, e))?;
    let sigma = svd::singular_values(&w).map_err(|e| err(name, e))?;
    let nu = norms::row_norms(&w, 1.0);
    let k_nu = ((kappa * m.rows as f64).ceil() as usize).clamp(1, m.rows.max(1));
    let k_sigma = ((kappa * sigma.len() as f64).ceil() as usize).clamp(1, sigma.len().max(1));
    let flat: Vec<f64> = m.data.iter().map(|v| *v as f64).collect();
    let e = |r: Result<f64, cr_linalg::LinalgError>| r.map_err(|e| err(name, e));
    let at = |len: usize, percent: u32| {
        ((percent as f64 / 100.0 * len as f64).ceil() as usize).clamp(1, len.max(1))
    };
    let levels = LEVELS
        .iter()
        .map(|p| {
            let (kn, ks) = (at(nu.len(), *p), at(sigma.len(), *p));
            Ok(Level {
                percent: *p,
                k_nu: kn,
                eps_nu: e(compress::eps(&nu, 1.0, kn))?,
                k_sigma: ks,
                eps_sigma: e(compress::eps(&sigma, 1.0, ks))?,
            })
        })
        .collect::<Result<Vec<_>, ExpError>>()?;
    let tol = m.rows.max(m.cols) as f64 * f32::EPSILON as f64;
    Ok(LayerStats {
        name: name.to_string(),
        rows: m.rows,
        cols: m.cols,
        frobenius: norms::frobenius(&w),
        inf_norm: norms::inf_norm(&w),
        spectral_norm: sigma.first().copied().unwrap_or(0.0),
        stable_rank: norms::stable_rank(&sigma),
        effective_rank: norms::effective_rank(&sigma),
        k_nu,
        eps_nu: e(compress::eps(&nu, 1.0, k_nu))?,
        beta_nu: e(compress::beta(&nu, k_nu))?,
        k_sigma,
        eps_sigma: e(compress::eps(&sigma, 1.0, k_sigma))?,
        beta_sigma: e(compress::beta(&sigma, k_sigma))?,
        advcomp: e(compress::compressibility_at_level(&flat, kappa))?,
        numerical_rank: norms::numerical_rank(&sigma, tol),
        levels,
    })
}

/// Compressibility of every hidden layer of `model`.
pub fn compressibility(model: &Model, kappa: f64) -> Result<Compressibility, ExpError> {
    let layers = model
        .effective_matrices(Selection::HIDDEN)
        .iter()
        .map(|(n, m)| layer_stats(n, m, kappa))
        .collect::<Result<Vec<_>, _>>()?;
    let mean = |f: &dyn Fn(&LayerStats) -> f64| {
        if layers.is_empty() {
            f64::NAN
        } else {
            layers.iter().map(f).sum::<f64>() / layers.len() as f64
        }
    };
    let levels = LEVELS
        .iter()
        .enumerate()
        .map(|(i, p)| Level {
            percent: *p,
            k_nu: mean(&|l| l.levels[i].k_nu as f64).round() as usize,
            eps_nu: mean(&|l| l.levels[i].eps_nu),
            k_sigma: mean(&|l| l.levels[i].k_sigma as f64).round() as usize,
            eps_sigma: mean(&|l| l.levels[i].eps_sigma),
        })
        .collect();
    Ok(Compressibility {
        kappa,
        neuron: mean(&|l| 1.0 - l.eps_nu),
        spectral: mean(&|l| 1.0 - l.eps_sigma),
        stable_rank: mean(&|l| l.stable_rank),
        effective_rank: mean(&|l| l.effective_rank),
        levels: if layers.is_empty() {
            Vec::new()
        } else {
            levels
        },
        layers,
    })
}

/// Everything measured on one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Test samples used.
    pub test_samples: usize,
    /// Clean test accuracy.
    pub clean_accuracy: f64,
    /// Mean clean test cross-entropy.
    pub clean_loss: f64,
    /// Each attack.
    pub attacks: Vec<AttackOutcome>,
    /// Each cross-check attack (not in the worst case).
    #[serde(default)]
    pub cross_check: Vec<AttackOutcome>,
    /// Per-sample worst case over the attacks (None without attacks).
    pub robust_accuracy: Option<f64>,
    /// Robust over standard accuracy.
    pub ra_over_sa: Option<f64>,
    /// Sanity-check warnings of the attacks.
    pub warnings: Vec<String>,
    /// Layer compressibility.
    pub compressibility: Compressibility,
    /// Parameters.
    pub parameters: usize,
    /// FLOPs per sample.
    pub flops: u64,
    /// The optional analyses, by name.
    pub measures: BTreeMap<String, serde_json::Value>,
    /// Wall seconds of the evaluation.
    pub seconds: f64,
}

/// Accuracy and mean cross-entropy of `model` on `(x, y)`, in batches.
pub fn accuracy_and_loss(model: &Model, x: &Tensor<4>, y: &Tensor<1, Int>) -> (f64, f64) {
    let [n, ..] = x.dims();
    let mut correct = 0i64;
    let mut loss = 0.0f64;
    for s in (0..n).step_by(ATTACK_BATCH) {
        let e = (s + ATTACK_BATCH).min(n);
        let xb = x.clone().narrow(0, s, e - s);
        let yb = y.clone().narrow(0, s, e - s);
        let logits = model.forward(xb);
        let c: i64 = logits
            .clone()
            .argmax(1)
            .reshape([e - s])
            .equal(yb.clone())
            .int()
            .sum()
            .into_scalar();
        correct += c;
        let l: f32 = cr_train::cross_entropy(logits, yb).into_scalar();
        loss += l as f64 * (e - s) as f64;
    }
    (correct as f64 / n.max(1) as f64, loss / n.max(1) as f64)
}

/// The attack's adversarial examples (the first misclassified iterate of a broken sample, the
/// clean input of a misclassified one) and the clean-correct mask.
fn adversarial(
    model: &Model,
    spec: &AttackSpec,
    x: &Tensor<4>,
    y: &Tensor<1, Int>,
    seed: u64,
) -> Result<(Tensor<4>, Vec<bool>), ExpError> {
    let f = |x: Tensor<4>| model.forward(x);
    let r = run_attack(
        &f,
        &attack_of(spec, seed),
        x.clone(),
        y.clone(),
        &RunOptions {
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
fn gap(
    model: &Model,
    spec: &AttackSpec,
    x: &Tensor<4>,
    y: &Tensor<1, Int>,
    seed: u64,
    clean_loss: f64,
) -> Result<serde_json::Value, ExpError> {
    let f = |x: Tensor<4>| model.forward(x);
    let r = cr_attacks::max_loss_points(
        &f,
        &attack_of(spec, seed),
        x.clone(),
        y.clone(),
        &RunOptions {
            batch_size: Some(ATTACK_BATCH),
            sanity: false,
        },
    )
    .map_err(|e| err("gap", e))?;
    let (adv_acc, adv_loss) = accuracy_and_loss(model, &r.points, y);
    Ok(serde_json::json!({
        "attack": spec.label(), "point": "max-loss (APGD best loss, every sample)",
        "clean_loss": clean_loss, "adversarial_loss": adv_loss,
        "gap": adv_loss - clean_loss, "adversarial_accuracy": adv_acc,
    }))
}

/// Evaluates `model` (an evaluation snapshot) on `test` as `cfg` asks.
pub fn evaluate(
    model: &Model,
    test: &Dataset,
    cfg: &EvalConfig,
    device: &Device,
) -> Result<Evaluation, ExpError> {
    let started = Instant::now();
    let model = model.snapshot();
    let test = match cfg.test_samples {
        Some(n) => test.balanced(n),
        None => test.clone(),
    };
    let (x, y) = test.tensors(device);
    let (clean_accuracy, clean_loss) = accuracy_and_loss(&model, &x, &y);
    let f = |x: Tensor<4>| model.forward(x);
    let mut attacks = Vec::new();
    let mut robust_accuracy = None;
    let mut warnings = Vec::new();
    if !cfg.attacks.is_empty() {
        let list: Vec<Attack> = cfg.attacks.iter().map(|a| attack_of(a, cfg.seed)).collect();
        let wc = worst_case(
            &f,
            &list,
            x.clone(),
            y.clone(),
            &RunOptions {
                batch_size: Some(ATTACK_BATCH),
                sanity: true,
            },
        )
        .map_err(|e| err("attacks", e))?;
        for (spec, r) in cfg.attacks.iter().zip(&wc.attacks) {
            attacks.push(AttackOutcome {
                label: spec.label(),
                spec: spec.clone(),
                robust_accuracy: r.robust_accuracy,
                seconds: r.seconds,
                stages: r.stages.clone(),
                broken_by: r.broken_by.clone(),
            });
        }
        warnings = wc.warnings.iter().map(|w| w.to_string()).collect();
        for w in wc.attacks.iter().flat_map(|r| &r.warnings) {
            let w = w.to_string();
            if !warnings.contains(&w) {
                warnings.push(w);
            }
        }
        robust_accuracy = Some(wc.robust_accuracy);
    }
    let mut cross_check = Vec::new();
    for spec in &cfg.cross_check {
        let r = run_attack(
            &f,
            &attack_of(spec, cfg.seed),
            x.clone(),
            y.clone(),
            &RunOptions {
                batch_size: Some(ATTACK_BATCH),
                sanity: false,
            },
        )
        .map_err(|e| err("cross-check attack", e))?;
        cross_check.push(AttackOutcome {
            label: spec.label(),
            spec: spec.clone(),
            robust_accuracy: r.robust_accuracy,
            seconds: r.seconds,
            stages: r.stages.clone(),
            broken_by: r.broken_by.clone(),
        });
    }
    let compressibility = compressibility(&model, cfg.k_fraction)?;
    let mut measures = BTreeMap::new();
    let main_attack = cfg
        .settings
        .attack
        .clone()
        .or_else(|| cfg.attacks.first().cloned());
    for name in &cfg.measures {
        let value = match name.as_str() {
            "lipschitz" => {
                let mut out = BTreeMap::new();
                for n in [NormKind::Linf, NormKind::L2] {
                    let est = local_lipschitz(
                        &f,
                        x.clone(),
                        y.clone(),
                        &LipschitzConfig::at_data(norm(n)),
                    )
                    .map_err(|e| err("lipschitz", e))?;
                    out.insert(n.to_string(), serde_json::json!({"max": est.max, "mean": est.mean, "dual_norm": est.dual_norm}));
                }
                serde_json::to_value(out).map_err(|e| err("lipschitz", e))?
            }
            "rank-truncation" => rank_truncation(&model, &x, &y, &cfg.settings.ranks)?,
            "representation" => {
                let spec = main_attack
                    .as_ref()
                    .ok_or_else(|| err("representation", "needs an attack"))?;
                let (adv, correct) = adversarial(&model, spec, &x, &y, cfg.seed)?;
                representation(
                    &model,
                    &x,
                    &adv,
                    &correct,
                    cfg.settings.alignment_k.unwrap_or(10),
                )?
            }
            "gap" => {
                let spec = main_attack
                    .as_ref()
                    .ok_or_else(|| err("gap", "needs an attack"))?;
                gap(&model, spec, &x, &y, cfg.seed, clean_loss)?
            }
            "uap" => {
                let (n_kind, eps) = match (&cfg.settings.uap, &main_attack) {
                    (Some(u), _) => (u.norm, u.eps),
                    (None, Some(a)) => (a.norm, a.eps),
                    (None, None) => return Err(err("uap", "needs eval.settings.uap or an attack")),
                };
                let u = cfg.settings.uap.as_ref();
                let mut c = UapConfig::new(norm(n_kind), eps as f32);
                if let Some(s) = u.and_then(|u| u.step) {
                    c.step = s as f32;
                }
                if let Some(d) = u.and_then(|u| u.delta) {
                    c.delta = d;
                }
                if let Some(m) = u.and_then(|u| u.max_iter) {
                    c.max_iter = m;
                }
                c.seed = cfg.seed;
                let [n, ..] = x.dims();
                let fit = u.and_then(|u| u.fit_samples).unwrap_or(n / 2).clamp(1, n);
                let r = universal_perturbation(
                    &f,
                    x.clone().narrow(0, 0, fit),
                    y.clone().narrow(0, 0, fit),
                    &c,
                )
                .map_err(|e| err("uap", e))?;
                let held = if fit < n {
                    let v = Tensor::<4>::from_data(
                        TensorData::new(r.perturbation.clone(), r.shape),
                        device,
                    );
                    let xh = x.clone().narrow(0, fit, n - fit);
                    let xv = (xh + v).clamp(0.0, 1.0);
                    let (acc, _) =
                        accuracy_and_loss(&model, &xv, &y.clone().narrow(0, fit, n - fit));
                    Some(1.0 - acc)
                } else {
                    None
                };
                serde_json::json!({
                    "norm": n_kind, "xi": eps, "fooling_rate": r.fooling_rate,
                    "held_out_fooling_rate": held, "fit_samples": fit,
                    "converged": r.converged, "iterations": r.iterations, "perturbation_norm": r.perturbation_norm,
                })
            }
            "boundary" => {
                let spec = main_attack
                    .as_ref()
                    .ok_or_else(|| err("boundary", "needs an attack"))?;
                boundary(&model, &test, spec, cfg.seed, device)?
            }
            // `bounds` and `pruning` are computed by their own modules.
            other => crate::analyses::measure(other, &model, &test, cfg, device, &x, &y)?,
        };
        measures.insert(name.clone(), value);
    }
    Ok(Evaluation {
        test_samples: test.len(),
        clean_accuracy,
        clean_loss,
        robust_accuracy,
        ra_over_sa: robust_accuracy.map(|r| {
            if clean_accuracy > 0.0 {
                r / clean_accuracy
            } else {
                0.0
            }
        }),
        attacks,
        cross_check,
        warnings,
        compressibility,
        parameters: model.num_params(),
        flops: model.flops(),
        measures,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The first hidden layer (W¹) as a host matrix, with its name.
fn first_layer(model: &Model) -> Result<(String, LayerMatrix), ExpError> {
    model
        .effective_matrices(Selection::ALL)
        .into_iter()
        .next()
        .ok_or_else(|| err("model", "has no layers"))
}

/// Accuracy with W¹ replaced by its best rank-r approximation, for each r (paper Figure 4,
/// centre left). Only for models whose first layer is not factorised.
fn rank_truncation(
    model: &Model,
    x: &Tensor<4>,
    y: &Tensor<1, Int>,
    ranks: &[usize],
) -> Result<serde_json::Value, ExpError> {
    let (name, m) = first_layer(model)?;
    let layer = model.layer(&name).map_err(|_| {
        err(
            "rank-truncation",
            format!("`{name}` is factorised; truncate a full-rank model"),
        )
    })?;
    let w = from_rows_f32(m.rows, m.cols, &m.data).map_err(|e| err("rank-truncation", e))?;
    let d = svd::thin_svd(&w).map_err(|e| err("rank-truncation", e))?;
    let mut points = Vec::new();
    for &r in ranks {
        let wr = d.truncate(r);
        let data = cr_linalg::matrix::to_rows_f32(&wr);
        let truncated = model.clone().set_layer_matrix(
            &layer.name,
            &LayerMatrix {
                rows: m.rows,
                cols: m.cols,
                data,
            },
        )?;
        let (acc, _) = accuracy_and_loss(&truncated, x, y);
        points.push(serde_json::json!({"rank": r.min(d.s.len()), "accuracy": acc}));
    }
    Ok(serde_json::json!({"layer": name, "singular_values": d.s, "points": points}))
}

/// The mean of `values[i]` over the samples with `mask[i]` and a finite value (`NaN` when
/// there are none).
pub fn mean_where(values: &[f64], mask: &[bool]) -> f64 {
    let (sum, n) = values
        .iter()
        .zip(mask)
        .filter(|(v, m)| **m && v.is_finite())
        .fold((0.0, 0usize), |(s, n), (v, _)| (s + v, n + 1));
    if n == 0 { f64::NAN } else { sum / n as f64 }
}

/// ‖Φ(x_adv) − Φ(x)‖/‖Φ(x)‖ and the alignment |v_iᵀa| of the perturbation with the right
/// singular vectors of W¹ (paper Figure 4, right), both over the CLEAN-CORRECT samples only
/// (`correct`): a misclassified sample is never perturbed (Δ = 0) and would pull the means
/// towards 0. `change_per_sample` lists every sample (0 for the misclassified ones).
fn representation(
    model: &Model,
    x: &Tensor<4>,
    adv: &Tensor<4>,
    correct: &[bool],
    k: usize,
) -> Result<serde_json::Value, ExpError> {
    let enc = |t: Tensor<4>| model.features(t);
    let rc = representation_change(&enc, x.clone(), adv.clone())
        .map_err(|e| err("representation", e))?;
    let kept: Vec<usize> = (0..correct.len()).filter(|&i| correct[i]).collect();
    let change_mean = mean_where(&rc.per_sample, correct);
    let (name, m) = first_layer(model)?;
    let [_, c, h, wd] = x.dims();
    let alignment = if m.cols == c * h * wd && !kept.is_empty() {
        let w = from_rows_f32(m.rows, m.cols, &m.data).map_err(|e| err("alignment", e))?;
        let d = svd::thin_svd(&w).map_err(|e| err("alignment", e))?;
        let vectors: Vec<Vec<f32>> = (0..d.s.len())
            .map(|i| (0..m.cols).map(|j| d.v[(j, i)] as f32).collect())
            .collect();
        let idx = Tensor::<1, Int>::from_data(
            TensorData::new(
                kept.iter().map(|&i| i as i64).collect::<Vec<_>>(),
                [kept.len()],
            ),
            &x.device(),
        );
        let a = adv.clone().select(0, idx.clone()) - x.clone().select(0, idx);
        let sa = singular_alignment(a, &vectors, k.min(vectors.len()))
            .map_err(|e| err("alignment", e))?;
        serde_json::json!({
            "layer": name, "k": sa.k, "top_mean": sa.top_mean, "tail_mean": sa.tail_mean,
            "ratio": sa.top_mean / sa.tail_mean, "per_vector": sa.per_vector,
        })
    } else {
        serde_json::Value::Null
    };
    Ok(serde_json::json!({
        "change_mean": change_mean,
        "change_mean_all_samples": rc.mean,
        "averaged_over": "clean-correct samples",
        "samples": kept.len(),
        "zero_reference": rc.zero_reference,
        "change_per_sample": rc.per_sample,
        "alignment": alignment,
    }))
}

/// The data of paper Figure 2: the representations of test samples projected on their first
/// two principal components, the decision regions of the head in that plane, and one sample's
/// clean and adversarial representation (the first test sample the attack breaks).
fn boundary(
    model: &Model,
    test: &Dataset,
    spec: &AttackSpec,
    seed: u64,
    device: &Device,
) -> Result<serde_json::Value, ExpError> {
    let sub = test.balanced(500);
    let (x, y) = sub.tensors(device);
    let (adv, _) = adversarial(model, spec, &x, &y, seed)?;
    let z: Vec<f32> = model
        .features(x.clone())
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|e| err("boundary", format!("{e:?}")))?;
    let za: Vec<f32> = model
        .features(adv.clone())
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|e| err("boundary", format!("{e:?}")))?;
    let n = sub.len();
    let hdim = z.len() / n.max(1);
    // PCA on the clean representations.
    let mean: Vec<f64> = (0..hdim)
        .map(|j| (0..n).map(|i| z[i * hdim + j] as f64).sum::<f64>() / n as f64)
        .collect();
    let centered = cr_linalg::Mat::from_fn(n, hdim, |i, j| z[i * hdim + j] as f64 - mean[j]);
    let d = svd::thin_svd(&centered).map_err(|e| err("boundary PCA", e))?;
    let pc = |j: usize, comp: usize| d.v[(j, comp)];
    let project = |v: &[f32]| -> [f64; 2] {
        let mut p = [0.0; 2];
        for (c, pj) in p.iter_mut().enumerate() {
            *pj = (0..hdim).map(|j| (v[j] as f64 - mean[j]) * pc(j, c)).sum();
        }
        p
    };
    let points: Vec<[f64; 2]> = (0..n)
        .map(|i| project(&z[i * hdim..(i + 1) * hdim]))
        .collect();
    // The first sample classified correctly whose attack succeeds.
    // Read as i64 whatever the backend's int type (i32 on flex and GPUs).
    let classes = |t: Tensor<1, Int>| -> Result<Vec<i64>, ExpError> {
        t.try_into_vec_as::<i64>()
            .map_err(|e| err("boundary", format!("reading predicted classes: {e:?}")))
    };
    let pred = |t: Tensor<4>| classes(model.forward(t).argmax(1).reshape([n]));
    let (pc_clean, pc_adv) = (pred(x.clone())?, pred(adv.clone())?);
    let chosen = (0..n)
        .find(|&i| pc_clean[i] == sub.labels[i] as i64 && pc_adv[i] != pc_clean[i])
        .or_else(|| (0..n).find(|&i| pc_clean[i] == sub.labels[i] as i64))
        .unwrap_or(0);
    let clean = project(&z[chosen * hdim..(chosen + 1) * hdim]);
    let adv_p = project(&za[chosen * hdim..(chosen + 1) * hdim]);
    // Decision regions: classify mean + a·pc1 + b·pc2 with the head on a grid.
    let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
    for p in points.iter().chain([&clean, &adv_p]) {
        for c in 0..2 {
            lo[c] = lo[c].min(p[c]);
            hi[c] = hi[c].max(p[c]);
        }
    }
    let g = 60usize;
    let pad = |c: usize| 0.1 * (hi[c] - lo[c]).max(1e-6);
    let axis = |c: usize, t: usize| {
        lo[c] - pad(c) + (hi[c] - lo[c] + 2.0 * pad(c)) * t as f64 / (g - 1) as f64
    };
    let mut grid = Vec::with_capacity(g * g * hdim);
    for bi in 0..g {
        for ai in 0..g {
            let (a, b) = (axis(0, ai), axis(1, bi));
            grid.extend((0..hdim).map(|j| (mean[j] + a * pc(j, 0) + b * pc(j, 1)) as f32));
        }
    }
    let zg = Tensor::<2>::from_data(TensorData::new(grid, [g * g, hdim]), device);
    let regions = classes(model.net.head(zg).argmax(1).reshape([g * g]))?;
    let img = |t: &Tensor<4>| -> Vec<f32> {
        t.clone()
            .narrow(0, chosen, 1)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap_or_default()
    };
    let (xi, xa) = (img(&x), img(&adv));
    let perturbation: Vec<f32> = xa.iter().zip(&xi).map(|(a, b)| a - b).collect();
    Ok(serde_json::json!({
        "attack": spec.label(),
        "points": points, "labels": sub.labels,
        "sample": chosen, "sample_label": sub.labels[chosen], "clean": clean, "adversarial": adv_p,
        "clean_prediction": pc_clean[chosen], "adversarial_prediction": pc_adv[chosen],
        "grid": {"size": g, "x": (0..g).map(|t| axis(0, t)).collect::<Vec<_>>(), "y": (0..g).map(|t| axis(1, t)).collect::<Vec<_>>(), "class": regions},
        "image": xi, "perturbation": perturbation, "image_shape": sub.shape,
        "explained_variance": d.s.iter().take(2).map(|s| s * s / n as f64).collect::<Vec<_>>(),
    }))
}

#[cfg(test)]
mod tests {
    use super::mean_where;

    /// ‖z_adv − z‖/‖z‖ is averaged over the clean-correct samples: a misclassified sample
    /// (never perturbed, 0) and a zero reference (NaN) are left out.
    #[test]
    fn representation_change_averages_clean_correct_samples() {
        let v = [0.5, 0.0, f64::NAN, 0.3, 0.0];
        let m = [true, false, true, true, false];
        assert!((mean_where(&v, &m) - 0.4).abs() < 1e-15);
        assert!(mean_where(&v, &[false; 5]).is_nan());
    }
}
