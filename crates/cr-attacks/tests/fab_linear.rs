//! Closed-form truth for FAB and properties of the AutoAttack components.
//!
//! On a linear classifier `z = W x + b`, the minimal ℓp perturbation that changes the
//! prediction of `x` (class y) is `min_{j≠y} (z_y − z_j)/‖w_y − w_j‖_dual`, reached at
//! `x − λ·∂` along the dual direction; when that point stays inside `[0, 1]^d` the box does not
//! bind and FAB (untargeted) must find it. Whatever an attack returns lies in the ε-ball and in
//! `[0, 1]` (property test over random models, radii and norms).
#![allow(clippy::unwrap_used, clippy::needless_range_loop)]

mod common;

use burn::prelude::*;
use common::*;
use cr_attacks::{
    ApgdTConfig, Attack, AttackOptions, AutoAttackConfig, FabConfig, Norm, SquareConfig, run_attack,
};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const D: usize = 16;

/// The unconstrained minimiser's distance, and whether that minimiser stays in the box with
/// some room.
fn exact(m: &LinearModel, x: &[f32], y: usize, norm: Norm) -> (f64, bool) {
    let z = m.host_logits(x);
    let mut best = (f64::INFINITY, 0usize);
    for j in 0..z.len() {
        if j == y {
            continue;
        }
        let diff: Vec<f64> = m.w[y].iter().zip(&m.w[j]).map(|(a, b)| a - b).collect();
        let dual = match norm {
            Norm::Linf => diff.iter().map(|v| v.abs()).sum::<f64>(),
            Norm::L2 => diff.iter().map(|v| v * v).sum::<f64>().sqrt(),
        };
        let r = (z[y] - z[j]) / dual;
        if r < best.0 {
            best = (r, j);
        }
    }
    let (r, j) = best;
    let diff: Vec<f64> = m.w[y].iter().zip(&m.w[j]).map(|(a, b)| a - b).collect();
    let n2 = diff.iter().map(|v| v * v).sum::<f64>().sqrt();
    let inside = x.iter().zip(&diff).all(|(x, g)| {
        let step = match norm {
            Norm::Linf => r * g.signum(),
            Norm::L2 => r * g / n2,
        };
        let v = *x as f64 - 1.1 * step;
        (0.02..=0.98).contains(&v)
    });
    (r, inside)
}

fn distance(a: &[f32], b: &[f32], norm: Norm) -> f64 {
    let it = a.iter().zip(b).map(|(a, b)| (*a - *b) as f64);
    match norm {
        Norm::Linf => it.fold(0.0, |m, v| m.max(v.abs())),
        Norm::L2 => it.map(|v| v * v).sum::<f64>().sqrt(),
    }
}

#[test]
fn fab_finds_the_minimal_perturbation_of_a_linear_classifier() {
    let n = 30;
    for (k, norm) in [(4, Norm::Linf), (4, Norm::L2), (6, Norm::L2)] {
        let m = LinearModel::random(k, D, 1.0, 21);
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let x: Vec<f32> = (0..n * D).map(|_| rng.random_range(0.3..0.7)).collect();
        // Labels: the model's own predictions, so every sample starts correct.
        let y: Vec<i64> = (0..n)
            .map(|i| argmax(&m.host_logits(&x[i * D..(i + 1) * D])) as i64)
            .collect();
        let model = m.clone();
        let f = move |t: Tensor<4>| model.logits(t);
        let r = run_attack(
            &f,
            &Attack::Fab(FabConfig::untargeted(norm, 10.0)),
            images(x.clone(), [n, 1, 4, 4]),
            labels(&y),
            &AttackOptions::default(),
        )
        .unwrap();
        let adv = host(r.adversarial.unwrap());
        let mut checked = 0;
        for i in 0..n {
            let xi = &x[i * D..(i + 1) * D];
            let (truth, inside) = exact(&m, xi, y[i] as usize, norm);
            assert!(!r.robust[i], "{norm} sample {i}: FAB found nothing");
            let got = distance(&adv[i * D..(i + 1) * D], xi, norm);
            // Never closer than the truth (float slack), and at the truth when the box is slack.
            assert!(
                got >= truth * (1.0 - 1e-4) - 1e-6,
                "{norm} sample {i}: {got} < {truth}"
            );
            if inside {
                checked += 1;
                // FAB approaches the boundary by overshooting (η = 1.05) and stepping back
                // (β = 0.9): after 100 iterations it is within about 1 % of the minimum.
                assert!(
                    got <= truth * 1.01 + 1e-6,
                    "{norm} K={k} sample {i}: FAB at {got}, minimal {truth}"
                );
            }
        }
        assert!(
            checked >= n / 2,
            "{norm}: only {checked} samples with a slack box"
        );
    }
}

fn attacks(norm: Norm, eps: f32, seed: u64) -> Vec<Attack> {
    vec![
        Attack::ApgdT(ApgdTConfig {
            steps: 20,
            seed,
            ..ApgdTConfig::new(norm, eps)
        }),
        Attack::Fab(FabConfig {
            steps: 20,
            restarts: 2,
            seed,
            ..FabConfig::new(norm, eps)
        }),
        Attack::Fab(FabConfig {
            steps: 20,
            restarts: 2,
            seed,
            ..FabConfig::untargeted(norm, eps)
        }),
        Attack::Square(SquareConfig {
            queries: 300,
            seed,
            ..SquareConfig::new(norm, eps)
        }),
        Attack::AutoAttack(AutoAttackConfig {
            seed,
            ..AutoAttackConfig::new(norm, eps)
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    #[test]
    fn every_point_is_in_the_ball_and_the_box(
        seed in 0u64..1000,
        l2 in any::<bool>(),
        eps_frac in 0.05f32..1.0,
        k in 4usize..7,
    ) {
        let norm = if l2 { Norm::L2 } else { Norm::Linf };
        let eps = match norm { Norm::Linf => 0.3 * eps_frac, Norm::L2 => 1.5 * eps_frac };
        let n = 6;
        let m = LinearModel::random(k, D, 3.0, seed);
        let (x, y) = linear_data(&m, n, D, seed + 1);
        let model = m.clone();
        let f = move |t: Tensor<4>| model.logits(t);
        for a in attacks(norm, eps, seed) {
            let r = run_attack(&f, &a, images(x.clone(), [n, 1, 4, 4]), labels(&y),
                &AttackOptions::default()).unwrap();
            let adv = host(r.adversarial.clone().unwrap());
            let preds = m
                .logits(images(adv.clone(), [n, 1, 4, 4]))
                .argmax(1)
                .into_data()
                .try_into_vec_as::<i64>()
                .unwrap();
            for i in 0..n {
                let ai = &adv[i * D..(i + 1) * D];
                prop_assert!(ai.iter().all(|v| (0.0..=1.0).contains(v)), "{} leaves [0,1]", a.name());
                let dist = distance(ai, &x[i * D..(i + 1) * D], norm);
                prop_assert!(dist <= eps as f64 * (1.0 + 1e-5) + 1e-6,
                    "{} sample {}: {} > {}", a.name(), i, dist, eps);
                if r.correct_clean[i] && !r.robust[i] {
                    prop_assert_ne!(preds[i], y[i], "{} sample {}", a.name(), i);
                }
            }
        }
    }
}
