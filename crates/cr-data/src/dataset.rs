//! [`Dataset`]: labelled images in memory, and the deterministic operations on them.

use std::path::Path;

use burn::prelude::*;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::augment::{Augment, augment_into};
use crate::error::{DataError, Result};

/// Labelled images: f32 pixels in [0, 1], NCHW, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// A name for logs and reports (`mnist/train`).
    pub name: String,
    /// `len · C · H · W` pixels in [0, 1].
    pub images: Vec<f32>,
    /// Labels in `0..num_classes`.
    pub labels: Vec<u16>,
    /// `[C, H, W]`.
    pub shape: [usize; 3],
    /// Number of classes.
    pub num_classes: usize,
}

/// A train and a test split.
#[derive(Debug, Clone, PartialEq)]
pub struct Splits {
    /// Training split.
    pub train: Dataset,
    /// Test split.
    pub test: Dataset,
}

impl Dataset {
    /// Builds a data set, checking sizes and labels (`origin` names the source in errors).
    pub fn new(
        name: impl Into<String>,
        images: Vec<f32>,
        labels: Vec<u16>,
        shape: [usize; 3],
        num_classes: usize,
        origin: &Path,
    ) -> Result<Self> {
        let d: usize = shape.iter().product();
        if d == 0 || images.len() != labels.len() * d {
            return Err(DataError::Mismatch {
                path: origin.to_path_buf(),
                problem: format!(
                    "{} pixel values for {} labels of shape {shape:?}",
                    images.len(),
                    labels.len()
                ),
            });
        }
        if let Some((i, l)) = labels
            .iter()
            .enumerate()
            .find(|(_, l)| **l as usize >= num_classes)
        {
            return Err(DataError::Label {
                path: origin.to_path_buf(),
                index: i,
                label: *l as u32,
                classes: num_classes,
            });
        }
        Ok(Self {
            name: name.into(),
            images,
            labels,
            shape,
            num_classes,
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Values per sample, C·H·W.
    pub fn dim(&self) -> usize {
        self.shape.iter().product()
    }

    /// Pixels of sample `i`.
    pub fn image(&self, i: usize) -> &[f32] {
        let d = self.dim();
        &self.images[i * d..(i + 1) * d]
    }

    /// Samples per class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut c = vec![0; self.num_classes];
        for l in &self.labels {
            c[*l as usize] += 1;
        }
        c
    }

    /// The samples `indices`, in that order.
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        let d = self.dim();
        let mut images = Vec::with_capacity(indices.len() * d);
        for &i in indices {
            images.extend_from_slice(self.image(i));
        }
        Dataset {
            name: self.name.clone(),
            images,
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            shape: self.shape,
            num_classes: self.num_classes,
        }
    }

    /// At most `n` samples, class-balanced and deterministic: the first samples of each class
    /// in file order, round-robin over classes, kept in file order. The whole set when
    /// `n ≥ len`.
    pub fn balanced(&self, n: usize) -> Dataset {
        if n >= self.len() {
            return self.clone();
        }
        let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); self.num_classes];
        for (i, l) in self.labels.iter().enumerate() {
            by_class[*l as usize].push(i);
        }
        let mut picked = Vec::with_capacity(n);
        let mut round = 0;
        while picked.len() < n {
            let mut any = false;
            for class in &by_class {
                if let Some(&i) = class.get(round) {
                    any = true;
                    if picked.len() < n {
                        picked.push(i);
                    }
                }
            }
            if !any {
                break;
            }
            round += 1;
        }
        picked.sort_unstable();
        let mut out = self.subset(&picked);
        out.name = format!("{} (first {n}, balanced)", self.name);
        out
    }

    /// A seeded permutation of the samples.
    pub fn shuffled(&self, seed: u64) -> Dataset {
        let mut idx: Vec<usize> = (0..self.len()).collect();
        idx.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        self.subset(&idx)
    }

    /// A stratified, seeded split into (rest, held out): `round(fraction · n_c)` samples of
    /// each class c are held out.
    pub fn split(&self, fraction: f64, seed: u64) -> Result<(Dataset, Dataset)> {
        if !(0.0..1.0).contains(&fraction) {
            return Err(DataError::Invalid {
                field: "fraction".into(),
                problem: format!("{fraction} is outside [0, 1)"),
            });
        }
        let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); self.num_classes];
        for (i, l) in self.labels.iter().enumerate() {
            by_class[*l as usize].push(i);
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let (mut rest, mut held) = (Vec::new(), Vec::new());
        for mut idx in by_class {
            idx.shuffle(&mut rng);
            let k = (fraction * idx.len() as f64).round() as usize;
            held.extend_from_slice(&idx[..k]);
            rest.extend_from_slice(&idx[k..]);
        }
        rest.sort_unstable();
        held.sort_unstable();
        Ok((self.subset(&rest), self.subset(&held)))
    }

    /// Images `[B, C, H, W]` and labels `[B]` of the samples `indices` on `device`, augmented
    /// (random crop with zero padding 4 and horizontal flip) when `augment` is given.
    pub fn batch(
        &self,
        indices: &[usize],
        augment: Option<&mut ChaCha8Rng>,
        device: &Device,
    ) -> (Tensor<4>, Tensor<1, Int>) {
        let d = self.dim();
        let mut xs = Vec::with_capacity(indices.len() * d);
        match augment {
            None => {
                for &i in indices {
                    xs.extend_from_slice(self.image(i));
                }
            }
            Some(rng) => {
                let aug = Augment::CIFAR;
                let mut buf = vec![0f32; d];
                for &i in indices {
                    augment_into(self.image(i), self.shape, &aug, rng, &mut buf);
                    xs.extend_from_slice(&buf);
                }
            }
        }
        let [c, h, w] = self.shape;
        let x = Tensor::from_data(TensorData::new(xs, [indices.len(), c, h, w]), device);
        let ys: Vec<i64> = indices.iter().map(|&i| self.labels[i] as i64).collect();
        let y = Tensor::from_data(TensorData::new(ys, [indices.len()]), device);
        (x, y)
    }

    /// Every sample as tensors on `device`.
    pub fn tensors(&self, device: &Device) -> (Tensor<4>, Tensor<1, Int>) {
        let all: Vec<usize> = (0..self.len()).collect();
        self.batch(&all, None, device)
    }
}
