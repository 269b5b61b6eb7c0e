//! ResNet, CIFAR form (3×3 stem, stride 1, no max-pool) or with torchvision's ImageNet stem
//! (7×7 stride-2 conv, 3×3 stride-2 max-pool), with torchvision's key names (`conv1`, `bn1`,
//! `layer1.0.conv1`, …, `layerK.0.downsample.0`, `fc`).

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::nn::{BatchNorm, Linear};
use burn::prelude::*;
use burn::tensor::activation::relu;

use crate::layers::{ConvLayer, Widths, batch_norm, conv, global_avg_pool, linear};

/// One item of a downsample branch: torchvision's `downsample` is `Sequential(conv, bn)`, so
/// the conv is `downsample.0` and the batch norm `downsample.1`.
#[derive(Module, Debug)]
pub enum DownsampleItem {
    /// 1×1 strided conv.
    Conv(Conv2d),
    /// Batch norm after it.
    Bn(BatchNorm),
}

fn downsample(c_in: usize, c_out: usize, stride: usize, device: &Device) -> Vec<DownsampleItem> {
    if stride == 1 && c_in == c_out {
        Vec::new()
    } else {
        vec![
            DownsampleItem::Conv(conv(c_in, c_out, 1, stride, 0, false, device)),
            DownsampleItem::Bn(batch_norm(c_out, device)),
        ]
    }
}

fn apply_downsample(items: &[DownsampleItem], x: Tensor<4>) -> Tensor<4> {
    items.iter().fold(x, |h, item| match item {
        DownsampleItem::Conv(c) => crate::conv::forward(c, h),
        DownsampleItem::Bn(b) => crate::batch_norm::forward(b, h),
    })
}

/// torchvision's `BasicBlock`.
#[derive(Module, Debug)]
pub struct BasicBlock {
    /// First 3×3 conv (carries the stride).
    pub conv1: ConvLayer,
    /// Its batch norm.
    pub bn1: BatchNorm,
    /// Second 3×3 conv.
    pub conv2: ConvLayer,
    /// Its batch norm.
    pub bn2: BatchNorm,
    /// Shortcut projection (empty: identity).
    pub downsample: Vec<DownsampleItem>,
}

/// torchvision's `Bottleneck` (expansion 4).
#[derive(Module, Debug)]
pub struct Bottleneck {
    /// 1×1 reduce.
    pub conv1: Conv2d,
    /// Its batch norm.
    pub bn1: BatchNorm,
    /// 3×3 (carries the stride).
    pub conv2: ConvLayer,
    /// Its batch norm.
    pub bn2: BatchNorm,
    /// 1×1 expand.
    pub conv3: Conv2d,
    /// Its batch norm.
    pub bn3: BatchNorm,
    /// Shortcut projection (empty: identity).
    pub downsample: Vec<DownsampleItem>,
}

/// A residual block.
#[derive(Module, Debug)]
#[allow(clippy::large_enum_variant)] // burn modules are moved by value; boxing gains nothing
pub enum Block {
    /// Two 3×3 convs.
    Basic(BasicBlock),
    /// 1×1, 3×3, 1×1.
    Bottleneck(Bottleneck),
}

impl Block {
    fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        match self {
            Block::Basic(b) => {
                let out = relu(crate::batch_norm::forward(
                    &b.bn1,
                    b.conv1.forward(x.clone()),
                ));
                let out = crate::batch_norm::forward(&b.bn2, b.conv2.forward(out));
                relu(out + apply_downsample(&b.downsample, x))
            }
            Block::Bottleneck(b) => {
                let out = relu(crate::batch_norm::forward(
                    &b.bn1,
                    crate::conv::forward(&b.conv1, x.clone()),
                ));
                let out = relu(crate::batch_norm::forward(&b.bn2, b.conv2.forward(out)));
                let out = crate::batch_norm::forward(&b.bn3, crate::conv::forward(&b.conv3, out));
                relu(out + apply_downsample(&b.downsample, x))
            }
        }
    }
}

/// torchvision's stem max-pool: 3×3, stride 2, padding 1 (floor mode).
pub fn stem_max_pool(x: Tensor<4>) -> Tensor<4> {
    burn::tensor::module::max_pool2d(
        x,
        burn::tensor::ops::MaxPoolOptions::new([3, 3])
            .with_stride([2, 2])
            .with_padding([1, 1]),
    )
}

