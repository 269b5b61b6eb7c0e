//! Convolution forward passes: cr's kernel on the CPU, burn's native kernel elsewhere, im2col
//! by tensor operations on the `ndarray` backend.
//!
//! The algorithm follows the device of the tensor being convolved, so there is no
//! process-wide setting:
//!
//! * on burn's default CPU backend, `flex`: cr's own convolution (`conv_flex`): im2col/col2im
//!   around one matrix product per group of samples on faer's kernels, forward, input gradient
//!   and weight gradient registered with burn's autodiff as one operation;
//! * on burn's `ndarray` backend: [`im2col`] from tensor operations (its native input gradient
//!   is about 8× slower): the k×k shifted (and strided) views of the zero-padded input stacked
//!   into `[B, k·k·C, H'·W']` and multiplied by the weight read as `[O, k·k·C]`;
//! * everywhere else (GPU backends): burn's native kernel.
//!
//! All give the same numbers to f32 rounding (tested against burn's kernel, values and
//! gradients, and cr's kernel against the definition).

use burn::nn::PaddingConfig2d;
use burn::nn::conv::Conv2d;
use burn::prelude::*;
use burn::tensor::Slice;

/// How convolutions are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvAlgorithm {
    /// cr's kernel on burn's `flex` CPU backend (im2col/col2im and faer's matrix products).
    Flex,
    /// Stacked shifted views and one matrix product by tensor operations (the `ndarray`
    /// backend).
    Im2col,
    /// burn's native kernel (GPU backends).
    Native,
}

/// The algorithm for tensors on `device` (with or without autodiff): cr's kernel on `flex`,
/// im2col on burn's `ndarray` backend, the native kernel on every other.
pub fn algorithm_for(device: &Device) -> ConvAlgorithm {
    let plain = device.clone().without_autodiff();
    #[cfg(feature = "ndarray")]
    #[allow(deprecated)] // burn 0.22 marks ndarray deprecated; kept for comparison.
    if plain == Device::ndarray() {
        return ConvAlgorithm::Im2col;
    }
    if plain == Device::flex() {
        return ConvAlgorithm::Flex;
    }
    ConvAlgorithm::Native
}

/// Applies `conv` to `x` with the algorithm of `x`'s device ([`algorithm_for`]).
pub fn forward(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    match algorithm_for(&x.device()) {
        ConvAlgorithm::Flex => {
            let padding = padding(conv);
            crate::conv_flex::forward(conv, x, padding)
        }
        ConvAlgorithm::Native => conv.forward(x),
        ConvAlgorithm::Im2col => forward_im2col(conv, x),
    }
}

/// `relu(conv(x))` with the algorithm of `x`'s device: on `flex`, with a constant weight and
/// bias, one operation of cr's kernel that adds the bias and applies the ReLU as it writes the
/// output (the same bits); otherwise `relu(forward(conv, x))`.
pub fn forward_relu(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    match algorithm_for(&x.device()) {
        ConvAlgorithm::Flex => crate::conv_flex::forward_relu(conv, x, padding(conv)),
        _ => burn::tensor::activation::relu(forward(conv, x)),
    }
}

/// `max_pool2(relu(conv(x)))` with the algorithm of `x`'s device: on `flex`, for a plain input
/// and a constant weight and bias, one pass of cr's kernel per sample that writes only the
/// pooled output (the same bits); otherwise the three operations.
pub fn forward_relu_pool(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    match algorithm_for(&x.device()) {
        ConvAlgorithm::Flex => crate::conv_flex::forward_relu_pool(conv, x, padding(conv)),
        _ => crate::pool::max_pool2(forward_relu(conv, x)),
    }
}

/// `conv`'s zero padding as `(top, left, bottom, right)`.
fn padding(conv: &Conv2d) -> (usize, usize, usize, usize) {
    let [_, _, kh, kw] = conv.weight.dims();
    match conv.padding {
        PaddingConfig2d::Explicit(t, l, b, r) => (t, l, b, r),
        PaddingConfig2d::Valid => (0, 0, 0, 0),
        // Same padding for stride 1: split the k−1 extra pixels as PyTorch does.
        PaddingConfig2d::Same => ((kh - 1) / 2, (kw - 1) / 2, kh / 2, kw / 2),
    }
}

/// Applies `conv` to `x` by [`im2col`] on any device (burn's kernel for grouped or dilated
/// convolutions, which im2col does not cover).
pub fn forward_im2col(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    if conv.groups != 1 || conv.dilation != [1, 1] {
        return conv.forward(x);
    }
    let pad = padding(conv);
    im2col(
        x,
        conv.weight.val(),
        conv.bias.as_ref().map(|b| b.val()),
        conv.stride,
        pad,
    )
}

