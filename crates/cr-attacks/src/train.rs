//! Adversarial training support (Madry et al. 2018; SPEC §3, "Adversarial training"): the
//! minibatch with a fraction of its samples replaced by PGD examples. The training loop
//! itself lives elsewhere (cr-train / cr-experiments).

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{AttackError, Result, invalid};
use crate::model::{Classifier, index_tensor, scatter_rows};
use crate::pgd::{PgdConfig, pgd_restarts};
use crate::rng::{purpose, sample_rng};

/// Which samples of a minibatch are replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Replace {
    /// The first `⌊f·B⌋` samples (the advcomp/ART convention for a shuffled loader).
    First,
    /// A random subset of `⌊f·B⌋` samples drawn with this seed (vary it per step).
    Random {
        /// Seed of the subset.
        seed: u64,
    },
}

/// A minibatch with adversarial samples in it.
#[derive(Debug, Clone)]
pub struct AdversarialBatch {
    /// The batch `[B, C, H, W]`, off autodiff: rows in [`AdversarialBatch::replaced`] are PGD
    /// examples, the others are the inputs unchanged.
    pub x: Tensor<4>,
    /// Positions replaced, ascending.
    pub replaced: Vec<usize>,
}

/// Replaces `⌊fraction·B⌋` samples of the minibatch `(x, y)` by PGD examples (`pgd`; its seed
/// keys the random starts, so vary it per training step). Every chosen sample is attacked,
/// whether or not it is classified correctly; with restarts, a sample keeps its first
/// successful restart, else the highest-loss one.
///
/// `model` should be an evaluation copy (`model.valid()`): a model on the autodiff device
/// works but also accumulates parameter gradients for nothing.
pub fn adversarial_batch<C: Classifier + ?Sized>(
    model: &C,
    x: Tensor<4>,
    y: Tensor<1, Int>,
    pgd: &PgdConfig,
    fraction: f64,
    replace: Replace,
) -> Result<AdversarialBatch> {
    pgd.validate()?;
    if !(0.0..=1.0).contains(&fraction) {
        return Err(invalid(
            "fraction",
            format!("must be in [0, 1], got {fraction}"),
        ));
    }
    let x = x.inner();
    let y = y.inner();
    let [b, ..] = x.dims();
    let [nb] = y.dims();
    if nb != b {
        return Err(AttackError::Shape(format!("{b} images but {nb} labels")));
    }
    let m = (fraction * b as f64).floor() as usize;
    let mut chosen: Vec<usize> = match replace {
        Replace::First => (0..m).collect(),
        Replace::Random { seed } => {
            use rand::seq::index::sample;
            let mut rng = sample_rng(seed, purpose::TRAIN_SUBSET, 0, 0);
            sample(&mut rng, b, m).into_vec()
        }
    };
    chosen.sort_unstable();
    if m == 0 {
        return Ok(AdversarialBatch {
            x,
            replaced: chosen,
        });
    }
    if pgd.clip {
        let min: f32 = x.clone().min().into_scalar();
        let max: f32 = x.clone().max().into_scalar();
        if !(min >= 0.0 && max <= 1.0) {
            return Err(AttackError::InputRange { min, max });
        }
    }
    let device = x.device();
    let idx = index_tensor(&chosen, &device);
    let xs = x.clone().select(0, idx.clone());
    let ys = y.select(0, idx);
    let active = vec![true; m];
    // Random streams are keyed by the position in the minibatch.
    let (adv, _) = pgd_restarts(model, xs, ys, &chosen, &active, pgd)?;
    let all = vec![true; m];
    Ok(AdversarialBatch {
        x: scatter_rows(x, adv, &chosen, &all),
        replaced: chosen,
    })
}
