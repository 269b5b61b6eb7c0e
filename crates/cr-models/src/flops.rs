//! Parameter and FLOP counts, from the layers' actual shapes (so a physically pruned model
//! reports its own, smaller cost).
//!
//! FLOPs are 2 × the multiply-accumulates of linear, convolution and attention products per
//! input sample; element-wise work (activations, normalisation, pooling, additions) is not
//! counted, as in the usual convention (e.g. fvcore).

use burn::nn::conv::Conv2d;
use burn::nn::{Linear, PaddingConfig2d};

use crate::arch::preact::PreactResNet;
use crate::arch::resnet::{Block, DownsampleItem, ResNet};
use crate::arch::vit::Vit;
use crate::arch::wrn::Wrn;
use crate::layers::{ConvLayer, DenseLayer};
use crate::model::{Model, Network};

fn linear(l: &Linear) -> u64 {
    let [i, o] = l.weight.lazy_shape().dims::<2>();
    2 * (i * o) as u64
}

fn dense(l: &DenseLayer) -> u64 {
    match l {
        DenseLayer::Full(l) => linear(l),
        DenseLayer::LowRank(l) => linear(&l.down) + linear(&l.up),
    }
}

/// FLOPs of a conv on an `h × w` input and its output size.
fn conv2d(c: &Conv2d, h: usize, w: usize) -> (u64, usize, usize) {
    let [out, inp, kh, kw] = c.weight.lazy_shape().dims::<4>();
    let (pt, pl, pb, pr) = match c.padding {
        PaddingConfig2d::Explicit(t, l, b, r) => (t, l, b, r),
        PaddingConfig2d::Valid => (0, 0, 0, 0),
        PaddingConfig2d::Same => (kh / 2, kw / 2, (kh - 1) / 2, (kw - 1) / 2),
    };
    let ho = (h + pt + pb).saturating_sub(kh) / c.stride[0].max(1) + 1;
    let wo = (w + pl + pr).saturating_sub(kw) / c.stride[1].max(1) + 1;
    (2 * (out * inp * kh * kw * ho * wo) as u64, ho, wo)
}

fn conv_layer(c: &ConvLayer, h: usize, w: usize) -> (u64, usize, usize) {
    match c {
        ConvLayer::Full(c) => conv2d(c, h, w),
        ConvLayer::LowRank(l) => {
            let (f1, ho, wo) = conv2d(&l.down, h, w);
            let (f2, ho, wo) = conv2d(&l.up, ho, wo);
            (f1 + f2, ho, wo)
        }
    }
}

fn downsample(items: &[DownsampleItem], h: usize, w: usize) -> u64 {
    items
        .iter()
        .map(|i| match i {
            DownsampleItem::Conv(c) => conv2d(c, h, w).0,
            DownsampleItem::Bn(_) => 0,
        })
        .sum()
}

impl Model {
    /// FLOPs of one forward pass of one sample (see the module docs).
    pub fn flops(&self) -> u64 {
        let [_, mut h, mut w] = self.spec.input;
        match &self.net {
            Network::Fcn(m) => m.layers.iter().map(dense).sum::<u64>() + linear(&m.head),
            Network::Cnn(m) => {
                let mut f = 0;
                for c in &m.convs {
                    let (fc, ho, wo) = conv_layer(c, h, w);
                    f += fc;
                    (h, w) = (ho / 2, wo / 2);
                }
                f + m.fc.iter().map(dense).sum::<u64>() + linear(&m.head)
            }
            Network::ResNet(m) => resnet(m, h, w),
            Network::Vgg(m) => {
                let mut f = 0;
                for (b, &pool) in m.blocks.iter().zip(&m.pool_after) {
                    let (fc, ho, wo) = conv_layer(&b.conv, h, w);
                    f += fc;
                    (h, w) = if pool { (ho / 2, wo / 2) } else { (ho, wo) };
                }
                f + linear(&m.classifier)
            }
            Network::Wrn(m) => wrn(m, h, w),
            Network::PreactResNet(m) => preact_resnet(m, h, w),
            Network::VggTv(m) => {
                let mut f = 0;
                for (b, &pool) in m.blocks.iter().zip(&m.pool_after) {
                    let (fc, ho, wo) = conv_layer(&b.conv, h, w);
                    f += fc;
                    (h, w) = if pool { (ho / 2, wo / 2) } else { (ho, wo) };
                }
                f + linear(&m.fc1) + linear(&m.fc2) + linear(&m.head)
            }
            Network::Vit(m) => vit(m, h, w),
        }
    }
}

