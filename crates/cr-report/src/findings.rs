//! The judged claims of a reproduction: each claim of each experiment judged on each sweep it
//! names ([`judge_experiment`]), Holm's adjustment over the primary ones ([`adjust_holm`]),
//! and the counts and summary line of the verdicts.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::Value;

use crate::claims::{Claim, Direction, ExperimentInfo, Scale, SweepInfo};
use crate::curves::{curve, did_not_train_below, observations};
use crate::judge::{Judgement, Rule, Settings, Verdict, judge_claim};
use crate::stats::holm;

/// One judged claim.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Experiment id.
    pub experiment: String,
    /// Claim id.
    pub claim: String,
    /// The claim in words.
    pub text: String,
    /// The sweep judged.
    pub sweep: String,
    /// What is measured, in words.
    pub quantity: String,
    /// What it is judged against, in words.
    pub against: String,
    /// The claimed direction.
    pub direction: Direction,
    /// The threshold.
    pub min_effect: f64,
    /// Why that threshold.
    pub threshold_reason: String,
    /// The regime judged, in words (the whole sweep when absent).
    pub regime: Option<String>,
    /// The scale judged on, with its reason.
    pub scale: (Scale, Option<String>),
    /// The paper's correlation, for a claim about a size.
    pub target: Option<f64>,
    /// Whether the claim is in the multiplicity family.
    pub primary: bool,
    /// The judge's answer.
    pub judgement: Judgement,
}

impl Finding {
    /// The effect with its interval, in words.
    pub fn effect(&self) -> String {
        let j = &self.judgement;
        let mut parts = Vec::new();
        if self.direction.is_difference() {
            if let Some(c) = j.change {
                parts.push(format!("mean difference {c:.3}"));
            }
        } else if j.log_scale {
            if let Some(c) = j.change {
                let r = c.exp();
                parts.push(format!(
                    "last/first ×{:.3} [×{:.3}, ×{:.3}]",
                    r.estimate, r.lo, r.hi
                ));
            }
            if let Some(t) = j.slope {
                parts.push(format!("slope {t:.3} ln/step"));
            }
        } else {
            if let Some(c) = j.change {
                parts.push(format!("Δ {c:.3}"));
            }
            if let Some(t) = j.slope {
                parts.push(format!("slope {t:.3}/step"));
            }
        }
        if let Some(c) = j.correlations {
            parts.push(format!(
                "Pearson {:.3}, Spearman {:.3} (point means)",
                c.pearson, c.spearman
            ));
        }
        if parts.is_empty() {
            "–".into()
        } else {
            parts.join("; ")
        }
    }

    /// The verdict with its explanation, in words.
    pub fn verdict_text(&self) -> String {
        let j = &self.judgement;
        let mut t = match j.verdict {
            Verdict::Supported | Verdict::Contradicted => format!("**{}**", j.verdict),
            v => format!("{v} ({})", j.reason),
        };
        if j.verdict != j.unadjusted {
            let _ = write!(t, " [{} before Holm]", j.unadjusted);
        }
        if let Some(sh) = &j.shape {
            let _ = write!(
                t,
                "; {} (a {}{})",
                sh.describe(),
                sh.kind,
                if j.log_scale { ", log scale" } else { "" }
            );
        }
        if !j.excluded.is_empty() {
            let _ = write!(t, "; did not train (excluded): {}", j.excluded.join(", "));
        }
        if let Some(p) = &j.power {
            let _ = write!(t, "; {p}");
        }
        t
    }
}

/// Holm's adjustment over the primary findings that have a p-value (at `level`): sets each
/// one's `p_adjusted`, and a decided verdict whose adjusted p exceeds `1 − level` becomes
/// inconclusive, with the reason.
pub fn adjust_holm(findings: &mut [Finding], level: f64) {
    let family: Vec<usize> = (0..findings.len())
        .filter(|i| findings[*i].primary && findings[*i].judgement.p.is_some())
        .collect();
    let raw: Vec<f64> = family
        .iter()
        .map(|i| findings[*i].judgement.p.unwrap_or(1.0))
        .collect();
    let adj = holm(&raw);
    let m = family.len();
    for (i, p) in family.into_iter().zip(adj) {
        let j = &mut findings[i].judgement;
        j.p_adjusted = Some(p);
        if j.unadjusted != Verdict::Inconclusive && p > 1.0 - level {
            j.verdict = Verdict::Inconclusive;
            j.reason = format!(
                "{} alone (p = {:.4}), but not after Holm's adjustment over {m} primary claims (p = {p:.4})",
                j.unadjusted,
                j.p.unwrap_or(f64::NAN)
            );
        }
    }
}