/// Convolution of `x` `[B, C, H, W]` with `weight` `[O, C, kh, kw]`, stride `[sh, sw]`,
/// zero padding `(top, left, bottom, right)`, by im2col.
pub fn im2col(
    x: Tensor<4>,
    weight: Tensor<4>,
    bias: Option<Tensor<1>>,
    stride: [usize; 2],
    (pt, pl, pb, pr): (usize, usize, usize, usize),
) -> Tensor<4> {
    let [b, c, h, w] = x.dims();
    let [o, _, kh, kw] = weight.dims();
    let [sh, sw] = [stride[0].max(1), stride[1].max(1)];
    let (hp, wp) = (h + pt + pb, w + pl + pr);
    let ho = (hp.saturating_sub(kh)) / sh + 1;
    let wo = (wp.saturating_sub(kw)) / sw + 1;
    let xp = if pt + pl + pb + pr > 0 {
        x.pad((pl, pr, pt, pb), burn::tensor::ops::PadMode::Constant(0.0))
    } else {
        x
    };
    let cols = if kh == 1 && kw == 1 {
        let v = if sh == 1 && sw == 1 && ho == hp && wo == wp {
            xp
        } else {
            xp.slice([
                Slice::full(),
                Slice::full(),
                Slice::new(0, Some((sh * (ho - 1) + 1) as isize), sh as isize),
                Slice::new(0, Some((sw * (wo - 1) + 1) as isize), sw as isize),
            ])
        };
        v.reshape([b, c, ho * wo])
    } else {
        let mut parts = Vec::with_capacity(kh * kw);
        for i in 0..kh {
            for j in 0..kw {
                parts.push(xp.clone().slice([
                    Slice::full(),
                    Slice::full(),
                    Slice::new(
                        i as isize,
                        Some((i + sh * (ho - 1) + 1) as isize),
                        sh as isize,
                    ),
                    Slice::new(
                        j as isize,
                        Some((j + sw * (wo - 1) + 1) as isize),
                        sw as isize,
                    ),
                ]));
            }
        }
        Tensor::cat(parts, 1).reshape([b, kh * kw * c, ho * wo])
    };
    let wm = weight.permute([0, 2, 3, 1]).reshape([1, o, kh * kw * c]);
    let mut y = wm.matmul(cols);
    if let Some(bias) = bias {
        y = y + bias.reshape([1, o, 1]);
    }
    y.reshape([b, o, ho, wo])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::conv;

    #[test]
    #[allow(deprecated)]
    fn im2col_matches_the_native_kernel_in_values_and_gradients() {
        // On the CPU backends of this build.
        check_im2col(Device::flex().autodiff());
        #[cfg(feature = "ndarray")]
        check_im2col(Device::ndarray().autodiff());
        assert_eq!(
            algorithm_for(&Device::flex().autodiff()),
            ConvAlgorithm::Flex
        );
        #[cfg(feature = "ndarray")]
        assert_eq!(
            algorithm_for(&Device::ndarray().autodiff()),
            ConvAlgorithm::Im2col
        );
    }

    fn check_im2col(device: Device) {
        for (cin, cout, k, s, p, bias, hw) in [
            (3, 4, 3, 1, 1, true, 7),
            (2, 5, 3, 2, 1, false, 8),
            (4, 3, 1, 2, 0, false, 9),
            (1, 2, 4, 4, 0, true, 8),
            (3, 3, 1, 1, 0, true, 5),
            (2, 2, 3, 1, 0, false, 6),
        ] {
            let c = conv(cin, cout, k, s, p, bias, &device);
            let c = crate::init::init_params(c, 5);
            let data: Vec<f32> = (0..2 * cin * hw * hw)
                .map(|i| ((i * 37 % 101) as f32) / 101.0 - 0.4)
                .collect();
            let x = Tensor::<4>::from_data(TensorData::new(data, [2, cin, hw, hw]), &device)
                .require_grad();
            let y0 = c.forward(x.clone());
            let g0 = (y0.clone() * y0.clone()).sum().backward();
            let (gx0, gw0) = (x.grad(&g0).unwrap(), c.weight.val().grad(&g0).unwrap());
            let y1 = forward_im2col(&c, x.clone());
            assert_eq!(y0.dims(), y1.dims());
            let g1 = (y1.clone() * y1.clone()).sum().backward();
            let (gx1, gw1) = (x.grad(&g1).unwrap(), c.weight.val().grad(&g1).unwrap());
            let diff = |a: Tensor<4>, b: Tensor<4>| -> f32 {
                (a.inner() - b.inner()).abs().max().into_scalar()
            };
            assert!(diff(y0, y1) < 1e-5);
            assert!(diff(gx0, gx1) < 1e-4);
            assert!(diff(gw0, gw1) < 1e-4);
        }
    }
}
