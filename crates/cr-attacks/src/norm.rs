//! Threat models: the ℓ∞ and ℓ2 balls, per-sample norms, projections and step directions.

use burn::prelude::*;

use cr_fused::{FlexF32, all_flex};

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
    // On the flex backend, copy the chosen images into `b` (burn's `mask_where` walks the
    // broadcast mask element by element); the values are the same, copied.
    if a.dims() == dims {
        match all_flex([a, b]) {
            Ok([a, mut b]) => match mask.clone().into_data().try_to_vec::<bool>() {
                Ok(take) if take.len() == dims[0] => {
                    let row = dims[1] * dims[2] * dims[3];
                    let src = a.as_slice();
                    let dst = b.as_mut_slice();
                    for (i, _) in take.iter().enumerate().filter(|(_, t)| **t) {
                        dst[i * row..(i + 1) * row].copy_from_slice(&src[i * row..(i + 1) * row]);
                    }
                    return b.into_tensor();
                }
                _ => return select_images_ops(mask, a.into_tensor(), b.into_tensor()),
            },
            Err([a, b]) => return select_images_ops(mask, a, b),
        }
    }
    select_images_ops(mask, a, b)
}

/// [`select_images`] as burn tensor operations (any backend).
fn select_images_ops(mask: Tensor<1, Bool>, a: Tensor<4>, b: Tensor<4>) -> Tensor<4> {
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
    // ℓ∞ on the flex backend: the same operations as `project_ops`, in one host pass (a NaN
    // radius keeps the tensor operations, whose clamp gives NaN where `f32::clamp` panics).
    if norm == Norm::Linf && !eps.is_nan() {
        match all_flex([x_adv, x]) {
            Ok([mut a, x]) => {
                project_linf_host(a.as_mut_slice(), x.as_slice(), eps, clip);
                return a.into_tensor();
            }
            Err([x_adv, x]) => return project_ops(x_adv, x, norm, eps, clip),
        }
    }
    project_ops(x_adv, x, norm, eps, clip)
}

/// One signed-gradient step and the projection: `project(x + step·d, center, …)` with `d` the
/// [`ascent_direction`] of `grad` (PGD's and FGSM's update). On the flex backend the ℓ∞ case is
/// one host pass with the same operations.
pub(crate) fn step_project(
    x: Tensor<4>,
    grad: Tensor<4>,
    step: f32,
    center: Tensor<4>,
    norm: Norm,
    eps: f32,
    clip: bool,
) -> Tensor<4> {
    if norm == Norm::Linf && !eps.is_nan() {
        match all_flex([x, grad, center]) {
            Ok([mut x, g, c]) => {
                for ((a, &g), &c) in x
                    .as_mut_slice()
                    .iter_mut()
                    .zip(g.as_slice())
                    .zip(c.as_slice())
                {
                    let moved = *a + flex_sign(g) * step;
                    *a = project_linf_one(moved, c, eps, clip);
                }
                return x.into_tensor();
            }
            Err([x, grad, center]) => {
                return step_project_ops(x, grad, step, center, norm, eps, clip);
            }
        }
    }
    step_project_ops(x, grad, step, center, norm, eps, clip)
}

/// [`step_project`] as burn tensor operations (any backend).
fn step_project_ops(
    x: Tensor<4>,
    grad: Tensor<4>,
    step: f32,
    center: Tensor<4>,
    norm: Norm,
    eps: f32,
    clip: bool,
) -> Tensor<4> {
    let dir = ascent_direction(grad, norm, 1e-12);
    project_ops(x + dir.mul_scalar(step), center, norm, eps, clip)
}

