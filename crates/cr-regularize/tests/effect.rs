//! Effect tests: with the same seed, group lasso makes the row-norm vector ν more
//! compressible and the nuclear norm makes the singular values more compressible than no
//! regulariser, on a small synthetic task (Gaussian blobs in 16 dimensions).

#![allow(clippy::unwrap_used)]

use burn::prelude::*;
use cr_linalg::{compress, matrix::from_rows_f32, norms, svd};
use cr_models::device::cpu;
use cr_models::{Arch, Model, ModelSpec, Selection};
use cr_regularize::config::{GroupLasso, Layers, NuclearNorm};
use cr_regularize::{RegularizeConfig, Regularizer};
use cr_train::{TrainConfig, TrainData, TrainOptions};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

struct Blobs {
    x: Vec<f32>,
    y: Vec<usize>,
}

const D: usize = 16;

impl Blobs {
    fn new(n: usize, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let centers: Vec<Vec<f32>> = (0..4)
            .map(|_| (0..D).map(|_| rng.random::<f32>()).collect())
            .collect();
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..n {
            let c = i % 4;
            x.extend(
                centers[c]
                    .iter()
                    .map(|m| (m + (rng.random::<f32>() - 0.5) * 0.8).clamp(0.0, 1.0)),
            );
            y.push(c);
        }
        Self { x, y }
    }
}

impl TrainData for Blobs {
    fn len(&self) -> usize {
        self.y.len()
    }
    fn num_classes(&self) -> usize {
        4
    }
    fn label(&self, i: usize) -> usize {
        self.y[i]
    }
    fn batch(
        &self,
        idx: &[usize],
        _: Option<&mut ChaCha8Rng>,
        device: &Device,
    ) -> (Tensor<4>, Tensor<1, Int>) {
        let x: Vec<f32> = idx
            .iter()
            .flat_map(|&i| self.x[i * D..(i + 1) * D].iter().copied())
            .collect();
        let y: Vec<i64> = idx.iter().map(|&i| self.y[i] as i64).collect();
        (
            Tensor::from_data(TensorData::new(x, [idx.len(), 1, 1, D]), device),
            Tensor::from_data(TensorData::new(y, [idx.len()]), device),
        )
    }
}

fn train(cfg: &RegularizeConfig) -> Model {
    let device = cpu();
    let spec = ModelSpec {
        arch: Arch::Fcn {
            width: 32,
            depth: 1,
            bias: false,
            layer_rank: None,
        },
        input: [1, 1, D],
        num_classes: 4,
        pruned: Default::default(),
        normalize: None,
    };
    let model = Model::new(&spec, &device, 3).unwrap();
    let mut reg = Regularizer::new(cfg, &model).unwrap();
    let tc = TrainConfig {
        epochs: 30,
        batch_size: 20,
        val_fraction: 0.0,
        early_stopping: None,
        seed: 5,
        ..TrainConfig::default()
    };
    let data = Blobs::new(400, 1);
    cr_train::train(
        model,
        &data,
        &tc,
        &mut reg,
        &TrainOptions::default(),
        &device,
    )
    .unwrap()
    .model
}

/// (ε₁(k) of ν, ε₁(k) of σ) of the hidden layer at k = 8 of 32 rows / 4 of 16 singular values.
fn compressibility(model: &Model) -> (f64, f64) {
    let (info, m) = model.layer_matrices(Selection::HIDDEN).remove(0);
    let w = from_rows_f32(info.rows, info.cols, &m.data).unwrap();
    let nu = norms::row_norms(&w, 1.0);
    let sigma = svd::singular_values(&w).unwrap();
    (
        compress::eps(&nu, 1.0, 8).unwrap(),
        compress::eps(&sigma, 1.0, 4).unwrap(),
    )
}

#[test]
fn group_lasso_and_nuclear_norm_raise_compressibility() {
    let base = compressibility(&train(&RegularizeConfig::default()));
    let gl = compressibility(&train(&RegularizeConfig {
        group_lasso: Some(GroupLasso {
            alpha: 0.05,
            layers: Layers::Hidden,
        }),
        ..Default::default()
    }));
    let nn = compressibility(&train(&RegularizeConfig {
        nuclear_norm: Some(NuclearNorm {
            alpha: 0.01,
            layers: Layers::Hidden,
        }),
        ..Default::default()
    }));
    eprintln!("ε₁(ν, k=8/32): none {:.4}, group lasso {:.4}", base.0, gl.0);
    eprintln!(
        "ε₁(σ, k=4/16): none {:.4}, nuclear norm {:.4}",
        base.1, nn.1
    );
    // Measurably more compressible: the tail shrinks by at least a third.
    assert!(gl.0 < 0.67 * base.0, "group lasso: {} vs {}", gl.0, base.0);
    assert!(nn.1 < 0.67 * base.1, "nuclear norm: {} vs {}", nn.1, base.1);
}
