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

use std::cell::RefCell;
use std::sync::Arc;

use rayon::prelude::*;

use crate::buffers::zeros;
use crate::conv_direct;
use crate::conv_kernel::{self, Geometry};
use crate::flex::{FlexF32, Tracked, pack_plain, pack_tracked, tensor, unpack, values};

/// Applies `conv` (groups 1, dilation 1) to `x` with cr's kernel where `x` and the weight are
/// `f32` flex tensors (with or without autodiff); with burn's `conv2d` otherwise.
pub fn forward(conv: &Conv2d, x: Tensor<4>, padding: (usize, usize, usize, usize)) -> Tensor<4> {
    let Some(g) = geometry(conv, x.dims(), padding) else {
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

/// `relu(conv(x) + bias)`, for `conv` (groups 1, dilation 1) with a constant weight and bias
/// (an attack's model, or evaluation): cr's kernel adds the bias and applies the ReLU as it
/// finishes each sample, and a tracked input gets one autodiff operation whose backward pass
/// masks the gradient with the output and runs the input gradient. The values and gradients
/// are those of burn's `relu` over the bias addition over the convolution, bit for bit. A
/// tracked weight or bias (training), or any tensor [`forward`] does not take, runs
/// `relu(forward(..))`.
pub fn forward_relu(
    conv: &Conv2d,
    x: Tensor<4>,
    padding: (usize, usize, usize, usize),
) -> Tensor<4> {
    let fused = geometry(conv, x.dims(), padding).and_then(|g| {
        let (w, bias) = constants(conv)?;
        let fused = match unpack(x.clone())? {
            FlexF32::Plain(x) => pack_plain(plain_relu(&g, &x, &w, bias.as_ref())),
            FlexF32::Tracked(x) => pack_tracked(tracked_relu(&g, x, w, bias)),
        };
        Some(fused)
    });
    fused.unwrap_or_else(|| burn::tensor::activation::relu(forward(conv, x, padding)))
}

/// `max_pool2(relu(conv(x) + bias))` ([`crate::pool::max_pool2`] over [`forward_relu`]) for a
/// constant weight and bias (an attack's model, evaluation), where cr's direct kernel takes the
/// convolution: each sample is convolved, finished and pooled while it is in cache, and only
/// the pooled output (and, for a tracked input, the index of each maximum) is written. A
/// tracked input's backward pass puts each output's gradient at its maximum where the ReLU
/// passed it, then runs the input gradient. The same bits, values and gradients, as the three
/// operations; anything else runs them.
pub fn forward_relu_pool(
    conv: &Conv2d,
    x: Tensor<4>,
    padding: (usize, usize, usize, usize),
) -> Tensor<4> {
    let direct = geometry(conv, x.dims(), padding)
        .filter(|g| conv_direct::takes(g) && g.ho >= 2 && g.wo >= 2);
    let fused = direct.and_then(|g| {
        let (w, bias) = constants(conv)?;
        let fused = match unpack(x.clone())? {
            FlexF32::Plain(x) => pack_plain(relu_pool::<false>(&g, &x, &w, bias.as_ref()).0),
            FlexF32::Tracked(x) => pack_tracked(tracked_relu_pool(&g, x, w, bias)),
        };
        Some(fused)
    });
    fused.unwrap_or_else(|| crate::pool::max_pool2(forward_relu(conv, x, padding)))
}

thread_local! {
    /// Per-thread output of one sample of [`relu_pool`], before pooling.
    static SAMPLE: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// [`forward_relu_pool`]'s kernel, sample by sample on rayon's pool: the pooled output and,
/// with `ARG`, the flat index of each output's maximum within its sample's convolution output
/// (`[O, H', W']`).
fn relu_pool<const ARG: bool>(
    g: &Geometry,
    x: &FloatTensor<Flex>,
    w: &FloatTensor<Flex>,
    bias: Option<&FloatTensor<Flex>>,
) -> (FloatTensor<Flex>, Vec<u32>) {
    let x = contiguous(x);
    let plan = conv_direct::Plan::new(g, values(w)).with_bias_relu(bias.map(values));
    let pooled = g.o * (g.ho / 2) * (g.wo / 2);
    let (sample_in, sample_out) = (g.c * g.h * g.w, g.o * g.positions());
    let mut out = zeros(g.b * pooled);
    let mut arg = zeros(if ARG { out.len() } else { 0 });
    let sample = |out: &mut [f32], x: &[f32], arg: &mut [u32]| {
        SAMPLE.with(|cell| {
            let mut y = cell.borrow_mut();
            if y.len() < sample_out {
                y.resize(sample_out, 0.0);
            }
            let y = &mut y[..sample_out];
            plan.sample(x, y);
            crate::pool::pool_planes::<ARG>(y, g.ho, g.wo, out, arg);
        });
    };
    let outs = out
        .par_chunks_mut(pooled)
        .zip(values(&x).par_chunks(sample_in));
    if ARG {
        outs.zip(arg.par_chunks_mut(pooled))
            .for_each(|((out, x), arg)| sample(out, x, arg));
    } else {
        outs.for_each(|(out, x)| sample(out, x, &mut []));
    }
    (tensor(out, &[g.b, g.o, g.ho / 2, g.wo / 2]), arg)
}

/// The backward pass of [`forward_relu_pool`] for a tracked input: each pooled output's
/// gradient `0 + g` at its maximum where the output is positive (or NaN: the ReLU passed it),
/// `+0` everywhere else (burn's max-pool backward, then its `relu_backward`), then the input
/// gradient.
#[derive(Debug)]
struct ConvReluPoolInputBackward;

impl Backward<Flex, 1> for ConvReluPoolInputBackward {
    /// The weight (contiguous), the shapes, the pooled output and each output's maximum.
    type State = (
        FloatTensor<Flex>,
        Geometry,
        FloatTensor<Flex>,
        Arc<Vec<u32>>,
    );

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [input] = ops.parents;
        let grad = contiguous(&grads.consume::<Flex>(&ops.node));
        let (w, g, out, arg) = ops.state;
        let Some(input) = input else { return };
        let (sample_out, pooled) = (g.o * g.positions(), g.o * (g.ho / 2) * (g.wo / 2));
        let pooled_grads = arg.par_chunks(pooled).zip(
            values(&out)
                .par_chunks(pooled)
                .zip(values(&grad).par_chunks(pooled)),
        );
        let dx = match conv_kernel::direct_input_grad(&g, values(&w)) {
            // Sample by sample: each sample's gradient before the pool stays in cache for
            // its input gradient, and no batch of them is written.
            Some((t, flipped)) => {
                let plan = conv_direct::Plan::new(&t, &flipped);
                let mut dx = zeros(g.b * g.c * g.h * g.w);
                dx.par_chunks_mut(g.c * g.h * g.w)
                    .zip(pooled_grads)
                    .for_each(|(dx, (arg, (out, grad)))| {
                        SAMPLE.with(|cell| {
                            let mut dz = cell.borrow_mut();
                            dz.clear();
                            dz.resize(sample_out, 0.0);
                            unpool(&mut dz, arg, out, grad);
                            plan.sample(&dz, dx);
                        });
                    });
                tensor(dx, &[g.b, g.c, g.h, g.w])
            }
            None => {
                let mut dz = zeros(g.b * sample_out);
                dz.par_chunks_mut(sample_out)
                    .zip(pooled_grads)
                    .for_each(|(dz, (arg, (out, grad)))| unpool(dz, arg, out, grad));
                let dz = tensor(dz, &[g.b, g.o, g.ho, g.wo]);
                input_gradient(&g, &dz, &w)
            }
        };
        grads.register::<Flex>(input.id, dx);
    }
}

/// One sample's gradient before the ReLU and pool (`dz`, zero on entry) from its pooled
/// outputs `out`, their gradients `grad` and the index of each one's maximum `arg`: `0 + g`
/// at the maximum where the ReLU passed it (burn's max-pool backward, then its
/// `relu_backward`).
fn unpool(dz: &mut [f32], arg: &[u32], out: &[f32], grad: &[f32]) {
    for ((&at, &y), &d) in arg.iter().zip(out).zip(grad) {
        dz[at as usize] = if conv_kernel::relu_passes(y) {
            0.0 + d
        } else {
            0.0
        };
    }
}

fn tracked_relu_pool(
    g: &Geometry,
    x: Tracked,
    w: FloatTensor<Flex>,
    bias: Option<FloatTensor<Flex>>,
) -> Tracked {
    match ConvReluPoolInputBackward
        .prepare::<NoCheckpointing>([x.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let (out, arg) = relu_pool::<true>(g, x.primitive(), &w, bias.as_ref());
            prep.finish((w, *g, out.clone(), Arc::new(arg)), out)
        }
        OpsKind::UnTracked(prep) => {
            prep.finish(relu_pool::<false>(g, x.primitive(), &w, bias.as_ref()).0)
        }
    }
}

/// The shapes of `conv` on an input of shape `dims` where cr's kernel takes it (groups 1,
/// dilation 1, the input's channels the weight's).
fn geometry(
    conv: &Conv2d,
    dims: [usize; 4],
    padding: (usize, usize, usize, usize),
) -> Option<Geometry> {
    let [o, c, kh, kw] = conv.weight.dims();
    Geometry::new(dims, [o, kh, kw], conv.stride, padding)
        .filter(|g| conv.groups == 1 && conv.dilation == [1, 1] && c == g.c)
}

/// `conv`'s weight and bias as contiguous plain flex tensors, or `None` where either is
/// tracked (training) or not an `f32` flex tensor.
fn constants(conv: &Conv2d) -> Option<(FloatTensor<Flex>, Option<FloatTensor<Flex>>)> {
    let bias = match &conv.bias {
        Some(b) => Some(constant(b.val())?),
        None => None,
    };
    Some((constant(conv.weight.val())?, bias))
}

/// `t` as a contiguous plain flex tensor, or `None` where it is tracked or not an `f32` flex
/// tensor.
fn constant<const D: usize>(t: Tensor<D>) -> Option<FloatTensor<Flex>> {
    match unpack(t)? {
        FlexF32::Plain(t) => Some(contiguous(&t)),
        FlexF32::Tracked(_) => None,
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

/// [`plain`] with the bias added and the ReLU applied.
fn plain_relu(
    g: &Geometry,
    x: &FloatTensor<Flex>,
    w: &FloatTensor<Flex>,
    bias: Option<&FloatTensor<Flex>>,
) -> FloatTensor<Flex> {
    let x = contiguous(x);
    let y = conv_kernel::forward_bias_relu(g, values(&x), values(w), bias.map(values));
    tensor(y, &[g.b, g.o, g.ho, g.wo])
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

/// The backward pass of [`forward_relu`] for a tracked input: the gradient where the output is
/// positive (or NaN), as burn's `relu_backward`, then the input gradient.
#[derive(Debug)]
struct ConvReluInputBackward;

impl Backward<Flex, 1> for ConvReluInputBackward {
    /// The weight (contiguous), the shapes and the output.
    type State = (FloatTensor<Flex>, Geometry, FloatTensor<Flex>);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [input] = ops.parents;
        let grad = contiguous(&grads.consume::<Flex>(&ops.node));
        let (w, g, y) = ops.state;
        if let Some(input) = input {
            let masked = conv_kernel::relu_mask(values(&y), values(&grad));
            let masked = tensor(masked, &[g.b, g.o, g.ho, g.wo]);
            grads.register::<Flex>(input.id, input_gradient(&g, &masked, &w));
        }
    }
}

fn tracked_relu(
    g: &Geometry,
    x: Tracked,
    w: FloatTensor<Flex>,
    bias: Option<FloatTensor<Flex>>,
) -> Tracked {
    match ConvReluInputBackward
        .prepare::<NoCheckpointing>([x.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let out = plain_relu(g, x.primitive(), &w, bias.as_ref());
            prep.finish((w, *g, out.clone()), out)
        }
        OpsKind::UnTracked(prep) => prep.finish(plain_relu(g, x.primitive(), &w, bias.as_ref())),
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

    fn bits(t: Tensor<4>) -> Vec<u32> {
        let v: Vec<f32> = t.into_data().try_to_vec().unwrap();
        v.into_iter().map(f32::to_bits).collect()
    }

    /// The fused ReLU and ReLU-pool operations (a constant weight and bias, as attacks run)
    /// give the bits of the operations they replace, values and input gradients, plain and
    /// tracked: on shapes the direct kernel takes and on ones it leaves to the others (7×7
    /// stride 2; a patch over its limit; a forward pass it takes whose input gradient, with 40
    /// output channels, it does not), with ReLU ties (zeros of both signs) and a NaN.
    #[test]
    fn fused_relu_and_pool_give_the_bits_of_the_separate_operations() {
        let ad = Device::flex().autodiff();
        let plain = Device::flex();
        for (cin, cout, k, s, p, bias, hw, b) in [
            (1, 16, 3, 1, 1, true, 28, 2),
            (16, 32, 3, 1, 1, true, 14, 2),
            (3, 5, 3, 1, 1, false, 9, 3),
            (3, 4, 7, 2, 3, true, 20, 2),
            (40, 3, 3, 1, 1, true, 6, 2),
            (4, 40, 3, 1, 1, true, 8, 2),
        ] {
            let c = crate::init::init_params(conv(cin, cout, k, s, p, bias, &plain), 4);
            let n = b * cin * hw * hw;
            let mut data: Vec<f32> = (0..n)
                .map(|i| match i % 7 {
                    0 => 0.0,
                    1 => -0.0,
                    _ => ((i * 37 % 101) as f32) / 101.0 - 0.5,
                })
                .collect();
            data[n / 2] = f32::NAN;
            let pad = (p, p, p, p);
            let what = format!("{cin}->{cout} k{k} s{s}");
            let relu = |y| burn::tensor::activation::relu(y);
            // Plain input.
            let x = Tensor::<4>::from_data(TensorData::new(data.clone(), [b, cin, hw, hw]), &plain);
            let separate = relu(forward(&c, x.clone(), pad));
            assert_eq!(
                bits(forward_relu(&c, x.clone(), pad)),
                bits(separate.clone()),
                "{what}"
            );
            let pooled = crate::pool::max_pool2(separate);
            assert_eq!(
                bits(forward_relu_pool(&c, x, pad)),
                bits(pooled),
                "pool {what}"
            );
            // Tracked input, constant weight: values and input gradients.
            let x = Tensor::<4>::from_data(TensorData::new(data.clone(), [b, cin, hw, hw]), &ad)
                .require_grad();
            let run = |y: Tensor<4>| {
                let weights = y.clone().sin(); // a loss whose gradient is not uniform
                let grads = (y.clone() * weights).sum().backward();
                (bits(y.inner()), bits(x.grad(&grads).unwrap()))
            };
            let separate = || relu(forward(&c, x.clone(), pad));
            assert_eq!(
                run(forward_relu(&c, x.clone(), pad)),
                run(separate()),
                "{what}"
            );
            assert_eq!(
                run(forward_relu_pool(&c, x.clone(), pad)),
                run(crate::pool::max_pool2(separate())),
                "pool {what}"
            );
        }
    }
}
