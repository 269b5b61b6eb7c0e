//! Corollary 3.3 and the correlations against hand values.

#![allow(clippy::unwrap_used)]

mod common;

use cr_bounds::Norm;
use cr_bounds::corollary::{
    GapLoss, binary_logistic_gap, cross_entropy_logit_lipschitz, softmax_cross_entropy_gap,
    softmax_cross_entropy_gap_bound,
};
use rand::{Rng, SeedableRng};

#[test]
fn risk_gap_hand_values() {
    // θ = (3, −4): ‖θ‖₁ = 7, ‖θ‖₂ = 5; δ = 0.1, L̂_Φ = 2 → gaps 1.4 and 1.0.
    let g = binary_logistic_gap(Norm::Linf, 0.1, 2.0, &[3.0, -4.0]).unwrap();
    assert!((g.gap - 1.4).abs() < 1e-12 && g.constant == 7.0 && g.loss == GapLoss::BinaryLogistic);
    let g = binary_logistic_gap(Norm::L2, 0.1, 2.0, &[3.0, -4.0]).unwrap();
    assert!((g.gap - 1.0).abs() < 1e-12);
    // Cross-entropy: constants 2 and √2.
    let g = softmax_cross_entropy_gap(Norm::Linf, 0.5, 3.0).unwrap();
    assert_eq!((g.constant, g.gap), (2.0, 3.0));
    let g = softmax_cross_entropy_gap(Norm::L2, 0.5, 3.0).unwrap();
    assert!((g.gap - 1.5 * 2f64.sqrt()).abs() < 1e-12);
    assert!(softmax_cross_entropy_gap(Norm::L2, -0.1, 1.0).is_err());
    assert!(softmax_cross_entropy_gap(Norm::L2, f64::NAN, 1.0).is_err());
    assert!(softmax_cross_entropy_gap(Norm::L2, 0.1, f64::NAN).is_err());
    assert!(binary_logistic_gap(Norm::L2, 0.1, 1.0, &[f64::INFINITY]).is_err());
}

