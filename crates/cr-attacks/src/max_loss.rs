//! The loss-maximising point of every sample ([`max_loss_points`]): what the empirical
//! robustness gap is measured at (SPEC §2).

use burn::prelude::*;

use crate::attack::{Attack, AttackParams};
use crate::error::{Result, invalid};
use crate::model::{Classifier, prepare};
use crate::run::{AttackOptions, chunks};

/// The loss-maximising points of [`max_loss_points`].
#[derive(Debug, Clone)]
pub struct MaxLossResult {
    /// The attack's parameters.
    pub params: AttackParams,
    /// Samples.
    pub n: usize,
    /// Per sample: the point of highest attack loss found, `[N, C, H, W]`.
    pub points: Tensor<4>,
    /// Per sample: that loss (the attack's loss: cross-entropy for APGD-CE).
    pub loss: Vec<f32>,
}

/// The loss-maximising perturbation of EVERY sample, clean-misclassified ones included
/// (SPEC §2, the empirical robustness gap): APGD's best-loss point, as auto-attack's
/// `perturb(best_loss=True)`. [`crate::run_attack`]'s adversarial examples are not this: they are
/// the first misclassified iterate of a broken sample and the clean input of a misclassified
/// one.
///
/// # Errors
/// [`crate::AttackError::InvalidParam`] for an attack other than APGD (FGSM and PGD have no
/// best-loss output), and the errors of [`crate::run_attack`].
pub fn max_loss_points<C: Classifier + ?Sized>(
    model: &C,
    attack: &Attack,
    x: Tensor<4>,
    y: Tensor<1, Int>,
    opts: &AttackOptions,
) -> Result<MaxLossResult> {
    attack.validate()?;
    let Attack::Apgd(cfg) = attack else {
        return Err(invalid(
            "attack",
            format!(
                "the loss-maximising point needs an APGD attack (`{}` given)",
                attack.name()
            ),
        ));
    };
    let [n, ..] = x.dims();
    let [ny] = y.dims();
    if ny != n {
        return Err(crate::AttackError::Shape(format!(
            "{n} images but {ny} labels"
        )));
    }
    let mut points = Vec::new();
    let mut loss = Vec::with_capacity(n);
    for (s, e) in chunks(n, opts.batch_size)? {
        let batch = prepare(
            model,
            x.clone().slice([s..e]),
            y.clone().slice([s..e]),
            cfg.clip,
        )?;
        cfg.loss.check_classes(batch.num_classes)?;
        let positions: Vec<usize> = (s..e).collect();
        let (p, l) = crate::apgd::apgd_max_loss(model, batch.x, batch.y, &positions, cfg);
        points.push(p);
        loss.extend(l.into_data().try_into_vec_as::<f32>().map_err(|e| {
            crate::AttackError::Read {
                what: "APGD losses",
                message: format!("{e:?}"),
            }
        })?);
    }
    let points = match points.len() {
        1 => points.swap_remove(0),
        _ => Tensor::cat(points, 0),
    };
    Ok(MaxLossResult {
        params: attack.params(),
        n,
        points,
        loss,
    })
}
