//! Host-side randomness with one ChaCha8 stream per (seed, purpose, restart, sample).
//!
//! Random starts are drawn on the host and uploaded, so the same seed gives the same numbers
//! on every backend. Each sample has its own stream keyed by its position in the caller's
//! data, so a sample's random start does not depend on the batch size, on chunking, or on
//! which other samples are still being attacked at a restart.

use burn::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// Which random start to draw (all scaled to radius `eps`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// Uniform in the ℓ∞ ball `[−ε, ε]^d` (PGD, ART).
    UniformLinfBall,
    /// Uniform in the ℓ2 ball: Gaussian direction, radius `ε·U^{1/d}` (PGD, ART).
    UniformL2Ball,
    /// `ε·t/‖t‖∞` with `t ~ U[−1, 1]^d` (auto-attack's APGD ℓ∞ start: on the sphere).
    LinfSphere,
    /// `ε·t/‖t‖₂` with `t ~ N(0, I)` (auto-attack's APGD ℓ2 start: on the sphere).
    L2Sphere,
}

/// Purposes, so that different attacks with the same seed use different streams.
pub(crate) mod purpose {
    pub const PGD: u64 = 1;
    pub const APGD: u64 = 2;
    pub const APGD_ART: u64 = 3;
    pub const TRAIN_SUBSET: u64 = 4;
    pub const UAP: u64 = 5;
    pub const APGD_T: u64 = 6;
    pub const FAB: u64 = 7;
    pub const SQUARE: u64 = 8;
}

/// The ChaCha8 stream of one sample.
pub(crate) fn sample_rng(seed: u64, purpose: u64, restart: usize, index: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let stream = ((purpose & 0xff) << 56)
        | (((restart as u64) & 0xffff) << 40)
        | (index as u64 & ((1 << 40) - 1));
    rng.set_stream(stream);
    rng
}

/// Random starts for the samples whose global positions are `indices`, as an image batch of
/// shape `[indices.len(), dims[1], dims[2], dims[3]]` on `device`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn random_start(
    kind: Start,
    eps: f32,
    seed: u64,
    purpose: u64,
    restart: usize,
    indices: &[usize],
    dims: [usize; 4],
    device: &Device,
) -> Tensor<4> {
    let d = dims[1] * dims[2] * dims[3];
    let mut out = Vec::with_capacity(indices.len() * d);
    let mut buf = vec![0f64; d];
    for &i in indices {
        let mut rng = sample_rng(seed, purpose, restart, i);
        match kind {
            Start::UniformLinfBall => {
                for _ in 0..d {
                    let u: f64 = rng.random_range(-1.0..1.0);
                    out.push((u * eps as f64) as f32);
                }
            }
            Start::LinfSphere => {
                let mut m = 0f64;
                for b in buf.iter_mut() {
                    *b = rng.random_range(-1.0..1.0);
                    m = m.max(b.abs());
                }
                let s = eps as f64 / (m + 1e-12);
                out.extend(buf.iter().map(|b| (b * s) as f32));
            }
            Start::L2Sphere | Start::UniformL2Ball => {
                let mut n2 = 0f64;
                for b in buf.iter_mut() {
                    *b = rng.sample(StandardNormal);
                    n2 += *b * *b;
                }
                let radius = if kind == Start::UniformL2Ball {
                    let u: f64 = rng.random();
                    u.powf(1.0 / d as f64)
                } else {
                    1.0
                };
                let s = eps as f64 * radius / (n2.sqrt() + 1e-12);
                out.extend(buf.iter().map(|b| (b * s) as f32));
            }
        }
    }
    Tensor::from_data(
        TensorData::new(out, [indices.len(), dims[1], dims[2], dims[3]]),
        device,
    )
}

/// A seeded permutation of `0..n` (Fisher–Yates on a ChaCha8 stream).
pub(crate) fn permutation(n: usize, seed: u64, purpose: u64, round: usize) -> Vec<usize> {
    use rand::seq::SliceRandom;
    let mut rng = sample_rng(seed, purpose, round, 0);
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut rng);
    idx
}
