//! Attacks combined: the per-sample worst case over several attacks ([`worst_case`]) and
//! robust accuracy across budgets ([`eps_sweep`]).

use std::time::Instant;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::attack::{Attack, AttackResult, fraction};
use crate::error::{Result, invalid};
use crate::model::Classifier;
use crate::run::{AttackOptions, run_attack};
use crate::sanity::{SanityWarning, sanity_checks};

/// Worst case over several attacks.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WorstCaseResult {
    /// Each attack's own result.
    pub attacks: Vec<AttackResult>,
    /// Number of samples.
    pub n: usize,
    /// Per sample: classified correctly without perturbation.
    pub correct_clean: Vec<bool>,
    /// Per sample: robust against every attack.
    pub robust: Vec<bool>,
    /// Fraction classified correctly.
    pub clean_accuracy: f64,
    /// Fraction robust against every attack (per sample, not an average over attacks).
    pub robust_accuracy: f64,
    /// Sanity-check warnings (empty when none fired or checks were off).
    pub warnings: Vec<SanityWarning>,
    /// Wall time in seconds, all attacks and checks included.
    pub seconds: f64,
}

/// Runs every attack on every sample and reports the per-sample worst case: a sample is robust
/// only if it survives every attack (SPEC §3, "Worst-case robust accuracy … per sample").
pub fn worst_case<C: Classifier + ?Sized>(
    model: &C,
    attacks: &[Attack],
    x: Tensor<4>,
    y: Tensor<1, Int>,
    opts: &AttackOptions,
) -> Result<WorstCaseResult> {
    if attacks.is_empty() {
        return Err(invalid("attacks", "the list of attacks is empty"));
    }
    let start = Instant::now();
    let warnings = if opts.sanity {
        let [n, ..] = x.dims();
        let end = opts.batch_size.unwrap_or(n).min(n);
        sanity_checks(model, x.clone().slice([0..end]), y.clone().slice([0..end]))?
    } else {
        Vec::new()
    };
    let mut results = Vec::with_capacity(attacks.len());
    for a in attacks {
        results.push(run_attack(model, a, x.clone(), y.clone(), opts)?);
    }
    let n = results[0].n;
    let correct_clean = results[0].correct_clean.clone();
    let robust: Vec<bool> = (0..n)
        .map(|i| results.iter().all(|r| r.robust[i]))
        .collect();
    Ok(WorstCaseResult {
        n,
        clean_accuracy: fraction(&correct_clean),
        robust_accuracy: fraction(&robust),
        correct_clean,
        robust,
        attacks: results,
        warnings,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// One point of an ε-sweep.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EpsPoint {
    /// The radius.
    pub eps: f32,
    /// Worst-case robust accuracy over the attacks at this ε.
    pub robust_accuracy: f64,
    /// Each attack's robust accuracy at this ε, in the order given.
    pub per_attack: Vec<f64>,
    /// Per sample: robust against every attack at this ε.
    pub robust: Vec<bool>,
}

/// A robust-accuracy curve over ε.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepResult {
    /// Attack names, in the order of [`EpsPoint::per_attack`].
    pub attacks: Vec<String>,
    /// Clean accuracy.
    pub clean_accuracy: f64,
    /// Number of samples.
    pub n: usize,
    /// One point per ε, in the order given.
    pub points: Vec<EpsPoint>,
    /// Sanity-check warnings.
    pub warnings: Vec<SanityWarning>,
    /// Wall time in seconds.
    pub seconds: f64,
}

impl SweepResult {
    /// The curve `(ε, worst-case robust accuracy)`.
    pub fn curve(&self) -> Vec<(f32, f64)> {
        self.points
            .iter()
            .map(|p| (p.eps, p.robust_accuracy))
            .collect()
    }
}

/// The worst case over `attacks` at every radius in `eps` (each attack rescaled with
/// [`Attack::with_eps`]), in one call.
pub fn eps_sweep<C: Classifier + ?Sized>(
    model: &C,
    attacks: &[Attack],
    eps: &[f32],
    x: Tensor<4>,
    y: Tensor<1, Int>,
    opts: &AttackOptions,
) -> Result<SweepResult> {
    if eps.is_empty() {
        return Err(invalid("eps", "the list of radii is empty"));
    }
    let start = Instant::now();
    let mut points = Vec::with_capacity(eps.len());
    let mut warnings = Vec::new();
    let mut clean = (0.0, 0);
    for (j, &e) in eps.iter().enumerate() {
        let scaled: Vec<Attack> = attacks.iter().map(|a| a.with_eps(e)).collect();
        let o = AttackOptions {
            sanity: opts.sanity && j == 0,
            ..*opts
        };
        let wc = worst_case(model, &scaled, x.clone(), y.clone(), &o)?;
        if j == 0 {
            warnings = wc.warnings.clone();
            clean = (wc.clean_accuracy, wc.n);
        }
        points.push(EpsPoint {
            eps: e,
            robust_accuracy: wc.robust_accuracy,
            per_attack: wc.attacks.iter().map(|r| r.robust_accuracy).collect(),
            robust: wc.robust,
        });
    }
    Ok(SweepResult {
        attacks: attacks.iter().map(|a| a.name().to_string()).collect(),
        clean_accuracy: clean.0,
        n: clean.1,
        points,
        warnings,
        seconds: start.elapsed().as_secs_f64(),
    })
}
