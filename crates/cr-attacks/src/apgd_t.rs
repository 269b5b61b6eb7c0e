//! APGD-T (Croce & Hein 2020, §3.2; auto-attack `APGDAttack_targeted`): the reference APGD
//! of [`crate::apgd`] on the targeted DLR loss, one run per target class. SPEC §3, AutoAttack.

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::apgd::{ApgdConfig, Objective, reference_run};
use crate::error::{Result, invalid};
use crate::loss::Loss;
use crate::model::{Classifier, forward, read_f32, scatter_rows};
use crate::norm::{Norm, check_eps};
use crate::restarts::Restarts;
use crate::rng::purpose;

/// Configuration of APGD-T: AutoPGD on the targeted DLR loss (Croce & Hein 2020, §3.2;
/// auto-attack `APGDAttack_targeted`; SPEC §3, AutoAttack).
///
/// For each of the `targets` classes with the largest clean logits after the top one (the
/// 2nd, 3rd, … largest, computed on the clean input as the reference does), a full reference
/// APGD run of `steps` iterations (and `restarts` runs) on [`crate::targeted_dlr_loss`]
/// attacks the samples still robust. A sample counts as broken when any iterate is
/// misclassified (as any class, not only the target). Broken samples keep the first
/// misclassified iterate found; the others keep the clean input (as the reference).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ApgdTConfig {
    /// Threat model.
    pub norm: Norm,
    /// Radius ε.
    pub eps: f32,
    /// Iterations per target class (100).
    pub steps: usize,
    /// Runs per target class (1).
    pub restarts: usize,
    /// Number of target classes (9; capped at `K − 1`).
    pub targets: usize,
    /// Fraction ρ of the checkpoint condition (0.75).
    pub rho: f32,
    /// Clip to `[0, 1]`.
    pub clip: bool,
    /// Seed of the random starts.
    pub seed: u64,
}

impl ApgdTConfig {
    /// The AutoAttack-standard configuration: 9 targets, 100 iterations, 1 restart, ρ = 0.75,
    /// η₀ = 2ε, clipping on, seed 0.
    pub fn new(norm: Norm, eps: f32) -> Self {
        Self {
            norm,
            eps,
            steps: 100,
            restarts: 1,
            targets: 9,
            rho: 0.75,
            clip: true,
            seed: 0,
        }
    }

    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        check_eps("eps", self.eps)?;
        if self.steps == 0 {
            return Err(invalid("steps", "must be ≥ 1"));
        }
        if self.restarts == 0 {
            return Err(invalid("restarts", "must be ≥ 1"));
        }
        if self.targets == 0 {
            return Err(invalid("targets", "must be ≥ 1"));
        }
        if !(self.rho > 0.0 && self.rho <= 1.0) {
            return Err(invalid(
                "rho",
                format!("must be in (0, 1], got {}", self.rho),
            ));
        }
        Ok(())
    }

    /// The APGD configuration of each targeted run.
    fn inner(&self) -> ApgdConfig {
        ApgdConfig {
            steps: self.steps,
            restarts: 1,
            rho: self.rho,
            clip: self.clip,
            seed: self.seed,
            ..ApgdConfig::new(self.norm, self.eps, Loss::Dlr)
        }
    }
}

/// Per row of `logits` `[b, K]`, the class with the `rank`-th largest value (rank 1 = the
/// largest), as `logits.sort(dim=1)[1][:, -rank]`; ties keep the higher index first, as a
/// stable ascending sort read from the end.
pub(crate) fn ranked_classes(logits: Tensor<2>, rank: usize) -> Result<Vec<i64>> {
    let [b, k] = logits.dims();
    let z = read_f32(logits, "logits")?;
    Ok((0..b)
        .map(|i| {
            let row = &z[i * k..(i + 1) * k];
            let mut idx: Vec<usize> = (0..k).collect();
            idx.sort_by(|&a, &c| row[a].total_cmp(&row[c]));
            idx[k - rank] as i64
        })
        .collect())
}

/// APGD-T over the samples marked `active`; returns the adversarial batch (clean input where
/// not broken) and the host mask of samples fooled.
pub(crate) fn apgd_targeted<C: Classifier + ?Sized>(
    model: &C,
    x: Tensor<4>,
    y: Tensor<1, Int>,
    positions: &[usize],
    active: &[bool],
    cfg: &ApgdTConfig,
    num_classes: usize,
) -> Result<(Tensor<4>, Vec<bool>)> {
    if num_classes < 4 {
        return Err(crate::AttackError::NotEnoughClasses {
            attack: "APGD-T (targeted DLR loss)",
            needed: 4,
            got: num_classes,
        });
    }
    let device = x.device();
    let inner = cfg.inner();
    let mut state = Restarts::new(&x);
    let targets = cfg.targets.min(num_classes - 1);
    for t in 0..targets {
        for r in 0..cfg.restarts {
            let Some(sub) = state.pending(&x, &y, positions, active) else {
                return Ok(state.finish());
            };
            let target = ranked_classes(forward(model, sub.x.clone()), t + 2)?;
            let target =
                Tensor::<1, Int>::from_data(TensorData::new(target, [sub.sel.len()]), &device);
            let run = reference_run(
                model,
                sub.x.clone(),
                sub.y.clone(),
                &sub.positions,
                t * cfg.restarts + r,
                &inner,
                &Objective::TargetedDlr(target),
                purpose::APGD_T,
            );
            // A broken sample keeps its first misclassified iterate; the others the clean
            // input (the reference keeps no best-loss point across targets).
            let fs = state.set_fooled(&sub, run.fooled, "APGD-T predictions")?;
            state.adv = scatter_rows(state.adv.clone(), run.adv, &sub.sel, &fs);
            tracing::debug!(
                target = t + 2,
                restart = r,
                attacked = sub.sel.len(),
                fooled = state.n_fooled(),
                "APGD-T run"
            );
        }
    }
    Ok(state.finish())
}