/// ResNet with four stages.
#[derive(Module, Debug)]
pub struct ResNet {
    /// Stem conv: 3×3 stride 1 (CIFAR) or 7×7 stride 2 (ImageNet stem).
    pub conv1: Conv2d,
    /// Stem batch norm.
    pub bn1: BatchNorm,
    /// Stage 1 (stride 1).
    pub layer1: Vec<Block>,
    /// Stage 2 (stride 2).
    pub layer2: Vec<Block>,
    /// Stage 3 (stride 2).
    pub layer3: Vec<Block>,
    /// Stage 4 (stride 2).
    pub layer4: Vec<Block>,
    /// Linear head.
    pub fc: Linear,
    /// torchvision's ImageNet stem: a 3×3 stride-2 max-pool (padding 1) after the stem.
    pub max_pool: bool,
}

/// Hyper-parameters of [`ResNet::new`].
#[derive(Debug, Clone, Copy)]
pub struct ResNetShape {
    /// Blocks per stage.
    pub blocks: [usize; 4],
    /// Bottleneck blocks.
    pub bottleneck: bool,
    /// Channels of stage 1.
    pub width: usize,
    /// Bottleneck inner width per 64 planes.
    pub width_per_group: usize,
    /// Factorisation rank of the 3×3 block convs.
    pub rank: Option<usize>,
    /// torchvision's ImageNet stem (7×7 stride-2 conv and max-pool) instead of the CIFAR one.
    pub imagenet_stem: bool,
}

impl ResNet {
    /// Builds the network for `c_in`-channel inputs.
    pub fn new(
        c_in: usize,
        shape: ResNetShape,
        classes: usize,
        widths: Widths,
        device: &Device,
    ) -> Self {
        let expansion = if shape.bottleneck { 4 } else { 1 };
        let rank = shape.rank;
        let mut in_planes = shape.width;
        let mut make_stage = |stage: usize, planes: usize, n: usize, stride: usize| {
            (0..n)
                .map(|i| {
                    let s = if i == 0 { stride } else { 1 };
                    let out = planes * expansion;
                    let name = |conv: &str| format!("layer{stage}.{i}.{conv}");
                    let ds = downsample(in_planes, out, s, device);
                    let block = if shape.bottleneck {
                        let inner = planes * shape.width_per_group / 64;
                        let i1 = widths.get(&name("conv1"), inner);
                        let i2 = widths.get(&name("conv2"), inner);
                        Block::Bottleneck(Bottleneck {
                            conv1: conv(in_planes, i1, 1, 1, 0, false, device),
                            bn1: batch_norm(i1, device),
                            conv2: ConvLayer::new(i1, i2, 3, s, 1, false, rank, device),
                            bn2: batch_norm(i2, device),
                            conv3: conv(i2, out, 1, 1, 0, false, device),
                            bn3: batch_norm(out, device),
                            downsample: ds,
                        })
                    } else {
                        let p = widths.get(&name("conv1"), planes);
                        Block::Basic(BasicBlock {
                            conv1: ConvLayer::new(in_planes, p, 3, s, 1, false, rank, device),
                            bn1: batch_norm(p, device),
                            conv2: ConvLayer::new(p, planes, 3, 1, 1, false, rank, device),
                            bn2: batch_norm(planes, device),
                            downsample: ds,
                        })
                    };
                    in_planes = out;
                    block
                })
                .collect::<Vec<Block>>()
        };
        let w = shape.width;
        let layer1 = make_stage(1, w, shape.blocks[0], 1);
        let layer2 = make_stage(2, 2 * w, shape.blocks[1], 2);
        let layer3 = make_stage(3, 4 * w, shape.blocks[2], 2);
        let layer4 = make_stage(4, 8 * w, shape.blocks[3], 2);
        let conv1 = if shape.imagenet_stem {
            conv(c_in, w, 7, 2, 3, false, device)
        } else {
            conv(c_in, w, 3, 1, 1, false, device)
        };
        Self {
            conv1,
            bn1: batch_norm(w, device),
            layer1,
            layer2,
            layer3,
            layer4,
            fc: linear(8 * w * expansion, classes, true, device),
            max_pool: shape.imagenet_stem,
        }
    }

    /// Φ(x): globally pooled features of stage 4.
    pub fn features(&self, x: Tensor<4>) -> Tensor<2> {
        let mut h = relu(crate::batch_norm::forward(
            &self.bn1,
            crate::conv::forward(&self.conv1, x),
        ));
        if self.max_pool {
            h = stem_max_pool(h);
        }
        for stage in [&self.layer1, &self.layer2, &self.layer3, &self.layer4] {
            for block in stage {
                h = block.forward(h);
            }
        }
        global_avg_pool(h)
    }
}
