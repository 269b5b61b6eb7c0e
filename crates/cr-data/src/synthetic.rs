//! Seeded synthetic data sets for theory checks and tests: a Gaussian mixture and a
//! teacher-network task. Samples are shaped as images `[C, H, W]` (by default `[1, 1, d]`, so
//! a batch is `[N, 1, 1, d]`), labelled `0..classes`.
//!
//! Both can be configured from the command line as `synthetic-gmm:key=value,…` and
//! `synthetic-teacher:key=value,…` ([`GaussianMixture::from_params`],
//! [`Teacher::from_params`]).

use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::dataset::{Dataset, Splits};
use crate::error::{Result, invalid};

/// A Gaussian mixture: class k has mean `μ_k ~ N(0, (separation²/d)·I)` (so `‖μ_k‖ ≈
/// separation` and two means are about `√2·separation` apart) and samples
/// `x = μ_k + noise·z`, `z ~ N(0, I)`; optionally squashed into [0, 1] by the logistic
/// function. Sample i of a split has class `i mod classes` (balanced; shuffle before use if
/// order matters).
#[derive(Debug, Clone, PartialEq)]
pub struct GaussianMixture {
    /// Classes k.
    pub classes: usize,
    /// Sample shape `[C, H, W]` (the dimension is d = C·H·W).
    pub shape: [usize; 3],
    /// Samples in the training split.
    pub train: usize,
    /// Samples in the test split.
    pub test: usize,
    /// Norm scale of the class means.
    pub separation: f64,
    /// Noise standard deviation.
    pub noise: f64,
    /// Map every coordinate into [0, 1] with the logistic function `1/(1+e^{-v})` (for
    /// attacks that clip to the image box).
    pub unit_box: bool,
    /// Seed.
    pub seed: u64,
}

impl Default for GaussianMixture {
    /// `classes=10, dim=32 (shape [1,1,32]), train=2000, test=500, separation=4, noise=1,
    /// unit=true, seed=0`.
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
    if !(2..=65536).contains(&classes) {
        return Err(invalid(
            "classes",
            format!("{classes} is outside 2..=65536"),
        ));
    }
    if shape.contains(&0) || shape.iter().product::<usize>() > 1 << 20 {
        return Err(invalid(
            "shape",
            format!("{shape:?} is empty or has more than 2^20 values"),
        ));
    }
    let d: usize = shape.iter().product();
    if train == 0 || test == 0 || (train + test).saturating_mul(d) > 1 << 28 {
        return Err(invalid(
            "train/test",
            format!("{train}/{test} samples of {d} values (each ≥ 1, at most 2^28 values in all)"),
        ));
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

/// Parses `key=value,key=value` into pairs.
fn pairs(params: &str) -> Result<Vec<(&str, &str)>> {
    params
        .split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            p.split_once('=')
                .map(|(k, v)| (k.trim(), v.trim()))
                .ok_or_else(|| invalid(p, "expected key=value"))
        })
        .collect()
}

fn num<T: std::str::FromStr>(key: &str, v: &str) -> Result<T> {
    v.parse()
        .map_err(|_| invalid(key, format!("`{v}` is not a valid number")))
}

fn shape_of(key: &str, v: &str) -> Result<[usize; 3]> {
    let parts: Vec<&str> = v.split('x').collect();
    match parts.as_slice() {
        [c, h, w] => Ok([num(key, c)?, num(key, h)?, num(key, w)?]),
        _ => Err(invalid(key, format!("`{v}` is not CxHxW (e.g. 1x8x8)"))),
    }
}

fn boolean(key: &str, v: &str) -> Result<bool> {
    match v {
        "1" | "true" | "yes" => Ok(true),
        "0" | "false" | "no" => Ok(false),
        _ => Err(invalid(key, format!("`{v}` is not true/false"))),
    }
}

