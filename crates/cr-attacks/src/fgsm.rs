//! FGSM / FGM: one gradient step of size ε (Goodfellow et al. 2015; Miyato et al. 2017 for
//! the ℓ2 form). SPEC §3, "FGSM / FGM".

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::loss::Loss;
use crate::model::{Classifier, probe};
use crate::norm::{Norm, check_eps, step_project};

/// Configuration of FGSM (ℓ∞: `x + ε·sign(∇ℓ)`) and FGM (ℓ2: `x + ε·∇ℓ/‖∇ℓ‖₂`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FgsmConfig {
    /// Threat model; ℓ∞ gives FGSM, ℓ2 gives FGM.
    pub norm: Norm,
    /// Radius ε (= the step).
    pub eps: f32,
    /// Clip the result to `[0, 1]`.
    pub clip: bool,
    /// Loss whose gradient is followed (cross-entropy by default).
    pub loss: Loss,
}

impl FgsmConfig {
    /// FGSM/FGM with cross-entropy and clipping on.
    pub fn new(norm: Norm, eps: f32) -> Self {
        Self {
            norm,
            eps,
            clip: true,
            loss: Loss::Ce,
        }
    }

    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        check_eps("eps", self.eps)
    }
}

/// One signed / normalised gradient step of length `step` from `x`, projected onto the
/// `eps`-ball around `center` (and clipped if `clip`). Used by FGSM and by the universal
/// perturbation's inner attacker.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gradient_step<C: Classifier + ?Sized>(
    model: &C,
    x: Tensor<4>,
    y: Tensor<1, Int>,
    loss: Loss,
    norm: Norm,
    step: f32,
    center: Tensor<4>,
    eps: f32,
    clip: bool,
) -> (Tensor<4>, Tensor<2>) {
    let p = probe(model, x.clone(), y, loss, true);
    (
        step_project(x, p.grad, step, center, norm, eps, clip),
        p.logits,
    )
}

/// The FGSM/FGM adversarial batch for `x` (all samples).
pub(crate) fn fgsm_batch<C: Classifier + ?Sized>(
    model: &C,
    x: Tensor<4>,
    y: Tensor<1, Int>,
    cfg: &FgsmConfig,
) -> Tensor<4> {
    gradient_step(
        model,
        x.clone(),
        y,
        cfg.loss,
        cfg.norm,
        cfg.eps,
        x,
        cfg.eps,
        cfg.clip,
    )
    .0
}
