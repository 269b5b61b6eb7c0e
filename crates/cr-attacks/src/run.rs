//! One entry point for every attack ([`run_attack`]): the samples in device batches, each
//! batch attacked, the batches' results joined into one [`AttackResult`].

use std::time::Instant;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::apgd::ApgdConfig;
use crate::attack::{Attack, AttackResult, Perturbation, fraction};
use crate::autoattack::{Breaks, Tally, ensemble_chunk, first_batch_checks, log_like_reference};
use crate::component::attack_active;
use crate::error::{Result, invalid};
use crate::fgsm::{FgsmConfig, fgsm_batch};
use crate::model::{Classifier, correct, forward, prepare, read_bool};
use crate::pgd::PgdConfig;
use crate::sanity::SanityWarning;

/// Options of a run that do not change the attack.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AttackOptions {
    /// Samples per device batch (`None`: all at once). Random starts are keyed by the
    /// sample's position, so the chunking does not change which noise a sample gets.
    pub batch_size: Option<usize>,
    /// Run the sanity checks ([`sanity_checks`]) on the first batch in [`worst_case`] and
    /// [`eps_sweep`].
    pub sanity: bool,
}

impl Default for AttackOptions {
    fn default() -> Self {
        Self {
            batch_size: None,
            sanity: true,
        }
    }
}

/// What one chunk of a run produced.
struct Chunk {
    adv: Tensor<4>,
    correct: Vec<bool>,
    robust: Vec<bool>,
    /// AutoAttack only: which component broke which sample.
    ensemble: Option<Breaks>,
    num_classes: usize,
}

/// Runs one attack on one chunk.
fn attack_chunk<C: Classifier + ?Sized>(
    model: &C,
    attack: &Attack,
    x: Tensor<4>,
    y: Tensor<1, Int>,
    offset: usize,
) -> Result<Chunk> {
    let batch = prepare(model, x, y, attack.clip())?;
    let positions: Vec<usize> = (offset..offset + batch.len()).collect();
    match attack {
        Attack::Fgsm(c) => {
            c.loss.check_classes(batch.num_classes)?;
            let adv = fgsm_batch(model, batch.x.clone(), batch.y.clone(), c);
            let still = correct(forward(model, adv.clone()), batch.y.clone());
            let robust = read_bool(batch.correct.clone().bool_and(still), "FGSM predictions")?;
            // Misclassified samples keep the clean input.
            let adv = crate::norm::select_images(batch.correct, adv, batch.x);
            Ok(Chunk {
                adv,
                correct: batch.correct_host,
                robust,
                ensemble: None,
                num_classes: batch.num_classes,
            })
        }
        Attack::AutoAttack(c) => {
            let e = ensemble_chunk(
                model,
                c,
                batch.x,
                batch.y,
                &positions,
                &batch.correct_host,
                batch.num_classes,
            )?;
            let robust = batch
                .correct_host
                .iter()
                .zip(&e.breaks.broken_by)
                .map(|(c, b)| *c && b.is_none())
                .collect();
            Ok(Chunk {
                adv: e.adv,
                correct: batch.correct_host,
                robust,
                ensemble: Some(e.breaks),
                num_classes: batch.num_classes,
            })
        }
        other => {
            let (adv, fooled) = attack_active(
                model,
                other,
                batch.x,
                batch.y,
                &positions,
                &batch.correct_host,
                batch.num_classes,
            )?;
            let robust = robust_from(&batch.correct_host, &fooled);
            Ok(Chunk {
                adv,
                correct: batch.correct_host,
                robust,
                ensemble: None,
                num_classes: batch.num_classes,
            })
        }
    }
}

fn robust_from(correct: &[bool], fooled: &[bool]) -> Vec<bool> {
    correct.iter().zip(fooled).map(|(c, f)| *c && !*f).collect()
}

pub(crate) fn chunks(n: usize, batch_size: Option<usize>) -> Result<Vec<(usize, usize)>> {
    let bs = match batch_size {
        Some(0) => return Err(invalid("batch_size", "must be ≥ 1")),
        Some(b) => b,
        None => n.max(1),
    };
    Ok((0..n).step_by(bs).map(|s| (s, (s + bs).min(n))).collect())
}

