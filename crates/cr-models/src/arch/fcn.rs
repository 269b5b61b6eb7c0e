//! The paper's fully connected network, Eq. (2): `g(x) = C φ(W^λ φ(… W^1 x))`.

use burn::module::Module;
use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::activation::relu;

use crate::layers::{DenseLayer, Widths, flatten, linear};

/// FCN: hidden layers `layers.0 … layers.{λ-1}` (full or factorised), head `head`.
#[derive(Module, Debug)]
pub struct Fcn {
    /// The hidden layers W^1 … W^λ.
    pub layers: Vec<DenseLayer>,
    /// The linear head C.
    pub head: Linear,
}

impl Fcn {
    /// Builds the network for flattened inputs of size `d_in`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        d_in: usize,
        width: usize,
        depth: usize,
        classes: usize,
        bias: bool,
        rank: Option<usize>,
        widths: Widths,
        device: &Device,
    ) -> Self {
        let mut d = d_in;
        let layers = (0..depth)
            .map(|i| {
                let w = widths.get(&format!("layers.{i}"), width);
                let layer = DenseLayer::new(d, w, rank, bias, device);
                d = w;
                layer
            })
            .collect();
        Self {
            layers,
            head: linear(d, classes, bias, device),
        }
    }

    /// Φ(x): the last hidden activation, `[B, width]`.
    pub fn features(&self, x: Tensor<4>) -> Tensor<2> {
        let mut h = flatten(x);
        for layer in &self.layers {
            h = relu(layer.forward(h));
        }
        h
    }
}
