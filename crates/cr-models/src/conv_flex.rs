//! cr's convolution on burn's `flex` CPU backend, registered with burn's autodiff as one
//! operation (as [`crate::pool`]'s max-pool): the forward pass and both gradients are
//! [`crate::conv_kernel`]'s im2col/col2im around one matrix product per group of samples.
//!
//! burn-flex runs a 2-D convolution as a general 3-D one (a channels-last copy of the input,
//! im2col tiles, and for the input gradient a transposed convolution with its own copies); in
//! the CPU-scale CNN's training step that was a third of the profile. Here the input stays in
//! PyTorch's layout and the products run on faer's kernels. The bias is added by tensor
//! operations after the product, so its gradient is burn's. Any other backend, dtype, grouped or
//! dilated convolution, or a gradient-checkpointing device runs burn's `conv2d`.

use burn::backend::Flex;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::nn::conv::Conv2d;
use burn::prelude::*;

use crate::conv_kernel::{self, Geometry};
use crate::flex::{FlexF32, Tracked, pack_plain, pack_tracked, tensor, unpack, values};

/// Applies `conv` (groups 1, dilation 1) to `x` with cr's kernel where `x` and the weight are
/// `f32` flex tensors (with or without autodiff); with burn's `conv2d` otherwise.
pub fn forward(conv: &Conv2d, x: Tensor<4>, padding: (usize, usize, usize, usize)) -> Tensor<4> {
    let [_, _, kh, kw] = conv.weight.dims();
    let geometry = Geometry::new(
        x.dims(),
        [conv.weight.dims()[0], kh, kw],
        conv.stride,
        padding,
    )
    .filter(|g| conv.groups == 1 && conv.dilation == [1, 1] && conv.weight.dims()[1] == g.c);
    let Some(g) = geometry else {
        return conv.forward(x);
    };
    let Some(y) = on_flex(&g, x.clone(), conv.weight.val()) else {
        return conv.forward(x);
    };
    match &conv.bias {
        Some(bias) => y + bias.val().reshape([1, g.o, 1, 1]),
        None => y,
    }
}

/// The convolution by cr's kernel, or `None` where the tensors are not `f32` flex tensors
/// (plain, or autodiff without checkpointing; an autodiff input with a plain weight is an
/// attack's case: the weight is a constant).
fn on_flex(g: &Geometry, x: Tensor<4>, weight: Tensor<4>) -> Option<Tensor<4>> {
    match (unpack(x)?, unpack(weight)?) {
        (FlexF32::Plain(x), FlexF32::Plain(w)) => Some(pack_plain(plain(g, &x, &w))),
        (FlexF32::Tracked(x), FlexF32::Tracked(w)) => Some(pack_tracked(tracked(g, x, w))),
        (FlexF32::Tracked(x), FlexF32::Plain(w)) => Some(pack_tracked(tracked_input(g, x, w))),
        (FlexF32::Plain(_), FlexF32::Tracked(_)) => None,
    }
}

/// The values of a flex tensor in row-major order (a contiguous copy only where needed).
fn contiguous(t: &FloatTensor<Flex>) -> FloatTensor<Flex> {
    t.to_contiguous()
}

/// The forward pass on plain flex tensors.
fn plain(g: &Geometry, x: &FloatTensor<Flex>, w: &FloatTensor<Flex>) -> FloatTensor<Flex> {
    let (x, w) = (contiguous(x), contiguous(w));
    tensor(
        conv_kernel::forward(g, values(&x), values(&w)),
        &[g.b, g.o, g.ho, g.wo],
    )
}

/// The input gradient as a flex tensor.
fn input_gradient(
    g: &Geometry,
    dy: &FloatTensor<Flex>,
    w: &FloatTensor<Flex>,
) -> FloatTensor<Flex> {
    let dx = conv_kernel::input_grad(g, values(dy), values(w));
    tensor(dx, &[g.b, g.c, g.h, g.w])
}

