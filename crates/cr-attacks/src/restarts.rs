//! The restart bookkeeping PGD and APGD share (auto-attack's `perturb`): each restart attacks
//! only the samples still robust, and its result is merged into the running best by one rule.

use burn::prelude::*;

use crate::error::Result;
use crate::model::{index_tensor, mask_tensor, read_bool, scatter_rows};
use crate::norm::select_images;

/// The running result of a restarted attack over a batch of `n` samples.
pub(crate) struct Restarts {
    /// The current adversarial batch (the clean input where nothing was kept yet).
    pub adv: Tensor<4>,
    /// Per sample, the loss of the kept point (−∞ before the first restart).
    best_loss: Tensor<1>,
    /// Per sample, whether the kept point fools the model.
    pub fooled: Vec<bool>,
}

/// One restart's share of the batch: the samples it attacks (`sel`, indices into the batch)
/// and their inputs, labels and positions in the caller's data (which key their random
/// streams).
pub(crate) struct Subset {
    /// Indices into the batch.
    pub sel: Vec<usize>,
    /// `sel` as a device index tensor.
    pub idx: Tensor<1, Int>,
    /// Their inputs.
    pub x: Tensor<4>,
    /// Their labels.
    pub y: Tensor<1, Int>,
    /// Their positions in the caller's data.
    pub positions: Vec<usize>,
}

impl Restarts {
    /// Nothing attacked yet: every sample keeps `x`.
    pub fn new(x: &Tensor<4>) -> Self {
        let n = x.dims()[0];
        Restarts {
            adv: x.clone(),
            best_loss: Tensor::<1>::full([n], f32::NEG_INFINITY, &x.device()),
            fooled: vec![false; n],
        }
    }

    /// The samples marked `active` and not fooled yet, with their data; `None` when there are
    /// none (the attack is done).
    pub fn pending(
        &self,
        x: &Tensor<4>,
        y: &Tensor<1, Int>,
        positions: &[usize],
        active: &[bool],
    ) -> Option<Subset> {
        let sel: Vec<usize> = (0..active.len())
            .filter(|&i| active[i] && !self.fooled[i])
            .collect();
        if sel.is_empty() {
            return None;
        }
        let idx = index_tensor(&sel, &x.device());
        Some(Subset {
            x: x.clone().select(0, idx.clone()),
            y: y.clone().select(0, idx.clone()),
            positions: sel.iter().map(|&i| positions[i]).collect(),
            idx,
            sel,
        })
    }

    /// Merges a restart by auto-attack's rule: a sample of `sub` takes the restart's point
    /// where that point fools the model or has a higher loss than the kept one (so a fooled
    /// sample keeps the first restart that fooled it: it is not attacked again).
    pub fn merge_best(
        &mut self,
        sub: &Subset,
        adv: Tensor<4>,
        loss: Tensor<1>,
        fooled: Tensor<1, Bool>,
        what: &'static str,
    ) -> Result<()> {
        let n = self.fooled.len();
        let device = self.adv.device();
        let all = vec![true; sub.sel.len()];
        let cand = scatter_rows(self.adv.clone(), adv, &sub.sel, &all);
        let cand_loss = scatter_rows(self.best_loss.clone(), loss, &sub.sel, &all);
        let fooled_full = scatter_rows(
            Tensor::<1>::zeros([n], &device),
            fooled.clone().float(),
            &sub.sel,
            &all,
        )
        .greater_elem(0.5);
        let mut in_sel = vec![false; n];
        for &i in &sub.sel {
            in_sel[i] = true;
        }
        let take = mask_tensor(&in_sel, &device)
            .bool_and(fooled_full.bool_or(cand_loss.clone().greater(self.best_loss.clone())));
        self.adv = select_images(take.clone(), cand, self.adv.clone());
        self.best_loss = self.best_loss.clone().mask_where(take, cand_loss);
        self.set_fooled(sub, fooled, what).map(|_| ())
    }

    /// Records which samples of `sub` are fooled now (read from the device); returns that
    /// host mask, one entry per sample of `sub`.
    pub fn set_fooled(
        &mut self,
        sub: &Subset,
        fooled: Tensor<1, Bool>,
        what: &'static str,
    ) -> Result<Vec<bool>> {
        let fs = read_bool(fooled, what)?;
        for (&i, f) in sub.sel.iter().zip(&fs) {
            self.fooled[i] = *f;
        }
        Ok(fs)
    }

    /// How many samples are fooled.
    pub fn n_fooled(&self) -> usize {
        self.fooled.iter().filter(|f| **f).count()
    }

    /// The adversarial batch and the host mask of samples fooled.
    pub fn finish(self) -> (Tensor<4>, Vec<bool>) {
        (self.adv, self.fooled)
    }
}
