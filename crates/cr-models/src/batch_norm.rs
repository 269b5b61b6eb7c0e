//! Batch norm on the CPU: cr's own kernel on burn's `flex` backend (`batch_norm_kernel`),
//! registered with burn's autodiff as one operation; burn's `BatchNorm::forward` elsewhere.
//!
//! burn's training pass is built from tensor operations: transposed copies to reduce over the
//! channel, then subtract, divide, multiply and add, each over the whole activation, and about
//! as many again in its backward pass. In the ResNet18 training step that was about a sixth of
//! the profile (its copies alone 8%). Here the statistics are two reading passes, the output one
//! writing pass, and the backward pass one reading pass for its two sums and one that writes the
//! input's gradient. The running statistics are updated as burn updates them (momentum, the
//! biased variance), so a model trained here evaluates the same under burn's layer.
//!
//! The evaluation map `γ (x − μ) / σ + β` with the running statistics is one pass, and its
//! input gradient one more, for a plain input or a tracked one (an attack); where γ or β want a
//! gradient in evaluation mode, or the tensors are not `f32` flex tensors (another backend, a
//! gradient-checkpointing device), burn's layer runs.

use burn::backend::Flex;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::nn::BatchNorm;
use burn::prelude::*;
use burn::tensor::TensorData;

use crate::batch_norm_kernel::{self as kernel, Affine, Planes, TrainState};
use crate::flex::{FlexF32, pack_plain, pack_tracked, tensor, unpack, values};

/// Applies `bn` to `x` (`[B, C, H, W]`): with the batch's statistics where burn's layer would
/// (an autodiff device and the layer's training flag on; the running statistics are updated),
/// with the running statistics otherwise.
pub fn forward(bn: &BatchNorm, x: Tensor<4>) -> Tensor<4> {
    let training = x.device().is_autodiff() && bn.training.is_enabled();
    let ours = match training {
        true => train(bn, x.clone()),
        false => evaluate(bn, x.clone()),
    };
    ours.unwrap_or_else(|| bn.forward(x))
}

/// The shape of `x` as planes.
fn planes([b, c, h, w]: [usize; 4]) -> Planes {
    Planes { b, c, hw: h * w }
}

/// The values of a small tensor (γ, β, running statistics) on the host, or `None` where they
/// cannot be read as `f32`.
fn host(t: Tensor<1>) -> Option<Vec<f64>> {
    let v = t.into_data().try_to_vec::<f32>().ok()?;
    Some(v.into_iter().map(f64::from).collect())
}

