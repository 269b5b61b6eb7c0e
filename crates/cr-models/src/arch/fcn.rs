//! The paper's fully connected network, Eq. (2): `g(x) = C φ(W^λ φ(… W^1 x))`.

use burn::module::Module;
use burn::nn::Linear;
use burn::prelude::*;
use burn::tensor::activation::relu;

use crate::layers::{DenseLayer, flatten, linear};

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
    pub fn new(
        d_in: usize,
        width: usize,
        depth: usize,
        classes: usize,
        bias: bool,
        rank: Option<usize>,
        device: &Device,
    ) -> Self {
        let layers = (0..depth)
            .map(|i| {
                let d = if i == 0 { d_in } else { width };
                DenseLayer::new(d, width, rank, bias, device)
            })
            .collect();
        Self {
            layers,
            head: linear(width, classes, bias, device),
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
