//! Measurements around attacks that the paper's analysis needs (SPEC §2, "Empirical
//! sensitivity"; paper Figure 4): how much a perturbation moves the representation, how it
//! aligns with the first layer's singular vectors, and an empirical local Lipschitz constant.

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{AttackError, Result, invalid};
use crate::loss::logit_margin;
use crate::model::{Classifier, forward, prepare, probe_with, read_f32};
use crate::norm::{Norm, ascent_direction, check_eps, project, row_norms};

/// Relative change of the representation under perturbation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RepresentationChange {
    /// Per sample `‖Φ(x+a) − Φ(x)‖₂ / ‖Φ(x)‖₂` (`NaN` where `Φ(x) = 0`).
    pub per_sample: Vec<f64>,
    /// Mean over the samples with `Φ(x) ≠ 0`.
    pub mean: f64,
    /// Samples with `Φ(x) = 0`, left out of the mean.
    pub zero_reference: usize,
}

/// `‖Φ(x_adv) − Φ(x)‖₂ / ‖Φ(x)‖₂` per sample and its mean (paper Figure 4, SPEC §2 "‖z_adv −
/// z‖₂/‖z‖₂ with z = Φ(x)"). `encoder` maps images to features `[B, F]` (any
/// [`Classifier`], e.g. `|x| model.features(x)`).
pub fn representation_change<E: Classifier + ?Sized>(
    encoder: &E,
    x: Tensor<4>,
    x_adv: Tensor<4>,
) -> Result<RepresentationChange> {
    if x.dims() != x_adv.dims() {
        return Err(AttackError::Shape(format!(
            "clean inputs {:?} and perturbed inputs {:?} differ in shape",
            x.dims(),
            x_adv.dims()
        )));
    }
    let z = forward(encoder, x.inner());
    let za = forward(encoder, x_adv.inner());
    let num = read_f32(row_norms(za - z.clone(), 2.0), "representation change")?;
    let den = read_f32(row_norms(z, 2.0), "representation norm")?;
    let mut per_sample = Vec::with_capacity(num.len());
    let (mut sum, mut count, mut zero) = (0f64, 0usize, 0usize);
    for (a, b) in num.iter().zip(&den) {
        if *b > 0.0 {
            let r = *a as f64 / *b as f64;
            sum += r;
            count += 1;
            per_sample.push(r);
        } else {
            zero += 1;
            per_sample.push(f64::NAN);
        }
    }
    Ok(RepresentationChange {
        per_sample,
        mean: if count > 0 {
            sum / count as f64
        } else {
            f64::NAN
        },
        zero_reference: zero,
    })
}

/// Alignment of perturbations with right singular vectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SingularAlignment {
    /// For each vector `v_i`, the mean over samples of `|v_iᵀ a|`.
    pub per_vector: Vec<f64>,
    /// The split: vectors `1..=k` are "top", the rest "tail".
    pub k: usize,
    /// Mean of `|v_iᵀ a|` over samples and `i ≤ k`.
    pub top_mean: f64,
    /// Mean of `|v_iᵀ a|` over samples and `i > k` (`NaN` when there are none).
    pub tail_mean: f64,
}

/// Projections `|v_iᵀ a|` of the perturbations `a` (`[B, C, H, W]`, flattened row-major to
/// `d = C·H·W`) on the vectors `vectors[i]` (each of length `d`; e.g. the right singular
/// vectors of the first layer `W¹ = U Σ Vᵀ`, in order), averaged over samples, and summarised
/// as the mean for `i ≤ k` against `i > k` (paper Figure 4, SPEC §2 "alignment of the
/// perturbation with the top-k right singular vectors of W¹").
pub fn singular_alignment(
    perturbations: Tensor<4>,
    vectors: &[Vec<f32>],
    k: usize,
) -> Result<SingularAlignment> {
    let [b, c, h, w] = perturbations.dims();
    let d = c * h * w;
    if vectors.is_empty() {
        return Err(invalid("vectors", "no singular vectors given"));
    }
    if let Some((i, v)) = vectors.iter().enumerate().find(|(_, v)| v.len() != d) {
        return Err(AttackError::Shape(format!(
            "singular vector {i} has length {}, the perturbations have {d} entries",
            v.len()
        )));
    }
    if k == 0 || k > vectors.len() {
        return Err(invalid(
            "k",
            format!("must be in 1..={}, got {k}", vectors.len()),
        ));
    }
    let r = vectors.len();
    let device = perturbations.device();
    let flat: Vec<f32> = vectors.iter().flatten().copied().collect();
    let v = Tensor::<2>::from_data(TensorData::new(flat, [r, d]), &device.inner());
    let a: Tensor<2> = perturbations.inner().reshape([b, d]);
    let proj = a.matmul(v.transpose()).abs().mean_dim(0).reshape([r]);
    let per_vector: Vec<f64> = read_f32(proj, "singular projections")?
        .into_iter()
        .map(f64::from)
        .collect();
    let top_mean = per_vector[..k].iter().sum::<f64>() / k as f64;
    let tail = &per_vector[k..];
    let tail_mean = if tail.is_empty() {
        f64::NAN
    } else {
        tail.iter().sum::<f64>() / tail.len() as f64
    };
    Ok(SingularAlignment {
        per_vector,
        k,
        top_mean,
        tail_mean,
    })
}

