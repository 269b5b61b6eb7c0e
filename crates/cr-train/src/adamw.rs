//! The AdamW update of one flattened parameter, in two forms that give the same bits.
//!
//! * [`composed`]: burn tensor operations, on any backend. Each operation is one pass over the
//!   parameter (fourteen in all), and on burn's `flex` CPU backend most of them allocate a
//!   fresh buffer; measured on a 784-400-10 FCN this was half of the training time.
//! * [`host`]: one pass over host slices doing the same IEEE `f32` operations, in the same
//!   order, element by element. [`update`] runs it in place on the storage of `flex` tensors
//!   (the CPU backend; see `cr_fused`), and falls back to [`composed`] on every other
//!   backend.
//!
//! The two agree bit for bit because each `f32` operation is correctly rounded whichever
//! kernel performs it (`+ − × ÷ √`; no fused multiply-add on either side), scalars are rounded
//! to `f32` the way burn rounds them (`f64 as f32`), and the order of operations is the same.
//! The tests check it on random data over several steps.

use burn::prelude::*;
use cr_fused::all_flex;

/// The step's scalars, in `f64` as configured; each is rounded to `f32` where it is used, as
/// burn's `*_scalar` operations round them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AdamwStep {
    /// Learning rate η.
    pub lr: f64,
    /// Decoupled weight decay λ.
    pub weight_decay: f64,
    /// β₁.
    pub beta1: f64,
    /// β₂.
    pub beta2: f64,
    /// ε.
    pub eps: f64,
    /// The step count t after this update (1 at the first).
    pub step: u64,
}

impl AdamwStep {
    fn bias_corrections(&self) -> (f64, f64) {
        let t = self.step as i32;
        (1.0 - self.beta1.powi(t), 1.0 - self.beta2.powi(t))
    }
}

/// One AdamW update: returns the new `(p, m, v)`. `mv` is the previous moments, `None` at the
/// first step (then `m = (1−β₁)g` and `v = (1−β₂)g²` exactly, as PyTorch's zero-initialised
/// moments give up to the sign of zero).
pub(crate) fn update(
    p: Tensor<1>,
    g: Tensor<1>,
    mv: Option<(Tensor<1>, Tensor<1>)>,
    s: &AdamwStep,
) -> (Tensor<1>, Tensor<1>, Tensor<1>) {
    let first = mv.is_none();
    let (m, v) = mv.unwrap_or_else(|| {
        let zeros = || p.zeros_like();
        (zeros(), zeros())
    });
    match all_flex([p, g, m, v]) {
        Ok([mut p, g, mut m, mut v]) => {
            host(
                p.as_mut_slice(),
                g.as_slice(),
                m.as_mut_slice(),
                v.as_mut_slice(),
                s,
                first,
            );
            (p.into_tensor(), m.into_tensor(), v.into_tensor())
        }
        Err([p, g, m, v]) => composed(p, g, (!first).then_some((m, v)), s),
    }
}

/// The update as burn tensor operations (any backend).
fn composed(
    p: Tensor<1>,
    g: Tensor<1>,
    mv: Option<(Tensor<1>, Tensor<1>)>,
    s: &AdamwStep,
) -> (Tensor<1>, Tensor<1>, Tensor<1>) {
    let (b1, b2) = (s.beta1, s.beta2);
    let (m, v) = match mv {
        Some((m, v)) => (
            m.mul_scalar(b1) + g.clone().mul_scalar(1.0 - b1),
            v.mul_scalar(b2) + g.square().mul_scalar(1.0 - b2),
        ),
        None => (
            g.clone().mul_scalar(1.0 - b1),
            g.square().mul_scalar(1.0 - b2),
        ),
    };
    let (bc1, bc2) = s.bias_corrections();
    let p = if s.weight_decay != 0.0 {
        p.mul_scalar(1.0 - s.lr * s.weight_decay)
    } else {
        p
    };
    let denom = v.clone().sqrt().div_scalar(bc2.sqrt()).add_scalar(s.eps);
    let p = p - m.clone().div(denom).mul_scalar(s.lr / bc1);
    (p, m, v)
}