/// The backward pass when input and weight are both tracked (training).
#[derive(Debug)]
struct Conv2dBackward;

impl Backward<Flex, 2> for Conv2dBackward {
    /// The input and the weight (contiguous), and the shapes.
    type State = (FloatTensor<Flex>, FloatTensor<Flex>, Geometry);

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [input, weight] = ops.parents;
        let grad = contiguous(&grads.consume::<Flex>(&ops.node));
        let (x, w, g) = ops.state;
        if let Some(input) = input {
            grads.register::<Flex>(input.id, input_gradient(&g, &grad, &w));
        }
        if let Some(weight) = weight {
            let dw = conv_kernel::weight_grad(&g, values(&x), values(&grad));
            grads.register::<Flex>(weight.id, tensor(dw, &[g.o, g.c, g.kh, g.kw]));
        }
    }
}

/// The backward pass when only the input is tracked (an attack on a model whose weights are
/// constants).
#[derive(Debug)]
struct Conv2dInputBackward;

impl Backward<Flex, 1> for Conv2dInputBackward {
    /// The weight (contiguous) and the shapes.
    type State = (FloatTensor<Flex>, Geometry);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [input] = ops.parents;
        let grad = contiguous(&grads.consume::<Flex>(&ops.node));
        let (w, g) = ops.state;
        if let Some(input) = input {
            grads.register::<Flex>(input.id, input_gradient(&g, &grad, &w));
        }
    }
}

fn tracked(g: &Geometry, x: Tracked, w: Tracked) -> Tracked {
    match Conv2dBackward
        .prepare::<NoCheckpointing>([x.node(), w.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let (xc, wc) = (contiguous(x.primitive()), contiguous(w.primitive()));
            let out = plain(g, &xc, &wc);
            prep.finish((xc, wc, *g), out)
        }
        OpsKind::UnTracked(prep) => prep.finish(plain(g, x.primitive(), w.primitive())),
    }
}