/// FLOPs of a ResNet on an `h × w` input.
fn resnet(m: &ResNet, mut h: usize, mut w: usize) -> u64 {
    let (mut f, ho, wo) = conv2d(&m.conv1, h, w);
    (h, w) = (ho, wo);
    if m.max_pool {
        // 3×3 stride 2 padding 1 (comparisons are not counted).
        (h, w) = ((h + 2 - 3) / 2 + 1, (w + 2 - 3) / 2 + 1);
    }
    for stage in [&m.layer1, &m.layer2, &m.layer3, &m.layer4] {
        for block in stage {
            match block {
                Block::Basic(b) => {
                    let (f1, ho, wo) = conv_layer(&b.conv1, h, w);
                    let (f2, _, _) = conv_layer(&b.conv2, ho, wo);
                    f += f1 + f2 + downsample(&b.downsample, h, w);
                    (h, w) = (ho, wo);
                }
                Block::Bottleneck(b) => {
                    let (f1, _, _) = conv2d(&b.conv1, h, w);
                    let (f2, ho, wo) = conv_layer(&b.conv2, h, w);
                    let (f3, _, _) = conv2d(&b.conv3, ho, wo);
                    f += f1 + f2 + f3 + downsample(&b.downsample, h, w);
                    (h, w) = (ho, wo);
                }
            }
        }
    }
    f + linear(&m.fc)
}

/// FLOPs of a Wide ResNet on an `h × w` input.
fn wrn(m: &Wrn, mut h: usize, mut w: usize) -> u64 {
    let (mut f, ho, wo) = conv2d(&m.conv1, h, w);
    (h, w) = (ho, wo);
    for group in [&m.block1, &m.block2, &m.block3] {
        for b in group {
            let (f1, ho, wo) = conv_layer(&b.conv1, h, w);
            let (f2, _, _) = conv_layer(&b.conv2, ho, wo);
            let fs: u64 = b.shortcut.iter().map(|c| conv2d(c, h, w).0).sum();
            f += f1 + f2 + fs;
            (h, w) = (ho, wo);
        }
    }
    f + linear(&m.fc)
}

/// FLOPs of a PreActResNet on an `h × w` input.
fn preact_resnet(m: &PreactResNet, mut h: usize, mut w: usize) -> u64 {
    let (mut f, ho, wo) = conv2d(&m.conv1, h, w);
    (h, w) = (ho, wo);
    for stage in [&m.layer1, &m.layer2, &m.layer3, &m.layer4] {
        for b in stage {
            let (f1, ho, wo) = conv_layer(&b.conv1, h, w);
            let (f2, _, _) = conv_layer(&b.conv2, ho, wo);
            let fs: u64 = b.shortcut.iter().map(|c| conv2d(c, h, w).0).sum();
            f += f1 + f2 + fs;
            (h, w) = (ho, wo);
        }
    }
    f + linear(&m.linear)
}

/// FLOPs of a vision transformer on an `h × w` input.
fn vit(m: &Vit, h: usize, w: usize) -> u64 {
    let (mut f, ho, wo) = conv2d(&m.patch_embed.proj, h, w);
    let n = (ho * wo + 1) as u64;
    for b in &m.blocks {
        let [d, _] = b.attn.proj.weight.lazy_shape().dims::<2>();
        let d = d as u64;
        // Per token: qkv, proj, MLP; per sequence: QKᵀ and attention·V.
        f += n * (linear(&b.attn.qkv) + linear(&b.attn.proj));
        f += n * (linear(&b.mlp.fc1) + linear(&b.mlp.fc2));
        f += 2 * (2 * n * n * d);
    }
    f + linear(&m.head)
}
