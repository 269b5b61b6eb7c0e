//! PGD (Madry et al. 2018): projected signed / normalised gradient ascent from a random
//! start, with restarts. SPEC §3, "PGD (Madry)".

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Result, invalid};
use crate::loss::Loss;
use crate::model::{Classifier, correct, probe};
use crate::norm::{Norm, check_eps, project, step_project};
use crate::restarts::Restarts;
use crate::rng::{Start, purpose, random_start};

/// Configuration of PGD.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PgdConfig {
    /// Threat model.
    pub norm: Norm,
    /// Radius ε.
    pub eps: f32,
    /// Step size α (ℓ∞: per pixel; ℓ2: Euclidean length of a step).
    pub step_size: f32,
    /// Iterations per restart.
    pub steps: usize,
    /// Number of runs (≥ 1); a restart attacks only the samples still robust.
    pub restarts: usize,
    /// Start uniformly in the ε-ball (ℓ∞ box; ℓ2 ball: Gaussian direction, radius ∝ U^{1/d});
    /// otherwise start at `x`.
    pub random_start: bool,
    /// Clip to `[0, 1]`.
    pub clip: bool,
    /// Seed of the random starts.
    pub seed: u64,
    /// Loss ascended (cross-entropy by default).
    pub loss: Loss,
}

impl PgdConfig {
    /// Madry's defaults: 10 steps of α = 2.5·ε/10, one random start, clipping on, seed 0,
    /// cross-entropy.
    pub fn new(norm: Norm, eps: f32) -> Self {
        let steps = 10;
        Self {
            norm,
            eps,
            step_size: 2.5 * eps / steps as f32,
            steps,
            restarts: 1,
            random_start: true,
            clip: true,
            seed: 0,
            loss: Loss::Ce,
        }
    }

    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        check_eps("eps", self.eps)?;
        if !(self.step_size.is_finite() && self.step_size > 0.0) {
            return Err(invalid(
                "step_size",
                format!("must be finite and > 0, got {}", self.step_size),
            ));
        }
        if self.steps == 0 {
            return Err(invalid("steps", "must be ≥ 1"));
        }
        if self.restarts == 0 {
            return Err(invalid("restarts", "must be ≥ 1"));
        }
        Ok(())
    }

    /// The same attack at radius `eps`, with the step size scaled by `eps/self.eps` (so that
    /// an ε-sweep keeps the ratio α/ε).
    pub fn with_eps(&self, eps: f32) -> Self {
        Self {
            eps,
            step_size: self.step_size * eps / self.eps,
            ..*self
        }
    }
}

/// One PGD run from a (random) start on all samples of `x`; returns the final iterate and
/// its per-sample loss. `positions` are the samples' indices in the caller's data (they key
/// the random streams).
pub(crate) fn pgd_run<C: Classifier + ?Sized>(
    model: &C,
    x: Tensor<4>,
    y: Tensor<1, Int>,
    positions: &[usize],
    restart: usize,
    cfg: &PgdConfig,
) -> (Tensor<4>, Tensor<1>, Tensor<2>) {
    let dims = x.dims();
    let mut x_adv = if cfg.random_start {
        let kind = match cfg.norm {
            Norm::Linf => Start::UniformLinfBall,
            Norm::L2 => Start::UniformL2Ball,
        };
        let noise = random_start(
            kind,
            cfg.eps,
            cfg.seed,
            purpose::PGD,
            restart,
            positions,
            dims,
            &x.device(),
        );
        project(x.clone() + noise, x.clone(), cfg.norm, cfg.eps, cfg.clip)
    } else {
        x.clone()
    };
    for _ in 0..cfg.steps {
        let p = probe(model, x_adv.clone(), y.clone(), cfg.loss, true);
        x_adv = step_project(
            x_adv,
            p.grad,
            cfg.step_size,
            x.clone(),
            cfg.norm,
            cfg.eps,
            cfg.clip,
        );
    }
    let p = probe(model, x_adv.clone(), y, cfg.loss, false);
    (x_adv, p.loss, p.logits)
}

/// PGD with restarts over the samples marked `active` (`positions`: each row's index in the
/// caller's data, keying its random stream): per sample, the first restart that
/// fools the model is kept; for samples never fooled, the final iterate with the highest
/// loss. Inactive samples keep `x`. Returns the adversarial batch and the host mask of
/// samples fooled.
pub(crate) fn pgd_restarts<C: Classifier + ?Sized>(
    model: &C,
    x: Tensor<4>,
    y: Tensor<1, Int>,
    positions: &[usize],
    active: &[bool],
    cfg: &PgdConfig,
) -> Result<(Tensor<4>, Vec<bool>)> {
    let mut state = Restarts::new(&x);
    for r in 0..cfg.restarts {
        let Some(sub) = state.pending(&x, &y, positions, active) else {
            break;
        };
        let (adv_s, loss_s, logits_s) =
            pgd_run(model, sub.x.clone(), sub.y.clone(), &sub.positions, r, cfg);
        let fooled_s = correct(logits_s, sub.y.clone()).bool_not();
        state.merge_best(&sub, adv_s, loss_s, fooled_s, "PGD predictions")?;
        tracing::debug!(
            restart = r,
            attacked = sub.sel.len(),
            fooled = state.n_fooled(),
            "PGD restart"
        );
    }
    Ok(state.finish())
}
