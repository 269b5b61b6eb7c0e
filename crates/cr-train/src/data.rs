//! What the training loop needs from a data set, and the deterministic index bookkeeping
//! (split, epoch order, sub-seeds) that makes a resumed run identical to an uninterrupted one.

use burn::prelude::*;
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

use cr_data::epoch_order as order_of;
pub use cr_data::{mix, sub_seed};

/// Tags of [`sub_seed`] used by the loop (documented so a hook can avoid them): cr-data's
/// split, order and augmentation tags, and one for hooks.
pub mod tags {
    pub use cr_data::dataset::tags::{AUGMENT, ORDER, SPLIT};
    /// Hooks (e.g. adversarial-training random starts), indexed by global step.
    pub const HOOK: u64 = 4;
}

/// Splits `0..n` into sorted (train, validation) indices by cr-data's one rule,
/// [`cr_data::stratified_split`] (stratified, seeded, at least one sample of each class with
/// two or more held out when `fraction > 0`).
///
/// # Errors
/// [`TrainError::Data`] for a fraction outside [0, 1), or naming the first sample whose label
/// is not below [`TrainData::num_classes`] (never merged into another class).
pub fn split_indices(
    data: &dyn TrainData,
    fraction: f64,
    seed: u64,
) -> Result<(Vec<usize>, Vec<usize>), TrainError> {
    let labels: Vec<usize> = (0..data.len()).map(|i| data.label(i)).collect();
    cr_data::stratified_split(&labels, data.num_classes(), fraction.max(0.0), seed)
        .map_err(|e| TrainError::Data(e.to_string()))
}

/// The order in which epoch `epoch` visits `indices` ([`cr_data::epoch_order`]).
pub fn epoch_order(indices: &[usize], seed: u64, epoch: usize) -> Vec<usize> {
    order_of(indices, seed, epoch as u64)
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