impl GaussianMixture {
    /// The defaults overridden by `params`, `key=value` pairs separated by commas. Keys:
    /// `classes`, `dim` (shape `[1, 1, dim]`), `shape` (`CxHxW`), `train`, `test`,
    /// `separation`, `noise`, `unit` (`true`/`false`), `seed`. An unknown key is an error.
    pub fn from_params(params: &str) -> Result<Self> {
        let mut g = Self::default();
        for (k, v) in pairs(params)? {
            match k {
                "classes" => g.classes = num(k, v)?,
                "dim" => g.shape = [1, 1, num(k, v)?],
                "shape" => g.shape = shape_of(k, v)?,
                "train" => g.train = num(k, v)?,
                "test" => g.test = num(k, v)?,
                "separation" => g.separation = num(k, v)?,
                "noise" => g.noise = num(k, v)?,
                "unit" => g.unit_box = boolean(k, v)?,
                "seed" => g.seed = num(k, v)?,
                _ => {
                    return Err(invalid(
                        k,
                        "unknown synthetic-gmm parameter (known: classes, dim, shape, train, test, separation, noise, unit, seed)",
                    ));
                }
            }
        }
        check(g.classes, g.shape, g.train, g.test)?;
        Ok(g)
    }

    /// Draws both splits: the means first, then the training samples, then the test samples,
    /// all from one ChaCha8 stream seeded with `seed`.
    pub fn generate(&self) -> Result<Splits> {
        check(self.classes, self.shape, self.train, self.test)?;
        if !(self.separation.is_finite() && self.noise.is_finite() && self.noise >= 0.0) {
            return Err(invalid(
                "separation/noise",
                format!("{} / {} (finite, noise ≥ 0)", self.separation, self.noise),
            ));
        }
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
                Path::new("<synthetic-gmm>"),
            )
        };
        let train = draw(self.train, &mut rng, "synthetic-gmm/train")?;
        let test = draw(self.test, &mut rng, "synthetic-gmm/test")?;
        Ok(Splits { train, test })
    }
}

