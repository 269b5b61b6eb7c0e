//! A small CNN for CPU-scale experiments (Fashion-MNIST at the `cpu` scale).

use burn::module::Module;
use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::activation::relu;

use crate::layers::{ConvLayer, DenseLayer, Widths, flatten, linear};

/// `convs.i` (3×3, padding 1, bias, each followed by ReLU and 2×2 max-pool), then optionally
/// `fc.0` (dense + ReLU), then `head`.
#[derive(Module, Debug)]
pub struct Cnn {
    /// Conv stages.
    pub convs: Vec<ConvLayer>,
    /// Zero or one hidden dense layer.
    pub fc: Vec<DenseLayer>,
    /// The linear head.
    pub head: Linear,
}

impl Cnn {
    /// Builds the network for `[c, h, w]` inputs.
    pub fn new(
        input: [usize; 3],
        channels: &[usize],
        hidden: usize,
        classes: usize,
        rank: Option<usize>,
        widths: Widths,
        device: &Device,
    ) -> Self {
        let [c, h, w] = input;
        let mut convs = Vec::with_capacity(channels.len());
        let mut c_in = c;
        for (i, &c_out) in channels.iter().enumerate() {
            let c_out = widths.get(&format!("convs.{i}"), c_out);
            let r = if i == 0 { None } else { rank };
            convs.push(ConvLayer::new(c_in, c_out, 3, 1, 1, true, r, device));
            c_in = c_out;
        }
        let n = channels.len();
        let flat = c_in * (h >> n) * (w >> n);
        let (fc, d_head) = if hidden > 0 {
            let hidden = widths.get("fc.0", hidden);
            (
                vec![DenseLayer::new(flat, hidden, rank, true, device)],
                hidden,
            )
        } else {
            (Vec::new(), flat)
        };
        Self {
            convs,
            fc,
            head: linear(d_head, classes, true, device),
        }
    }

    /// Φ(x): `[B, hidden]` (or the flattened conv features when there is no hidden layer).
    pub fn features(&self, x: Tensor<4>) -> Tensor<2> {
        let mut h = x;
        for conv in &self.convs {
            h = conv.forward_relu_pool(h);
        }
        let mut z = flatten(h);
        for fc in &self.fc {
            z = relu(fc.forward(z));
        }
        z
    }
}
