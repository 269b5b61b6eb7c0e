//! Seeded synthetic data sets for theory checks and tests.

use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::dataset::{Dataset, Splits};
use crate::error::{DataError, Result};

/// A Gaussian mixture: one isotropic Gaussian per class.
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianMixture {
    /// Classes.
    pub classes: usize,
    /// Sample shape `[C, H, W]` (the dimension is C·H·W).
    pub shape: [usize; 3],
    /// Samples in the training split (class-balanced).
    pub train: usize,
    /// Samples in the test split.
    pub test: usize,
    /// Distance scale of the class means (means ~ N(0, separation²·I/d)).
    pub separation: f64,
    /// Noise standard deviation.
    pub noise: f64,
    /// Map every coordinate into [0, 1] with the logistic function (for attacks with box
    /// clipping).
    pub unit_box: bool,
    /// Seed.
    pub seed: u64,
}

impl Default for GaussianMixture {
    /// 10 classes in 32 dimensions, 2,000/500 samples, separation 4, noise 1, in [0, 1].
    fn default() -> Self {
        Self {
            classes: 10,
            shape: [1, 1, 32],
            train: 2000,
            test: 500,
            separation: 4.0,
            noise: 1.0,
            unit_box: true,
            seed: 0,
        }
    }
}

fn check(classes: usize, shape: [usize; 3], train: usize, test: usize) -> Result<()> {
    let bad = |f: &str, p: String| {
        Err(DataError::Invalid {
            field: f.into(),
            problem: p,
        })
    };
    if classes < 2 {
        return bad("classes", format!("{classes} < 2"));
    }
    if shape.contains(&0) || shape.iter().product::<usize>() > 1 << 20 {
        return bad("shape", format!("{shape:?} is empty or too large"));
    }
    if train == 0 || test == 0 || train + test > 1 << 22 {
        return bad("train/test", format!("{train}/{test} samples"));
    }
    Ok(())
}

fn squash(v: f64, unit: bool) -> f32 {
    if unit {
        (1.0 / (1.0 + (-v).exp())) as f32
    } else {
        v as f32
    }
}

impl GaussianMixture {
    /// Draws both splits.
    pub fn generate(&self) -> Result<Splits> {
        check(self.classes, self.shape, self.train, self.test)?;
        let d: usize = self.shape.iter().product();
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let scale = self.separation / (d as f64).sqrt();
        let means: Vec<Vec<f64>> = (0..self.classes)
            .map(|_| {
                (0..d)
                    .map(|_| {
                        let z: f64 = StandardNormal.sample(&mut rng);
                        scale * z
                    })
                    .collect()
            })
            .collect();
        let draw = |n: usize, rng: &mut ChaCha8Rng, name: &str| -> Result<Dataset> {
            let mut images = Vec::with_capacity(n * d);
            let mut labels = Vec::with_capacity(n);
            for i in 0..n {
                let c = i % self.classes;
                for m in &means[c] {
                    let z: f64 = StandardNormal.sample(rng);
                    images.push(squash(m + self.noise * z, self.unit_box));
                }
                labels.push(c as u16);
            }
            Dataset::new(
                name,
                images,
                labels,
                self.shape,
                self.classes,
                Path::new("<synthetic>"),
            )
        };
        let train = draw(self.train, &mut rng, "synthetic-gmm/train")?;
        let test = draw(self.test, &mut rng, "synthetic-gmm/test")?;
        Ok(Splits { train, test })
    }
}

/// A teacher network: inputs uniform in [0, 1]^d, labels the argmax of a random one-hidden-
/// layer ReLU network (the task is exactly realisable by an FCN).
#[derive(Debug, Clone, PartialEq)]
pub struct Teacher {
    /// Classes.
    pub classes: usize,
    /// Sample shape.
    pub shape: [usize; 3],
    /// Hidden width of the teacher.
    pub hidden: usize,
    /// Training samples.
    pub train: usize,
    /// Test samples.
    pub test: usize,
    /// Seed.
    pub seed: u64,
}

impl Default for Teacher {
    /// 10 classes, 32 dimensions, hidden width 64, 2,000/500 samples.
    fn default() -> Self {
        Self {
            classes: 10,
            shape: [1, 1, 32],
            hidden: 64,
            train: 2000,
            test: 500,
            seed: 0,
        }
    }
}

impl Teacher {
    /// Draws both splits.
    pub fn generate(&self) -> Result<Splits> {
        check(self.classes, self.shape, self.train, self.test)?;
        if self.hidden == 0 || self.hidden > 1 << 16 {
            return Err(DataError::Invalid {
                field: "hidden".into(),
                problem: format!("{} is outside 1..=65536", self.hidden),
            });
        }
        let d: usize = self.shape.iter().product();
        let mut rng = ChaCha8Rng::seed_from_u64(self.seed);
        let normal = |rng: &mut ChaCha8Rng| -> f64 { StandardNormal.sample(rng) };
        let w1: Vec<f64> = (0..self.hidden * d)
            .map(|_| normal(&mut rng) / (d as f64).sqrt())
            .collect();
        let b1: Vec<f64> = (0..self.hidden)
            .map(|_| -0.5 * normal(&mut rng).abs())
            .collect();
        let w2: Vec<f64> = (0..self.classes * self.hidden)
            .map(|_| normal(&mut rng) / (self.hidden as f64).sqrt())
            .collect();
        let draw = |n: usize, rng: &mut ChaCha8Rng, name: &str| -> Result<Dataset> {
            let mut images = Vec::with_capacity(n * d);
            let mut labels = Vec::with_capacity(n);
            for _ in 0..n {
                let x: Vec<f64> = (0..d).map(|_| rng.random::<f64>()).collect();
                let h: Vec<f64> = (0..self.hidden)
                    .map(|j| {
                        let s: f64 = (0..d).map(|i| w1[j * d + i] * (x[i] - 0.5)).sum();
                        (s + b1[j] + 0.5).max(0.0)
                    })
                    .collect();
                let label = (0..self.classes)
                    .map(|k| {
                        (0..self.hidden)
                            .map(|j| w2[k * self.hidden + j] * h[j])
                            .sum::<f64>()
                    })
                    .enumerate()
                    .fold(
                        (0, f64::NEG_INFINITY),
                        |b, (k, v)| if v > b.1 { (k, v) } else { b },
                    )
                    .0;
                images.extend(x.iter().map(|v| *v as f32));
                labels.push(label as u16);
            }
            Dataset::new(
                name,
                images,
                labels,
                self.shape,
                self.classes,
                Path::new("<synthetic>"),
            )
        };
        let train = draw(self.train, &mut rng, "synthetic-teacher/train")?;
        let test = draw(self.test, &mut rng, "synthetic-teacher/test")?;
        Ok(Splits { train, test })
    }
}
