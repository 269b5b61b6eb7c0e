//! The certified lower bound never exceeds the empirical upper bound: on many random small
//! FCNs (ℓ2 and ℓ∞, with and without biases and input normalisation), every sample certified
//! at ε (radius `margin/(√2·L̂)`, resp. `margin/(2·L̂∞)`) survives APGD-CE at ε, so certified
//! robust accuracy ≤ robust accuracy. The budgets range from where most samples are certified
//! to where the attack breaks most, so a bound made too small (checked once by hand: dividing
//! `L̂` by 3 makes this test fail) certifies samples the attack breaks.

#![allow(clippy::unwrap_used)]

use burn::prelude::*;
use cr_attacks::{AttackOptions, run_attack};
use cr_eval::attacking::attack_of;
use cr_eval::certify::certify;
use cr_eval::config::{AttackSpec, Norm};
use cr_models::device::cpu;
use cr_models::{Arch, Model, ModelSpec, Normalize};

/// Uniform values in [0, 1) from a 64-bit LCG (Knuth's MMIX constants), seeded.
fn uniform(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (s >> 40) as f32 / (1u64 << 24) as f32
        })
        .collect()
}

fn spec(width: usize, depth: usize, bias: bool, normalize: bool) -> ModelSpec {
    ModelSpec {
        arch: Arch::Fcn {
            width,
            depth,
            bias,
            layer_rank: None,
        },
        input: [1, 3, 3],
        num_classes: 3,
        pruned: Default::default(),
        normalize: normalize.then(|| Normalize {
            mean: vec![0.4],
            std: vec![0.3],
        }),
    }
}

#[test]
fn certified_samples_survive_the_attack_on_random_fcns() {
    let device = cpu();
    let n = 24;
    let (mut certified_checked, mut broken_seen) = (0usize, 0usize);
    for net in 0..12u64 {
        let s = spec(
            3 + (net as usize % 4),
            1 + (net as usize % 3),
            net % 2 == 1,
            net % 4 == 3,
        );
        let model = Model::new(&s, &device, 100 + net).unwrap().snapshot();
        let x = Tensor::<4>::from_data(TensorData::new(uniform(n * 9, net), [n, 1, 3, 3]), &device);
        // Labels: the model's own predictions, so every sample starts correct.
        let y: Vec<usize> = model
            .forward(x.clone())
            .argmax(1)
            .into_data()
            .iter::<i64>()
            .map(|v| v as usize)
            .collect();
        let yt = Tensor::<1, Int>::from_data(
            TensorData::new(y.iter().map(|&v| v as i64).collect::<Vec<_>>(), [n]),
            &device,
        );
        for norm in [Norm::L2, Norm::Linf] {
            let probe = certify(&model, &x, &y, norm, 0.0).unwrap().unwrap();
            let mut radii: Vec<f64> = probe.radii.clone();
            radii.sort_by(f64::total_cmp);
            let median = radii[n / 2].max(1e-4);
            for mult in [0.5, 2.0, 8.0, 32.0] {
                let eps = median * mult;
                let c = certify(&model, &x, &y, norm, eps).unwrap().unwrap();
                let spec = AttackSpec {
                    attack: cr_attacks::AttackName::ApgdCe,
                    norm,
                    eps,
                    steps: Some(50),
                    restarts: Some(2),
                    step_size: None,
                    mode: None,
                    version: None,
                };
                let f = |x: Tensor<4>| model.forward(x);
                let r = run_attack(
                    &f,
                    &attack_of(&spec, net),
                    x.clone(),
                    yt.clone(),
                    &AttackOptions {
                        batch_size: None,
                        sanity: false,
                    },
                )
                .unwrap();
                for i in 0..n {
                    if c.radii[i] > eps {
                        certified_checked += 1;
                        assert!(
                            r.robust[i],
                            "net {net} {norm} eps {eps:.4}: sample {i} certified (radius {:.4}) but broken",
                            c.radii[i]
                        );
                    }
                    broken_seen += usize::from(!r.robust[i]);
                }
                assert!(c.certified_accuracy <= r.robust_accuracy);
                assert!(c.certified_accuracy_theorem_3_2 <= c.certified_accuracy);
                assert!(c.certified_accuracy_product <= c.certified_accuracy);
            }
        }
    }
    // Not vacuous: many samples were certified, and the attack broke many others.
    assert!(certified_checked > 200, "{certified_checked} certified");
    assert!(broken_seen > 200, "{broken_seen} broken");
}

#[test]
fn radius_follows_the_margin_over_the_difference_constant() {
    use cr_eval::certify::radius;
    // ℓ2: margin / (√2 L); ℓ∞: margin / (2 L); misclassified: 0.
    assert!((radius(Norm::L2, 2.0, 1.0) - 2f64.sqrt()).abs() < 1e-12);
    assert!((radius(Norm::Linf, 3.0, 0.5) - 3.0).abs() < 1e-12);
    assert_eq!(radius(Norm::L2, -0.1, 1.0), 0.0);
}
