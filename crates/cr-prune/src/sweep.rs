//! Evaluation sweeps: prune at each ratio, evaluate with a caller's closure (clean and robust
//! accuracy; this crate knows neither data nor attacks), collect the curve.

use serde::{Deserialize, Serialize};

use cr_models::Model;

use crate::config::{Method, PruneConfig};
use crate::error::PruneError;
use crate::prune;

/// What the caller's evaluation returns for one model.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EvalPoint {
    /// Accuracy on clean inputs, in [0, 1].
    pub clean_accuracy: f64,
    /// Accuracy under attack, if measured.
    pub robust_accuracy: Option<f64>,
}

/// One point of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PrunePoint {
    /// The requested ratio.
    pub ratio: f64,
    /// The ratio achieved ([`crate::PruneReport::achieved`]).
    pub achieved: f64,
    /// Clean accuracy of the pruned model.
    pub clean_accuracy: f64,
    /// Robust accuracy of the pruned model, if measured.
    pub robust_accuracy: Option<f64>,
    /// Parameters after pruning ([`crate::PruneReport::params_after`]).
    pub params: u64,
    /// FLOPs after pruning ([`crate::PruneReport::flops_after`]).
    pub flops: u64,
}

/// A sweep failed: pruning at some ratio, or the caller's evaluation.
#[derive(Debug, thiserror::Error)]
pub enum SweepError<E> {
    /// Pruning failed.
    #[error("pruning at ratio {ratio}: {source}")]
    Prune {
        /// The ratio.
        ratio: f64,
        /// The error.
        source: PruneError,
    },
    /// The evaluation closure failed.
    #[error("evaluating the model pruned at ratio {ratio}: {source}")]
    Eval {
        /// The ratio.
        ratio: f64,
        /// The caller's error.
        source: E,
    },
}

/// Prunes `model` with `base` at each of `ratios` and evaluates every result with `eval`.
///
/// Each ratio replaces `base.ratio`; for `eps-target` it is the global ratio the ε scan aims
/// at (`eps_target` is cleared) and for `lowrank` the fraction of each layer's rank removed
/// (`rank` is cleared). The model evaluated is the physically smaller one when `base.physical`
/// is set, else the masked one.
pub fn sweep<E>(
    model: &Model,
    base: &PruneConfig,
    ratios: &[f64],
    mut eval: impl FnMut(&Model) -> Result<EvalPoint, E>,
) -> Result<Vec<PrunePoint>, SweepError<E>> {
    let mut out = Vec::with_capacity(ratios.len());
    for &ratio in ratios {
        let mut cfg = base.clone();
        cfg.ratio = Some(ratio);
        match cfg.method {
            Method::EpsTarget => cfg.eps_target = None,
            Method::LowRank => {
                cfg.rank = None;
                cfg.physical = false;
            }
            _ => {}
        }
        let pruned = prune(model, &cfg).map_err(|source| SweepError::Prune { ratio, source })?;
        let m = pruned.physical.as_ref().unwrap_or(&pruned.masked);
        let e = eval(m).map_err(|source| SweepError::Eval { ratio, source })?;
        out.push(PrunePoint {
            ratio,
            achieved: pruned.report.achieved,
            clean_accuracy: e.clean_accuracy,
            robust_accuracy: e.robust_accuracy,
            params: pruned.report.params_after,
            flops: pruned.report.flops_after,
        });
    }
    Ok(out)
}
