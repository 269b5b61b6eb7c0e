//! FAB, the Fast Adaptive Boundary attack (Croce & Hein, ICML 2020), targeted (FAB-T, as in
//! AutoAttack's standard ensemble) and untargeted. SPEC §3, AutoAttack.
//!
//! Follows auto-attack `fab_base.py` / `fab_pt.py` (`attack_single_run`, `perturb`) and the
//! projections of `fab_projections.py`, in ℓ∞ and ℓ2. Each iteration linearises the decision
//! boundary between the label `y` and a class `k` at the current point `x₁`
//! (`f_k − f_y ≈ df + ∇(f_k − f_y)·(x − x₁)`), projects both `x₁` and the original `x₀` onto
//! that hyperplane intersected with the box `[0, 1]^d` (minimal ℓp step), and moves to the
//! convex combination `(x₁ + η·d₁)(1 − α) + (x₀ + η·d₂)α`, `α = min(‖d₁‖/(‖d₁‖ + ‖d₂‖), α_max)`,
//! clipped to the box. When the new point is misclassified it is recorded if it is closer to
//! `x₀` than the best so far, and the iterate steps back towards `x₀` by the factor β.
//! A sample counts as broken iff the closest misclassified point found lies within ε.
//!
//! * FAB-T: for each of the `targets` classes with the largest clean logits after the top
//!   one, `k` is that class; runs only on the still-robust samples.
//! * Untargeted: `k` minimises the linearised distance `|df_k|/‖∇df_k‖_dual` over `k ≠ y`
//!   (one backward pass per class).
//! * Restart `r > 0` starts at `x₀ + (ε/2)·t/‖t‖` (`t` uniform in `[−1, 1]^d` for ℓ∞,
//!   Gaussian for ℓ2), clipped, as the reference.
//!
//! Deviations: the projections are solved exactly on the host in f64 (sorting the
//! breakpoints of the piecewise-linear dual function) instead of the reference's batched
//! f32 bisection on the device; the model's forward and backward passes run on the device.
//! Random starts come from per-sample ChaCha8 streams (crate convention). FAB always works in
//! the box `[0, 1]^d` (its projections include the box), so it needs inputs in `[0, 1]`.

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::apgd_t::ranked_classes;
use crate::error::{Result, invalid};
use crate::model::{Classifier, forward, index_tensor, probe_with, read_f32, read_i64};
use crate::norm::{Norm, check_eps};
use crate::rng::{Start, purpose, random_start};

/// Configuration of FAB / FAB-T.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FabConfig {
    /// Threat model (the norm minimised).
    pub norm: Norm,
    /// Radius ε: a sample is broken iff a misclassified point within ε is found; also the
    /// scale of random restarts.
    pub eps: f32,
    /// Iterations per run (100).
    pub steps: usize,
    /// Runs (per target class for FAB-T): the first from `x`, the others from random
    /// starts (1).
    pub restarts: usize,
    /// FAB-T (targeted, AutoAttack standard) or untargeted FAB.
    pub targeted: bool,
    /// Number of target classes of FAB-T (9; capped at `K − 1`).
    pub targets: usize,
    /// Largest weight α_max of the original point in the step (0.1).
    pub alpha_max: f32,
    /// Overshoot η of the projections (1.05).
    pub eta: f32,
    /// Backward step β towards the original point after a success (0.9).
    pub beta: f32,
    /// Seed of the random restarts.
    pub seed: u64,
}

impl FabConfig {
    /// FAB-T with the reference defaults (AutoAttack standard): 100 iterations, 1 run per
    /// target, 9 targets, α_max 0.1, η 1.05, β 0.9, seed 0.
    pub fn new(norm: Norm, eps: f32) -> Self {
        Self {
            norm,
            eps,
            steps: 100,
            restarts: 1,
            targeted: true,
            targets: 9,
            alpha_max: 0.1,
            eta: 1.05,
            beta: 0.9,
            seed: 0,
        }
    }

    /// Untargeted FAB with the reference defaults (1 run; AutoAttack `plus` uses 5).
    pub fn untargeted(norm: Norm, eps: f32) -> Self {
        Self {
            targeted: false,
            ..Self::new(norm, eps)
        }
    }