/// The training pass on flex tensors, or `None`.
fn train(bn: &BatchNorm, x: Tensor<4>) -> Option<Tensor<4>> {
    let dims = x.dims();
    let device = x.device();
    let (FlexF32::Tracked(x), FlexF32::Tracked(gamma), FlexF32::Tracked(beta)) =
        (unpack(x)?, unpack(bn.gamma.val())?, unpack(bn.beta.val())?)
    else {
        return None;
    };
    let p = planes(dims);
    let xc = x.primitive().to_contiguous();
    let (mean, var) = kernel::statistics(p, values(&xc));
    let state = TrainState {
        planes: p,
        inv_std: kernel::inverse_std(&var, bn.epsilon),
        gamma: host(bn.gamma.val())?,
        mean,
    };
    let map = kernel::affine(
        &state.gamma,
        &host(bn.beta.val())?,
        &state.mean,
        &state.inv_std,
    );
    let y = tensor(kernel::apply(p, values(&xc), &map), &dims);
    update_running_statistics(bn, &state.mean, &var, &device);
    let out = match BatchNormBackward
        .prepare::<NoCheckpointing>([x.node(), gamma.node(), beta.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish((xc, dims, state), y),
        OpsKind::UnTracked(prep) => prep.finish(y),
    };
    Some(pack_tracked(out))
}

/// `running ← (1 − momentum)·running + momentum·batch`, for the mean and the biased variance,
/// as burn's layer.
fn update_running_statistics(bn: &BatchNorm, mean: &[f64], var: &[f64], device: &Device) {
    let m = bn.momentum;
    let blend = |running: Tensor<1>, batch: &[f64]| {
        let batch: Vec<f32> = batch.iter().map(|&v| v as f32).collect();
        let c = batch.len();
        let batch = Tensor::<1>::from_data(TensorData::new(batch, [c]), device);
        running
            .to_device(device)
            .mul_scalar(1.0 - m)
            .add(batch.mul_scalar(m))
            .detach()
    };
    bn.running_mean
        .update(blend(bn.running_mean.value_sync(), mean));
    bn.running_var
        .update(blend(bn.running_var.value_sync(), var));
}

/// The evaluation pass on flex tensors, or `None`.
fn evaluate(bn: &BatchNorm, x: Tensor<4>) -> Option<Tensor<4>> {
    if bn.gamma.val().is_require_grad() || bn.beta.val().is_require_grad() {
        return None;
    }
    let dims = x.dims();
    let p = planes(dims);
    let x = unpack(x)?;
    let inv_std = kernel::inverse_std(&host(bn.running_var.value())?, bn.epsilon);
    let mean = host(bn.running_mean.value())?;
    let map = kernel::affine(
        &host(bn.gamma.val())?,
        &host(bn.beta.val())?,
        &mean,
        &inv_std,
    );
    match x {
        FlexF32::Plain(x) => {
            let x = x.to_contiguous();
            Some(pack_plain(tensor(
                kernel::apply(p, values(&x), &map),
                &dims,
            )))
        }
        FlexF32::Tracked(x) => {
            let y = kernel::apply(p, values(&x.primitive().to_contiguous()), &map);
            let y = tensor(y, &dims);
            let out = match FixedMapBackward
                .prepare::<NoCheckpointing>([x.node()])
                .compute_bound()
                .stateful()
            {
                OpsKind::Tracked(prep) => prep.finish((map, dims), y),
                OpsKind::UnTracked(prep) => prep.finish(y),
            };
            Some(pack_tracked(out))
        }
    }
}

/// The backward pass of the training map: gradients of the input, γ and β.
#[derive(Debug)]
struct BatchNormBackward;

impl Backward<Flex, 3> for BatchNormBackward {
    /// The input (contiguous), its shape, and the batch's statistics.
    type State = (FloatTensor<Flex>, [usize; 4], TrainState);

    fn backward(self, ops: Ops<Self::State, 3>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x_node, gamma_node, beta_node] = ops.parents;
        let dy = grads.consume::<Flex>(&ops.node).to_contiguous();
        let (x, dims, state) = ops.state;
        let g = kernel::train_gradients(&state, values(&x), values(&dy));
        let c = [dims[1]];
        if let Some(node) = x_node {
            grads.register::<Flex>(node.id, tensor(g.x, &dims));
        }
        if let Some(node) = gamma_node {
            grads.register::<Flex>(node.id, tensor(g.gamma, &c));
        }
        if let Some(node) = beta_node {
            grads.register::<Flex>(node.id, tensor(g.beta, &c));
        }
    }
}

/// The backward pass of the evaluation map, whose γ and β are constants: `dx = a·dy`.
#[derive(Debug)]
struct FixedMapBackward;

impl Backward<Flex, 1> for FixedMapBackward {
    /// The map and the input's shape.
    type State = (Affine, [usize; 4]);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [x_node] = ops.parents;
        let dy = grads.consume::<Flex>(&ops.node).to_contiguous();
        let (map, dims) = ops.state;
        if let Some(node) = x_node {
            let dx = kernel::scale(planes(dims), values(&dy), &map);
            grads.register::<Flex>(node.id, tensor(dx, &dims));
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::layers::batch_norm as new_batch_norm;

    fn max_diff<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
        let scale: f32 = b.clone().abs().max().into_scalar();
        let d: f32 = (a - b).abs().max().into_scalar();
        d / scale.max(1.0)
    }

    fn input(dims: [usize; 4], device: &Device) -> Tensor<4> {
        let n = dims.iter().product();
        let data: Vec<f32> = (0..n)
            .map(|i| ((i * 37 % 101) as f32) / 25.0 - 1.5 + (i % 3) as f32)
            .collect();
        Tensor::from_data(TensorData::new(data, dims), device)
    }

