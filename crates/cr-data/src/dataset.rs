//! [`Dataset`]: labelled images in memory, and the deterministic operations on them —
//! subsets, seeded shuffles and stratified splits, epoch orders and minibatches as burn
//! tensors (optionally augmented on the host).
//!
//! Every random choice is drawn on the host from a [`ChaCha8Rng`] seeded from the caller's
//! seed, so results are identical on every backend. Epoch orders and per-batch augmentation
//! streams are functions of `(seed, epoch)` and `(seed, epoch, batch)` only ([`sub_seed`]),
//! so a run resumed at any batch sees exactly the batches an uninterrupted run would.

use std::path::Path;

use burn::prelude::*;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::augment::Augment;
use crate::error::{DataError, Result, invalid};

/// Labelled images: f32 pixels in [0, 1], NCHW, row-major.
///
/// The fields are public for reading; the constructor [`Dataset::new`] checks that
/// `images.len() == labels.len() · C·H·W` and that every label is below `num_classes`, and
/// the methods assume it.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// A name for logs and reports (`mnist/train`).
    pub name: String,
    /// `len · C · H · W` pixels in [0, 1], sample-major, then channel, row, column.
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

/// SplitMix64 finaliser: a well-mixed 64-bit hash used to derive independent sub-seeds.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The sub-seed for purpose `tag` at position `i` of a run seeded with `seed`
/// (`mix(mix(mix(seed) ^ tag) ^ i)`; the same derivation as cr-train's).
pub fn sub_seed(seed: u64, tag: u64, i: u64) -> u64 {
    mix(mix(mix(seed) ^ tag) ^ i)
}

/// Tags of [`sub_seed`] used here.
pub mod tags {
    /// [`super::Dataset::split`].
    pub const SPLIT: u64 = 1;
    /// [`super::Dataset::epoch_order`].
    pub const ORDER: u64 = 2;
    /// Augmentation of the batches of [`super::Dataset::batches`].
    pub const AUGMENT: u64 = 3;
}

/// A stratified, seeded split of the samples `0..labels.len()` into (rest, held out), the one
/// rule every split of cr uses (the trainer's validation split and [`Dataset::split`]):
/// within each class c, shuffled by a ChaCha8 stream seeded by `sub_seed(seed, SPLIT, 0)`,
/// the first `round(fraction · n_c)` samples are held out, at least one when `fraction > 0`
/// and the class has two or more samples, and never all of a class. Both lists are sorted and
/// disjoint, and together they are `0..labels.len()`.
///
/// # Errors
/// `fraction` outside [0, 1), or a label not below `classes` (naming the first such sample;
/// never merged into another class).
pub fn stratified_split(
    labels: &[usize],
    classes: usize,
    fraction: f64,
    seed: u64,
) -> Result<(Vec<usize>, Vec<usize>)> {
    if !(0.0..1.0).contains(&fraction) {
        return Err(invalid("fraction", format!("{fraction} is outside [0, 1)")));
    }
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); classes];
    for (i, &c) in labels.iter().enumerate() {
        let slot = by_class.get_mut(c).ok_or_else(|| {
            invalid(
                "labels",
                format!(
                    "sample {i} has label {c}, but the data set has {classes} classes (labels 0..{})",
                    classes.saturating_sub(1)
                ),
            )
        })?;
        slot.push(i);
    }
    if fraction == 0.0 {
        return Ok(((0..labels.len()).collect(), Vec::new()));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(sub_seed(seed, tags::SPLIT, 0));
    let (mut rest, mut held) = (Vec::new(), Vec::new());
    for mut idx in by_class {
        idx.shuffle(&mut rng);
        let k = ((fraction * idx.len() as f64).round() as usize)
            .max(usize::from(idx.len() >= 2))
            .min(idx.len().saturating_sub(1));
        held.extend_from_slice(&idx[..k]);
        rest.extend_from_slice(&idx[k..]);
    }
    rest.sort_unstable();
    held.sort_unstable();
    Ok((rest, held))
}

