//! Shared test fixtures: a CPU device, seeded synthetic data, a linear model with its exact
//! robustness, and a small MLP (burn `Linear`) trained here.
#![allow(clippy::unwrap_used)]
#![allow(dead_code)]

use burn::module::Param;
use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::activation::relu;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use cr_attacks::{Norm, ce_loss};

pub fn cpu() -> Device {
    Device::flex()
}

pub fn images(data: Vec<f32>, dims: [usize; 4]) -> Tensor<4> {
    Tensor::from_data(TensorData::new(data, dims), &cpu())
}

pub fn labels(y: &[i64]) -> Tensor<1, Int> {
    Tensor::from_data(TensorData::new(y.to_vec(), [y.len()]), &cpu())
}

pub fn host(t: Tensor<4>) -> Vec<f32> {
    t.into_data().try_into_vec_as::<f32>().unwrap()
}

/// A linear classifier `z = W x + b` on flattened images, with host copies of its weights.
#[derive(Clone)]
pub struct LinearModel {
    /// `[K][d]`
    pub w: Vec<Vec<f64>>,
    pub b: Vec<f64>,
    wt: Tensor<2>,
    bt: Tensor<2>,
}

impl LinearModel {
    /// Gaussian weights times `scale` (a larger scale sharpens the softmax).
    pub fn random(k: usize, d: usize, scale: f64, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let w: Vec<Vec<f64>> = (0..k)
            .map(|_| {
                (0..d)
                    .map(|_| scale * rng.sample::<f64, _>(StandardNormal))
                    .collect()
            })
            .collect();
        let b: Vec<f64> = (0..k)
            .map(|_| 0.5 * scale * rng.sample::<f64, _>(StandardNormal))
            .collect();
        let mut flat = vec![0f32; d * k];
        for (j, row) in w.iter().enumerate() {
            for (i, v) in row.iter().enumerate() {
                flat[i * k + j] = *v as f32; // [d, K]
            }
        }
        let wt = Tensor::from_data(TensorData::new(flat, [d, k]), &cpu());
        let bt = Tensor::from_data(
            TensorData::new(b.iter().map(|v| *v as f32).collect::<Vec<_>>(), [1, k]),
            &cpu(),
        );
        Self { w, b, wt, bt }
    }

    pub fn logits(&self, x: Tensor<4>) -> Tensor<2> {
        let [n, ..] = x.dims();
        let k = self.b.len();
        x.reshape([n as i64, -1]).matmul(self.wt.clone()) + self.bt.clone().expand([n, k])
    }

    pub fn host_logits(&self, x: &[f32]) -> Vec<f64> {
        self.w
            .iter()
            .zip(&self.b)
            .map(|(row, b)| row.iter().zip(x).map(|(w, x)| w * *x as f64).sum::<f64>() + b)
            .collect()
    }

    /// Exact minimal perturbation (in `norm`) that makes some other class's logit reach the
    /// label's, without box constraints: `min_{j≠y} (z_y − z_j)/‖w_y − w_j‖_dual`;
    /// `0` when the sample is already misclassified.
    pub fn exact_distance(&self, x: &[f32], y: usize, norm: Norm) -> f64 {
        let z = self.host_logits(x);
        let mut best = f64::INFINITY;
        for j in 0..z.len() {
            if j == y {
                continue;
            }
            let gap = z[y] - z[j];
            if gap <= 0.0 {
                return 0.0;
            }
            let diff = self.w[y].iter().zip(&self.w[j]).map(|(a, b)| a - b);
            let dual = match norm {
                Norm::Linf => diff.map(f64::abs).sum::<f64>(),
                Norm::L2 => diff.map(|v| v * v).sum::<f64>().sqrt(),
            };
            best = best.min(gap / dual);
        }
        best
    }
}

/// Uniform inputs in [0, 1] with labels = a noisy argmax of `model`.
pub fn linear_data(model: &LinearModel, n: usize, d: usize, seed: u64) -> (Vec<f32>, Vec<i64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x: Vec<f32> = (0..n * d).map(|_| rng.random::<f32>()).collect();
    let y = (0..n)
        .map(|i| {
            let z = model.host_logits(&x[i * d..(i + 1) * d]);
            let arg = argmax(&z);
            if rng.random::<f64>() < 0.1 {
                ((arg + 1) % z.len()) as i64
            } else {
                arg as i64
            }
        })
        .collect();
    (x, y)
}

