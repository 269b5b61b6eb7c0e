//! VGG with batch norm in torchvision's layout (`torchvision.models.vgg16_bn`): conv (with
//! bias)–BN–ReLU blocks with 2×2 max-pools, an adaptive average pool to 7×7, and a three-layer
//! classifier `Linear(c·7·7, hidden)`–ReLU–Dropout–`Linear(hidden, hidden)`–ReLU–Dropout–
//! `Linear(hidden, classes)` (dropout is the identity in evaluation, and cr evaluates only).
//!
//! cr names its parameters `blocks.j.conv`, `blocks.j.bn`, `fc1`, `fc2`, `head`; the
//! importer maps torchvision's `features.i` / `classifier.{0,3,6}` onto them.

use burn::module::Module;
use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::activation::relu;

use crate::arch::vgg::VggBlock;
use crate::layers::{ConvLayer, Widths, batch_norm, flatten, linear, max_pool2};

/// Side of torchvision's adaptive average pool (`AdaptiveAvgPool2d((7, 7))`).
pub const POOL_SIDE: usize = 7;

/// VGG-BN, torchvision layout.
#[derive(Module, Debug)]
pub struct VggTv {
    /// The conv blocks in order (3×3 convs, padding 1, with bias).
    pub blocks: Vec<VggBlock>,
    /// `pool_after[i]`: a 2×2 max-pool follows block i.
    #[module(skip)]
    pub pool_after: Vec<bool>,
    /// First classifier layer, `c·7·7 → hidden` (torchvision's `classifier.0`).
    pub fc1: Linear,
    /// Second classifier layer, `hidden → hidden` (`classifier.3`).
    pub fc2: Linear,
    /// The linear head, `hidden → classes` (`classifier.6`).
    pub head: Linear,
}

impl VggTv {
    /// Builds the network from a config list (0 = max-pool) for `c_in`-channel inputs, with
    /// classifier width `hidden` (4096 in torchvision).
    pub fn new(
        c_in: usize,
        config: &[usize],
        hidden: usize,
        classes: usize,
        widths: Widths,
        device: &Device,
    ) -> Self {
        let mut blocks = Vec::new();
        let mut pool_after = Vec::new();
        let mut c = c_in;
        for &v in config {
            if v == 0 {
                if let Some(last) = pool_after.last_mut() {
                    *last = true;
                }
                continue;
            }
            let v = widths.get(&format!("blocks.{}.conv", blocks.len()), v);
            blocks.push(VggBlock {
                conv: ConvLayer::new(c, v, 3, 1, 1, true, None, device),
                bn: batch_norm(v, device),
            });
            pool_after.push(false);
            c = v;
        }
        let h1 = widths.get("fc1", hidden);
        let h2 = widths.get("fc2", hidden);
        Self {
            blocks,
            pool_after,
            fc1: linear(c * POOL_SIDE * POOL_SIDE, h1, true, device),
            fc2: linear(h1, h2, true, device),
            head: linear(h2, classes, true, device),
        }
    }

    /// Φ(x): the second classifier layer's activation, `[B, hidden]`.
    pub fn features(&self, x: Tensor<4>) -> Tensor<2> {
        let mut h = x;
        for (block, &pool) in self.blocks.iter().zip(&self.pool_after) {
            h = relu(crate::batch_norm::forward(&block.bn, block.conv.forward(h)));
            if pool {
                h = max_pool2(h);
            }
        }
        let h = burn::tensor::module::adaptive_avg_pool2d(h, [POOL_SIDE, POOL_SIDE]);
        relu(self.fc2.forward(relu(self.fc1.forward(flatten(h)))))
    }
}
