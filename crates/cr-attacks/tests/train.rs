//! The adversarial-training helper replaces exactly the requested fraction of a minibatch.
#![allow(clippy::unwrap_used)]

mod common;

use burn::prelude::*;
use common::*;
use cr_attacks::{AttackError, Norm, PgdConfig, Replace, adversarial_batch};

const DIMS: [usize; 4] = [10, 1, 4, 4];

fn setup() -> (LinearModel, Vec<f32>, Vec<i64>) {
    let model = LinearModel::random(3, 16, 4.0, 9);
    let (x, y) = linear_data(&model, DIMS[0], 16, 10);
    (model, x, y)
}

fn rows_changed(a: &[f32], b: &[f32]) -> Vec<usize> {
    let d = a.len() / DIMS[0];
    (0..DIMS[0])
        .filter(|&i| {
            a[i * d..(i + 1) * d]
                .iter()
                .zip(&b[i * d..(i + 1) * d])
                .any(|(p, q)| p.to_bits() != q.to_bits())
        })
        .collect()
}

#[test]
fn first_fraction_is_replaced_and_the_rest_untouched() {
    let (m, x, y) = setup();
    let model = move |t: Tensor<4>| m.logits(t);
    let pgd = PgdConfig::new(Norm::Linf, 0.1);
    for (fraction, want) in [(0.5, 5usize), (0.35, 3), (0.0, 0), (1.0, 10)] {
        let out = adversarial_batch(
            &model,
            images(x.clone(), DIMS),
            labels(&y),
            &pgd,
            fraction,
            Replace::First,
        )
        .unwrap();
        assert_eq!(out.replaced, (0..want).collect::<Vec<_>>());
        let adv = host(out.x);
        // With a random start every replaced row moves; no other row does.
        assert_eq!(rows_changed(&adv, &x), out.replaced, "fraction {fraction}");
        let d = 16;
        for &i in &out.replaced {
            let dist = adv[i * d..(i + 1) * d]
                .iter()
                .zip(&x[i * d..(i + 1) * d])
                .map(|(a, b)| (a - b).abs())
                .fold(0f32, f32::max);
            assert!(dist <= 0.1 + 1e-6);
        }
    }
}

#[test]
fn random_subset_is_seeded() {
    let (m, x, y) = setup();
    let model = move |t: Tensor<4>| m.logits(t);
    let pgd = PgdConfig::new(Norm::L2, 0.5);
    let run = |seed| {
        adversarial_batch(
            &model,
            images(x.clone(), DIMS),
            labels(&y),
            &pgd,
            0.5,
            Replace::Random { seed },
        )
        .unwrap()
    };
    let (a, b, c) = (run(1), run(1), run(2));
    assert_eq!(a.replaced.len(), 5);
    assert!(a.replaced.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(a.replaced, b.replaced);
    assert_ne!(a.replaced, c.replaced);
    let adv = host(a.x);
    assert_eq!(rows_changed(&adv, &x), a.replaced);
    assert_eq!(adv, host(b.x));
}

#[test]
fn bad_fraction_is_an_error() {
    let (m, x, y) = setup();
    let model = move |t: Tensor<4>| m.logits(t);
    let err = adversarial_batch(
        &model,
        images(x, DIMS),
        labels(&y),
        &PgdConfig::new(Norm::Linf, 0.1),
        1.5,
        Replace::First,
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            AttackError::InvalidParam {
                field: "fraction",
                ..
            }
        ),
        "{err}"
    );
}