/// The order in which epoch `epoch` visits `indices`: a permutation fixed by `(seed, epoch)`
/// (ChaCha8 seeded with `sub_seed(seed, ORDER, epoch)`), the one rule of the trainer and
/// [`Dataset::epoch_order`].
pub fn epoch_order(indices: &[usize], seed: u64, epoch: u64) -> Vec<usize> {
    let mut order = indices.to_vec();
    order.shuffle(&mut ChaCha8Rng::seed_from_u64(sub_seed(
        seed,
        tags::ORDER,
        epoch,
    )));
    order
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
        if d == 0 || labels.len().checked_mul(d) != Some(images.len()) {
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
                label: *l as i64,
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

    /// Per-channel mean and (population) standard deviation of the pixels, over all samples.
    pub fn channel_stats(&self) -> (Vec<f64>, Vec<f64>) {
        let [c, h, w] = self.shape;
        let plane = h * w;
        let mut sum = vec![0.0f64; c];
        let mut sq = vec![0.0f64; c];
        for (i, v) in self.images.iter().enumerate() {
            let ch = (i / plane) % c.max(1);
            let v = f64::from(*v);
            sum[ch] += v;
            sq[ch] += v * v;
        }
        let count = (self.len() * plane).max(1) as f64;
        let mean: Vec<f64> = sum.iter().map(|s| s / count).collect();
        let std = sq
            .iter()
            .zip(&mean)
            .map(|(q, m)| (q / count - m * m).max(0.0).sqrt())
            .collect();
        (mean, std)
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

    /// Channels C.
    pub fn channels(&self) -> usize {
        self.shape[0]
    }

    /// Height H.
    pub fn height(&self) -> usize {
        self.shape[1]
    }

    /// Width W.
    pub fn width(&self) -> usize {
        self.shape[2]
    }

    /// Pixels of sample `i` (`[C, H, W]`, row-major).
    ///
    /// # Panics
    /// If `i >= len()`.
    pub fn image(&self, i: usize) -> &[f32] {
        let d = self.dim();
        &self.images[i * d..(i + 1) * d]
    }

    /// Samples per class (length `num_classes`).
    pub fn class_counts(&self) -> Vec<usize> {
        let mut c = vec![0; self.num_classes];
        for l in &self.labels {
            if let Some(x) = c.get_mut(*l as usize) {
                *x += 1;
            }
        }
        c
    }

    /// The sample indices of each class, in file order.
    pub fn indices_by_class(&self) -> Vec<Vec<usize>> {
        let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); self.num_classes];
        for (i, l) in self.labels.iter().enumerate() {
            if let Some(v) = by_class.get_mut(*l as usize) {
                v.push(i);
            }
        }
        by_class
    }

    /// The samples `indices`, in that order (repeats allowed); an index `>= len()` is an
    /// error.
    pub fn subset(&self, indices: &[usize]) -> Result<Dataset> {
        if let Some(bad) = indices.iter().find(|i| **i >= self.len()) {
            return Err(invalid(
                "indices",
                format!(
                    "{bad} is out of range for {} ({} samples)",
                    self.name,
                    self.len()
                ),
            ));
        }
        Ok(self.pick(indices))
    }

    /// `subset` for indices known to be in range.
    fn pick(&self, indices: &[usize]) -> Dataset {
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

    /// The first `n` samples in file order (all of them when `n ≥ len`).
    pub fn first(&self, n: usize) -> Dataset {
        let idx: Vec<usize> = (0..n.min(self.len())).collect();
        let mut out = self.pick(&idx);
        if n < self.len() {
            out.name = format!("{} (first {n})", self.name);
        }
        out
    }

    /// The first `k` samples of each class (fewer where a class has fewer), kept in file
    /// order.
    pub fn first_per_class(&self, k: usize) -> Dataset {
        let mut idx: Vec<usize> = self
            .indices_by_class()
            .into_iter()
            .flat_map(|c| c.into_iter().take(k))
            .collect();
        idx.sort_unstable();
        let mut out = self.pick(&idx);
        out.name = format!("{} (first {k} per class)", self.name);
        out
    }

    /// At most `n` samples, class-balanced and deterministic: the first samples of each class
    /// in file order, taken round-robin over classes (class 0 first), kept in file order. The
    /// whole set when `n ≥ len`.
    pub fn balanced(&self, n: usize) -> Dataset {
        if n >= self.len() {
            return self.clone();
        }
        let by_class = self.indices_by_class();
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
        let mut out = self.pick(&picked);
        out.name = format!("{} (first {n}, balanced)", self.name);
        out
    }

    /// A seeded permutation of the samples (ChaCha8 Fisher–Yates).
    pub fn shuffled(&self, seed: u64) -> Dataset {
        let mut idx: Vec<usize> = (0..self.len()).collect();
        idx.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
        self.pick(&idx)
    }

    /// Indices of a stratified, seeded split into (rest, held out): [`stratified_split`] of
    /// this set's labels.
    pub fn split_indices(&self, fraction: f64, seed: u64) -> Result<(Vec<usize>, Vec<usize>)> {
        let labels: Vec<usize> = self.labels.iter().map(|&l| l as usize).collect();
        stratified_split(&labels, self.num_classes, fraction, seed)
    }

    /// A stratified, seeded train/validation split (see [`Dataset::split_indices`]):
    /// `(train, validation)`, each in file order.
    pub fn split(&self, fraction: f64, seed: u64) -> Result<(Dataset, Dataset)> {
        let (rest, held) = self.split_indices(fraction, seed)?;
        let mut a = self.pick(&rest);
        let mut b = self.pick(&held);
        a.name = format!("{} (train part)", self.name);
        b.name = format!("{} (validation part)", self.name);
        Ok((a, b))
    }

    /// The order in which epoch `epoch` visits the samples: [`epoch_order`] of `0..len`.
    pub fn epoch_order(&self, seed: u64, epoch: u64) -> Vec<usize> {
        epoch_order(&(0..self.len()).collect::<Vec<_>>(), seed, epoch)
    }

    /// Host copies of the samples `indices` — pixels `[B·C·H·W]` and labels — augmented
    /// with `augment` drawn from `rng` when given.
    pub fn host_batch(
        &self,
        indices: &[usize],
        augment: Option<(&Augment, &mut ChaCha8Rng)>,
    ) -> Result<(Vec<f32>, Vec<i64>)> {
        if let Some(bad) = indices.iter().find(|i| **i >= self.len()) {
            return Err(invalid(
                "indices",
                format!(
                    "{bad} is out of range for {} ({} samples)",
                    self.name,
                    self.len()
                ),
            ));
        }
        let d = self.dim();
        let mut xs = Vec::with_capacity(indices.len() * d);
        match augment {
            Some((aug, rng)) if !aug.is_identity() => {
                let mut buf = vec![0f32; d];
                for &i in indices {
                    crate::augment::augment_into(self.image(i), self.shape, aug, rng, &mut buf)?;
                    xs.extend_from_slice(&buf);
                }
            }
            _ => {
                for &i in indices {
                    xs.extend_from_slice(self.image(i));
                }
            }
        }
        let ys = indices.iter().map(|&i| self.labels[i] as i64).collect();
        Ok((xs, ys))
    }

    /// Images `[B, C, H, W]` and labels `[B]` of the samples `indices` on `device`; when
    /// `augment` is given, random crop with zero padding 4 and horizontal flip
    /// ([`Augment::CIFAR`]) drawn from it. (The interface cr-train's loop uses; see
    /// [`Dataset::batches`] for whole epochs and [`Dataset::host_batch`] for other
    /// augmentations.)
    ///
    /// # Panics
    /// If an index is `>= len()`.
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
                let mut buf = vec![0f32; d];
                for &i in indices {
                    draw_cifar(self.image(i), self.shape, rng, &mut buf);
                    xs.extend_from_slice(&buf);
                }
            }
        }
        let ys: Vec<i64> = indices.iter().map(|&i| self.labels[i] as i64).collect();
        self.to_tensors(xs, ys, device)
    }

    fn to_tensors(
        &self,
        xs: Vec<f32>,
        ys: Vec<i64>,
        device: &Device,
    ) -> (Tensor<4>, Tensor<1, Int>) {
        let [c, h, w] = self.shape;
        let b = ys.len();
        let x = Tensor::from_data(TensorData::new(xs, [b, c, h, w]), device);
        let y = Tensor::from_data(TensorData::new(ys, [b]), device);
        (x, y)
    }

    /// Every sample as tensors on `device` (`[N, C, H, W]`, `[N]`).
    pub fn tensors(&self, device: &Device) -> (Tensor<4>, Tensor<1, Int>) {
        self.to_tensors(
            self.images.clone(),
            self.labels.iter().map(|l| *l as i64).collect(),
            device,
        )
    }

    /// The minibatches of epoch `epoch` (see [`BatchOptions`]); start later with
    /// [`Batches::starting_at`] to resume mid-epoch.
    pub fn batches(&self, opts: &BatchOptions, epoch: u64, device: &Device) -> Result<Batches<'_>> {
        if opts.batch_size == 0 {
            return Err(invalid("batch_size", "must be at least 1"));
        }
        let order = if opts.shuffle {
            self.epoch_order(opts.seed, epoch)
        } else {
            (0..self.len()).collect()
        };
        let n = if opts.drop_last {
            self.len() / opts.batch_size
        } else {
            self.len().div_ceil(opts.batch_size)
        };
        Ok(Batches {
            data: self,
            order,
            opts: *opts,
            epoch,
            next: 0,
            end: n,
            device: device.clone(),
        })
    }
}

