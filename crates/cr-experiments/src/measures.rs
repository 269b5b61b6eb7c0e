//! What is measured on a trained model: clean and robust accuracy, compressibility of every
//! layer, and the analyses the paper's figures need.

use std::collections::BTreeMap;
use std::time::Instant;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use cr_attacks::{
    Attack, LipschitzConfig, RunOptions, UapConfig, local_lipschitz, representation_change,
    run_attack, singular_alignment, universal_perturbation, worst_case,
};
use cr_data::Dataset;
use cr_linalg::{matrix::from_rows_f32, svd};
use cr_models::{LayerMatrix, Model, Selection};

use crate::attacking::{
    ATTACK_BATCH, AttackOutcome, accuracy_and_loss, adversarial, attack_of, err, gap,
};
use crate::compressibility::{Compressibility, compressibility};
use crate::config::{AttackSpec, EvalConfig, Norm};
use crate::error::ExpError;

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
                for n in [Norm::Linf, Norm::L2] {
                    let est =
                        local_lipschitz(&f, x.clone(), y.clone(), &LipschitzConfig::at_data(n))
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
                let mut c = UapConfig::new(n_kind, eps as f32);
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
            "certificate" => crate::certify::measure(&model, main_attack.as_ref(), &x, &y)?,
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
    let change_mean_se = crate::attacking::standard_error(kept.iter().map(|&i| rc.per_sample[i]));
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
        "change_mean_se": change_mean_se,
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
