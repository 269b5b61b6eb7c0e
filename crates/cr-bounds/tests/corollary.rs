//! Corollary 3.3 and the correlations against hand values.

#![allow(clippy::unwrap_used)]

use cr_bounds::corollary::{
    Loss, binary_logistic_gap, cross_entropy_logit_lipschitz, softmax_cross_entropy_gap,
};
use cr_bounds::correlation::average_ranks;
use cr_bounds::{Norm, pearson, spearman};
use rand::{Rng, SeedableRng};

#[test]
fn risk_gap_hand_values() {
    // θ = (3, −4): ‖θ‖₁ = 7, ‖θ‖₂ = 5; δ = 0.1, L̂_Φ = 2 → gaps 1.4 and 1.0.
    let g = binary_logistic_gap(Norm::Linf, 0.1, 2.0, &[3.0, -4.0]).unwrap();
    assert!((g.gap - 1.4).abs() < 1e-12 && g.constant == 7.0 && g.loss == Loss::BinaryLogistic);
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
fn correlations_match_scipy() {
    // Deviations (−2, −1, 0, 1, 2) and (−1, −2, 1, 0, 2): Σ = 8, both sums of squares 10 → 0.8.
    let (a, b) = ([1., 2., 3., 4., 5.], [2., 1., 4., 3., 5.]);
    assert!((pearson(&a, &b) - 0.8).abs() < 1e-15);
    assert!((spearman(&a, &b) - 0.8).abs() < 1e-15);
    // numpy.corrcoef([1,2,3,4], [1,4,9,16]) = 25/√645; Spearman 1 (monotone).
    let (x, y) = ([1., 2., 3., 4.], [1., 4., 9., 16.]);
    assert!((pearson(&x, &y) - 0.9843740386976972).abs() < 1e-15);
    assert!((spearman(&x, &y) - 1.0).abs() < 1e-15);
    // Ties: scipy.stats.spearmanr([1,2,2,3], [1,3,2,4]) = 3/√10 = 0.9486832980505138.
    assert_eq!(average_ranks(&[1., 2., 2., 3.]), vec![1.0, 2.5, 2.5, 4.0]);
    assert!((spearman(&[1., 2., 2., 3.], &[1., 3., 2., 4.]) - 0.9486832980505138).abs() < 1e-15);
    // Anti-correlation, degenerate inputs.
    assert!((pearson(&[1., 2., 3.], &[3., 2., 1.]) + 1.0).abs() < 1e-15);
    assert!(pearson(&[1., 1., 1.], &[1., 2., 3.]).is_nan());
    assert!(pearson(&[1.], &[1.]).is_nan());
    assert!(spearman(&[1., 2.], &[1.]).is_nan());
    assert!(spearman(&[1., f64::NAN], &[1., 2.]).is_nan());
}