    /// `fab-t` or `fab`.
    pub fn name(&self) -> &'static str {
        if self.targeted { "fab-t" } else { "fab" }
    }

    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        check_eps("eps", self.eps)?;
        if self.steps == 0 {
            return Err(invalid("steps", "must be ≥ 1"));
        }
        if self.restarts == 0 {
            return Err(invalid("restarts", "must be ≥ 1"));
        }
        if self.targeted && self.targets == 0 {
            return Err(invalid("targets", "must be ≥ 1"));
        }
        if !(self.alpha_max.is_finite() && (0.0..=1.0).contains(&self.alpha_max)) {
            return Err(invalid(
                "alpha_max",
                format!("must be in [0, 1], got {}", self.alpha_max),
            ));
        }
        if !(self.eta.is_finite() && self.eta > 0.0) {
            return Err(invalid(
                "eta",
                format!("must be finite and > 0, got {}", self.eta),
            ));
        }
        if !(self.beta.is_finite() && self.beta > 0.0 && self.beta <= 1.0) {
            return Err(invalid(
                "beta",
                format!("must be in (0, 1], got {}", self.beta),
            ));
        }
        Ok(())
    }
}

/// ℓp norm of a host vector (`p` = ∞ or 2).
fn host_norm(v: impl Iterator<Item = f64>, norm: Norm) -> f64 {
    match norm {
        Norm::Linf => v.fold(0.0, |m, a| m.max(a.abs())),
        Norm::L2 => v.map(|a| a * a).sum::<f64>().sqrt(),
    }
}

/// The minimal-`norm` step `d` from `t ∈ [0,1]^d` onto the hyperplane `w·x = b` within the
/// box `[0, 1]^d` (auto-attack `projection_linf` / `projection_l2`). When the hyperplane
/// does not meet the box, the step to the box corner nearest to it. Coordinates with
/// `w_i = 0` (ℓ∞) or `|w_i| < 1e−8` (ℓ2) do not move, as the reference.
pub fn project_hyperplane_box(t: &[f32], w: &[f64], b: f64, norm: Norm) -> Vec<f64> {
    let c: f64 = w.iter().zip(t).map(|(w, t)| w * *t as f64).sum::<f64>() - b;
    // Move against c: each coordinate moves in direction dir_i = −sign(c·w_i) by at most
    // room_i (to the box's face), decreasing |w·x − b| by |w_i| per unit of movement.
    let need = c.abs();
    let sgn = if c >= 0.0 { 1.0 } else { -1.0 };
    let tiny = match norm {
        Norm::Linf => 0.0,
        Norm::L2 => 1e-8,
    };
    let n = t.len();
    let mut dir = vec![0.0f64; n];
    let mut room = vec![0.0f64; n];
    let mut live = Vec::with_capacity(n);
    for i in 0..n {
        if w[i].abs() <= tiny || w[i] == 0.0 {
            continue;
        }
        dir[i] = -(sgn * w[i]).signum();
        let ti = t[i] as f64;
        room[i] = if dir[i] > 0.0 { 1.0 - ti } else { ti }.max(0.0);
        live.push(i);
    }
    let mut d = vec![0.0f64; n];
    match norm {
        Norm::Linf => {
            // g(λ) = Σ|w_i|·min(λ, room_i): find the smallest λ with g(λ) = need.
            let total: f64 = live.iter().map(|&i| w[i].abs() * room[i]).sum();
            if total <= need {
                for &i in &live {
                    d[i] = dir[i] * room[i];
                }
                return d;
            }
            live.sort_by(|&a, &b| room[a].total_cmp(&room[b]));
            let mut slope: f64 = live.iter().map(|&i| w[i].abs()).sum();
            let mut acc = 0.0;
            let mut lambda = 0.0;
            for &i in &live {
                let cand = (need - acc) / slope;
                if cand <= room[i] {
                    lambda = cand;
                    break;
                }
                acc += w[i].abs() * room[i];
                slope -= w[i].abs();
                lambda = room[i];
            }
            for &i in &live {
                d[i] = dir[i] * lambda.min(room[i]);
            }
        }
        Norm::L2 => {
            // d_i = dir_i·min(α|w_i|, room_i); h(α) = Σ min(α w_i², |w_i| room_i) = need.
            let total: f64 = live.iter().map(|&i| w[i].abs() * room[i]).sum();
            if total <= need {
                for &i in &live {
                    d[i] = dir[i] * room[i];
                }
                return d;
            }
            let brk = |i: usize| room[i] / w[i].abs();
            live.sort_by(|&a, &b| brk(a).total_cmp(&brk(b)));
            let mut slope: f64 = live.iter().map(|&i| w[i] * w[i]).sum();
            let mut acc = 0.0;
            let mut alpha = 0.0;
            for &i in &live {
                let cand = (need - acc) / slope;
                if cand <= brk(i) {
                    alpha = cand;
                    break;
                }
                acc += w[i].abs() * room[i];
                slope -= w[i] * w[i];
                alpha = brk(i);
            }
            for &i in &live {
                d[i] = dir[i] * (alpha * w[i].abs()).min(room[i]);
            }
        }
    }
    d
}

