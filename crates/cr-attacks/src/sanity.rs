//! Sanity checks before trusting a robustness number, after AutoAttack's `checks.py`
//! (SPEC §3, "Sanity checks"): gradients that vanish, outputs that are probabilities rather
//! than logits, and a forward pass that is not deterministic (dropout left on, randomised
//! defences). Each one that fires is returned and logged with `tracing::warn!`.

use std::fmt;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::loss::Loss;
use crate::model::{Classifier, forward, prepare, probe, read_f32};
use crate::norm::row_norms;

/// A check that fired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "check", rename_all = "kebab-case")]
pub enum SanityWarning {
    /// Samples whose cross-entropy input gradient is (numerically) zero: gradient-based
    /// attacks cannot move them, so their robustness is overestimated (gradient masking, or a
    /// saturated softmax; try APGD-DLR).
    ZeroGradients {
        /// Samples with `‖∇ₓ CE‖₁ < 1e−10` (or an output not connected to the input).
        count: usize,
        /// Samples checked.
        n: usize,
    },
    /// The outputs lie in `[0, 1]` and every row sums to 1: the model seems to return
    /// probabilities; the attacks' losses expect logits.
    LooksLikeProbabilities,
    /// Two forward passes on the same input differ: the model is not deterministic (e.g.
    /// dropout on: pass the model in evaluation mode).
    NonDeterministic {
        /// Largest absolute difference between the two outputs.
        max_abs_diff: f32,
    },
    /// AutoAttack: the gradient-free Square attack broke more than 0.2 % of the samples
    /// after the gradient-based components (auto-attack `check_square_sr`): a sign of
    /// gradient masking; the gradient-based numbers overestimate robustness.
    SquareFoundMore {
        /// Robust accuracy before Square (the lowest of the other components').
        before: f64,
        /// Robust accuracy after Square.
        after: f64,
    },
    /// AutoAttack: more target classes requested than the model has besides the label
    /// (auto-attack `check_n_classes`); the targeted attacks use `K − 1`, or skip when the
    /// loss is undefined.
    TooFewClasses {
        /// Target classes requested.
        targets: usize,
        /// Classes of the model.
        classes: usize,
    },
}

impl fmt::Display for SanityWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SanityWarning::ZeroGradients { count, n } => write!(
                f,
                "{count} of {n} samples have a zero input gradient: gradient-based attacks \
                 overestimate their robustness (try APGD-DLR, check for gradient masking)"
            ),
            SanityWarning::LooksLikeProbabilities => write!(
                f,
                "the model outputs look like probabilities (in [0, 1], rows sum to 1); \
                 the attacks expect logits"
            ),
            SanityWarning::NonDeterministic { max_abs_diff } => write!(
                f,
                "two forward passes on the same input differ by up to {max_abs_diff}: \
                 the model is not deterministic (evaluation mode?)"
            ),
            SanityWarning::SquareFoundMore { before, after } => write!(
                f,
                "Square (gradient-free) lowered the robust accuracy from {before:.4} to \
                 {after:.4} after the gradient-based attacks: possible gradient masking; \
                 the evaluation may be unreliable (run Square with more queries, or an \
                 adaptive attack)"
            ),
            SanityWarning::TooFewClasses { targets, classes } => write!(
                f,
                "{targets} target classes requested but the model has {classes} classes: \
                 the targeted attacks use at most {} (APGD-T needs 4 classes)",
                classes.saturating_sub(1)
            ),
        }
    }
}

/// Runs the three checks on `x`, `y` and returns the warnings that fired (each also logged
/// with `tracing::warn!`). Costs two forward passes and one forward+backward.
pub fn sanity_checks<C: Classifier + ?Sized>(
    model: &C,
    x: Tensor<4>,
    y: Tensor<1, Int>,
) -> Result<Vec<SanityWarning>> {
    let batch = prepare(model, x, y, false)?;
    let n = batch.len();
    let mut out = Vec::new();

    let z1 = forward(model, batch.x.clone());
    let z2 = forward(model, batch.x.clone());
    let diff: f32 = (z1.clone() - z2).abs().max().into_scalar();
    if diff > 0.0 || diff.is_nan() {
        out.push(SanityWarning::NonDeterministic { max_abs_diff: diff });
    }

    let min: f32 = z1.clone().min().into_scalar();
    let max: f32 = z1.clone().max().into_scalar();
    let row_err: f32 = z1.sum_dim(1).sub_scalar(1.0).abs().max().into_scalar();
    if min >= 0.0 && max <= 1.0 && row_err < 1e-4 {
        out.push(SanityWarning::LooksLikeProbabilities);
    }

    let p = probe(model, batch.x, batch.y, Loss::Ce, true);
    let g1 = read_f32(row_norms(p.grad, 1.0), "gradient norms")?;
    let count = if p.tracked {
        // NaN counts as vanishing too.
        g1.iter().filter(|g| g.is_nan() || **g < 1e-10).count()
    } else {
        n
    };
    if count > 0 {
        out.push(SanityWarning::ZeroGradients { count, n });
    }
    for w in &out {
        tracing::warn!("sanity check: {w}");
    }
    Ok(out)
}
