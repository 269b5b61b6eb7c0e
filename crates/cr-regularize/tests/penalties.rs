//! Every penalty against hand values, its gradient against central finite differences, the
//! nuclear-norm surrogate against numpy's U·Vᵀ, and Frobenius normalisation against its target.

#![allow(clippy::unwrap_used)]

use burn::prelude::*;
use cr_models::device::cpu;
use cr_models::{Arch, LayerMatrix, Model, ModelSpec, Selection};
use cr_regularize::config::{
    Frobenius, GroupLasso, L1, Layers, NuclearNorm, RowNorm, ScaleInvariantGroupLasso, Spread,
};
use cr_regularize::{RegularizeConfig, Regularizer};

/// FCN 3 → 4 → 2 (no bias): one hidden layer `layers.0` [4, 3] and the head [2, 4].
fn tiny(w: &[f32], device: &Device) -> Model {
    let spec = ModelSpec {
        arch: Arch::Fcn {
            width: 4,
            depth: 1,
            bias: false,
            layer_rank: None,
        },
        input: [1, 1, 3],
        num_classes: 2,
        pruned: Default::default(),
        normalize: None,
    };
    let m = Model::new(&spec, device, 0).unwrap();
    m.set_layer_matrix(
        "layers.0",
        &LayerMatrix {
            rows: 4,
            cols: 3,
            data: w.to_vec(),
        },
    )
    .unwrap()
}

// Rows: (3, 4, 0) ‖·‖₂ = 5; (0, 0, 0) 0; (1, 2, 2) 3; (0, -6, 8) 10.
const W: [f32; 12] = [3., 4., 0., 0., 0., 0., 1., 2., 2., 0., -6., 8.];

fn value(cfg: &RegularizeConfig, w: &[f32]) -> f64 {
    let device = cpu();
    let m = tiny(w, &device);
    let reg = Regularizer::new(cfg, &m).unwrap();
    let v: f32 = reg.total_penalty(&m).unwrap().into_scalar();
    v as f64
}

fn gl(alpha: f64) -> RegularizeConfig {
    RegularizeConfig {
        group_lasso: Some(GroupLasso {
            alpha,
            layers: Layers::Hidden,
        }),
        ..Default::default()
    }
}

fn si(alpha: f64) -> RegularizeConfig {
    RegularizeConfig {
        scale_invariant_group_lasso: Some(ScaleInvariantGroupLasso {
            alpha,
            layers: Layers::Hidden,
        }),
        ..Default::default()
    }
}

fn nuc(alpha: f64) -> RegularizeConfig {
    RegularizeConfig {
        nuclear_norm: Some(NuclearNorm {
            alpha,
            layers: Layers::Hidden,
        }),
        ..Default::default()
    }
}

fn spread(gamma: f64, norm: RowNorm, top: f64) -> RegularizeConfig {
    RegularizeConfig {
        spread: Some(Spread {
            gamma,
            top_fraction: top,
            norm,
            layers: Layers::Hidden,
        }),
        ..Default::default()
    }
}

fn l1(alpha: f64) -> RegularizeConfig {
    RegularizeConfig {
        l1: Some(L1 {
            alpha,
            layers: Layers::Hidden,
        }),
        ..Default::default()
    }
}

#[test]
fn penalty_values_match_hand_computation() {
    let close = |a: f64, b: f64| assert!((a - b).abs() < 1e-4 * (1.0 + b.abs()), "{a} vs {b}");
    // Group lasso: 0.5 · (5 + 0 + 3 + 10) (the zero row contributes √1e-12 = 1e-6).
    close(value(&gl(0.5), &W), 0.5 * 18.0);
    // Scale invariant: ρ = (5, 0, 3, 10): ‖ρ‖₁ = 18, ‖ρ‖₂ = √134.
    close(value(&si(2.0), &W), 2.0 * 18.0 / 134f64.sqrt());
    // ℓ1: Σ|w| = 7 + 0 + 5 + 14 = 26.
    close(value(&l1(0.1), &W), 2.6);
    // Spread, ℓ1 row norms ν = (7, 0, 5, 14); top 50% = {14, 7}: unbiased variance 24.5.
    close(value(&spread(1.0, RowNorm::L1, 0.5), &W), 24.5);
    // ℓ2 row norms (5, 0, 3, 10), top 50% = {10, 5}: variance 12.5; a tiny fraction still
    // takes two rows.
    close(value(&spread(1.0, RowNorm::L2, 0.01), &W), 12.5);
    // Nuclear norm of a diagonal matrix is the sum of |diagonal|.
    let diag = [2., 0., 0., 0., -3., 0., 0., 0., 0.5, 0., 0., 0.];
    close(value(&nuc(1.0), &diag), 5.5);
    // Combined penalties add up.
    let both = RegularizeConfig {
        l1: l1(0.1).l1,
        ..gl(0.5)
    };
    close(value(&both, &W), 9.0 + 2.6);
    // Zero strength: no contribution.
    let zero = RegularizeConfig {
        l1: l1(0.0).l1,
        ..gl(0.5)
    };
    close(value(&zero, &W), 9.0);
}

