//! Seeded parameter initialisation on the host, identical on every backend.
//!
//! PyTorch's defaults: `Linear` and `Conv2d` weights and biases `U(−b, b)` with
//! `b = 1/√fan_in` (this is `kaiming_uniform_(a=√5)` for weights), norm scales 1 and shifts 0,
//! running means 0 and variances 1; other tensors (ViT class token and position embedding)
//! a normal with σ = 0.02 truncated at ±2σ. Values are drawn from one ChaCha8 stream in
//! parameter order, so a seed fixes every weight.

use burn::module::Module;
use burn::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::layout::ParamKind;
use crate::params::map_params;

/// How conv weights are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvInit {
    /// PyTorch's default `U(−b, b)`, `b = 1/√fan_in`.
    PytorchDefault,
    /// torchvision ResNet's `kaiming_normal_(mode="fan_out", nonlinearity="relu")`:
    /// `N(0, 2/fan_out)` with `fan_out = out·kh·kw`.
    KaimingNormalFanOut,
}

/// Re-initialises every parameter of `net` from `seed` (see the module docs).
pub fn init_params<M: Module>(net: M, seed: u64) -> M {
    init_params_with(net, seed, ConvInit::PytorchDefault)
}

/// [`init_params`] with the conv weights drawn as `conv` says (linear layers, biases and norms
/// as PyTorch's defaults).
pub fn init_params_with<M: Module>(net: M, seed: u64, conv: ConvInit) -> M {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut fan_in: usize = 1;
    map_params(net, |info, old| {
        let n = info.numel();
        let values: Vec<f32> = match info.kind {
            ParamKind::ConvWeight if conv == ConvInit::KaimingNormalFanOut => {
                fan_in = info.shape.iter().skip(1).product::<usize>().max(1);
                let fan_out = info.shape[0] * info.shape.iter().skip(2).product::<usize>();
                let sd = (2.0 / fan_out.max(1) as f64).sqrt();
                (0..n)
                    .map(|_| {
                        let z: f64 = StandardNormal.sample(&mut rng);
                        (sd * z) as f32
                    })
                    .collect()
            }
            ParamKind::LinearWeight | ParamKind::ConvWeight => {
                fan_in = info.shape.iter().skip(1).product::<usize>().max(1);
                uniform(&mut rng, n, 1.0 / (fan_in as f64).sqrt())
            }
            ParamKind::Bias => uniform(&mut rng, n, 1.0 / (fan_in as f64).sqrt()),
            ParamKind::NormAffine => {
                let v = if info.key.ends_with(".weight") {
                    1.0
                } else {
                    0.0
                };
                vec![v; n]
            }
            ParamKind::RunningStat => {
                let v = if info.key.ends_with("running_var") {
                    1.0
                } else {
                    0.0
                };
                vec![v; n]
            }
            ParamKind::Other => (0..n)
                .map(|_| {
                    loop {
                        let z: f64 = StandardNormal.sample(&mut rng);
                        if z.abs() <= 2.0 {
                            break (0.02 * z) as f32;
                        }
                    }
                })
                .collect(),
        };
        Some(Tensor::from_data(
            TensorData::new(values, [n]),
            &old.device(),
        ))
    })
}

fn uniform(rng: &mut ChaCha8Rng, n: usize, bound: f64) -> Vec<f32> {
    (0..n)
        .map(|_| ((rng.random::<f64>() * 2.0 - 1.0) * bound) as f32)
        .collect()
}
