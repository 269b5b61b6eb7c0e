//! Sanity checks fire on the models they are meant to catch, and bad input gives errors.
#![allow(clippy::unwrap_used)]

mod common;

use std::cell::Cell;
use std::str::FromStr;

use burn::prelude::*;
use burn::tensor::activation::softmax;
use common::*;
use cr_attacks::{
    ApgdConfig, ApgdMode, Attack, AttackError, AttackOptions, FgsmConfig, Loss, Norm, PgdConfig,
    SanityWarning, run_attack, sanity_checks,
};

const DIMS: [usize; 4] = [8, 1, 4, 4];

fn data() -> (LinearModel, Vec<f32>, Vec<i64>) {
    let model = LinearModel::random(3, 16, 2.0, 1);
    let (x, y) = linear_data(&model, DIMS[0], 16, 2);
    (model, x, y)
}

#[test]
fn a_healthy_model_raises_nothing() {
    let (m, x, y) = data();
    let model = move |t: Tensor<4>| m.logits(t);
    assert_eq!(
        sanity_checks(&model, images(x, DIMS), labels(&y)).unwrap(),
        vec![]
    );
}

#[test]
fn probabilities_are_flagged() {
    let (m, x, y) = data();
    let model = move |t: Tensor<4>| softmax(m.logits(t), 1);
    let w = sanity_checks(&model, images(x, DIMS), labels(&y)).unwrap();
    assert!(w.contains(&SanityWarning::LooksLikeProbabilities), "{w:?}");
}

#[test]
fn nondeterminism_is_flagged() {
    let (m, x, y) = data();
    let calls = Cell::new(0u32);
    let model = move |t: Tensor<4>| {
        calls.set(calls.get() + 1);
        m.logits(t).add_scalar(calls.get() as f32 * 1e-3)
    };
    let w = sanity_checks(&model, images(x, DIMS), labels(&y)).unwrap();
    assert!(
        w.iter().any(
            |w| matches!(w, SanityWarning::NonDeterministic { max_abs_diff } if *max_abs_diff > 0.0)
        ),
        "{w:?}"
    );
}

#[test]
fn zero_gradients_are_flagged() {
    let (m, x, y) = data();
    // Output independent of the input (not even connected to it).
    let bias = Tensor::<2>::from_floats([[1.0, 0.0, -1.0]], &cpu());
    let constant = move |t: Tensor<4>| bias.clone().expand([t.dims()[0], 3]);
    let w = sanity_checks(&constant, images(x.clone(), DIMS), labels(&y)).unwrap();
    assert!(
        w.contains(&SanityWarning::ZeroGradients { count: 8, n: 8 }),
        "{w:?}"
    );
    // Connected but with a zero derivative for the first half of the batch.
    let half = move |t: Tensor<4>| {
        let z = m.logits(t);
        let rows = vec![0.0f32, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0];
        let mask = Tensor::<2>::from_data(TensorData::new(rows, [8, 1]), &cpu()).expand([8, 3]);
        z * mask
    };
    let w = sanity_checks(&half, images(x, DIMS), labels(&y)).unwrap();
    assert!(
        w.contains(&SanityWarning::ZeroGradients { count: 4, n: 8 }),
        "{w:?}"
    );
}

#[test]
fn bad_input_gives_errors_not_panics() {
    let (m, x, y) = data();
    let model = move |t: Tensor<4>| m.logits(t);
    let opts = AttackOptions::default();
    let pgd = Attack::Pgd(PgdConfig::new(Norm::Linf, 0.1));
    let run = |a: &Attack, x: Vec<f32>, y: &[i64]| {
        run_attack(&model, a, images(x, DIMS), labels(y), &opts)
    };

    // A label outside 0..3.
    let mut bad = y.clone();
    bad[3] = 7;
    assert!(matches!(
        run(&pgd, x.clone(), &bad),
        Err(AttackError::LabelOutOfRange {
            index: 3,
            label: 7,
            num_classes: 3
        })
    ));
    // Too few labels.
    assert!(matches!(
        run(&pgd, x.clone(), &y[..5]),
        Err(AttackError::Shape(_))
    ));
    // Inputs outside [0, 1] with clipping on; fine with clipping off.
    let shifted: Vec<f32> = x.iter().map(|v| v + 2.0).collect();
    assert!(matches!(
        run(&pgd, shifted.clone(), &y),
        Err(AttackError::InputRange { .. })
    ));
    let unclipped = Attack::Pgd(PgdConfig {
        clip: false,
        ..PgdConfig::new(Norm::Linf, 0.1)
    });
    assert!(run(&unclipped, shifted, &y).is_ok());
    // Bad parameters name their field.
    for (a, field) in [
        (Attack::Pgd(PgdConfig::new(Norm::Linf, 0.0)), "eps"),
        (
            Attack::Pgd(PgdConfig {
                steps: 0,
                ..PgdConfig::new(Norm::Linf, 0.1)
            }),
            "steps",
        ),
        (
            Attack::Pgd(PgdConfig {
                restarts: 0,
                ..PgdConfig::new(Norm::Linf, 0.1)
            }),
            "restarts",
        ),
        (Attack::Fgsm(FgsmConfig::new(Norm::L2, f32::NAN)), "eps"),
        (
            Attack::Apgd(ApgdConfig {
                rho: 1.5,
                ..ApgdConfig::new(Norm::L2, 0.1, Loss::Ce)
            }),
            "rho",
        ),
        (
            Attack::Apgd(ApgdConfig {
                step_size: Some(-1.0),
                ..ApgdConfig::new(Norm::L2, 0.1, Loss::Ce)
            }),
            "step_size",
        ),
    ] {
        match run(&a, x.clone(), &y) {
            Err(AttackError::InvalidParam { field: f, .. }) => assert_eq!(f, field),
            other => panic!("{a:?}: expected an error on `{field}`, got {other:?}"),
        }
    }
    assert!(matches!(
        run_attack(
            &model,
            &pgd,
            images(x.clone(), DIMS),
            labels(&y),
            &AttackOptions {
                batch_size: Some(0),
                sanity: true
            }
        ),
        Err(AttackError::InvalidParam {
            field: "batch_size",
            ..
        })
    ));
    // DLR needs three classes.
    let two = LinearModel::random(2, 16, 1.0, 3);
    let binary = move |t: Tensor<4>| two.logits(t);
    let y2: Vec<i64> = y.iter().map(|v| v % 2).collect();
    let dlr = Attack::Apgd(ApgdConfig::new(Norm::Linf, 0.1, Loss::Dlr));
    assert!(matches!(
        run_attack(&binary, &dlr, images(x, DIMS), labels(&y2), &opts),
        Err(AttackError::TooFewClasses(2))
    ));
    // Names.
    assert_eq!(Norm::from_str("Linf").unwrap(), Norm::Linf);
    assert_eq!(Norm::from_str("2").unwrap(), Norm::L2);
    assert!(Norm::from_str("l3").is_err());
    assert_eq!(ApgdMode::from_str("art").unwrap(), ApgdMode::Art);
    assert!(ApgdMode::from_str("fast").is_err());
}