/// Gradient of the penalty with respect to `layers.0`'s matrix.
fn gradient(cfg: &RegularizeConfig, w: &[f32]) -> Vec<f32> {
    let device = cpu().autodiff();
    let m = tiny(w, &cpu()).for_training(&device);
    let reg = Regularizer::new(cfg, &m).unwrap();
    let (info, wt) = m.layer_tensors(Selection::HIDDEN).remove(0);
    assert_eq!(info.name, "layers.0");
    let _ = wt;
    let grads = reg.total_penalty(&m).unwrap().backward();
    // burn's Linear weight is [in, out]: its gradient transposed is the matrix gradient.
    let net = match &m.net {
        cr_models::Network::Fcn(f) => f,
        _ => unreachable!(),
    };
    let lin = match &net.layers[0] {
        cr_models::layers::DenseLayer::Full(l) => l,
        _ => unreachable!(),
    };
    let g = lin.weight.val().grad(&grads).unwrap();
    g.transpose().into_data().try_to_vec::<f32>().unwrap()
}

fn finite_difference(cfg: &RegularizeConfig, w: &[f32]) -> Vec<f64> {
    let h = 1e-3f32;
    (0..w.len())
        .map(|i| {
            let mut p = w.to_vec();
            p[i] += h;
            let mut n = w.to_vec();
            n[i] -= h;
            (value(cfg, &p) - value(cfg, &n)) / (2.0 * h as f64)
        })
        .collect()
}

#[test]
fn gradients_match_central_differences() {
    // A matrix without zero rows, ties or repeated singular values (differentiable point).
    let w: [f32; 12] = [
        0.9, -0.4, 0.3, 0.2, 0.7, -0.5, -0.6, 0.1, 0.8, 0.35, 0.25, -0.15,
    ];
    for (name, cfg) in [
        ("group lasso", gl(0.7)),
        ("scale invariant", si(1.3)),
        ("l1", l1(0.2)),
        ("spread l1", spread(0.9, RowNorm::L1, 0.5)),
        ("spread l2", spread(0.9, RowNorm::L2, 0.75)),
        ("nuclear", nuc(0.6)),
    ] {
        let g = gradient(&cfg, &w);
        let fd = finite_difference(&cfg, &w);
        for (i, (a, b)) in g.iter().zip(&fd).enumerate() {
            assert!(
                (*a as f64 - b).abs() < 2e-2 * (1.0 + b.abs()),
                "{name}: d/dw[{i}] autodiff {a} vs finite difference {b}"
            );
        }
    }
}

#[test]
fn nuclear_gradient_is_u_vt() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/polar.json"),
    )
    .unwrap();
    let fx: serde_json::Value = serde_json::from_str(&text).unwrap();
    let floats = |k: &str| -> Vec<f64> {
        fx[k]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect()
    };
    let w: Vec<f32> = floats("w").iter().map(|v| *v as f32).collect();
    // Value: Σσ. Gradient: U Vᵀ, both from numpy.
    let polar = cr_regularize::penalties::polar_factor(&w, 5, 3);
    for (a, b) in polar.iter().zip(floats("u_vt")) {
        assert!((*a as f64 - b).abs() < 1e-5, "{a} vs {b}");
    }
    let device = cpu().autodiff();
    let t = Tensor::<2>::from_data(TensorData::new(w.clone(), [5, 3]), &device).require_grad();
    let v = cr_regularize::penalties::nuclear_norm(std::slice::from_ref(&t), &device);
    let got: f32 = v.clone().inner().into_scalar();
    let want: f64 = floats("sigma").iter().sum();
    assert!((got as f64 - want).abs() < 1e-4, "{got} vs {want}");
    let g: Vec<f32> = t
        .grad(&v.backward())
        .unwrap()
        .into_data()
        .try_to_vec()
        .unwrap();
    for (a, b) in g.iter().zip(floats("u_vt")) {
        assert!((*a as f64 - b).abs() < 1e-5, "{a} vs {b}");
    }
}

