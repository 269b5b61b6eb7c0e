//! Results grouped into curves: per sweep, the points in sweep order, each with its runs
//! (one `result.json` per seed), and the observations a claim is judged on.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::claims::{Claim, SweepInfo};
use crate::judge::{Obs, PointObs};
use crate::quantity::Path;
use crate::stats::mean_ci95;

/// One sweep value with its runs.
#[derive(Debug, Clone)]
pub struct Point<'a> {
    /// The value as written (`0.001`, `none`).
    pub label: String,
    /// The strength: the value as a number, a `"none"` point's `none_strength`, else NaN.
    pub strength: f64,
    /// Its runs.
    pub runs: Vec<&'a Value>,
}

impl Point<'_> {
    /// The finite values of `path` over the runs.
    pub fn values(&self, path: &Path) -> Vec<f64> {
        self.runs.iter().filter_map(|r| path.number(r)).collect()
    }

    /// Mean and 95% t-interval half-width of `path` over the runs.
    pub fn mean_ci(&self, path: &Path) -> (f64, Option<f64>) {
        mean_ci95(&self.values(path))
    }
}

fn label(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        v => v.to_string(),
    }
}

/// The points of `sweep` among `results` (the runs of one experiment), in sweep order.
pub fn curve<'a>(results: &'a [Value], sweep: &SweepInfo) -> Vec<Point<'a>> {
    let mut by: BTreeMap<u64, Vec<&Value>> = BTreeMap::new();
    for r in results
        .iter()
        .filter(|r| r.get("sweep").and_then(Value::as_str) == Some(sweep.name.as_str()))
    {
        if let Some(i) = r.get("index").and_then(Value::as_u64) {
            by.entry(i).or_default().push(r);
        }
    }
    let none = sweep
        .none_strength
        .as_deref()
        .and_then(|p| Path::parse(p).ok());
    by.into_values()
        .map(|runs| {
            let value = runs[0].get("value").cloned().unwrap_or(Value::Null);
            let strength = match &value {
                Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
                Value::String(s) if s == "none" => none
                    .as_ref()
                    .map(|p| {
                        let v: Vec<f64> = runs.iter().filter_map(|r| p.number(r)).collect();
                        mean_ci95(&v).0
                    })
                    .unwrap_or(f64::NAN),
                Value::String(s) => s.parse().unwrap_or(f64::NAN),
                _ => f64::NAN,
            };
            Point {
                label: label(&value),
                strength,
                runs,
            }
        })
        .collect()
}

/// The report's one exclusion rule, declared before any data is read and the same for every
/// experiment: a run whose clean accuracy is below halfway between chance (1 / classes) and
/// the mean clean accuracy of its sweep's unregularised point (the value `0` or `"none"`;
/// the best point when the sweep has neither) **did not train**. Such runs are left out of
/// every statistic, still drawn (hollow) and tabulated, and named in the verdicts.
pub const EXCLUSION_RULE: &str = "A run whose clean accuracy is below halfway between chance \
(1 / number of classes) and the mean clean accuracy of its sweep's unregularised point (the value \
0 or `none`; the best point when a sweep has neither) did not train: it is left out of every \
statistic, still drawn (hollow markers) and tabulated, and named in the verdicts.";

