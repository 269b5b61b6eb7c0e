//! Wide ResNet (Zagoruyko & Komodakis 2016), CIFAR form: depth 6n+4, three groups of n
//! pre-activation basic blocks of widths 16k, 32k, 64k. No dropout.

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, Linear};
use burn::prelude::*;
use burn::tensor::activation::relu;

use crate::layers::{ConvLayer, Widths, batch_norm, conv, global_avg_pool, linear};

/// Pre-activation basic block: `bn1–relu–conv1–bn2–relu–conv2` plus shortcut.
#[derive(Module, Debug)]
pub struct WrnBlock {
    /// First batch norm (pre-activation).
    pub bn1: BatchNorm,
    /// First 3×3 conv (carries the stride).
    pub conv1: ConvLayer,
    /// Second batch norm.
    pub bn2: BatchNorm,
    /// Second 3×3 conv.
    pub conv2: ConvLayer,
    /// 1×1 projection of the pre-activated input when shapes change (empty: identity).
    pub shortcut: Vec<Conv2d>,
}

impl WrnBlock {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let o = relu(crate::batch_norm::forward(&self.bn1, x.clone()));
        let y = self.conv1.forward(o.clone());
        let y = self
            .conv2
            .forward(relu(crate::batch_norm::forward(&self.bn2, y)));
        let sc = match self.shortcut.first() {
            Some(c) => crate::conv::forward(c, o),
            None => x,
        };
        y + sc
    }
}

/// WRN-d-k.
#[derive(Module, Debug)]
pub struct Wrn {
    /// 3×3 stem conv to 16 channels.
    pub conv1: Conv2d,
    /// Group 1 (stride 1, width 16k).
    pub block1: Vec<WrnBlock>,
    /// Group 2 (stride 2, width 32k).
    pub block2: Vec<WrnBlock>,
    /// Group 3 (stride 2, width 64k).
    pub block3: Vec<WrnBlock>,
    /// Final batch norm.
    pub bn: BatchNorm,
    /// Linear head.
    pub fc: Linear,
}

impl Wrn {
    /// Builds WRN-`depth`-`widen` for `c_in`-channel inputs.
    pub fn new(
        c_in: usize,
        depth: usize,
        widen: usize,
        classes: usize,
        rank: Option<usize>,
        widths: Widths,
        device: &Device,
    ) -> Self {
        let n = (depth - 4) / 6;
        let out = [16 * widen, 32 * widen, 64 * widen];
        let mut c = 16;
        let mut group = |g: usize, width: usize, stride: usize| -> Vec<WrnBlock> {
            (0..n)
                .map(|i| {
                    let s = if i == 0 { stride } else { 1 };
                    let inner = widths.get(&format!("block{g}.{i}.conv1"), width);
                    let shortcut = if c != width || s != 1 {
                        vec![conv(c, width, 1, s, 0, false, device)]
                    } else {
                        Vec::new()
                    };
                    let block = WrnBlock {
                        bn1: batch_norm(c, device),
                        conv1: ConvLayer::new(c, inner, 3, s, 1, false, rank, device),
                        bn2: batch_norm(inner, device),
                        conv2: ConvLayer::new(inner, width, 3, 1, 1, false, rank, device),
                        shortcut,
                    };
                    c = width;
                    block
                })
                .collect()
        };
        let block1 = group(1, out[0], 1);
        let block2 = group(2, out[1], 2);
        let block3 = group(3, out[2], 2);
        Self {
            conv1: conv(c_in, 16, 3, 1, 1, false, device),
            block1,
            block2,
            block3,
            bn: batch_norm(out[2], device),
            fc: linear(out[2], classes, true, device),
        }
    }

    /// Φ(x): globally pooled, pre-activated features of group 3.
    pub fn features(&self, x: Tensor<4>) -> Tensor<2> {
        let mut h = crate::conv::forward(&self.conv1, x);
        for group in [&self.block1, &self.block2, &self.block3] {
            for block in group {
                h = block.forward(h);
            }
        }
        global_avg_pool(relu(crate::batch_norm::forward(&self.bn, h)))
    }
}
