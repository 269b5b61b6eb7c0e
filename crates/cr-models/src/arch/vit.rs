//! Vision transformer (Dosovitskiy et al. 2021) for small images: conv patch embedding, class
//! token, learned position embedding, pre-norm blocks (LayerNorm, multi-head self-attention,
//! GELU MLP), final LayerNorm, linear head on the class token. timm-style key names.

use burn::module::{Module, Param};
use burn::nn::conv::Conv2d;
use burn::nn::{LayerNorm, LayerNormConfig, Linear};
use burn::prelude::*;
use burn::tensor::activation::{gelu, softmax};

use crate::layers::{Widths, conv, linear};

/// Conv patch embedding (`patch_embed.proj`).
#[derive(Module, Debug)]
pub struct PatchEmbed {
    /// p×p conv with stride p.
    pub proj: Conv2d,
}

/// Multi-head self-attention with a packed `qkv` projection.
#[derive(Module, Debug)]
pub struct Attention {
    /// `dim → 3·dim` (queries, keys, values in that order).
    pub qkv: Linear,
    /// Output projection.
    pub proj: Linear,
    /// Number of heads.
    #[module(skip)]
    pub heads: usize,
}

impl Attention {
    fn forward(&self, x: Tensor<3>) -> Tensor<3> {
        let [b, n, d] = x.dims();
        let h = self.heads;
        let hd = d / h;
        // [B, N, 3, H, hd] -> [3, B, H, N, hd]
        let qkv = self
            .qkv
            .forward(x)
            .reshape([b, n, 3, h, hd])
            .permute([2, 0, 3, 1, 4]);
        let pick = |i: usize| qkv.clone().narrow(0, i, 1).reshape([b, h, n, hd]);
        let (q, k, v) = (pick(0), pick(1), pick(2));
        let scale = 1.0 / (hd as f64).sqrt();
        let attn = softmax(q.matmul(k.swap_dims(2, 3)).mul_scalar(scale), 3);
        let out = attn.matmul(v).swap_dims(1, 2).reshape([b, n, d]);
        self.proj.forward(out)
    }
}

/// The block's MLP (`mlp.fc1`, `mlp.fc2`).
#[derive(Module, Debug)]
pub struct VitMlp {
    /// `dim → mlp_dim`.
    pub fc1: Linear,
    /// `mlp_dim → dim`.
    pub fc2: Linear,
}

/// A pre-norm transformer block.
#[derive(Module, Debug)]
pub struct VitBlock {
    /// LayerNorm before attention.
    pub norm1: LayerNorm,
    /// Self-attention.
    pub attn: Attention,
    /// LayerNorm before the MLP.
    pub norm2: LayerNorm,
    /// MLP.
    pub mlp: VitMlp,
}

/// The ViT.
#[derive(Module, Debug)]
pub struct Vit {
    /// Patch embedding.
    pub patch_embed: PatchEmbed,
    /// Class token `[1, 1, dim]`.
    pub cls_token: Param<Tensor<3>>,
    /// Position embedding `[1, patches + 1, dim]`.
    pub pos_embed: Param<Tensor<3>>,
    /// Transformer blocks.
    pub blocks: Vec<VitBlock>,
    /// Final LayerNorm.
    pub norm: LayerNorm,
    /// Linear head on the class token.
    pub head: Linear,
}

/// Hyper-parameters of [`Vit::new`].
#[derive(Debug, Clone, Copy)]
pub struct VitShape {
    /// Patch side.
    pub patch: usize,
    /// Embedding dimension.
    pub dim: usize,
    /// Blocks.
    pub depth: usize,
    /// Heads.
    pub heads: usize,
    /// MLP hidden width.
    pub mlp_dim: usize,
}

impl Vit {
    /// Builds the ViT for `[c, h, w]` inputs.
    pub fn new(
        input: [usize; 3],
        s: VitShape,
        classes: usize,
        widths: Widths,
        device: &Device,
    ) -> Self {
        let [c, h, w] = input;
        let patches = (h / s.patch) * (w / s.patch);
        let ln = |d: usize| LayerNormConfig::new(d).init(device);
        let blocks = (0..s.depth)
            .map(|i| widths.get(&format!("blocks.{i}.mlp.fc1"), s.mlp_dim))
            .map(|mlp_dim| VitBlock {
                norm1: ln(s.dim),
                attn: Attention {
                    qkv: linear(s.dim, 3 * s.dim, true, device),
                    proj: linear(s.dim, s.dim, true, device),
                    heads: s.heads,
                },
                norm2: ln(s.dim),
                mlp: VitMlp {
                    fc1: linear(s.dim, mlp_dim, true, device),
                    fc2: linear(mlp_dim, s.dim, true, device),
                },
            })
            .collect();
        Self {
            patch_embed: PatchEmbed {
                proj: conv(c, s.dim, s.patch, s.patch, 0, true, device),
            },
            cls_token: Param::from_tensor(Tensor::zeros([1, 1, s.dim], device)),
            pos_embed: Param::from_tensor(Tensor::zeros([1, patches + 1, s.dim], device)),
            blocks,
            norm: ln(s.dim),
            head: linear(s.dim, classes, true, device),
        }
    }

    /// Φ(x): the class token after the final LayerNorm, `[B, dim]`.
    pub fn features(&self, x: Tensor<4>) -> Tensor<2> {
        let tokens = crate::conv::forward(&self.patch_embed.proj, x); // [B, D, h', w']
        let [b, d, hp, wp] = tokens.dims();
        let tokens = tokens.reshape([b, d, hp * wp]).swap_dims(1, 2); // [B, N, D]
        let cls = self.cls_token.val().expand([b, 1, d]);
        let mut z = Tensor::cat(vec![cls, tokens], 1) + self.pos_embed.val();
        for blk in &self.blocks {
            z = z.clone() + blk.attn.forward(blk.norm1.forward(z));
            let m = blk
                .mlp
                .fc2
                .forward(gelu(blk.mlp.fc1.forward(blk.norm2.forward(z.clone()))));
            z = z + m;
        }
        let z = self.norm.forward(z);
        z.narrow(1, 0, 1).reshape([b, d])
    }
}