#[test]
fn frobenius_normalisation_holds_after_training_steps() {
    use cr_train::{NoHooks, TrainConfig, TrainOptions};
    let _ = NoHooks;
    let device = cpu();
    // A low-rank FCN: the first layer's effective matrix (up·down) is what is normalised.
    for (rank, layers, norm, mult, dense) in [
        (None, Layers::First, None, 1.0, false),
        (None, Layers::Hidden, Some(3.0), 1.0, false),
        (Some(2), Layers::Hidden, None, 2.5, false),
        (Some(2), Layers::Hidden, None, 1.5, true),
    ] {
        let spec = ModelSpec {
            arch: Arch::Fcn {
                width: 6,
                depth: 2,
                bias: true,
                layer_rank: rank,
            },
            input: [1, 2, 2],
            num_classes: 3,
            pruned: Default::default(),
            normalize: None,
        };
        let model = Model::new(&spec, &device, 1).unwrap();
        let cfg = RegularizeConfig {
            frobenius: Some(Frobenius {
                layers,
                norm,
                reference: if dense {
                    cr_regularize::config::FrobeniusReference::Dense
                } else {
                    Default::default()
                },
                multiplier: mult,
            }),
            ..gl(0.01)
        };
        let mut reg = Regularizer::new(&cfg, &model).unwrap();
        let targets: Vec<(String, f64)> =
            match &serde_json::to_value(cr_train::Hooks::state(&reg)).unwrap() {
                serde_json::Value::Object(m) => m
                    .iter()
                    .map(|(k, v)| (k.clone(), v.as_f64().unwrap()))
                    .collect(),
                _ => unreachable!(),
            };
        let initial = model.effective_matrices(Selection::ALL);
        for (name, t) in &targets {
            let m0 = &initial.iter().find(|(n, _)| n == name).unwrap().1;
            let f0 = m0
                .data
                .iter()
                .map(|v| (*v as f64).powi(2))
                .sum::<f64>()
                .sqrt();
            // Dense reference: √(rows/3) of a 6-unit layer.
            let want = norm.unwrap_or(if dense {
                (6.0f64 / 3.0).sqrt() * mult
            } else {
                f0 * mult
            });
            assert!(
                (t - want).abs() < 1e-4 * want,
                "{name}: target {t} vs {want}"
            );
        }
        let data = Blobs(24);
        let cfg_t = TrainConfig {
            epochs: 2,
            batch_size: 8,
            val_fraction: 0.0,
            early_stopping: None,
            ..TrainConfig::default()
        };
        let out = cr_train::train(
            model,
            &data,
            &cfg_t,
            &mut reg,
            &TrainOptions::default(),
            &device,
        )
        .unwrap();
        let after = out.model.effective_matrices(Selection::ALL);
        assert_eq!(targets.len(), if layers == Layers::First { 1 } else { 2 });
        for (name, t) in &targets {
            let m = &after.iter().find(|(n, _)| n == name).unwrap().1;
            let f = m
                .data
                .iter()
                .map(|v| (*v as f64).powi(2))
                .sum::<f64>()
                .sqrt();
            assert!(
                (f - t).abs() <= 1e-5 * t.max(1.0),
                "{name}: ‖W‖_F = {f}, target {t}"
            );
        }
    }
}

/// A tiny deterministic 3-class data set on [1, 2, 2] inputs.
struct Blobs(usize);
impl cr_train::TrainData for Blobs {
    fn len(&self) -> usize {
        self.0
    }
    fn num_classes(&self) -> usize {
        3
    }
    fn label(&self, i: usize) -> usize {
        i % 3
    }
    fn batch(
        &self,
        idx: &[usize],
        _: Option<&mut rand_chacha::ChaCha8Rng>,
        device: &Device,
    ) -> (Tensor<4>, Tensor<1, Int>) {
        let x: Vec<f32> = idx
            .iter()
            .flat_map(|&i| {
                (0..4).map(move |j| ((i * 7 + j * 3) % 10) as f32 / 10.0 + (i % 3) as f32 * 0.1)
            })
            .collect();
        let y: Vec<i64> = idx.iter().map(|&i| (i % 3) as i64).collect();
        (
            Tensor::from_data(TensorData::new(x, [idx.len(), 1, 2, 2]), device),
            Tensor::from_data(TensorData::new(y, [idx.len()]), device),
        )
    }
}

#[test]
fn bad_strengths_name_the_field() {
    let device = cpu();
    let m = tiny(&W, &device);
    for (cfg, field) in [
        (gl(-1.0), "regularize.group_lasso.alpha"),
        (nuc(f64::NAN), "regularize.nuclear_norm.alpha"),
        (
            spread(1.0, RowNorm::L1, 0.0),
            "regularize.spread.top_fraction",
        ),
    ] {
        let err = Regularizer::new(&cfg, &m).unwrap_err().to_string();
        assert!(err.contains(field), "{err}");
    }
    let err = toml::from_str::<RegularizeConfig>("[group_lasso]\nalpha = 1.0\nalhpa = 2.0\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("alhpa"), "{err}");
}