fn tracked_input(g: &Geometry, x: Tracked, w: FloatTensor<Flex>) -> Tracked {
    match Conv2dInputBackward
        .prepare::<NoCheckpointing>([x.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let wc = contiguous(&w);
            let out = plain(g, x.primitive(), &wc);
            prep.finish((wc, *g), out)
        }
        OpsKind::UnTracked(prep) => prep.finish(plain(g, x.primitive(), &w)),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::layers::conv;

    fn max_diff(a: Tensor<4>, b: Tensor<4>) -> f32 {
        let scale: f32 = b.clone().abs().max().into_scalar();
        let d: f32 = (a - b).abs().max().into_scalar();
        d / scale.max(1.0)
    }

    /// Values, input gradient, weight gradient and bias gradient equal burn's `conv2d` (to f32
    /// rounding) on flex with autodiff, and the values without it.
    #[test]
    fn matches_burns_convolution_in_values_and_all_gradients() {
        let ad = Device::flex().autodiff();
        for (cin, cout, k, s, p, bias, hw, b) in [
            (1, 8, 3, 1, 1, true, 28, 3),
            (8, 16, 3, 1, 1, true, 14, 2),
            (3, 4, 3, 2, 1, false, 9, 4),
            (4, 6, 1, 2, 0, false, 8, 3),
            (3, 5, 7, 2, 3, false, 20, 2),
            (3, 4, 4, 4, 0, true, 8, 2),
        ] {
            let c = crate::init::init_params(conv(cin, cout, k, s, p, bias, &ad), 3);
            let n = b * cin * hw * hw;
            let data: Vec<f32> = (0..n)
                .map(|i| ((i * 37 % 101) as f32) / 101.0 - 0.4)
                .collect();
            let x = Tensor::<4>::from_data(TensorData::new(data.clone(), [b, cin, hw, hw]), &ad)
                .require_grad();
            let run = |y: Tensor<4>| {
                let weights = y.clone().cos(); // a loss whose gradient is not uniform
                let grads = (y.clone() * weights).sum().backward();
                let gb = c.bias.as_ref().map(|b| b.val().grad(&grads).unwrap());
                (
                    y,
                    x.grad(&grads).unwrap(),
                    c.weight.val().grad(&grads).unwrap(),
                    gb,
                )
            };
            let (y0, gx0, gw0, gb0) = run(c.forward(x.clone()));
            let (y1, gx1, gw1, gb1) = run(forward(&c, x.clone(), (p, p, p, p)));
            let what = format!("{cin}->{cout} k{k} s{s} p{p}");
            assert!(max_diff(y1.inner(), y0.inner()) < 1e-5, "values {what}");
            assert!(max_diff(gx1, gx0) < 1e-5, "input gradient {what}");
            assert!(max_diff(gw1, gw0) < 1e-5, "weight gradient {what}");
            if let (Some(a), Some(b)) = (gb1, gb0) {
                let d: f32 = (a - b.clone()).abs().max().into_scalar();
                let scale: f32 = b.abs().max().into_scalar();
                assert!(d < 1e-4 * scale.max(1.0), "bias gradient {what}");
            }
            // Without autodiff, on a plain flex device.
            let plain_conv =
                crate::init::init_params(conv(cin, cout, k, s, p, bias, &Device::flex()), 3);
            let xp =
                Tensor::<4>::from_data(TensorData::new(data, [b, cin, hw, hw]), &Device::flex());
            assert!(
                max_diff(
                    forward(&plain_conv, xp.clone(), (p, p, p, p)),
                    plain_conv.forward(xp)
                ) < 1e-5
            );
        }
    }

    /// An autodiff input through a plain (constant) weight, as attacks run: cr's kernel, and
    /// the input gradient equals burn's.
    #[test]
    fn a_constant_weight_gives_the_input_gradient_of_burns_convolution() {
        let ad = Device::flex().autodiff();
        let c = crate::init::init_params(conv(3, 5, 3, 1, 1, true, &Device::flex()), 2);
        let data: Vec<f32> = (0..2 * 3 * 36)
            .map(|i| ((i * 13 % 29) as f32) / 29.0)
            .collect();
        let x = Tensor::<4>::from_data(TensorData::new(data, [2, 3, 6, 6]), &ad).require_grad();
        let g = Geometry::new(x.dims(), [5, 3, 3], [1, 1], (1, 1, 1, 1)).unwrap();
        assert!(
            on_flex(&g, x.clone(), c.weight.val()).is_some(),
            "cr's kernel takes it"
        );
        let grad = |y: Tensor<4>| x.grad(&(y.clone() * y).sum().backward()).unwrap();
        let ours = grad(forward(&c, x.clone(), (1, 1, 1, 1)));
        let burns = grad(c.forward(x.clone()));
        assert!(max_diff(ours, burns) < 1e-5);
    }

    /// An input that does not require a gradient (the first layer in training) and a weight
    /// that does not (an attack on a model) each get only the gradient asked for.
    #[test]
    fn only_the_gradients_asked_for_are_computed() {
        let ad = Device::flex().autodiff();
        let c = crate::init::init_params(conv(2, 3, 3, 1, 1, false, &ad), 1);
        let x = Tensor::<4>::ones([2, 2, 5, 5], &ad);
        let grads = forward(&c, x.clone(), (1, 1, 1, 1)).sum().backward();
        assert!(x.grad(&grads).is_none());
        assert!(c.weight.val().grad(&grads).is_some());
        let fixed = c.clone().no_grad();
        let x = x.require_grad();
        let grads = forward(&fixed, x.clone(), (1, 1, 1, 1)).sum().backward();
        assert!(x.grad(&grads).is_some());
        assert!(fixed.weight.val().grad(&grads).is_none());
    }
}
