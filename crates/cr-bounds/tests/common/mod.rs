//! Shared helpers: seeded random matrices of three structures.

#![allow(dead_code, clippy::unwrap_used)]

use cr_bounds::Layer;
use cr_linalg::Mat;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Matrix structures the properties are checked on.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Dense,
    SparseRows,
    LowRank,
}

pub fn random(h: usize, n: usize, kind: Kind, seed: u64) -> Mat<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    match kind {
        Kind::Dense => Mat::from_fn(h, n, |_, _| rng.random::<f64>() * 4.0 - 2.0),
        Kind::SparseRows => {
            let keep: Vec<bool> = (0..h)
                .map(|i| i == 0 || rng.random::<f64>() < 0.4)
                .collect();
            // A few heavy rows, the rest zero.
            Mat::from_fn(h, n, |i, _| {
                if keep[i] {
                    (rng.random::<f64>() * 4.0 - 2.0) * (1.0 + 3.0 * (i == 0) as u8 as f64)
                } else {
                    0.0
                }
            })
        }
        Kind::LowRank => {
            let r = 1 + (seed as usize % h.min(n).max(1)).min(1);
            let a = Mat::from_fn(h, r, |_, _| rng.random::<f64>() * 2.0 - 1.0);
            let b = Mat::from_fn(r, n, |_, _| rng.random::<f64>() * 2.0 - 1.0);
            &a * &b
        }
    }
}

/// A ReLU chain with the given widths (`widths[0]` = input dimension).
pub fn chain(widths: &[usize], seed: u64) -> Vec<Layer> {
    widths
        .windows(2)
        .enumerate()
        .map(|(i, w)| {
            let kind = [Kind::Dense, Kind::SparseRows, Kind::LowRank][(seed as usize + i) % 3];
            Layer::new(
                format!("fc{}", i + 1),
                random(w[1], w[0], kind, seed * 31 + i as u64),
            )
        })
        .collect()
}

pub fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + b.abs())
}
