//! VGG with batch norm, CIFAR form: conv–BN–ReLU blocks with 2×2 max-pools, global average
//! pool, one linear classifier.

use burn::module::Module;
use burn::nn::{BatchNorm, Linear};
use burn::prelude::*;
use burn::tensor::activation::relu;

use crate::layers::{ConvLayer, Widths, batch_norm, global_avg_pool, linear, max_pool2};

/// One conv–BN pair (`blocks.i.conv`, `blocks.i.bn`).
#[derive(Module, Debug)]
pub struct VggBlock {
    /// 3×3 conv, padding 1, no bias.
    pub conv: ConvLayer,
    /// Batch norm.
    pub bn: BatchNorm,
}

/// VGG-BN.
#[derive(Module, Debug)]
pub struct Vgg {
    /// The conv blocks in order.
    pub blocks: Vec<VggBlock>,
    /// `pool_after[i]`: a 2×2 max-pool follows block i.
    #[module(skip)]
    pub pool_after: Vec<bool>,
    /// The classifier.
    pub classifier: Linear,
}

impl Vgg {
    /// Builds VGG from a config list (0 = max-pool) for `c_in`-channel inputs.
    pub fn new(
        c_in: usize,
        config: &[usize],
        classes: usize,
        rank: Option<usize>,
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
            let r = if blocks.is_empty() { None } else { rank };
            blocks.push(VggBlock {
                conv: ConvLayer::new(c, v, 3, 1, 1, false, r, device),
                bn: batch_norm(v, device),
            });
            pool_after.push(false);
            c = v;
        }
        Self {
            blocks,
            pool_after,
            classifier: linear(c, classes, true, device),
        }
    }

    /// Φ(x): globally pooled conv features.
    pub fn features(&self, x: Tensor<4>) -> Tensor<2> {
        let mut h = x;
        for (block, &pool) in self.blocks.iter().zip(&self.pool_after) {
            h = relu(crate::batch_norm::forward(&block.bn, block.conv.forward(h)));
            if pool {
                h = max_pool2(h);
            }
        }
        global_avg_pool(h)
    }
}
