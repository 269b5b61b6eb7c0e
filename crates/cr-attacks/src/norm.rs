//! Threat models: the ℓ∞ and ℓ2 balls, per-sample norms, projections and step directions.

use burn::prelude::*;

use crate::error::invalid;

pub use cr_linalg::Norm;

/// Per-sample norms of a batch `[B, …]` as a `[B]` tensor. `p` is 1, 2 or `f64::INFINITY`.
pub(crate) fn row_norms<const D: usize>(t: Tensor<D>, p: f64) -> Tensor<1> {
    let b = t.dims()[0];
    let flat: Tensor<2> = t.reshape([b as i64, -1]);
    let out = if p.is_infinite() {
        flat.abs().max_dim(1)
    } else if p == 1.0 {
        flat.abs().sum_dim(1)
    } else {
        flat.square().sum_dim(1).sqrt()
    };
    out.reshape([b])
}

/// Per-sample norms of a batch `[B, C, H, W]` in `norm`, shaped `[B]`.
pub fn sample_norms(t: Tensor<4>, norm: Norm) -> Tensor<1> {
    match norm {
        Norm::Linf => row_norms(t, f64::INFINITY),
        Norm::L2 => row_norms(t, 2.0),
    }
}

/// `[B]` → `[B, 1, 1, 1]`, for broadcasting per-sample scalars over images.
pub(crate) fn per_image(t: Tensor<1>) -> Tensor<4> {
    let b = t.dims()[0];
    t.reshape([b, 1, 1, 1])
}

/// A `[B]` mask spread over images of shape `dims`.
pub(crate) fn image_mask(mask: Tensor<1, Bool>, dims: [usize; 4]) -> Tensor<4, Bool> {
    mask.reshape([dims[0], 1, 1, 1]).expand(dims)
}

/// Per-sample selection between two image batches: `a` where `mask`, else `b`.
pub(crate) fn select_images(mask: Tensor<1, Bool>, a: Tensor<4>, b: Tensor<4>) -> Tensor<4> {
    let dims = b.dims();
    b.mask_where(image_mask(mask, dims), a)
}

/// Projection onto the threat model around `x` (SPEC §3, "projection rescale-then-clip"):
/// for ℓ∞ the perturbation is clamped to `[−ε, ε]` per pixel, for ℓ2 it is rescaled to
/// length `min(‖δ‖₂, ε)`; then, if `clip`, the point is clamped to `[0, 1]`.
///
/// For ℓ∞ this is the exact Euclidean projection onto the intersection of the ball and the
/// box (both are boxes). For ℓ2 the first step is the exact projection onto the ball and the
/// clip keeps the point in the ball (the box contains `x` and is convex), so the result is
/// always feasible, as in the references (auto-attack, ART); it is not the Euclidean
/// projection onto the intersection.
pub fn project(x_adv: Tensor<4>, x: Tensor<4>, norm: Norm, eps: f32, clip: bool) -> Tensor<4> {
    let delta = x_adv - x.clone();
    let delta = match norm {
        Norm::Linf => delta.clamp(-eps, eps),
        Norm::L2 => {
            let n = per_image(sample_norms(delta.clone(), Norm::L2));
            // min(1, ε/‖δ‖); the 1e-12 guards δ = 0 (then the factor does not matter).
            let factor = n.add_scalar(1e-12).recip().mul_scalar(eps).clamp_max(1.0);
            delta * factor
        }
    };
    let out = x + delta;
    if clip { out.clamp(0.0, 1.0) } else { out }
}

/// ART 1.18's order: clip to `[0, 1]` first (if `clip`), then project the perturbation onto
/// the ball with ART's tolerance (`ε/(‖δ‖₂ + 1e-7)` for ℓ2; the sign-preserving clamp for ℓ∞).
pub(crate) fn project_art(
    x_adv: Tensor<4>,
    x: Tensor<4>,
    norm: Norm,
    eps: f32,
    clip: bool,
) -> Tensor<4> {
    let x_adv = if clip { x_adv.clamp(0.0, 1.0) } else { x_adv };
    let delta = x_adv - x.clone();
    let delta = match norm {
        Norm::Linf => delta.clamp(-eps, eps),
        Norm::L2 => {
            let n = per_image(sample_norms(delta.clone(), Norm::L2));
            let factor = n.add_scalar(1e-7).recip().mul_scalar(eps).clamp_max(1.0);
            delta * factor
        }
    };
    x + delta
}

/// Steepest-ascent direction of unit size in `norm`: `sign(g)` for ℓ∞ and `g/(‖g‖₂ + tol)`
/// for ℓ2 (per sample).
pub(crate) fn ascent_direction(g: Tensor<4>, norm: Norm, tol: f32) -> Tensor<4> {
    match norm {
        Norm::Linf => g.sign(),
        Norm::L2 => {
            let n = per_image(sample_norms(g.clone(), Norm::L2));
            g / n.add_scalar(tol)
        }
    }
}

/// Checks that `eps` is a usable radius.
pub(crate) fn check_eps(field: &'static str, eps: f32) -> crate::Result<()> {
    if eps.is_finite() && eps > 0.0 {
        Ok(())
    } else {
        Err(invalid(field, format!("must be finite and > 0, got {eps}")))
    }
}
