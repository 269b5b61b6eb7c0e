//! One multi-step attack run on the samples still robust: the step AutoAttack's ensemble and
//! every non-FGSM run share.

use burn::prelude::*;

use crate::apgd::apgd_restarts;
use crate::apgd_t::apgd_targeted;
use crate::attack::Attack;
use crate::error::{Result, invalid};
use crate::fab::fab_attack;
use crate::model::Classifier;
use crate::pgd::pgd_restarts;
use crate::square::square_attack;

/// Runs a multi-step attack on the samples marked `active` of a validated batch; returns the
/// adversarial batch and the host mask of samples fooled. `positions` key the random streams.
pub(crate) fn attack_active<C: Classifier + ?Sized>(
    model: &C,
    attack: &Attack,
    x: Tensor<4>,
    y: Tensor<1, Int>,
    positions: &[usize],
    active: &[bool],
    num_classes: usize,
) -> Result<(Tensor<4>, Vec<bool>)> {
    match attack {
        Attack::Pgd(c) => {
            c.loss.check_classes(num_classes)?;
            pgd_restarts(model, x, y, positions, active, c)
        }
        Attack::Apgd(c) => {
            c.loss.check_classes(num_classes)?;
            apgd_restarts(model, x, y, positions, active, c)
        }
        Attack::ApgdT(c) => apgd_targeted(model, x, y, positions, active, c, num_classes),
        Attack::Fab(c) => fab_attack(model, x, y, positions, active, c, num_classes),
        Attack::Square(c) => square_attack(model, x, y, positions, active, c),
        Attack::Fgsm(_) | Attack::AutoAttack(_) => Err(invalid(
            "attack",
            format!("{} cannot run as a component of an ensemble", attack.name()),
        )),
    }
}