/// [`project`] as burn tensor operations (any backend).
fn project_ops(x_adv: Tensor<4>, x: Tensor<4>, norm: Norm, eps: f32, clip: bool) -> Tensor<4> {
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

/// The ℓ∞ branch of [`project_ops`] element by element, in place on `a` (burn's `clamp` is
/// `f32::clamp`; the bounds are not NaN).
fn project_linf_host(a: &mut [f32], x: &[f32], eps: f32, clip: bool) {
    for (a, &x) in a.iter_mut().zip(x) {
        *a = project_linf_one(*a, x, eps, clip);
    }
}

/// One element of the ℓ∞ projection of `a` around `x`.
#[inline]
fn project_linf_one(a: f32, x: f32, eps: f32, clip: bool) -> f32 {
    let out = x + (a - x).clamp(-eps, eps);
    if clip { out.clamp(0.0, 1.0) } else { out }
}

/// burn's `sign` on flex: 0 for NaN and ±0, else ±1.
#[inline]
fn flex_sign(v: f32) -> f32 {
    if v.is_nan() || v == 0.0 {
        0.0
    } else {
        1f32.copysign(v)
    }
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
        Norm::Linf => match FlexF32::new(g) {
            Ok(mut h) => {
                h.as_mut_slice().iter_mut().for_each(|v| *v = flex_sign(*v));
                h.into_tensor()
            }
            Err(g) => g.sign(),
        },
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use rand::{Rng, SeedableRng};

    fn bits(t: Tensor<4>) -> Vec<u32> {
        let v: Vec<f32> = t.into_data().try_to_vec().unwrap();
        v.into_iter().map(f32::to_bits).collect()
    }

    /// Images around [0, 1] and iterates up to ±0.5 away, with exact ties at ±ε, zeros of
    /// both signs and points outside the box.
    fn batch(rng: &mut rand_chacha::ChaCha8Rng, eps: f32) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
        let n = 3 * 2 * 5 * 7;
        let x: Vec<f32> = (0..n).map(|_| rng.random_range(-0.1..1.1)).collect();
        let a: Vec<f32> = x
            .iter()
            .enumerate()
            .map(|(i, &x)| match i % 9 {
                0 => x + eps,
                1 => x - eps,
                2 => x,
                _ => x + rng.random_range(-0.5..0.5),
            })
            .collect();
        let g: Vec<f32> = (0..n)
            .map(|i| match i % 11 {
                0 => 0.0,
                1 => -0.0,
                2 => f32::NAN,
                _ => rng.random_range(-1.0..1.0) * 10f32.powi(-(i % 20)),
            })
            .collect();
        (x, a, g)
    }

    /// The host passes give the bits of burn's tensor operations.
    #[test]
    fn linf_host_passes_match_tensor_ops() {
        let device = Device::flex();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let t =
            |v: &[f32]| Tensor::<4>::from_data(TensorData::new(v.to_vec(), [3, 2, 5, 7]), &device);
        for eps in [0.0, 0.03, 0.3, 2.0] {
            for clip in [true, false] {
                let (x, a, g) = batch(&mut rng, eps);
                let fused = project(t(&a), t(&x), Norm::Linf, eps, clip);
                let ops = project_ops(t(&a), t(&x), Norm::Linf, eps, clip);
                assert_eq!(bits(fused), bits(ops), "ε = {eps}, clip = {clip}");
                let fused = ascent_direction(t(&g), Norm::Linf, 1e-12);
                assert_eq!(bits(fused), bits(t(&g).sign()));
                for step in [0.01, eps / 4.0] {
                    let fused = step_project(t(&a), t(&g), step, t(&x), Norm::Linf, eps, clip);
                    let ops = step_project_ops(t(&a), t(&g), step, t(&x), Norm::Linf, eps, clip);
                    assert_eq!(
                        bits(fused),
                        bits(ops),
                        "step {step}, ε = {eps}, clip = {clip}"
                    );
                }
            }
        }
    }

    /// Per-sample selection: the copy gives `mask_where`'s result, and leaves `b`'s other
    /// owners untouched.
    #[test]
    fn select_images_matches_mask_where() {
        let device = Device::flex();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let (x, a, _) = batch(&mut rng, 0.1);
        let t =
            |v: &[f32]| Tensor::<4>::from_data(TensorData::new(v.to_vec(), [3, 2, 5, 7]), &device);
        for take in [
            [true, false, true],
            [false, false, false],
            [true, true, true],
        ] {
            let mask = Tensor::<1, Bool>::from_data(TensorData::from(take), &device);
            let b = t(&x);
            let keep = b.clone();
            let got = select_images(mask.clone(), t(&a), b);
            let want = select_images_ops(mask, t(&a), t(&x));
            assert_eq!(bits(got), bits(want), "{take:?}");
            assert_eq!(bits(keep), bits(t(&x)));
        }
    }

    /// Projection properties: inside the ball around `x` and inside the box.
    #[test]
    fn linf_projection_is_feasible() {
        let device = Device::flex();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        let (x, a, _) = batch(&mut rng, 0.1);
        let x: Vec<f32> = x.into_iter().map(|v| v.clamp(0.0, 1.0)).collect();
        let t =
            |v: &[f32]| Tensor::<4>::from_data(TensorData::new(v.to_vec(), [3, 2, 5, 7]), &device);
        let p: Vec<f32> = project(t(&a), t(&x), Norm::Linf, 0.1, true)
            .into_data()
            .try_to_vec()
            .unwrap();
        for (p, x) in p.iter().zip(&x) {
            assert!(
                (p - x).abs() <= 0.1 + 1e-7 && (0.0..=1.0).contains(p),
                "{p} {x}"
            );
        }
    }
}
