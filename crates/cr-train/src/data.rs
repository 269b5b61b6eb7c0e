//! What the training loop needs from a data set, and the deterministic index bookkeeping
//! (split, epoch order, sub-seeds) that makes a resumed run identical to an uninterrupted one.

use burn::prelude::*;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::error::TrainError;

/// A labelled image data set the loop can draw minibatches from.
pub trait TrainData {
    /// Number of samples.
    fn len(&self) -> usize;
    /// Whether there are no samples.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Number of classes.
    fn num_classes(&self) -> usize;
    /// Label of sample `i`.
    fn label(&self, i: usize) -> usize;
    /// Images `[B, C, H, W]` in [0, 1] and labels of the samples `indices`, on `device`;
    /// when `augment` is given, random crop (zero padding 4) and horizontal flip drawn from it.
    fn batch(
        &self,
        indices: &[usize],
        augment: Option<&mut ChaCha8Rng>,
        device: &Device,
    ) -> (Tensor<4>, Tensor<1, Int>);
}

/// SplitMix64: a well-mixed 64-bit hash, used to derive independent sub-seeds.
pub fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A sub-seed for purpose `tag` at position `i` of a run seeded with `seed`.
pub fn sub_seed(seed: u64, tag: u64, i: u64) -> u64 {
    mix(mix(mix(seed) ^ tag) ^ i)
}

/// Tags of [`sub_seed`] used by the loop (documented so a hook can avoid them).
pub mod tags {
    /// Train/validation split.
    pub const SPLIT: u64 = 1;
    /// Epoch order.
    pub const ORDER: u64 = 2;
    /// Augmentation.
    pub const AUGMENT: u64 = 3;
    /// Hooks (e.g. adversarial-training random starts), indexed by global step.
    pub const HOOK: u64 = 4;
}

/// Splits `0..n` into (train, validation) indices: a stratified, seeded split holding out
/// `round(fraction · n_c)` samples of each class c (at least one when the fraction is > 0
/// and the class has two or more samples). Both lists are sorted.
///
/// # Errors
/// [`TrainError::Data`] naming the first sample whose label is not below
/// [`TrainData::num_classes`] (never merged into another class).
pub fn split_indices(
    data: &dyn TrainData,
    fraction: f64,
    seed: u64,
) -> Result<(Vec<usize>, Vec<usize>), TrainError> {
    let n = data.len();
    let classes = data.num_classes();
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); classes];
    for i in 0..n {
        let c = data.label(i);
        let slot = by_class.get_mut(c).ok_or_else(|| {
            TrainError::Data(format!(
                "sample {i} has label {c}, but the data set has {classes} classes (labels 0..{})",
                classes.saturating_sub(1)
            ))
        })?;
        slot.push(i);
    }
    if fraction <= 0.0 {
        return Ok(((0..n).collect(), Vec::new()));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(sub_seed(seed, tags::SPLIT, 0));
    let (mut train, mut val) = (Vec::new(), Vec::new());
    for mut idx in by_class {
        idx.shuffle(&mut rng);
        let k = ((fraction * idx.len() as f64).round() as usize)
            .max(usize::from(idx.len() >= 2))
            .min(idx.len().saturating_sub(1));
        val.extend_from_slice(&idx[..k]);
        train.extend_from_slice(&idx[k..]);
    }
    train.sort_unstable();
    val.sort_unstable();
    Ok((train, val))
}

/// The order in which epoch `epoch` visits `indices`: a permutation fixed by (seed, epoch).
pub fn epoch_order(indices: &[usize], seed: u64, epoch: usize) -> Vec<usize> {
    let mut order = indices.to_vec();
    let mut rng = ChaCha8Rng::seed_from_u64(sub_seed(seed, tags::ORDER, epoch as u64));
    order.shuffle(&mut rng);
    order
}

impl TrainData for cr_data::Dataset {
    fn len(&self) -> usize {
        cr_data::Dataset::len(self)
    }

    fn num_classes(&self) -> usize {
        self.num_classes
    }

    fn label(&self, i: usize) -> usize {
        self.labels[i] as usize
    }

    fn batch(
        &self,
        indices: &[usize],
        augment: Option<&mut ChaCha8Rng>,
        device: &Device,
    ) -> (Tensor<4>, Tensor<1, Int>) {
        cr_data::Dataset::batch(self, indices, augment, device)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    struct Labels(Vec<usize>);
    impl TrainData for Labels {
        fn len(&self) -> usize {
            self.0.len()
        }
        fn num_classes(&self) -> usize {
            3
        }
        fn label(&self, i: usize) -> usize {
            self.0[i]
        }
        fn batch(
            &self,
            _: &[usize],
            _: Option<&mut ChaCha8Rng>,
            _: &Device,
        ) -> (Tensor<4>, Tensor<1, Int>) {
            unreachable!("not used by these tests")
        }
    }

    #[test]
    fn split_is_stratified_disjoint_complete_and_seeded() {
        let labels: Vec<usize> = (0..300).map(|i| i % 3).collect();
        let data = Labels(labels.clone());
        let (t, v) = split_indices(&data, 0.1, 7).unwrap();
        assert_eq!(t.len() + v.len(), 300);
        assert_eq!(v.len(), 30);
        for c in 0..3 {
            assert_eq!(v.iter().filter(|&&i| labels[i] == c).count(), 10);
        }
        let mut all: Vec<usize> = t.iter().chain(&v).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..300).collect::<Vec<_>>());
        assert_eq!(
            split_indices(&data, 0.1, 7).unwrap(),
            (t.clone(), v.clone())
        );
        assert_ne!(split_indices(&data, 0.1, 8).unwrap().1, v);
    }

    /// A label ≥ the class count is an error naming the sample (it used to be merged into
    /// the last class), with or without a validation split.
    #[test]
    fn labels_out_of_range_are_errors() {
        let data = Labels(vec![0, 1, 2, 3, 1]);
        for fraction in [0.0, 0.2] {
            let e = split_indices(&data, fraction, 0).unwrap_err().to_string();
            assert!(
                e.contains("sample 3") && e.contains("label 3") && e.contains("3 classes"),
                "{e}"
            );
        }
    }

    #[test]
    fn epoch_order_is_a_seeded_permutation() {
        let idx: Vec<usize> = (0..50).collect();
        let a = epoch_order(&idx, 1, 0);
        let mut s = a.clone();
        s.sort_unstable();
        assert_eq!(s, idx);
        assert_eq!(a, epoch_order(&idx, 1, 0));
        assert_ne!(a, epoch_order(&idx, 1, 1));
        assert_ne!(a, epoch_order(&idx, 2, 0));
    }
}
