//! Building blocks shared by the architectures: dense and conv layers that are either full or
//! factorised (low rank), and small constructors with PyTorch-like defaults.
//!
//! Enum variants (`Full`, `LowRank`, …) never appear in parameter names: a full layer's weight
//! is `<path>.weight`, a factorised one's are `<path>.down.weight` and `<path>.up.weight`.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, Linear, LinearConfig, PaddingConfig2d};
use burn::prelude::*;

/// A dense layer `y = W x (+ b)`. burn stores `W` as `[in, out]`; see [`crate::layout`].
pub fn linear(d_in: usize, d_out: usize, bias: bool, device: &Device) -> Linear {
    LinearConfig::new(d_in, d_out).with_bias(bias).init(device)
}

/// A 2-D convolution with square kernel `k`, stride `s`, symmetric zero padding `p`.
pub fn conv(
    c_in: usize,
    c_out: usize,
    k: usize,
    s: usize,
    p: usize,
    bias: bool,
    device: &Device,
) -> Conv2d {
    Conv2dConfig::new([c_in, c_out], [k, k])
        .with_stride([s, s])
        .with_padding(PaddingConfig2d::Explicit(p, p, p, p))
        .with_bias(bias)
        .init(device)
}

/// Batch norm with PyTorch's defaults (ε = 1e-5, momentum 0.1).
pub fn batch_norm(c: usize, device: &Device) -> BatchNorm {
    BatchNormConfig::new(c).init(device)
}

/// A rank-r factorised dense layer `W = up · down` (`down`: in → r, `up`: r → out).
/// `down` has no bias; `up` carries the layer's bias if any.
#[derive(Module, Debug)]
pub struct LowRankLinear {
    /// The `[r, in]` factor (applied first).
    pub down: Linear,
    /// The `[out, r]` factor.
    pub up: Linear,
}

impl LowRankLinear {
    /// A factorised `in → out` layer of rank `rank`.
    pub fn new(d_in: usize, d_out: usize, rank: usize, bias: bool, device: &Device) -> Self {
        Self {
            down: linear(d_in, rank, false, device),
            up: linear(rank, d_out, bias, device),
        }
    }

    /// `up(down(x))`.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        self.up.forward(self.down.forward(x))
    }
}

/// A dense layer, full or factorised.
#[derive(Module, Debug)]
pub enum DenseLayer {
    /// Full-rank `Linear`.
    Full(Linear),
    /// Rank-r factorisation.
    LowRank(LowRankLinear),
}

impl DenseLayer {
    /// A full layer, or a factorised one when `rank` is given.
    pub fn new(
        d_in: usize,
        d_out: usize,
        rank: Option<usize>,
        bias: bool,
        device: &Device,
    ) -> Self {
        match rank {
            Some(r) => DenseLayer::LowRank(LowRankLinear::new(d_in, d_out, r, bias, device)),
            None => DenseLayer::Full(linear(d_in, d_out, bias, device)),
        }
    }

    /// Applies the layer.
    pub fn forward<const D: usize>(&self, x: Tensor<D>) -> Tensor<D> {
        match self {
            DenseLayer::Full(l) => l.forward(x),
            DenseLayer::LowRank(l) => l.forward(x),
        }
    }
}

/// A factorised convolution (SPEC §4): a k×k conv to `r` channels followed by a 1×1 conv to
/// the output channels.
#[derive(Module, Debug)]
pub struct LowRankConv {
    /// k×k conv, `in → r`, carrying the stride and padding.
    pub down: Conv2d,
    /// 1×1 conv, `r → out`.
    pub up: Conv2d,
}

/// A convolution, full or factorised.
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)] // burn modules are moved by value; boxing gains nothing
pub enum ConvLayer {
    /// Full conv.
    Full(Conv2d),
    /// k×k to r channels, then 1×1.
    LowRank(LowRankConv),
}

impl ConvLayer {
    /// A full conv, or a factorised one when `rank` is given.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        c_in: usize,
        c_out: usize,
        k: usize,
        s: usize,
        p: usize,
        bias: bool,
        rank: Option<usize>,
        device: &Device,
    ) -> Self {
        match rank {
            Some(r) => ConvLayer::LowRank(LowRankConv {
                down: conv(c_in, r, k, s, p, false, device),
                up: conv(r, c_out, 1, 1, 0, bias, device),
            }),
            None => ConvLayer::Full(conv(c_in, c_out, k, s, p, bias, device)),
        }
    }

    /// Applies the layer.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match self {
            ConvLayer::Full(c) => crate::conv::forward(c, x),
            ConvLayer::LowRank(l) => crate::conv::forward(&l.up, crate::conv::forward(&l.down, x)),
        }
    }

    /// `max_pool2(relu(self.forward(x)))`, fused with the last convolution where cr's kernel
    /// can ([`crate::conv::forward_relu_pool`]).
    pub fn forward_relu_pool(&self, x: Tensor<4>) -> Tensor<4> {
        match self {
            ConvLayer::Full(c) => crate::conv::forward_relu_pool(c, x),
            ConvLayer::LowRank(l) => {
                crate::conv::forward_relu_pool(&l.up, crate::conv::forward(&l.down, x))
            }
        }
    }
}

/// `[B, C, H, W] → [B, C·H·W]`.
pub fn flatten(x: Tensor<4>) -> Tensor<2> {
    let [b, c, h, w] = x.dims();
    x.reshape([b, c * h * w])
}

/// 2×2 max-pool with stride 2 (floor mode, as PyTorch's default).
pub fn max_pool2(x: Tensor<4>) -> Tensor<4> {
    crate::pool::max_pool2(x)
}

/// Global average pool `[B, C, H, W] → [B, C]`.
pub fn global_avg_pool(x: Tensor<4>) -> Tensor<2> {
    let [b, c, h, w] = x.dims();
    x.reshape([b, c, h * w]).mean_dim(2).reshape([b, c])
}

/// Output widths overridden by structured pruning (see `ModelSpec::pruned`).
#[derive(Debug, Clone, Copy)]
pub struct Widths<'a>(pub &'a std::collections::BTreeMap<String, usize>);

impl Widths<'_> {
    /// The width of layer `name`: its pruned width if any, else `default`.
    pub fn get(&self, name: &str, default: usize) -> usize {
        self.0.get(name).copied().unwrap_or(default)
    }
}