pub fn argmax(z: &[f64]) -> usize {
    let mut best = 0;
    for (i, v) in z.iter().enumerate() {
        if *v > z[best] {
            best = i;
        }
    }
    best
}

/// `classes` Gaussian blobs in [0, 1]^(c·h·w).
pub fn blobs(n: usize, classes: usize, dims: [usize; 3], seed: u64) -> (Vec<f32>, Vec<i64>) {
    let d = dims[0] * dims[1] * dims[2];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let centres: Vec<Vec<f32>> = (0..classes)
        .map(|_| (0..d).map(|_| rng.random_range(0.2..0.8)).collect())
        .collect();
    let mut x = Vec::with_capacity(n * d);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % classes;
        for v in &centres[c] {
            let g: f32 = rng.sample(StandardNormal);
            x.push((v + 0.15 * g).clamp(0.0, 1.0));
        }
        y.push(c as i64);
    }
    (x, y)
}

/// A two-layer MLP built from burn's `Linear`.
#[derive(Module, Debug)]
pub struct Mlp {
    pub l1: Linear,
    pub l2: Linear,
}

fn param2(data: Vec<f32>, dims: [usize; 2], device: &Device) -> Param<Tensor<2>> {
    Param::from_tensor(Tensor::from_data(TensorData::new(data, dims), device).require_grad())
}

fn param1(data: Vec<f32>, device: &Device) -> Param<Tensor<1>> {
    let n = data.len();
    Param::from_tensor(Tensor::from_data(TensorData::new(data, [n]), device).require_grad())
}

impl Mlp {
    /// Seeded init (host RNG), uniform(−1/√in, 1/√in) as PyTorch.
    pub fn new(d_in: usize, hidden: usize, k: usize, seed: u64, device: &Device) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut u = |n: usize, fan_in: usize| -> Vec<f32> {
            let a = 1.0 / (fan_in as f32).sqrt();
            (0..n).map(|_| rng.random_range(-a..a)).collect()
        };
        // burn's Linear stores [in, out].
        let l1 = Linear {
            weight: param2(u(d_in * hidden, d_in), [d_in, hidden], device),
            bias: Some(param1(u(hidden, d_in), device)),
        };
        let l2 = Linear {
            weight: param2(u(hidden * k, hidden), [hidden, k], device),
            bias: Some(param1(u(k, hidden), device)),
        };
        Self { l1, l2 }
    }

    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let [n, ..] = x.dims();
        let h = relu(self.l1.forward(x.reshape([n as i64, -1])));
        self.l2.forward(h)
    }
}

fn sgd<const D: usize>(
    p: Param<Tensor<D>>,
    grads: &burn::tensor::Gradients,
    lr: f32,
) -> Param<Tensor<D>> {
    let t = p.val();
    let g = t.grad(grads).expect("parameter gradient");
    Param::from_tensor((t.inner() - g.mul_scalar(lr)).autodiff().require_grad())
}

/// Full-batch gradient descent on the cross-entropy; returns an evaluation copy.
pub fn train_mlp(
    x: &[f32],
    y: &[i64],
    dims: [usize; 4],
    hidden: usize,
    k: usize,
    steps: usize,
) -> Mlp {
    let ad = cpu().autodiff();
    let d = dims[1] * dims[2] * dims[3];
    let mut mlp = Mlp::new(d, hidden, k, 11, &ad);
    let xt = Tensor::<4>::from_data(TensorData::new(x.to_vec(), dims), &ad);
    let yt = Tensor::<1, Int>::from_data(TensorData::new(y.to_vec(), [y.len()]), &ad);
    for _ in 0..steps {
        let loss = ce_loss(mlp.forward(xt.clone()), yt.clone()).mean();
        let grads = loss.backward();
        let lr = 0.5;
        mlp = Mlp {
            l1: Linear {
                weight: sgd(mlp.l1.weight, &grads, lr),
                bias: mlp.l1.bias.map(|b| sgd(b, &grads, lr)),
            },
            l2: Linear {
                weight: sgd(mlp.l2.weight, &grads, lr),
                bias: mlp.l2.bias.map(|b| sgd(b, &grads, lr)),
            },
        };
    }
    mlp.valid()
}