/// The cross-entropy constants really bound the loss change: |ℓ(z') − ℓ(z)| ≤ C‖z' − z‖.
#[test]
fn cross_entropy_constants_hold_on_random_logits() {
    let ce = |z: &[f64], y: usize| {
        let m = z.iter().fold(f64::MIN, |a, b| a.max(*b));
        -z[y] + m + z.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    for _ in 0..2000 {
        let c = rng.random_range(2..6usize);
        let y = rng.random_range(0..c);
        let z: Vec<f64> = (0..c).map(|_| rng.random::<f64>() * 10.0 - 5.0).collect();
        let d: Vec<f64> = (0..c).map(|_| rng.random::<f64>() * 2.0 - 1.0).collect();
        let z2: Vec<f64> = z.iter().zip(&d).map(|(a, b)| a + b).collect();
        let change = (ce(&z2, y) - ce(&z, y)).abs();
        let inf = d.iter().fold(0.0f64, |a, b| a.max(b.abs()));
        let two = d.iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!(change <= cross_entropy_logit_lipschitz(Norm::Linf) * inf + 1e-12);
        assert!(change <= cross_entropy_logit_lipschitz(Norm::L2) * two + 1e-12);
    }
}

#[test]
fn gap_bound_hand_values() {
    // δ = 0.5, L̂_Φ = 3, ‖C‖ = 4, no normalisation: network bound 12; gap 0.5·2·12 = 12
    // (ℓ∞), 0.5·√2·12 (ℓ2); an input std of 0.25 multiplies both by 4.
    let g = softmax_cross_entropy_gap_bound(Norm::Linf, 0.5, 1.0, 3.0, 4.0).unwrap();
    assert_eq!(
        (
            g.encoder_bound,
            g.head_factor,
            g.loss_constant,
            g.network_bound,
            g.gap_bound
        ),
        (3.0, 4.0, 2.0, 12.0, 12.0)
    );
    let g = softmax_cross_entropy_gap_bound(Norm::L2, 0.5, 1.0, 3.0, 4.0).unwrap();
    assert!((g.gap_bound - 6.0 * 2f64.sqrt()).abs() < 1e-12);
    let g = softmax_cross_entropy_gap_bound(Norm::Linf, 0.5, 4.0, 3.0, 4.0).unwrap();
    assert_eq!((g.network_bound, g.gap_bound), (48.0, 48.0));
    assert!(softmax_cross_entropy_gap_bound(Norm::L2, 0.1, 1.0, 1.0, -1.0).is_err());
    assert!(softmax_cross_entropy_gap_bound(Norm::L2, 0.1, f64::NAN, 1.0, 1.0).is_err());
    assert!(softmax_cross_entropy_gap_bound(Norm::L2, 0.1, 1.0, 1.0, f64::NAN).is_err());
    assert!(softmax_cross_entropy_gap_bound(Norm::L2, -0.1, 1.0, 1.0, 1.0).is_err());
}

/// The encoder bound (Theorem 3.2, head excluded) × the head's operator norm × the loss
/// constant × δ bounds every loss change we can sample on random 2-hidden-layer ReLU nets:
/// `|CE(g(x')) − CE(g(x))| ≤ gap_bound` for ‖x' − x‖_p ≤ δ.
#[test]
fn gap_bound_dominates_sampled_loss_changes() {
    use cr_bounds::{BoundOptions, Estimator, analyze};
    let ce = |z: &[f64], y: usize| {
        let m = z.iter().fold(f64::MIN, |a, b| a.max(*b));
        -z[y] + m + z.iter().map(|v| (v - m).exp()).sum::<f64>().ln()
    };
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    for seed in 0..20u64 {
        let widths = [4, 5, 4, 3];
        let layers = common::chain(&widths, seed);
        let forward = |x: &[f64]| {
            let mut h = x.to_vec();
            for (i, l) in layers.iter().enumerate() {
                let m = &l.matrix;
                let mut out: Vec<f64> = (0..m.nrows())
                    .map(|r| (0..m.ncols()).map(|c| m[(r, c)] * h[c]).sum())
                    .collect();
                if i + 1 < layers.len() {
                    out.iter_mut().for_each(|v| *v = v.max(0.0));
                }
                h = out;
            }
            h
        };
        let opts = BoundOptions {
            estimator: Estimator::Exact,
            include_head: false,
            ..Default::default()
        };
        let r = analyze(&layers, &opts).unwrap();
        for (nb, norm) in [(&r.linf, Norm::Linf), (&r.l2, Norm::L2)] {
            let delta = 0.3;
            let g = softmax_cross_entropy_gap_bound(
                norm,
                delta,
                1.0,
                nb.theorem_3_2,
                nb.head_true_norm.unwrap(),
            )
            .unwrap();
            for _ in 0..200 {
                let x: Vec<f64> = (0..4).map(|_| rng.random::<f64>() * 2.0 - 1.0).collect();
                let d: Vec<f64> = (0..4).map(|_| rng.random::<f64>() * 2.0 - 1.0).collect();
                let scale = match norm {
                    Norm::Linf => d.iter().fold(0.0f64, |a, b| a.max(b.abs())),
                    Norm::L2 => d.iter().map(|v| v * v).sum::<f64>().sqrt(),
                };
                let x2: Vec<f64> = x
                    .iter()
                    .zip(&d)
                    .map(|(a, b)| a + delta * b / scale)
                    .collect();
                let (z, z2) = (forward(&x), forward(&x2));
                for y in 0..3 {
                    let change = (ce(&z2, y) - ce(&z, y)).abs();
                    assert!(
                        change <= g.gap_bound * (1.0 + 1e-9),
                        "{change} > {}",
                        g.gap_bound
                    );
                }
            }
        }
    }
}