/// The clean-accuracy threshold of [`EXCLUSION_RULE`] on `points` (`None` when no run has
/// a clean accuracy).
pub fn did_not_train_below(points: &[Point<'_>], num_classes: usize) -> Option<f64> {
    let clean = Path::parse("eval.clean_accuracy").ok()?;
    let chance = 1.0 / num_classes.max(1) as f64;
    let mean_of = |p: &Point<'_>| mean_ci95(&p.values(&clean)).0;
    let reference = points
        .iter()
        .find(|p| p.label == "none" || p.label.parse::<f64>().is_ok_and(|v| v == 0.0))
        .map(mean_of)
        .filter(|m| m.is_finite())
        .or_else(|| {
            points
                .iter()
                .map(mean_of)
                .filter(|m| m.is_finite())
                .max_by(f64::total_cmp)
        })?;
    Some(chance + (reference - chance) / 2.0)
}

/// Whether `run` falls under the exclusion rule at `threshold`.
pub fn did_not_train(run: &Value, threshold: Option<f64>) -> bool {
    match (
        threshold,
        run.pointer("/eval/clean_accuracy").and_then(Value::as_f64),
    ) {
        (Some(t), Some(a)) => a < t,
        _ => false,
    }
}

/// Whether a quantity is a proportion over the evaluated test samples (its interval then
/// includes the binomial term).
pub fn is_proportion(path: &str) -> bool {
    let last = path.rsplit('.').next().unwrap_or(path);
    last.ends_with("accuracy") || last.ends_with("fooling_rate")
}

/// The test samples a proportion was measured on: `eval.test_samples` for accuracies and
/// fooling rates; for RA/SA (`ra_over_sa`, the share of the clean-correct samples that stay
/// correct under attack) the clean-correct samples, `clean_accuracy × test_samples`.
fn trials(run: &Value, quantity: &str, binomial: bool) -> Option<u64> {
    let n = run.pointer("/eval/test_samples").and_then(Value::as_u64)?;
    if binomial {
        return Some(n);
    }
    if quantity == "eval.ra_over_sa" {
        let sa = run
            .pointer("/eval/clean_accuracy")
            .and_then(Value::as_f64)?;
        return Some((sa * n as f64).round() as u64).filter(|t| *t > 0);
    }
    None
}

/// The observations `claim` is judged on, on `points` (all of them; the regime filter is
/// applied here), with runs below `exclude_below` (the exclusion rule's clean-accuracy
/// threshold) marked excluded.
pub fn observations(
    claim: &Claim,
    points: &[Point<'_>],
    exclude_below: Option<f64>,
) -> Vec<PointObs> {
    let q = Path::parse(&claim.quantity).ok();
    let b = claim.baseline.as_deref().and_then(|p| Path::parse(p).ok());
    let x = (claim.against != "strength")
        .then(|| Path::parse(&claim.against).ok())
        .flatten();
    let binomial = b.is_none() && is_proportion(&claim.quantity);
    // A mean over test samples records its standard error beside it (`gap` → `gap_se`).
    let se = b
        .is_none()
        .then(|| Path::parse(&format!("{}_se", claim.quantity)).ok())
        .flatten();
    points
        .iter()
        .filter(|p| match &claim.regime {
            None => true,
            Some(r) => {
                r.from.is_none_or(|f| p.strength >= f) && r.to.is_none_or(|t| p.strength <= t)
            }
        })
        .map(|p| PointObs {
            label: p.label.clone(),
            strength: p.strength,
            runs: p
                .runs
                .iter()
                .map(|r| {
                    let y = q.as_ref().and_then(|q| q.number(r));
                    let y = match (&b, y) {
                        (Some(b), Some(y)) => b.number(r).map(|v| y - v),
                        (_, y) => y,
                    };
                    Obs {
                        seed: r.get("seed").and_then(Value::as_u64),
                        x: x.as_ref().and_then(|x| x.number(r)),
                        y: y.unwrap_or(f64::NAN),
                        trials: trials(r, &claim.quantity, binomial),
                        se: se.as_ref().and_then(|p| p.number(r)),
                        excluded: did_not_train(r, exclude_below),
                    }
                })
                .collect(),
        })
        .collect()
}

/// The points as the judge sees them under the exclusion rule at `below`: each point with
/// its kept runs (all its runs when none is kept), the number excluded, and whether the
/// whole point is excluded.
pub(crate) fn under_rule<'a>(
    points: &[Point<'a>],
    below: Option<f64>,
) -> Vec<(Point<'a>, usize, bool)> {
    points
        .iter()
        .map(|p| {
            let kept: Vec<&Value> = p
                .runs
                .iter()
                .copied()
                .filter(|r| !did_not_train(r, below))
                .collect();
            let out = p.runs.len() - kept.len();
            let all = kept.is_empty() && out > 0;
            let runs = if all { p.runs.clone() } else { kept };
            (
                Point {
                    label: p.label.clone(),
                    strength: p.strength,
                    runs,
                },
                out,
                all,
            )
        })
        .collect()
}
