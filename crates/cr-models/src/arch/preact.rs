//! Pre-activation ResNet (He et al. 2016) in the form RobustBench ships it
//! (`robustbench.model_zoo.architectures.resnet.PreActResNet`): a 3×3 stem conv, four stages
//! of pre-activation basic blocks (`bn1–relu–conv1–bn2–relu–conv2` plus shortcut), an
//! optional final `bn`–ReLU (`bn_before_fc`), global average pool, linear head `linear`.
//! Key names are RobustBench's: `conv1`, `layer1.0.bn1`, `layer2.0.shortcut.0`, `bn`, `linear`.

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, Linear};
use burn::prelude::*;
use burn::tensor::activation::relu;

use crate::layers::{ConvLayer, Widths, batch_norm, conv, global_avg_pool, linear};

/// RobustBench's `PreActBlock` (shortcut from the block's input) or `PreActBlockV2`
/// (shortcut from the pre-activated input).
#[derive(Module, Debug)]
pub struct PreactBlock {
    /// First batch norm (pre-activation).
    pub bn1: BatchNorm,
    /// First 3×3 conv (carries the stride).
    pub conv1: ConvLayer,
    /// Second batch norm.
    pub bn2: BatchNorm,
    /// Second 3×3 conv.
    pub conv2: ConvLayer,
    /// 1×1 projection when shapes change (`shortcut.0`; empty: identity).
    pub shortcut: Vec<Conv2d>,
    /// The projection reads `relu(bn1(x))` (`PreActBlockV2`) instead of `x`.
    pub out_shortcut: bool,
}

impl PreactBlock {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let o = relu(crate::batch_norm::forward(&self.bn1, x.clone()));
        let sc = match self.shortcut.first() {
            Some(c) if self.out_shortcut => crate::conv::forward(c, o.clone()),
            Some(c) => crate::conv::forward(c, x),
            None => x,
        };
        let y = self.conv1.forward(o);
        self.conv2
            .forward(relu(crate::batch_norm::forward(&self.bn2, y)))
            + sc
    }
}

/// Hyper-parameters of [`PreactResNet::new`].
#[derive(Debug, Clone, Copy)]
pub struct PreactShape {
    /// Blocks per stage (`[2, 2, 2, 2]`: PreActResNet18).
    pub blocks: [usize; 4],
    /// Channels of stage 1 (64 in RobustBench); stages double it.
    pub width: usize,
    /// Shortcut projections read the pre-activated input (`PreActBlockV2`).
    pub out_shortcut: bool,
    /// A final batch norm and ReLU before the pool (`bn_before_fc`).
    pub bn_before_fc: bool,
}

/// PreActResNet.
#[derive(Module, Debug)]
pub struct PreactResNet {
    /// 3×3 stem conv, stride 1.
    pub conv1: Conv2d,
    /// Stage 1 (stride 1).
    pub layer1: Vec<PreactBlock>,
    /// Stage 2 (stride 2).
    pub layer2: Vec<PreactBlock>,
    /// Stage 3 (stride 2).
    pub layer3: Vec<PreactBlock>,
    /// Stage 4 (stride 2).
    pub layer4: Vec<PreactBlock>,
    /// Final batch norm (`bn_before_fc`).
    pub bn: Option<BatchNorm>,
    /// Linear head.
    pub linear: Linear,
}

impl PreactResNet {
    /// Builds the network for `c_in`-channel inputs.
    pub fn new(
        c_in: usize,
        shape: PreactShape,
        classes: usize,
        widths: Widths,
        device: &Device,
    ) -> Self {
        let w = shape.width;
        let mut c = w;
        let mut stage = |s: usize, planes: usize, stride: usize| -> Vec<PreactBlock> {
            (0..shape.blocks[s - 1])
                .map(|i| {
                    let st = if i == 0 { stride } else { 1 };
                    let inner = widths.get(&format!("layer{s}.{i}.conv1"), planes);
                    let shortcut = if c != planes || st != 1 {
                        vec![conv(c, planes, 1, st, 0, false, device)]
                    } else {
                        Vec::new()
                    };
                    let block = PreactBlock {
                        bn1: batch_norm(c, device),
                        conv1: ConvLayer::new(c, inner, 3, st, 1, false, None, device),
                        bn2: batch_norm(inner, device),
                        conv2: ConvLayer::new(inner, planes, 3, 1, 1, false, None, device),
                        shortcut,
                        out_shortcut: shape.out_shortcut,
                    };
                    c = planes;
                    block
                })
                .collect()
        };
        let layer1 = stage(1, w, 1);
        let layer2 = stage(2, 2 * w, 2);
        let layer3 = stage(3, 4 * w, 2);
        let layer4 = stage(4, 8 * w, 2);
        let bn = shape.bn_before_fc.then(|| batch_norm(8 * w, device));
        Self {
            conv1: conv(c_in, w, 3, 1, 1, false, device),
            layer1,
            layer2,
            layer3,
            layer4,
            bn,
            linear: linear(8 * w, classes, true, device),
        }
    }

    /// Φ(x): globally pooled features of stage 4 (RobustBench's `avg_pool2d(out, 4)` on its
    /// 32×32 inputs), after the final `bn`–ReLU when there is one.
    pub fn features(&self, x: Tensor<4>) -> Tensor<2> {
        let mut h = crate::conv::forward(&self.conv1, x);
        for stage in [&self.layer1, &self.layer2, &self.layer3, &self.layer4] {
            for block in stage {
                h = block.forward(h);
            }
        }
        if let Some(bn) = &self.bn {
            h = relu(crate::batch_norm::forward(bn, h));
        }
        global_avg_pool(h)
    }
}
