//! Projections, checkpoint schedules and losses against independent truth.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;

use burn::prelude::*;
use common::*;
use cr_attacks::{
    Norm, apgd_checkpoints, art_checkpoints, ce_loss, dlr_loss, logit_margin, project,
};
use proptest::prelude::*;

fn logits(z: &[f32], k: usize) -> Tensor<2> {
    Tensor::from_data(TensorData::new(z.to_vec(), [z.len() / k, k]), &cpu())
}

fn vec1(t: Tensor<1>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().unwrap()
}

#[test]
fn checkpoint_schedules_equal_the_references() {
    // The SPEC's values, literally.
    assert_eq!(apgd_checkpoints(100), vec![22, 41, 57, 70, 80, 87, 93, 99]);
    assert_eq!(apgd_checkpoints(10), (2..=10).collect::<Vec<_>>());
    // And a range of N against the simulation of each reference in fixtures/make_checkpoints.py.
    let fx: BTreeMap<String, BTreeMap<String, Vec<usize>>> =
        serde_json::from_str(include_str!("fixtures/checkpoints.json")).unwrap();
    for (n, want) in &fx["reference"] {
        assert_eq!(
            &apgd_checkpoints(n.parse().unwrap()),
            want,
            "reference, N = {n}"
        );
    }
    for (n, want) in &fx["art"] {
        assert_eq!(&art_checkpoints(n.parse().unwrap()), want, "ART, N = {n}");
    }
}

#[test]
fn dlr_loss_by_hand() {
    // Rows: y not on top; y not on top with another order; y on top.
    let z = [1.0, 3.0, 2.0, -1.0, 0.5, 0.2, 0.9, 0.4, 4.0, 1.0, 2.0, 0.0];
    let y = labels(&[2, 0, 0]);
    // (1) z_y = 2, others max 3, top three 3, 2, 1: −(2 − 3)/(3 − 1) = 0.5
    // (2) z_y = 0.5, others max 0.9, top three 0.9, 0.5, 0.4: −(0.5 − 0.9)/(0.9 − 0.4) = 0.8
    // (3) z_y = 4 on top, others max 2, top three 4, 2, 1: −(4 − 2)/(4 − 1) = −2/3
    let want = [0.5, 0.8, -2.0 / 3.0];
    let t = logits(&z, 4).autodiff().require_grad();
    let l = dlr_loss(t.clone(), y);
    let got = vec1(l.clone().inner());
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() < 1e-6, "{got:?} vs {want:?}");
    }
    // Gradient of L = (z_o − z_y)/(z_1 − z_3) by hand:
    // ∂/∂z_y = −1/D, ∂/∂z_o = 1/D (when z_o is z_1: 1/D − N/D²), ∂/∂z_3 = N/D².
    let grads = l.sum().backward();
    let g = t
        .grad(&grads)
        .unwrap()
        .into_data()
        .try_into_vec_as::<f32>()
        .unwrap();
    #[rustfmt::skip]
    let want_g = [
        0.25, 0.5 - 0.25, -0.5, 0.0,          // N = 1, D = 2
        -2.0, 0.0, 2.0 - 1.6, 1.6,            // N = 0.4, D = 0.5
        // row 3: L = (z_2 − z_0)/(z_0 − z_1), N = −2, D = 3:
        // ∂z_0 = −1/D − N/D² = −1/3 + 2/9; ∂z_2 = 1/3; ∂z_1 = N/D² = −2/9.
        -1.0 / 3.0 + 2.0 / 9.0, -2.0 / 9.0, 1.0 / 3.0, 0.0,
    ];
    for (a, b) in g.iter().zip(want_g) {
        assert!((a - b).abs() < 1e-5, "{g:?} vs {want_g:?}");
    }
}

#[test]
fn ce_and_margin_by_hand() {
    let z = [0.0, 0.0, 0.0, 1.0, 3.0, 2.0];
    let ce = vec1(ce_loss(logits(&z, 3), labels(&[1, 0])));
    assert!((ce[0] - 3f32.ln()).abs() < 1e-6);
    let lse = (1f32.exp() + 3f32.exp() + 2f32.exp()).ln();
    assert!((ce[1] - (lse - 1.0)).abs() < 1e-5);
    let m = vec1(logit_margin(logits(&z, 3), labels(&[1, 1])));
    assert_eq!(m, vec![0.0, 1.0]); // a tie gives 0; 3 − max(1, 2) = 1
}

fn norms(a: &[f32], x: &[f32]) -> (f64, f64) {
    let linf = a
        .iter()
        .zip(x)
        .map(|(a, b)| (a - b).abs() as f64)
        .fold(0.0, f64::max);
    let l2 = a
        .iter()
        .zip(x)
        .map(|(a, b)| ((a - b) as f64).powi(2))
        .sum::<f64>()
        .sqrt();
    (linf, l2)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn projections_stay_in_the_ball_and_the_box(
        b in 1usize..4,
        side in 1usize..5,
        eps in 0.001f32..2.0,
        clip in any::<bool>(),
        l2 in any::<bool>(),
        seed in any::<u64>(),
    ) {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let dims = [b, 2, side, side];
        let n: usize = dims.iter().product();
        let x: Vec<f32> = (0..n).map(|_| rng.random::<f32>()).collect();
        let scale = rng.random_range(0.0f32..5.0);
        let xa: Vec<f32> = x.iter().map(|v| v + scale * rng.random_range(-1.0f32..1.0)).collect();
        let norm = if l2 { Norm::L2 } else { Norm::Linf };
        let p = host(project(images(xa.clone(), dims), images(x.clone(), dims), norm, eps, clip));
        let d = n / b;
        for i in 0..b {
            let (pi, xi, ai) = (&p[i * d..(i + 1) * d], &x[i * d..(i + 1) * d], &xa[i * d..(i + 1) * d]);
            let (linf, l2n) = norms(pi, xi);
            let r = if l2 { l2n } else { linf };
            prop_assert!(r <= eps as f64 * (1.0 + 1e-5) + 1e-6, "outside the ball: {} > {}", r, eps);
            if clip {
                prop_assert!(pi.iter().all(|v| (0.0..=1.0).contains(v)));
            }
            if l2 {
                // The ball step is exact: inside points stay, outside points land on the
                // sphere along the same ray (before clipping).
                let (_, l2a) = norms(ai, xi);
                if !clip {
                    let want = l2a.min(eps as f64);
                    prop_assert!((l2n - want).abs() <= 1e-4 * (1.0 + want));
                }
            } else {
                // ℓ∞ ∩ box is a box: the projection is the exact coordinate-wise clamp.
                for j in 0..d {
                    let (lo, hi) = if clip {
                        ((xi[j] - eps).max(0.0), (xi[j] + eps).min(1.0))
                    } else {
                        (xi[j] - eps, xi[j] + eps)
                    };
                    let want = ai[j].clamp(lo, hi);
                    prop_assert!((pi[j] - want).abs() <= 1e-6, "{} vs {}", pi[j], want);
                }
            }
        }
    }
}
