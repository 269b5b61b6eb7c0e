//! Per-sample objectives the attacks ascend: cross-entropy, DLR, and the logit margin.

use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use serde::{Deserialize, Serialize};

use crate::error::{AttackError, Result};

/// The loss an attack maximises.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Loss {
    /// Softmax cross-entropy `−log softmax(z)_y`.
    Ce,
    /// Difference of logits ratio (Croce & Hein 2020, Eq. 6), see [`dlr_loss`].
    Dlr,
    /// The negated logit margin `max_{i≠y} z_i − z_y` (see [`logit_margin`]): what Square
    /// and FAB drive across the decision boundary.
    Margin,
}

impl Loss {
    /// `ce` or `dlr`.
    pub fn name(self) -> &'static str {
        match self {
            Loss::Ce => "ce",
            Loss::Dlr => "dlr",
            Loss::Margin => "margin",
        }
    }

    /// Errors when the loss cannot be computed for `num_classes` logits.
    pub fn check_classes(self, num_classes: usize) -> Result<()> {
        match self {
            Loss::Dlr if num_classes < 3 => Err(AttackError::TooFewClasses(num_classes)),
            _ => Ok(()),
        }
    }

    /// Per-sample value `[B]` of this loss for logits `[B, K]` and labels `[B]`
    /// (differentiable when `logits` is tracked).
    pub fn per_sample(self, logits: Tensor<2>, y: Tensor<1, Int>) -> Tensor<1> {
        match self {
            Loss::Ce => ce_loss(logits, y),
            Loss::Dlr => dlr_loss(logits, y),
            Loss::Margin => logit_margin(logits, y).neg(),
        }
    }
}

/// Per-sample softmax cross-entropy `−log softmax(z)_y`, shape `[B]`.
pub fn ce_loss(logits: Tensor<2>, y: Tensor<1, Int>) -> Tensor<1> {
    let b = logits.dims()[0];
    log_softmax(logits, 1)
        .gather(1, y.reshape([b, 1]))
        .reshape([b])
        .neg()
}

/// Per-sample DLR loss `−(z_y − max_{i≠y} z_i)/(z_π1 − z_π3 + 1e−12)`, shape `[B]`
/// (SPEC §3; Croce & Hein 2020, Eq. 6; auto-attack `dlr_loss`), where `z_π1 ≥ z_π2 ≥ z_π3`
/// are the three largest logits. The caller checks `K ≥ 3` ([`Loss::check_classes`]); with
/// fewer classes `topk(3)` is undefined.
///
/// `max_{i≠y} z_i` is `z_π2` when `y` holds the largest logit and `z_π1` otherwise (with a tie
/// at the top both give the margin 0, as the reference).
pub fn dlr_loss(logits: Tensor<2>, y: Tensor<1, Int>) -> Tensor<1> {
    let b = logits.dims()[0];
    let top = logits.clone().topk(3, 1);
    let z1 = top.clone().slice([0..b, 0..1]);
    let z2 = top.clone().slice([0..b, 1..2]);
    let z3 = top.slice([0..b, 2..3]);
    let zy = logits.gather(1, y.reshape([b, 1]));
    // Which branch is a constant decision: made on values without autodiff.
    let y_on_top = zy.clone().inner().greater_equal(z1.clone().inner());
    let other = z1.clone().mask_where(y_on_top, z2);
    let num = zy - other;
    let den = (z1 - z3).add_scalar(1e-12);
    (num / den).neg().reshape([b])
}

/// Per-sample targeted DLR loss of APGD-T (SPEC §3; Croce & Hein 2020, §3.2; auto-attack
/// `APGDAttack_targeted.dlr_loss_targeted`):
/// `−(z_y − z_t)/(z_π1 − (z_π3 + z_π4)/2 + 1e−12)`, shape `[B]`, where `t` is the target
/// class of each sample and `z_π1 ≥ … ≥ z_π4` are the four largest logits. Needs `K ≥ 4`
/// (the caller checks).
pub fn targeted_dlr_loss(
    logits: Tensor<2>,
    y: Tensor<1, Int>,
    target: Tensor<1, Int>,
) -> Tensor<1> {
    let b = logits.dims()[0];
    let top = logits.clone().topk(4, 1);
    let z1 = top.clone().slice([0..b, 0..1]);
    let z3 = top.clone().slice([0..b, 2..3]);
    let z4 = top.slice([0..b, 3..4]);
    let zy = logits.clone().gather(1, y.reshape([b, 1]));
    let zt = logits.gather(1, target.reshape([b, 1]));
    let den = (z1 - (z3 + z4).mul_scalar(0.5)).add_scalar(1e-12);
    ((zy - zt) / den).neg().reshape([b])
}

/// Per-sample logit margin `z_y − max_{i≠y} z_i`, shape `[B]`: positive iff the sample is
/// classified correctly (ties count as wrong).
pub fn logit_margin(logits: Tensor<2>, y: Tensor<1, Int>) -> Tensor<1> {
    let [b, k] = logits.dims();
    let zy = logits.clone().gather(1, y.clone().reshape([b, 1]));
    let is_y = y.inner().reshape([b, 1]).equal(
        Tensor::<1, Int>::arange(0..k as i64, &logits.device().inner())
            .reshape([1, k])
            .expand([b, k]),
    );
    let others = logits.mask_fill(is_y, f32::NEG_INFINITY);
    (zy - others.max_dim(1)).reshape([b])
}