/// Configuration of [`local_lipschitz`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LipschitzConfig {
    /// The attack norm; gradients are measured in its dual (ℓ1 for ℓ∞, ℓ2 for ℓ2).
    pub norm: Norm,
    /// Radius of the ball explored around each sample (used when `ascent_steps > 0`).
    pub eps: f32,
    /// Ascent steps inside the ball (0: the data points only).
    pub ascent_steps: usize,
    /// Step size of the ascent (ℓ∞ per pixel; ℓ2 Euclidean).
    pub step_size: f32,
    /// Clip explored points to `[0, 1]`.
    pub clip: bool,
}

impl LipschitzConfig {
    /// Data points only (no ascent).
    pub fn at_data(norm: Norm) -> Self {
        Self {
            norm,
            eps: 1.0,
            ascent_steps: 0,
            step_size: 1.0,
            clip: true,
        }
    }

    /// Data points and `steps` ascent steps of size `2.5·ε/steps` inside the ε-ball.
    pub fn in_ball(norm: Norm, eps: f32, steps: usize) -> Self {
        Self {
            norm,
            eps,
            ascent_steps: steps,
            step_size: 2.5 * eps / steps.max(1) as f32,
            clip: true,
        }
    }
}

/// An empirical local Lipschitz constant of the logit margin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LipschitzEstimate {
    /// Dual norm the gradients were measured in (`l1` or `l2`).
    pub dual_norm: String,
    /// Per sample, the largest `‖∇ₓ m‖_*` over the points visited.
    pub per_sample: Vec<f64>,
    /// The estimate: the maximum over samples.
    pub max: f64,
    /// Mean over samples of the per-sample maxima.
    pub mean: f64,
    /// Points visited per sample (1 + ascent steps).
    pub points_per_sample: usize,
}

/// Local Lipschitz estimate of the logit margin `m(x) = z_y − max_{i≠y} z_i` (SPEC §2,
/// "Empirical sensitivity"): the largest input-gradient norm `‖∇ₓ m‖_*` over the data and,
/// with `ascent_steps > 0`, over the points visited by projected steps that *decrease* the
/// margin inside the ε-ball (an attack on the margin, `x ← Proj(x − α·dir(∇m))`), measured in
/// the dual norm of the attack norm (ℓ1 for ℓ∞, ℓ2 for ℓ2), so that
/// `|m(x + a) − m(x)| ≲ L·‖a‖` for small `a`.
///
/// It is a **lower estimate** of the true local Lipschitz constant of the margin on the
/// region explored (the supremum of `‖∇m‖_*` over the region): it only sees the points
/// visited. Each point costs one forward and one backward pass.
pub fn local_lipschitz<C: Classifier + ?Sized>(
    model: &C,
    x: Tensor<4>,
    y: Tensor<1, Int>,
    cfg: &LipschitzConfig,
) -> Result<LipschitzEstimate> {
    if cfg.ascent_steps > 0 {
        check_eps("eps", cfg.eps)?;
        check_eps("step_size", cfg.step_size)?;
    }
    let batch = prepare(model, x, y, cfg.clip && cfg.ascent_steps > 0)?;
    let dual = match cfg.norm {
        Norm::Linf => 1.0,
        Norm::L2 => 2.0,
    };
    let (x, y) = (batch.x, batch.y);
    let mut point = x.clone();
    let mut best: Option<Tensor<1>> = None;
    for s in 0..=cfg.ascent_steps {
        let p = probe_with(model, point.clone(), y.clone(), true, logit_margin);
        let g = row_norms(p.grad.clone(), dual);
        best = Some(match best {
            None => g,
            Some(b) => b.max_pair(g),
        });
        if s < cfg.ascent_steps {
            let dir = ascent_direction(p.grad, cfg.norm, 1e-12);
            point = project(
                point - dir.mul_scalar(cfg.step_size),
                x.clone(),
                cfg.norm,
                cfg.eps,
                cfg.clip,
            );
        }
    }
    let per_sample: Vec<f64> = match best {
        Some(b) => read_f32(b, "margin gradient norms")?
            .into_iter()
            .map(f64::from)
            .collect(),
        None => Vec::new(),
    };
    let max = per_sample.iter().copied().fold(0.0, f64::max);
    let mean = per_sample.iter().sum::<f64>() / per_sample.len().max(1) as f64;
    Ok(LipschitzEstimate {
        dual_norm: cfg.norm.dual_name().into(),
        per_sample,
        max,
        mean,
        points_per_sample: cfg.ascent_steps + 1,
    })
}