/// The update in one pass over host slices, the same `f32` operations in the same order as
/// [`composed`]. `first`: the moments' previous values are ignored.
fn host(p: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], s: &AdamwStep, first: bool) {
    let (bc1, bc2) = s.bias_corrections();
    let b1 = s.beta1 as f32;
    let one_b1 = (1.0 - s.beta1) as f32;
    let b2 = s.beta2 as f32;
    let one_b2 = (1.0 - s.beta2) as f32;
    let decay = (s.weight_decay != 0.0).then_some((1.0 - s.lr * s.weight_decay) as f32);
    let sqrt_bc2 = bc2.sqrt() as f32;
    let eps = s.eps as f32;
    let step = (s.lr / bc1) as f32;
    let n = p.len();
    assert!(
        g.len() == n && m.len() == n && v.len() == n,
        "AdamW: lengths differ"
    );
    for i in 0..n {
        let gi = g[i];
        let (mi, vi) = if first {
            (gi * one_b1, (gi * gi) * one_b2)
        } else {
            (m[i] * b1 + gi * one_b1, v[i] * b2 + (gi * gi) * one_b2)
        };
        m[i] = mi;
        v[i] = vi;
        let pi = match decay {
            Some(d) => p[i] * d,
            None => p[i],
        };
        let denom = vi.sqrt() / sqrt_bc2 + eps;
        p[i] = pi - (mi / denom) * step;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use rand::{Rng, SeedableRng};

    fn bits(t: &Tensor<1>) -> Vec<u32> {
        let v: Vec<f32> = t.clone().into_data().try_to_vec().unwrap();
        v.into_iter().map(f32::to_bits).collect()
    }

    /// Random values over many magnitudes, with exact zeros and negative zeros.
    fn values(rng: &mut rand_chacha::ChaCha8Rng, n: usize) -> Vec<f32> {
        (0..n)
            .map(|i| match i % 17 {
                0 => 0.0,
                1 => -0.0,
                _ => {
                    let mag = 10f32.powf(rng.random_range(-9.0..1.0));
                    if rng.random_bool(0.5) { mag } else { -mag }
                }
            })
            .collect()
    }

    /// The host pass in place on flex tensors gives the tensor composition's bits, step after
    /// step, with and without weight decay.
    #[test]
    fn host_pass_matches_tensor_ops_bit_for_bit() {
        let device = Device::flex();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let n = 1031;
        for weight_decay in [0.0, 0.01, 0.3] {
            let t = |v: Vec<f32>| Tensor::<1>::from_data(TensorData::new(v, [n]), &device);
            let p0 = values(&mut rng, n);
            let (mut pa, mut pb) = (t(p0.clone()), t(p0));
            let (mut mva, mut mvb) = (None, None);
            for step in 1..=6 {
                let s = AdamwStep {
                    lr: 0.003,
                    weight_decay,
                    beta1: 0.9,
                    beta2: 0.999,
                    eps: 1e-8,
                    step,
                };
                let g = values(&mut rng, n);
                let (p, m, v) = update(pa, t(g.clone()), mva, &s);
                let (q, mq, vq) = composed(pb, t(g), mvb, &s);
                assert_eq!(bits(&p), bits(&q), "p at step {step}, λ = {weight_decay}");
                assert_eq!(bits(&m), bits(&mq), "m at step {step}");
                assert_eq!(bits(&v), bits(&vq), "v at step {step}");
                (pa, pb, mva, mvb) = (p, q, Some((m, v)), Some((mq, vq)));
            }
        }
    }

    /// One step by hand: g = 1, p = 1, λ = 0 → m = 0.1, v = 0.001, and the bias-corrected
    /// step is −η·1/(1 + ε).
    #[test]
    fn first_step_by_hand() {
        let device = Device::flex();
        let one = Tensor::<1>::from_data(TensorData::new(vec![1.0f32; 3], [3]), &device);
        let s = AdamwStep {
            lr: 0.5,
            weight_decay: 0.0,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            step: 1,
        };
        let (p, m, v) = update(one.clone(), one, None, &s);
        let p: Vec<f32> = p.into_data().try_to_vec().unwrap();
        let m: Vec<f32> = m.into_data().try_to_vec().unwrap();
        let v: Vec<f32> = v.into_data().try_to_vec().unwrap();
        for i in 0..3 {
            assert!((p[i] - 0.5).abs() < 1e-6, "{p:?}");
            assert!((m[i] - 0.1).abs() < 1e-7, "{m:?}");
            assert!((v[i] - 0.001).abs() < 1e-9, "{v:?}");
        }
    }

    /// A parameter shared elsewhere is copied, not written through.
    #[test]
    fn shared_parameter_is_not_overwritten() {
        let device = Device::flex();
        let p = Tensor::<1>::from_data(TensorData::new(vec![2.0f32; 4], [4]), &device);
        let keep = p.clone();
        let g = Tensor::<1>::from_data(TensorData::new(vec![1.0f32; 4], [4]), &device);
        let s = AdamwStep {
            lr: 0.1,
            weight_decay: 0.0,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            step: 1,
        };
        let (p, _, _) = update(p, g, None, &s);
        assert_eq!(
            keep.into_data().try_to_vec::<f32>().unwrap(),
            vec![2.0f32; 4]
        );
        assert_ne!(p.into_data().try_to_vec::<f32>().unwrap(), vec![2.0f32; 4]);
    }
}
