//! Universal perturbations on a small trained MLP: the reported fooling rate equals an
//! independent recount with the returned v, and ‖v‖ ≤ ξ.
#![allow(clippy::unwrap_used)]

mod common;

use burn::prelude::*;
use common::*;
use cr_attacks::{
    Norm, UapConfig, UapResult, UapSgdConfig, universal_perturbation, universal_perturbation_sgd,
};

const DIMS: [usize; 4] = [120, 1, 6, 6];

fn setup() -> (Mlp, Vec<f32>, Vec<i64>) {
    let (x, y) = blobs(DIMS[0], 4, [DIMS[1], DIMS[2], DIMS[3]], 5);
    let mlp = train_mlp(&x, &y, DIMS, 32, 4, 150);
    (mlp, x, y)
}

/// Recount on the host side of the interface: clip(x + v) built by hand, argmax compared
/// with the labels by hand.
fn recount(mlp: &Mlp, x: &[f32], y: &[i64], r: &UapResult) -> f64 {
    let d = x.len() / y.len();
    assert_eq!(r.perturbation.len(), d);
    let xv: Vec<f32> = x
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let s = v + r.perturbation[i % d];
            if r.clip { s.clamp(0.0, 1.0) } else { s }
        })
        .collect();
    let z = mlp
        .forward(images(xv, DIMS))
        .into_data()
        .try_into_vec_as::<f32>()
        .unwrap();
    let k = z.len() / y.len();
    let fooled = (0..y.len())
        .filter(|&i| {
            let row: Vec<f64> = z[i * k..(i + 1) * k].iter().map(|v| *v as f64).collect();
            argmax(&row) as i64 != y[i]
        })
        .count();
    fooled as f64 / y.len() as f64
}

fn v_norm(r: &UapResult) -> f64 {
    match r.norm {
        Norm::Linf => r
            .perturbation
            .iter()
            .map(|v| v.abs() as f64)
            .fold(0.0, f64::max),
        Norm::L2 => r
            .perturbation
            .iter()
            .map(|v| (*v as f64).powi(2))
            .sum::<f64>()
            .sqrt(),
    }
}

fn check(mlp: &Mlp, x: &[f32], y: &[i64], r: &UapResult) {
    eprintln!(
        "{} {}: fooling {:.3} flip {:.3} iterations {} updates {} converged {}",
        r.method, r.norm, r.fooling_rate, r.flip_rate, r.iterations, r.updates, r.converged
    );
    assert_eq!(r.fooling_rate, recount(mlp, x, y, r));
    assert!(
        v_norm(r) <= r.xi as f64 * (1.0 + 1e-5),
        "‖v‖ = {} > ξ = {}",
        v_norm(r),
        r.xi
    );
    assert!((r.perturbation_norm as f64 - v_norm(r)).abs() < 1e-4);
    assert_eq!(r.converged, r.fooling_rate >= 1.0 - r.delta);
    assert!(r.iterations >= 1 && r.iterations <= r.max_iter);
    if !r.converged {
        assert_eq!(r.iterations, r.max_iter);
    }
    assert!(r.fooling_rate > 0.0, "v does nothing");
}

#[test]
fn fgsm_uap_fooling_rate_recounts_and_v_is_in_the_ball() {
    let (mlp, x, y) = setup();
    let model = |t: Tensor<4>| mlp.forward(t);
    for (norm, xi) in [(Norm::Linf, 0.2f32), (Norm::L2, 1.5)] {
        let cfg = UapConfig {
            max_iter: 5,
            seed: 1,
            ..UapConfig::new(norm, xi)
        };
        let r = universal_perturbation(&model, images(x.clone(), DIMS), labels(&y), &cfg).unwrap();
        check(&mlp, &x, &y, &r);
        // Same seed, same v.
        let r2 = universal_perturbation(&model, images(x.clone(), DIMS), labels(&y), &cfg).unwrap();
        assert_eq!(r.perturbation, r2.perturbation);
    }
    // A target within reach (with four classes a single v that pushes every input to one
    // class fools at most 3/4): stops early, converged.
    let cfg = UapConfig {
        seed: 1,
        delta: 0.4,
        ..UapConfig::new(Norm::L2, 1.5)
    };
    let r = universal_perturbation(&model, images(x.clone(), DIMS), labels(&y), &cfg).unwrap();
    check(&mlp, &x, &y, &r);
    assert!(r.converged && r.iterations < cfg.max_iter);
}

#[test]
fn sgd_uap_fooling_rate_recounts_and_v_is_in_the_ball() {
    let (mlp, x, y) = setup();
    let model = |t: Tensor<4>| mlp.forward(t);
    for (norm, xi) in [(Norm::Linf, 0.2f32), (Norm::L2, 1.5)] {
        let cfg = UapSgdConfig {
            max_iter: 5,
            seed: 2,
            ..UapSgdConfig::new(norm, xi)
        };
        let r =
            universal_perturbation_sgd(&model, images(x.clone(), DIMS), labels(&y), &cfg).unwrap();
        check(&mlp, &x, &y, &r);
    }
}

#[test]
fn speculative_minibatches_make_the_per_sample_decisions() {
    // batch_size 1 is ART's per-sample loop; larger minibatches must make the same updates.
    let (mlp, x, y) = setup();
    let model = |t: Tensor<4>| mlp.forward(t);
    let base = UapConfig {
        max_iter: 2,
        seed: 3,
        ..UapConfig::new(Norm::Linf, 0.2)
    };
    let one = universal_perturbation(
        &model,
        images(x.clone(), DIMS),
        labels(&y),
        &UapConfig {
            batch_size: 1,
            ..base
        },
    )
    .unwrap();
    let many = universal_perturbation(
        &model,
        images(x.clone(), DIMS),
        labels(&y),
        &UapConfig {
            batch_size: 16,
            ..base
        },
    )
    .unwrap();
    assert!(one.updates > 0, "nothing to compare");
    assert_eq!(one.updates, many.updates);
    let diff = one
        .perturbation
        .iter()
        .zip(&many.perturbation)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(diff <= 1e-6, "v differs by {diff}");
    assert_eq!(one.fooling_rate, many.fooling_rate);
}