/// A teacher network: inputs `x` uniform in [0, 1]^d, label `argmax_k (W₂ relu(W₁(x − ½) +
/// b₁ + ½))_k` of a random one-hidden-layer ReLU network with `W₁ ~ N(0, 1/d)`,
/// `b₁ = −½|N(0, 1)|`, `W₂ ~ N(0, 1/hidden)`. The task is exactly realisable by a ReLU FCN
/// of that width. Classes need not be balanced.
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
    /// `classes=10, dim=32 (shape [1,1,32]), hidden=64, train=2000, test=500, seed=0`.
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
    /// The defaults overridden by `params` (`key=value,…`). Keys: `classes`, `dim`, `shape`
    /// (`CxHxW`), `hidden`, `train`, `test`, `seed`. An unknown key is an error.
    pub fn from_params(params: &str) -> Result<Self> {
        let mut t = Self::default();
        for (k, v) in pairs(params)? {
            match k {
                "classes" => t.classes = num(k, v)?,
                "dim" => t.shape = [1, 1, num(k, v)?],
                "shape" => t.shape = shape_of(k, v)?,
                "hidden" => t.hidden = num(k, v)?,
                "train" => t.train = num(k, v)?,
                "test" => t.test = num(k, v)?,
                "seed" => t.seed = num(k, v)?,
                _ => {
                    return Err(invalid(
                        k,
                        "unknown synthetic-teacher parameter (known: classes, dim, shape, hidden, train, test, seed)",
                    ));
                }
            }
        }
        check(t.classes, t.shape, t.train, t.test)?;
        Ok(t)
    }

    /// The teacher's label for input `x` (length d), given its weights.
    fn label(&self, x: &[f64], w1: &[f64], b1: &[f64], w2: &[f64]) -> usize {
        let d = x.len();
        let h: Vec<f64> = (0..self.hidden)
            .map(|j| {
                let s: f64 = (0..d).map(|i| w1[j * d + i] * (x[i] - 0.5)).sum();
                (s + b1[j] + 0.5).max(0.0)
            })
            .collect();
        (0..self.classes)
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
            .0
    }

    /// Draws the teacher's weights, then both splits, from one ChaCha8 stream seeded with
    /// `seed`.
    pub fn generate(&self) -> Result<Splits> {
        check(self.classes, self.shape, self.train, self.test)?;
        let d: usize = self.shape.iter().product();
        if self.hidden == 0 || self.hidden > 1 << 16 || self.hidden.saturating_mul(d) > 1 << 26 {
            return Err(invalid(
                "hidden",
                format!("{} is outside 1..=65536 (or hidden·d > 2^26)", self.hidden),
            ));
        }
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
                labels.push(self.label(&x, &w1, &b1, &w2) as u16);
                images.extend(x.iter().map(|v| *v as f32));
            }
            Dataset::new(
                name,
                images,
                labels,
                self.shape,
                self.classes,
                Path::new("<synthetic-teacher>"),
            )
        };
        let train = draw(self.train, &mut rng, "synthetic-teacher/train")?;
        let test = draw(self.test, &mut rng, "synthetic-teacher/test")?;
        Ok(Splits { train, test })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmm_classes_are_separated_as_documented() {
        // With noise 0 every sample is its class mean; means have norm ≈ separation.
        let g = GaussianMixture {
            classes: 3,
            shape: [1, 1, 400],
            train: 30,
            test: 3,
            separation: 5.0,
            noise: 0.0,
            unit_box: false,
            seed: 9,
        };
        let s = g.generate().unwrap();
        assert_eq!(s.train.class_counts(), vec![10, 10, 10]);
        let norm = |v: &[f32]| v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
        for i in 0..3 {
            assert_eq!(s.train.image(i), s.train.image(i + 3));
            let r = norm(s.train.image(i));
            assert!((r - 5.0).abs() < 0.6, "norm {r}");
        }
        // The means are drawn first, so noisy samples of the same seed share them, and
        // nearest-mean classification is near perfect at this separation (means ~7 apart,
        // noise 0.5 per coordinate in 400 dimensions: a margin of about five standard
        // deviations of the squared distances).
        let noisy = GaussianMixture {
            noise: 0.5,
            ..g.clone()
        }
        .generate()
        .unwrap();
        let dist = |a: &[f32], b: &[f32]| -> f64 {
            a.iter().zip(b).map(|(x, y)| ((x - y) as f64).powi(2)).sum()
        };
        let correct = (0..noisy.train.len())
            .filter(|&i| {
                let x = noisy.train.image(i);
                let best = (0..3)
                    .min_by(|&a, &b| {
                        dist(x, s.train.image(a)).total_cmp(&dist(x, s.train.image(b)))
                    })
                    .unwrap();
                best == noisy.train.labels[i] as usize
            })
            .count();
        assert_eq!(correct, 30);
        let boxed = GaussianMixture {
            unit_box: true,
            ..g.clone()
        }
        .generate()
        .unwrap();
        assert!(boxed.train.images.iter().all(|v| (0.0..=1.0).contains(v)));
        assert_eq!(
            GaussianMixture::from_params(
                "classes=3,dim=400,train=30,test=3,separation=5,noise=0,unit=false,seed=9"
            )
            .unwrap(),
            g
        );
        assert!(GaussianMixture::from_params("colour=3").is_err());
        assert!(GaussianMixture::from_params("classes=1").is_err());
        assert!(GaussianMixture::from_params("shape=1x2").is_err());
    }

    #[test]
    fn teacher_is_seeded_shaped_and_in_the_unit_box() {
        let t = Teacher::from_params("classes=4,shape=1x2x3,hidden=8,train=200,test=10,seed=3")
            .unwrap();
        assert_eq!(t.shape, [1, 2, 3]);
        let s = t.generate().unwrap();
        assert_eq!(s.train.shape, [1, 2, 3]);
        assert!(s.train.images.iter().all(|v| (0.0..1.0).contains(v)));
        // Same seed, same data; another seed, another teacher.
        assert_eq!(t.generate().unwrap(), s);
        let other = Teacher {
            seed: 4,
            ..t.clone()
        }
        .generate()
        .unwrap();
        assert_ne!(other.train.labels, s.train.labels);
    }
}