    /// A layer with γ, β and running statistics that are not the defaults.
    fn layer(c: usize, device: &Device) -> BatchNorm {
        let mut bn = new_batch_norm(c, device);
        let ramp = |a: f32, b: f32| {
            let v: Vec<f32> = (0..c).map(|i| a + b * i as f32).collect();
            Tensor::<1>::from_data(TensorData::new(v, [c]), device)
        };
        let tracked = device.is_autodiff();
        let param = |t: Tensor<1>| if tracked { t.require_grad() } else { t };
        bn.gamma = bn.gamma.map(|_| param(ramp(0.5, 0.3)));
        bn.beta = bn.beta.map(|_| param(ramp(-0.2, 0.1)));
        bn.running_mean.update(ramp(0.1, 0.2));
        bn.running_var.update(ramp(0.5, 0.4));
        bn
    }

    /// Training mode on flex with autodiff: output, the gradients of x, γ and β, and the
    /// running statistics afterwards equal burn's layer, to f32 rounding.
    #[test]
    fn training_matches_burns_layer_in_values_gradients_and_running_statistics() {
        let ad = Device::flex().autodiff();
        for dims in [[4, 3, 5, 5], [2, 8, 4, 4], [3, 2, 1, 1], [1, 5, 7, 3]] {
            let x = input(dims, &ad).require_grad();
            assert!(
                train(&layer(dims[1], &ad), x.clone()).is_some(),
                "cr's kernel takes it"
            );
            let run = |ours: bool| {
                let bn = layer(dims[1], &ad);
                let y = match ours {
                    true => forward(&bn, x.clone()),
                    false => bn.forward(x.clone()),
                };
                let grads = (y.clone() * y.clone().cos()).sum().backward();
                (
                    y.inner(),
                    x.grad(&grads).unwrap(),
                    bn.gamma.val().grad(&grads).unwrap(),
                    bn.beta.val().grad(&grads).unwrap(),
                    bn.running_mean.value().inner(),
                    bn.running_var.value().inner(),
                )
            };
            let (ours, burns) = (run(true), run(false));
            let what = format!("{dims:?}");
            assert!(max_diff(ours.0, burns.0) < 1e-5, "values {what}");
            assert!(max_diff(ours.1, burns.1) < 1e-4, "input gradient {what}");
            assert!(max_diff(ours.2, burns.2) < 1e-4, "gamma gradient {what}");
            assert!(max_diff(ours.3, burns.3) < 1e-4, "beta gradient {what}");
            assert!(max_diff(ours.4, burns.4) < 1e-6, "running mean {what}");
            assert!(max_diff(ours.5, burns.5) < 1e-6, "running variance {what}");
        }
    }

    /// Evaluation mode: on the plain device, and with a tracked input through constant
    /// parameters (an attack), values and the input gradient equal burn's layer.
    #[test]
    fn evaluation_matches_burns_layer_plain_and_with_a_tracked_input() {
        let dims = [3, 4, 6, 5];
        let plain = layer(4, &Device::flex());
        let x = input(dims, &Device::flex());
        assert!(max_diff(forward(&plain, x.clone()), plain.forward(x)) < 1e-6);
        let x = input(dims, &Device::flex().autodiff()).require_grad();
        let grad = |y: Tensor<4>| x.grad(&(y.clone() * y).sum().backward()).unwrap();
        assert!(
            evaluate(&plain, x.clone()).is_some(),
            "cr's kernel takes it"
        );
        let ours = grad(forward(&plain, x.clone()));
        let burns = grad(plain.forward(x.clone()));
        assert!(max_diff(ours, burns) < 1e-5);
    }

    /// A layer whose training flag is off on an autodiff device evaluates with the running
    /// statistics and leaves them alone, as burn's.
    #[test]
    fn a_layer_in_evaluation_mode_keeps_its_running_statistics() {
        let ad = Device::flex().autodiff();
        let mut bn = layer(3, &ad).no_grad();
        bn.training = bn.training.with_value(false);
        let before = bn.running_mean.value().inner();
        let x = input([2, 3, 4, 4], &ad);
        assert!(evaluate(&bn, x.clone()).is_some(), "cr's kernel takes it");
        let ours = forward(&bn, x.clone());
        assert!(max_diff(ours.inner(), bn.forward(x).inner()) < 1e-6);
        assert!(max_diff(bn.running_mean.value().inner(), before) == 0.0);
    }
}