/// One FAB run (auto-attack `attack_single_run`) on the samples `x0` (host, `[b·d]`) with
/// labels `y`; `target`: FAB-T's class per sample, `None` for untargeted. Returns the
/// closest misclassified point found per sample and its distance (`∞` when none).
#[allow(clippy::too_many_arguments)]
fn fab_run<C: Classifier + ?Sized>(
    model: &C,
    x0: &[f32],
    dims: [usize; 4],
    y: &Tensor<1, Int>,
    y_host: &[i64],
    target: Option<&Tensor<1, Int>>,
    start: Option<Vec<f32>>,
    cfg: &FabConfig,
    device: &Device,
) -> Result<(Vec<f32>, Vec<f64>)> {
    let b = dims[0];
    let d = dims[1] * dims[2] * dims[3];
    let upload = |v: &[f32]| Tensor::<4>::from_data(TensorData::new(v.to_vec(), dims), device);
    let mut x1: Vec<f32> = start.unwrap_or_else(|| x0.to_vec());
    let mut adv = x0.to_vec();
    let mut res = vec![f64::INFINITY; b];
    let (eta, beta) = (cfg.eta as f64, cfg.beta as f64);
    let alpha_max = cfg.alpha_max as f64;
    for _ in 0..cfg.steps {
        let xt = upload(&x1);
        // df (per sample) and its input gradient dg for the class k of each sample.
        let (df, dg): (Vec<f64>, Vec<f32>) = match target {
            Some(t) => {
                let p = probe_with(model, xt, y.clone(), true, |z, y| {
                    let [n, _] = z.dims();
                    (z.clone().gather(1, t.clone().reshape([n, 1]))
                        - z.gather(1, y.reshape([n, 1])))
                    .reshape([n])
                });
                let df = read_f32(p.loss, "FAB logit differences")?;
                (
                    df.into_iter().map(f64::from).collect(),
                    read_f32(p.grad, "FAB gradients")?,
                )
            }
            None => {
                let k = forward(model, xt.clone()).dims()[1];
                let mut best = vec![(f64::INFINITY, 0.0f64, 0usize); b];
                let mut grads = Vec::with_capacity(k);
                for class in 0..k {
                    let p = probe_with(model, xt.clone(), y.clone(), true, |z, y| {
                        let [n, _] = z.dims();
                        (z.clone().slice([0..n, class..class + 1]) - z.gather(1, y.reshape([n, 1])))
                            .reshape([n])
                    });
                    let df = read_f32(p.loss, "FAB logit differences")?;
                    let g = read_f32(p.grad, "FAB gradients")?;
                    for i in 0..b {
                        if y_host[i] as usize == class {
                            continue;
                        }
                        let gi = g[i * d..(i + 1) * d].iter().map(|v| *v as f64);
                        let dual = match cfg.norm {
                            Norm::Linf => gi.map(f64::abs).sum::<f64>(),
                            Norm::L2 => gi.map(|v| v * v).sum::<f64>().sqrt(),
                        };
                        let dist = (df[i] as f64).abs() / (1e-12 + dual);
                        if dist < best[i].0 {
                            best[i] = (dist, df[i] as f64, class);
                        }
                    }
                    grads.push(g);
                }
                let mut dg = vec![0f32; b * d];
                for i in 0..b {
                    let c = best[i].2;
                    dg[i * d..(i + 1) * d].copy_from_slice(&grads[c][i * d..(i + 1) * d]);
                }
                (best.iter().map(|b| b.1).collect(), dg)
            }
        };
        for i in 0..b {
            let w: Vec<f64> = dg[i * d..(i + 1) * d].iter().map(|v| *v as f64).collect();
            let xi = x1[i * d..(i + 1) * d].to_vec();
            let oi = &x0[i * d..(i + 1) * d];
            let bias = -df[i] + w.iter().zip(&xi).map(|(w, x)| w * *x as f64).sum::<f64>();
            let d1 = project_hyperplane_box(&xi, &w, bias, cfg.norm);
            let d2 = project_hyperplane_box(oi, &w, bias, cfg.norm);
            let a1 = host_norm(d1.iter().copied(), cfg.norm).max(1e-8);
            let a2 = host_norm(d2.iter().copied(), cfg.norm).max(1e-8);
            let alpha = (a1 / (a1 + a2)).clamp(0.0, alpha_max);
            for j in 0..d {
                let a = (xi[j] as f64 + eta * d1[j]) * (1.0 - alpha);
                let o = (oi[j] as f64 + eta * d2[j]) * alpha;
                x1[i * d + j] = (a + o).clamp(0.0, 1.0) as f32;
            }
        }
        let pred = read_i64(
            forward(model, upload(&x1)).argmax(1).reshape([b]),
            "FAB predictions",
        )?;
        for i in 0..b {
            if pred[i] == y_host[i] {
                continue;
            }
            let (xi, oi) = (i * d, (i + 1) * d);
            let t = host_norm(
                x1[xi..oi]
                    .iter()
                    .zip(&x0[xi..oi])
                    .map(|(a, o)| (*a - *o) as f64),
                cfg.norm,
            );
            if t < res[i] {
                adv[xi..oi].copy_from_slice(&x1[xi..oi]);
                res[i] = t;
            }
            for j in xi..oi {
                x1[j] = (x0[j] as f64 + (x1[j] - x0[j]) as f64 * beta) as f32;
            }
        }
    }
    Ok((adv, res))
}

