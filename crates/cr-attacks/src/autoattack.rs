//! AutoAttack (Croce & Hein, ICML 2020): an ensemble of parameter-free attacks, each run on
//! the samples the previous ones left robust. SPEC §3, AutoAttack.
//!
//! Versions as auto-attack `autoattack.py` (`set_version`) defines them:
//! * `standard`: APGD-CE (1 run), APGD-T (9 target classes, 1 run each), FAB-T (9 targets,
//!   1 run each), Square (5,000 queries, `p_init` 0.8);
//! * `plus`: APGD-CE (5 restarts), APGD-DLR (5 restarts), FAB (untargeted, 5 restarts),
//!   Square (5,000 queries), APGD-T (9 targets), FAB-T (9 targets);
//! * `rand` (randomised defences): APGD-CE and APGD-DLR with expectation over 20
//!   transformations (EOT) per gradient, 1 run each.
//!
//! All at 100 iterations, ρ = 0.75. The result is the per-sample worst case, and records
//! which attack broke each sample. AutoAttack's checks run as warnings: a forward pass that
//! is not deterministic (skipped for `rand`), outputs that look like probabilities, zero
//! gradients, more target classes than the model has, and — the sign of gradient masking —
//! the gradient-free Square breaking samples the gradient-based attacks could not.

use std::time::Instant;

use burn::prelude::*;

use crate::attack::{
    Attack, AttackResult, AutoAttackConfig, AutoAttackVersion, StageResult, fraction,
};
use crate::component::attack_active;
use crate::error::Result;
use crate::loss::Loss;
use crate::model::Classifier;
use crate::norm::Norm;
use crate::sanity::{SanityWarning, sanity_checks};

/// Which component broke which sample of a chunk, and what each component cost.
#[derive(Debug, Default)]
pub(crate) struct Breaks {
    /// Per sample, the index of the component that broke it.
    pub broken_by: Vec<Option<usize>>,
    /// Seconds per component.
    pub seconds: Vec<f64>,
    /// Per component, why it was skipped.
    pub skipped: Vec<Option<String>>,
}

/// What one chunk of an AutoAttack run found.
pub(crate) struct EnsembleChunk {
    /// Adversarial examples (clean input where not broken).
    pub adv: Tensor<4>,
    /// Who broke what.
    pub breaks: Breaks,
}

/// Runs the ensemble on one validated chunk: each component on the samples still robust.
pub(crate) fn ensemble_chunk<C: Classifier + ?Sized>(
    model: &C,
    cfg: &AutoAttackConfig,
    x: Tensor<4>,
    y: Tensor<1, Int>,
    positions: &[usize],
    correct: &[bool],
    num_classes: usize,
) -> Result<EnsembleChunk> {
    let comps = cfg.components();
    let n = correct.len();
    let mut robust = correct.to_vec();
    let mut adv = x.clone();
    let mut broken_by = vec![None; n];
    let mut seconds = vec![0.0; comps.len()];
    let mut skipped = vec![None; comps.len()];
    for (j, comp) in comps.iter().enumerate() {
        if !robust.iter().any(|r| *r) {
            break;
        }
        if matches!(comp, Attack::ApgdT(_)) && num_classes < 4 {
            skipped[j] = Some(format!(
                "the targeted DLR loss needs at least 4 classes, the model has {num_classes}"
            ));
            continue;
        }
        if matches!(comp, Attack::Apgd(a) if a.loss == Loss::Dlr) && num_classes < 3 {
            skipped[j] = Some(format!(
                "the DLR loss needs at least 3 classes, the model has {num_classes}"
            ));
            continue;
        }
        let start = Instant::now();
        let (a, fooled) = attack_active(
            model,
            comp,
            x.clone(),
            y.clone(),
            positions,
            &robust,
            num_classes,
        )?;
        seconds[j] = start.elapsed().as_secs_f64();
        let take: Vec<bool> = (0..n).map(|i| robust[i] && fooled[i]).collect();
        let all: Vec<usize> = (0..n).collect();
        adv = crate::model::scatter_rows(adv, a, &all, &take);
        for i in 0..n {
            if take[i] {
                robust[i] = false;
                broken_by[i] = Some(j);
            }
        }
        tracing::debug!(
            attack = comp.name(),
            robust = robust.iter().filter(|r| **r).count(),
            seconds = seconds[j],
            "AutoAttack component"
        );
    }
    Ok(EnsembleChunk {
        adv,
        breaks: Breaks {
            broken_by,
            seconds,
            skipped,
        },
    })
}

/// AutoAttack's bookkeeping over the chunks of one run.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    breaks: Breaks,
}