/// [`Augment::CIFAR`] with a shape known to match (the `Dataset` invariant: `image` is one
/// sample and `out` holds C·H·W values, so the length check cannot fail).
fn draw_cifar(image: &[f32], shape: [usize; 3], rng: &mut ChaCha8Rng, out: &mut [f32]) {
    let _ = crate::augment::augment_into(image, shape, &Augment::CIFAR, rng, out);
}

/// How [`Dataset::batches`] cuts an epoch into minibatches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOptions {
    /// Samples per batch (the last batch may be smaller unless `drop_last`).
    pub batch_size: usize,
    /// Visit the samples in the seeded order [`Dataset::epoch_order`]`(seed, epoch)`;
    /// otherwise in file order.
    pub shuffle: bool,
    /// Drop a last, incomplete batch.
    pub drop_last: bool,
    /// Augmentation of each batch, drawn from a ChaCha8 stream seeded by
    /// `mix(sub_seed(seed, AUGMENT, epoch) ^ batch)`. [`Augment::NONE`] for none.
    pub augment: Augment,
    /// The run's seed.
    pub seed: u64,
}

impl BatchOptions {
    /// Shuffled batches of `batch_size`, keeping the last short batch, no augmentation.
    pub fn new(batch_size: usize, seed: u64) -> Self {
        Self {
            batch_size,
            shuffle: true,
            drop_last: false,
            augment: Augment::NONE,
            seed,
        }
    }