/// FAB / FAB-T over the samples marked `active`; returns the adversarial batch (clean input
/// where not broken) and the host mask of samples broken (a misclassified point within ε).
pub(crate) fn fab_attack<C: Classifier + ?Sized>(
    model: &C,
    x: Tensor<4>,
    y: Tensor<1, Int>,
    positions: &[usize],
    active: &[bool],
    cfg: &FabConfig,
    num_classes: usize,
) -> Result<(Tensor<4>, Vec<bool>)> {
    let n = active.len();
    let device = x.device();
    let dims = x.dims();
    let d = dims[1] * dims[2] * dims[3];
    let mut adv = read_f32(x.clone(), "inputs")?;
    let x_host = adv.clone();
    let y_host = read_i64(y.clone(), "labels")?;
    let mut fooled = vec![false; n];
    let rounds = if cfg.targeted {
        cfg.targets.min(num_classes - 1)
    } else {
        1
    };
    for t in 0..rounds {
        for r in 0..cfg.restarts {
            let sel: Vec<usize> = (0..n).filter(|&i| active[i] && !fooled[i]).collect();
            if sel.is_empty() {
                break;
            }
            let idx = index_tensor(&sel, &device);
            let xs = x.clone().select(0, idx.clone());
            let ys = y.clone().select(0, idx);
            let sub_dims = [sel.len(), dims[1], dims[2], dims[3]];
            let x0: Vec<f32> = sel
                .iter()
                .flat_map(|&i| x_host[i * d..(i + 1) * d].iter().copied())
                .collect();
            let ys_host: Vec<i64> = sel.iter().map(|&i| y_host[i]).collect();
            let target = if cfg.targeted {
                let tg = ranked_classes(forward(model, xs.clone()), t + 2)?;
                Some(Tensor::<1, Int>::from_data(
                    TensorData::new(tg, [sel.len()]),
                    &device,
                ))
            } else {
                None
            };
            let start = if r > 0 {
                let kind = match cfg.norm {
                    Norm::Linf => Start::LinfSphere,
                    Norm::L2 => Start::L2Sphere,
                };
                let pos: Vec<usize> = sel.iter().map(|&i| positions[i]).collect();
                let noise = random_start(
                    kind,
                    0.5 * cfg.eps,
                    cfg.seed,
                    purpose::FAB,
                    t * cfg.restarts + r,
                    &pos,
                    sub_dims,
                    &device,
                );
                Some(read_f32((xs + noise).clamp(0.0, 1.0), "FAB random start")?)
            } else {
                None
            };
            let (a, res) = fab_run(
                model,
                &x0,
                sub_dims,
                &ys,
                &ys_host,
                target.as_ref(),
                start,
                cfg,
                &device,
            )?;
            for (j, &i) in sel.iter().enumerate() {
                // The reference's final check: misclassified and within ε (in f32, as it).
                if res[j].is_finite() {
                    let dist = host_norm(
                        a[j * d..(j + 1) * d]
                            .iter()
                            .zip(&x_host[i * d..(i + 1) * d])
                            .map(|(a, o)| (*a - *o) as f64),
                        cfg.norm,
                    );
                    if dist <= cfg.eps as f64 {
                        fooled[i] = true;
                        adv[i * d..(i + 1) * d].copy_from_slice(&a[j * d..(j + 1) * d]);
                    }
                }
            }
            tracing::debug!(
                target = t + 2,
                restart = r,
                attacked = sel.len(),
                fooled = fooled.iter().filter(|f| **f).count(),
                attack = cfg.name(),
                "FAB run"
            );
        }
    }
    Ok((
        Tensor::from_data(TensorData::new(adv, dims), &device),
        fooled,
    ))
}