/// Runs `attack` on the samples `x` `[N, C, H, W]` (f32 in `[0, 1]` when clipping) with labels
/// `y` `[N]`, in device batches of `opts.batch_size`. See [`Attack`] for the algorithms.
pub fn run_attack<C: Classifier + ?Sized>(
    model: &C,
    attack: &Attack,
    x: Tensor<4>,
    y: Tensor<1, Int>,
    opts: &AttackOptions,
) -> Result<AttackResult> {
    attack.validate()?;
    let start = Instant::now();
    let passes_before = crate::model::passes_on_this_thread();
    let [n, ..] = x.dims();
    let [ny] = y.dims();
    if ny != n {
        return Err(crate::AttackError::Shape(format!(
            "{n} images but {ny} labels"
        )));
    }
    let x_clean = x.clone();
    let mut joined = attack_batches(model, attack, &x, &y, n, opts)?;
    let adversarial = if joined.advs.len() == 1 {
        joined.advs.pop()
    } else {
        Some(Tensor::cat(joined.advs, 0))
    };
    let (stages, broken_by) = match attack {
        Attack::AutoAttack(c) => {
            let (stages, by, checks) =
                joined
                    .tally
                    .finish(c, &joined.correct_clean, joined.num_classes);
            joined.warnings.extend(checks);
            (stages, Some(by))
        }
        _ => (Vec::new(), None),
    };
    for w in &joined.warnings {
        tracing::warn!("AutoAttack check: {w}");
    }
    let seconds = start.elapsed().as_secs_f64();
    let perturbation = adversarial
        .as_ref()
        .and_then(|a| Perturbation::of(a, &x_clean, attack.norm()));
    let result = AttackResult {
        params: attack.params(),
        n,
        clean_accuracy: fraction(&joined.correct_clean),
        robust_accuracy: fraction(&joined.robust),
        correct_clean: joined.correct_clean,
        robust: joined.robust,
        seconds,
        adversarial,
        broken_by,
        stages,
        warnings: joined.warnings,
        passes: crate::model::passes_on_this_thread() - passes_before,
        perturbation,
    };
    log_finished(attack, &result);
    Ok(result)
}

/// The chunks' results of a run, joined in sample order.
struct Joined {
    /// Each chunk's adversarial batch.
    advs: Vec<Tensor<4>>,
    correct_clean: Vec<bool>,
    robust: Vec<bool>,
    /// AutoAttack only: which component broke which sample.
    tally: Tally,
    /// AutoAttack's first-batch checks (the ensemble's are added after the run).
    warnings: Vec<SanityWarning>,
    num_classes: usize,
}

/// Attacks the `n` samples chunk by chunk (AutoAttack's sanity checks on the first chunk
/// when `opts.sanity`) and joins the chunks' results.
fn attack_batches<C: Classifier + ?Sized>(
    model: &C,
    attack: &Attack,
    x: &Tensor<4>,
    y: &Tensor<1, Int>,
    n: usize,
    opts: &AttackOptions,
) -> Result<Joined> {
    let mut joined = Joined {
        advs: Vec::new(),
        correct_clean: Vec::with_capacity(n),
        robust: Vec::with_capacity(n),
        tally: Tally::default(),
        warnings: Vec::new(),
        num_classes: 0,
    };
    for (s, e) in chunks(n, opts.batch_size)? {
        let xs = x.clone().slice([s..e]);
        let ys = y.clone().slice([s..e]);
        if s == 0
            && opts.sanity
            && let Attack::AutoAttack(c) = attack
        {
            joined
                .warnings
                .extend(first_batch_checks(model, c, xs.clone(), ys.clone())?);
        }
        let chunk = attack_chunk(model, attack, xs, ys, s)?;
        joined.num_classes = chunk.num_classes;
        joined.advs.push(chunk.adv);
        joined.correct_clean.extend(chunk.correct);
        joined.robust.extend(chunk.robust);
        if let Some(b) = chunk.ensemble {
            joined.tally.add(b);
        }
        tracing::debug!(attack = attack.name(), done = e, total = n, "attack batch");
    }
    Ok(joined)
}

/// Logs a finished run: AutoAttack's summary as the reference prints it, and one line of
/// accuracies for every attack.
fn log_finished(attack: &Attack, result: &AttackResult) {
    if let Attack::AutoAttack(_) = attack {
        log_like_reference(result, attack.norm());
    }
    tracing::info!(
        attack = attack.name(),
        norm = %attack.norm(),
        eps = attack.eps(),
        clean = result.clean_accuracy,
        robust = result.robust_accuracy,
        seconds = result.seconds,
        "attack finished"
    );
}

/// FGSM / FGM on all samples (see [`FgsmConfig`]).
pub fn fgsm<C: Classifier + ?Sized>(
    model: &C,
    x: Tensor<4>,
    y: Tensor<1, Int>,
    cfg: &FgsmConfig,
) -> Result<AttackResult> {
    run_attack(model, &Attack::Fgsm(*cfg), x, y, &AttackOptions::default())
}

/// PGD on all samples (see [`PgdConfig`]). The clean-misclassified samples are not attacked;
/// restarts attack only the samples still robust; per sample the first successful restart is
/// kept, else the final iterate with the highest loss.
pub fn pgd<C: Classifier + ?Sized>(
    model: &C,
    x: Tensor<4>,
    y: Tensor<1, Int>,
    cfg: &PgdConfig,
) -> Result<AttackResult> {
    run_attack(model, &Attack::Pgd(*cfg), x, y, &AttackOptions::default())
}

/// APGD-CE / APGD-DLR on all samples (see [`ApgdConfig`] and the `apgd` module docs).
pub fn apgd<C: Classifier + ?Sized>(
    model: &C,
    x: Tensor<4>,
    y: Tensor<1, Int>,
    cfg: &ApgdConfig,
) -> Result<AttackResult> {
    run_attack(model, &Attack::Apgd(*cfg), x, y, &AttackOptions::default())
}
