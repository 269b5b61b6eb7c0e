#![allow(missing_docs, dead_code)]
//! A tiny in-memory data set for the tests: Gaussian blobs in [0,1].

use burn::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub struct Blobs {
    pub x: Vec<f32>,
    pub y: Vec<usize>,
    pub shape: [usize; 3],
    pub classes: usize,
}

impl Blobs {
    pub fn new(n: usize, classes: usize, shape: [usize; 3], seed: u64) -> Self {
        let d: usize = shape.iter().product();
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let centers: Vec<Vec<f32>> = (0..classes)
            .map(|_| (0..d).map(|_| rng.random::<f32>()).collect())
            .collect();
        let mut x = Vec::with_capacity(n * d);
        let mut y = Vec::with_capacity(n);
        for i in 0..n {
            let c = i % classes;
            for &center in &centers[c] {
                let v = center + (rng.random::<f32>() - 0.5) * 0.6;
                x.push(v.clamp(0.0, 1.0));
            }
            y.push(c);
        }
        Self {
            x,
            y,
            shape,
            classes,
        }
    }
}

impl cr_train::TrainData for Blobs {
    fn len(&self) -> usize {
        self.y.len()
    }
    fn num_classes(&self) -> usize {
        self.classes
    }
    fn label(&self, i: usize) -> usize {
        self.y[i]
    }
    fn batch(
        &self,
        indices: &[usize],
        augment: Option<&mut ChaCha8Rng>,
        device: &Device,
    ) -> (Tensor<4>, Tensor<1, Int>) {
        let d: usize = self.shape.iter().product();
        let mut xs = Vec::with_capacity(indices.len() * d);
        for &i in indices {
            xs.extend_from_slice(&self.x[i * d..(i + 1) * d]);
        }
        if let Some(rng) = augment {
            // A cheap stand-in augmentation: tiny deterministic noise.
            for v in xs.iter_mut() {
                *v = (*v + (rng.random::<f32>() - 0.5) * 0.01).clamp(0.0, 1.0);
            }
        }
        let [c, h, w] = self.shape;
        let x = Tensor::from_data(TensorData::new(xs, [indices.len(), c, h, w]), device);
        let ys: Vec<i64> = indices.iter().map(|&i| self.y[i] as i64).collect();
        let y = Tensor::from_data(TensorData::new(ys, [indices.len()]), device);
        (x, y)
    }
}