impl Tally {
    /// Adds one chunk's breaks: its samples follow the earlier chunks', seconds add up per
    /// component, and a skip reason from any chunk is kept.
    pub(crate) fn add(&mut self, chunk: Breaks) {
        let t = &mut self.breaks;
        t.broken_by.extend(chunk.broken_by);
        t.seconds.resize(chunk.seconds.len(), 0.0);
        t.skipped.resize(chunk.seconds.len(), None);
        for (j, v) in chunk.seconds.into_iter().enumerate() {
            t.seconds[j] += v;
        }
        for (j, v) in chunk.skipped.into_iter().enumerate() {
            if v.is_some() {
                t.skipped[j] = v;
            }
        }
    }

    /// Each component's share (robust accuracy after it, cumulative), per sample the name of
    /// the component that broke it, and the ensemble's warnings.
    pub(crate) fn finish(
        self,
        cfg: &AutoAttackConfig,
        correct_clean: &[bool],
        num_classes: usize,
    ) -> (Vec<StageResult>, Vec<Option<String>>, Vec<SanityWarning>) {
        let Breaks {
            broken_by,
            seconds,
            skipped,
        } = self.breaks;
        let n = correct_clean.len();
        let names: Vec<String> = cfg
            .components()
            .iter()
            .map(|a| a.name().to_string())
            .collect();
        let mut left = correct_clean.iter().filter(|b| **b).count();
        let mut stages = Vec::with_capacity(names.len());
        for (j, name) in names.iter().enumerate() {
            let broken = broken_by.iter().filter(|b| **b == Some(j)).count();
            left -= broken;
            stages.push(StageResult {
                attack: name.clone(),
                broken,
                robust_accuracy: if n == 0 { 0.0 } else { left as f64 / n as f64 },
                seconds: seconds.get(j).copied().unwrap_or(0.0),
                skipped: skipped.get(j).cloned().flatten(),
            });
        }
        let warnings = ensemble_warnings(cfg, &stages, fraction(correct_clean), num_classes);
        let by = broken_by
            .iter()
            .map(|b| b.map(|j| names[j].clone()))
            .collect();
        (stages, by, warnings)
    }
}

/// AutoAttack's checks on the first batch ([`sanity_checks`]); the determinism check is left
/// out for the `rand` version, whose forward pass is random by design.
pub(crate) fn first_batch_checks<C: Classifier + ?Sized>(
    model: &C,
    cfg: &AutoAttackConfig,
    x: Tensor<4>,
    y: Tensor<1, Int>,
) -> Result<Vec<SanityWarning>> {
    Ok(sanity_checks(model, x, y)?
        .into_iter()
        .filter(|w| {
            cfg.version != AutoAttackVersion::Rand
                || !matches!(w, SanityWarning::NonDeterministic { .. })
        })
        .collect())
}

/// AutoAttack's checks on a finished ensemble (auto-attack `check_square_sr`,
/// `check_n_classes`).
fn ensemble_warnings(
    cfg: &AutoAttackConfig,
    stages: &[StageResult],
    clean_accuracy: f64,
    num_classes: usize,
) -> Vec<SanityWarning> {
    let mut out = Vec::new();
    let targeted = cfg.version != AutoAttackVersion::Rand;
    if targeted && num_classes > 0 && 9 + 1 > num_classes {
        out.push(SanityWarning::TooFewClasses {
            targets: 9,
            classes: num_classes,
        });
    }
    if let Some(sq) = stages.iter().find(|s| s.attack == "square")
        && stages.len() > 1
    {
        let before = stages
            .iter()
            .filter(|s| s.attack != "square")
            .map(|s| s.robust_accuracy)
            .fold(clean_accuracy, f64::min);
        if sq.robust_accuracy < before - 0.002 {
            out.push(SanityWarning::SquareFoundMore {
                before,
                after: sq.robust_accuracy,
            });
        }
    }
    out
}

/// AutoAttack's own log lines (fra31/auto-attack's wording), at debug level (`xtask -v`):
/// initial accuracy, robust accuracy after each component with the time so far, the largest
/// perturbation and its range, and the final robust accuracy.
pub(crate) fn log_like_reference(r: &AttackResult, norm: Norm) {
    if !tracing::enabled!(tracing::Level::DEBUG) {
        return;
    }
    tracing::debug!("initial accuracy: {:.2}%", 100.0 * r.clean_accuracy);
    let mut total = 0.0;
    for s in &r.stages {
        total += s.seconds;
        match &s.skipped {
            Some(why) => tracing::debug!("{} skipped: {why}", s.attack.to_uppercase()),
            None => tracing::debug!(
                "robust accuracy after {}: {:.2}% (total time {:.1} s)",
                s.attack.to_uppercase(),
                100.0 * s.robust_accuracy,
                total
            ),
        }
    }
    if let Some(p) = &r.perturbation {
        let name = match norm {
            Norm::Linf => "Linf",
            Norm::L2 => "L2",
        };
        tracing::debug!(
            "max {name} perturbation: {:.5}, nan in tensor: {}, max: {:.5}, min: {:.5}",
            p.max_norm,
            p.nans,
            p.max,
            p.min
        );
    }
    tracing::debug!("robust accuracy: {:.2}%", 100.0 * r.robust_accuracy);
}