    /// The same with augmentation `augment`.
    pub fn with_augment(mut self, augment: Augment) -> Self {
        self.augment = augment;
        self
    }
}

/// The minibatches of one epoch, as `(images [B, C, H, W], labels [B])` on a device.
#[derive(Debug, Clone)]
pub struct Batches<'a> {
    data: &'a Dataset,
    order: Vec<usize>,
    opts: BatchOptions,
    epoch: u64,
    next: usize,
    end: usize,
    device: Device,
}

impl Batches<'_> {
    /// Number of batches in the epoch (including those already taken).
    pub fn num_batches(&self) -> usize {
        self.end
    }

    /// The epoch's visiting order.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// Continues from batch `batch` (0-based) of the epoch, as a resumed run does: the
    /// batches that follow are those an uninterrupted iteration yields from there.
    pub fn starting_at(mut self, batch: usize) -> Self {
        self.next = batch.min(self.end);
        self
    }

    /// The sample indices of batch `b` (empty past the end).
    pub fn indices(&self, b: usize) -> &[usize] {
        if b >= self.end {
            return &[];
        }
        let s = b * self.opts.batch_size;
        let e = (s + self.opts.batch_size).min(self.order.len());
        &self.order[s..e]
    }

    /// Host pixels and labels of batch `b`, augmented as configured.
    pub fn host(&self, b: usize) -> (Vec<f32>, Vec<i64>) {
        let idx = self.indices(b);
        let mut rng =
            ChaCha8Rng::seed_from_u64(mix(
                sub_seed(self.opts.seed, tags::AUGMENT, self.epoch) ^ b as u64
            ));
        // Indices come from the order, so they are in range.
        self.data
            .host_batch(idx, Some((&self.opts.augment, &mut rng)))
            .unwrap_or_default()
    }
}

impl Iterator for Batches<'_> {
    type Item = (Tensor<4>, Tensor<1, Int>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.end {
            return None;
        }
        let (xs, ys) = self.host(self.next);
        self.next += 1;
        Some(self.data.to_tensors(xs, ys, &self.device))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.end - self.next;
        (n, Some(n))
    }
}

impl ExactSizeIterator for Batches<'_> {}