pub(crate) fn axis_label(s: &SweepInfo) -> String {
    s.label.clone().unwrap_or_else(|| s.key.clone())
}

pub(crate) fn quantity_label(c: &Claim) -> String {
    let q = c.label.clone().unwrap_or_else(|| c.quantity.clone());
    match &c.baseline {
        Some(b) => format!("{q} − {b}"),
        None => q,
    }
}

pub(crate) fn against_label(c: &Claim, sweep: &SweepInfo) -> String {
    match (&c.against_label, c.against.as_str()) {
        (Some(l), _) => l.clone(),
        (None, "strength") => axis_label(sweep),
        (None, p) => p.to_string(),
    }
}

/// The sweeps a claim is judged on.
fn claim_sweeps<'a>(exp: &'a ExperimentInfo, c: &Claim) -> Vec<&'a SweepInfo> {
    exp.sweep.iter().filter(|s| c.applies_to(s)).collect()
}

/// Judges every claim of `exp` on `results` (its runs).
pub fn judge_experiment(exp: &ExperimentInfo, results: &[Value], s: &Settings) -> Vec<Finding> {
    let mut out = Vec::new();
    for c in &exp.claims {
        for sweep in claim_sweeps(exp, c) {
            let points = curve(results, sweep);
            let below = did_not_train_below(&points, exp.num_classes.unwrap_or(10));
            let obs = observations(c, &points, below);
            let measured = c.against != "strength";
            let rule = Rule {
                direction: c.direction,
                min_effect: c.min_effect,
                scale: c.scale,
                target: c.target,
            };
            let judgement = judge_claim(&obs, measured, &rule, s);
            out.push(Finding {
                experiment: exp.id.clone(),
                claim: c.id.clone(),
                text: c.text.clone(),
                sweep: sweep.name.clone(),
                quantity: quantity_label(c),
                against: against_label(c, sweep),
                direction: c.direction,
                min_effect: c.min_effect,
                threshold_reason: c.reason.clone(),
                regime: c.regime.as_ref().map(|r| {
                    let range = match (r.from, r.to) {
                        (Some(a), Some(b)) => format!("{a} ≤ strength ≤ {b}"),
                        (Some(a), None) => format!("strength ≥ {a}"),
                        (None, Some(b)) => format!("strength ≤ {b}"),
                        (None, None) => "the whole sweep".into(),
                    };
                    format!("{range} ({})", r.reason)
                }),
                scale: (c.scale, c.scale_reason.clone()),
                target: c.target,
                primary: c.primary,
                judgement,
            });
        }
    }
    out
}

/// Counts of each verdict.
pub fn counts(findings: &[Finding]) -> BTreeMap<Verdict, usize> {
    let mut c: BTreeMap<Verdict, usize> = Verdict::ALL.iter().map(|v| (*v, 0)).collect();
    for f in findings {
        *c.entry(f.judgement.verdict).or_default() += 1;
    }
    c
}

/// The summary line: how many claims got each verdict (after Holm over the primary
/// claims), and how many curves show a reversal beside their trend.
pub fn summary_line(findings: &[Finding]) -> String {
    let c = counts(findings);
    let family = findings
        .iter()
        .filter(|f| f.primary && f.judgement.p_adjusted.is_some())
        .count();
    let shapes = findings
        .iter()
        .filter(|f| f.judgement.shape.is_some())
        .count();
    format!(
        "{} claims judged: {} supported, {} contradicted, {} inconclusive (Holm over {family} primary claims); {shapes} with a reversal beside the trend.",
        findings.len(),
        c[&Verdict::Supported],
        c[&Verdict::Contradicted],
        c[&Verdict::Inconclusive]
    )
}
