//! The judge: a verdict on a claim from a statistic with its uncertainty, never from a bare
//! sign.
//!
//! A claim is judged on the points of one curve (one sweep value each, several seeds per
//! point). The uncertainty comes from a percentile bootstrap: each replicate resamples every
//! point's seeds with replacement and, for a proportion measured on `n` test samples
//! (accuracies, fooling rates), redraws it as `Binomial(n, p)/n`, so both the seed-to-seed
//! spread and the finite test set enter the interval. Per replicate the judge computes
//! - Kendall's τ_b between the points' `x` (the strength, or the mean of a measured `x`) and
//!   their mean `y`: the trend's consistency;
//! - Δ = ȳ(last) − ȳ(first) along `x`: the trend's size, in the quantity's units;
//! - at the interior point with the highest (lowest) mean `y`: its rise over the first point
//!   and over the last.
//!
//! Verdicts, with `m` the claim's `min_effect` and every interval at the configured level
//! (95% by default):
//! - `non-monotone`: an interior peak whose rise over BOTH ends has its interval above `m`
//!   (or a trough, below `−m`); the verdict names the point and the direction on each side
//!   (τ of the points up to and from it). Checked first: a curve that rises then falls is
//!   not averaged into a trend.
//! - `supported`: τ's interval excludes 0 and Δ's interval lies beyond `m`, both in the
//!   claimed direction (for `flat`: Δ's interval lies within ±m).
//! - `contradicted`: the same, in the other direction (for `flat`: Δ's interval lies beyond
//!   ±m).
//! - `inconclusive`: anything else, and whenever the data cannot carry an interval (fewer
//!   than 2 points (3 for a peak or trough), a point with fewer than `min_seeds` seeds, an `x` that does not move);
//!   the reason is stated.
//!
//! Difference claims (`higher`/`lower`) judge the mean over points of `quantity − baseline`
//! per run, with the same bootstrap.
//!
//! The peak is chosen on the observed means and then bootstrapped (not re-chosen per
//! replicate), which makes the non-monotone test slightly optimistic; requiring the rise
//! over both ends to exceed `m` guards against flagging noise.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Binomial, Distribution};
use serde::Serialize;

use crate::claims::Direction;
use crate::stats::{kendall, quantile};

/// One run's observation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Obs {
    /// The run's `x` when the claim is judged against a measured quantity.
    pub x: Option<f64>,
    /// The quantity (or `quantity − baseline`).
    pub y: f64,
    /// For a proportion: the number of test samples it was measured on.
    pub trials: Option<u64>,
}

/// One point of a curve.
#[derive(Debug, Clone, PartialEq)]
pub struct PointObs {
    /// The sweep value as written.
    pub label: String,
    /// The strength (NaN when it has none, e.g. `"none"` without `none_strength`).
    pub strength: f64,
    /// Its runs (one per seed).
    pub runs: Vec<Obs>,
}

/// Bootstrap settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Settings {
    /// Replicates.
    pub replicates: usize,
    /// Two-sided confidence level.
    pub level: f64,
    /// Seed of the resampling.
    pub seed: u64,
    /// Fewest seeds a point needs for an interval.
    pub min_seeds: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            replicates: 2000,
            level: 0.95,
            seed: 0,
            min_seeds: 2,
        }
    }
}

/// An estimate with its interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// On the observed data.
    pub estimate: f64,
    /// Lower end.
    pub lo: f64,
    /// Upper end.
    pub hi: f64,
}

impl std::fmt::Display for Interval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = f.precision().unwrap_or(3);
        write!(
            f,
            "{:+.p$} [{:+.p$}, {:+.p$}]",
            self.estimate, self.lo, self.hi
        )
    }
}

/// A verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The interval excludes no effect, in the claimed direction.
    Supported,
    /// The interval excludes no effect, in the other direction.
    Contradicted,
    /// A peak or trough whose interval excludes both ends.
    NonMonotone,
    /// The interval contains no effect, or the data cannot carry an interval.
    Inconclusive,
}

impl Verdict {
    /// Every verdict, in the order the summary counts them.
    pub const ALL: [Verdict; 4] = [
        Verdict::Supported,
        Verdict::Contradicted,
        Verdict::NonMonotone,
        Verdict::Inconclusive,
    ];
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Supported => "supported",
            Verdict::Contradicted => "contradicted",
            Verdict::NonMonotone => "non-monotone",
            Verdict::Inconclusive => "inconclusive",
        })
    }
}

/// An interior peak or trough.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Extremum {
    /// `peak` or `trough`.
    pub kind: &'static str,
    /// The point's label.
    pub at: String,
    /// Its position among the judged points (in `x` order).
    pub index: usize,
    /// ȳ(extremum) − ȳ(first point).
    pub over_first: Interval,
    /// ȳ(extremum) − ȳ(last point).
    pub over_last: Interval,
    /// τ of the points up to the extremum.
    pub before: Interval,
    /// τ of the points from the extremum on.
    pub after: Interval,
}

/// The judge's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Judgement {
    /// The verdict.
    pub verdict: Verdict,
    /// Kendall's τ_b of (x, ȳ) over the points (trend claims).
    pub tau: Option<Interval>,
    /// Δ = ȳ(last) − ȳ(first) (trend claims), or the mean difference (difference claims).
    pub change: Option<Interval>,
    /// A peak or trough, when one is found.
    pub extremum: Option<Extremum>,
    /// Points judged.
    pub points: usize,
    /// Fewest and most seeds over the judged points.
    pub seeds: (usize, usize),
    /// Why this verdict, in words.
    pub reason: String,
}

impl Judgement {
    fn inconclusive(points: usize, seeds: (usize, usize), reason: String) -> Self {
        Self {
            verdict: Verdict::Inconclusive,
            tau: None,
            change: None,
            extremum: None,
            points,
            seeds,
            reason,
        }
    }
}

/// Why the data cannot carry an interval: points kept, (fewest, most) seeds, the reason.
type Unusable = (usize, (usize, usize), String);

/// Keeps finite observations (and, against a measured `x`, those with a finite `x`), drops
/// points left empty, and checks that every point can carry an interval.
fn clean(
    points: &[PointObs],
    measured_x: bool,
    min_seeds: usize,
) -> Result<(Vec<PointObs>, String), Unusable> {
    let mut kept = Vec::new();
    let mut dropped = Vec::new();
    for p in points {
        let runs: Vec<Obs> = p
            .runs
            .iter()
            .copied()
            .filter(|o| o.y.is_finite() && (!measured_x || o.x.is_some_and(f64::is_finite)))
            .collect();
        if runs.is_empty() || (!measured_x && !p.strength.is_finite()) {
            dropped.push(p.label.clone());
            continue;
        }
        kept.push(PointObs {
            label: p.label.clone(),
            strength: p.strength,
            runs,
        });
    }
    let seeds = (
        kept.iter().map(|p| p.runs.len()).min().unwrap_or(0),
        kept.iter().map(|p| p.runs.len()).max().unwrap_or(0),
    );
    let note = if dropped.is_empty() {
        String::new()
    } else {
        format!(
            " (no finite value at {}: missing runs or NaN)",
            dropped.join(", ")
        )
    };
    if let Some(p) = kept.iter().find(|p| p.runs.len() < min_seeds) {
        return Err((
            kept.len(),
            seeds,
            format!(
                "point {} has {} seed(s); an interval needs at least {min_seeds}{note}",
                p.label,
                p.runs.len()
            ),
        ));
    }
    if kept.is_empty() {
        return Err((0, seeds, format!("no finished run has this quantity{note}")));
    }
    Ok((kept, note))
}

fn mean(v: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = v.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    s / n as f64
}

/// One replicate (or, with `rng = None`, the observed data): per point (x̄, ȳ).
fn draw(points: &[PointObs], measured_x: bool, rng: Option<&mut ChaCha8Rng>) -> Vec<(f64, f64)> {
    match rng {
        None => points
            .iter()
            .map(|p| {
                let x = if measured_x {
                    mean(p.runs.iter().filter_map(|o| o.x))
                } else {
                    p.strength
                };
                (x, mean(p.runs.iter().map(|o| o.y)))
            })
            .collect(),
        Some(rng) => points
            .iter()
            .map(|p| {
                let n = p.runs.len();
                let (mut sx, mut sy) = (0.0, 0.0);
                for _ in 0..n {
                    let o = p.runs[rng.random_range(0..n)];
                    sx += o.x.unwrap_or(0.0);
                    sy += match o.trials {
                        Some(t) if t > 0 && (0.0..=1.0).contains(&o.y) => Binomial::new(t, o.y)
                            .map(|b| b.sample(rng) as f64 / t as f64)
                            .unwrap_or(o.y),
                        _ => o.y,
                    };
                }
                let x = if measured_x {
                    sx / n as f64
                } else {
                    p.strength
                };
                (x, sy / n as f64)
            })
            .collect(),
    }
}

/// Collects one statistic over the replicates into an interval.
struct Boot {
    values: Vec<f64>,
}

impl Boot {
    fn new() -> Self {
        Self { values: Vec::new() }
    }
    fn interval(&self, estimate: f64, level: f64) -> Interval {
        let a = (1.0 - level) / 2.0;
        Interval {
            estimate,
            lo: quantile(&self.values, a),
            hi: quantile(&self.values, 1.0 - a),
        }
    }
    fn nan_share(&self) -> f64 {
        self.values.iter().filter(|v| !v.is_finite()).count() as f64
            / self.values.len().max(1) as f64
    }
}

/// Judges a trend claim (`increasing`, `decreasing` or `flat`) on `points`; `measured_x`
/// when `x` comes from each run rather than from the strength.
pub fn judge_trend(
    points: &[PointObs],
    measured_x: bool,
    direction: Direction,
    min_effect: f64,
    s: &Settings,
) -> Judgement {
    let (points, note) = match clean(points, measured_x, s.min_seeds) {
        Ok(p) => p,
        Err((n, seeds, reason)) => return Judgement::inconclusive(n, seeds, reason),
    };
    let seeds = (
        points.iter().map(|p| p.runs.len()).min().unwrap_or(0),
        points.iter().map(|p| p.runs.len()).max().unwrap_or(0),
    );
    if points.len() < 2 {
        return Judgement::inconclusive(
            points.len(),
            seeds,
            format!(
                "{} point(s) with data; a trend needs at least 2{note}",
                points.len()
            ),
        );
    }
    // Order the points by their observed x.
    let observed = draw(&points, measured_x, None);
    let mut order: Vec<usize> = (0..points.len()).collect();
    order.sort_by(|a, b| observed[*a].0.total_cmp(&observed[*b].0));
    let points: Vec<PointObs> = order.iter().map(|i| points[*i].clone()).collect();
    let observed: Vec<(f64, f64)> = order.iter().map(|i| observed[*i]).collect();
    let n = points.len();
    let tau_of = |v: &[(f64, f64)]| {
        let (x, y): (Vec<f64>, Vec<f64>) = v.iter().copied().unzip();
        kendall(&x, &y)
    };
    // Interior extrema on the observed means.
    let ys: Vec<f64> = observed.iter().map(|p| p.1).collect();
    // (None with two points: there is no interior.)
    let interior = 1..n - 1;
    let peak = interior.clone().max_by(|a, b| ys[*a].total_cmp(&ys[*b]));
    let trough = interior.min_by(|a, b| ys[*a].total_cmp(&ys[*b]));
    let mut rng = ChaCha8Rng::seed_from_u64(s.seed);
    let (mut tau, mut change) = (Boot::new(), Boot::new());
    let mut ext: Vec<(usize, [Boot; 4])> = [peak, trough]
        .into_iter()
        .flatten()
        .map(|i| (i, [Boot::new(), Boot::new(), Boot::new(), Boot::new()]))
        .collect();
    for _ in 0..s.replicates {
        let r = draw(&points, measured_x, Some(&mut rng));
        tau.values.push(tau_of(&r));
        change.values.push(r[n - 1].1 - r[0].1);
        for (i, b) in &mut ext {
            b[0].values.push(r[*i].1 - r[0].1);
            b[1].values.push(r[*i].1 - r[n - 1].1);
            b[2].values.push(tau_of(&r[..=*i]));
            b[3].values.push(tau_of(&r[*i..]));
        }
    }
    let tau_i = tau.interval(tau_of(&observed), s.level);
    let change_i = change.interval(ys[n - 1] - ys[0], s.level);
    let extremum = ext
        .iter()
        .enumerate()
        .filter_map(|(k, (i, b))| {
            let over_first = b[0].interval(ys[*i] - ys[0], s.level);
            let over_last = b[1].interval(ys[*i] - ys[n - 1], s.level);
            let is_peak = k == 0 && peak == Some(*i);
            let found = if is_peak {
                over_first.lo > min_effect && over_last.lo > min_effect
            } else {
                over_first.hi < -min_effect && over_last.hi < -min_effect
            };
            found.then(|| Extremum {
                kind: if is_peak { "peak" } else { "trough" },
                at: points[*i].label.clone(),
                index: *i,
                over_first,
                over_last,
                before: b[2].interval(tau_of(&observed[..=*i]), s.level),
                after: b[3].interval(tau_of(&observed[*i..]), s.level),
            })
        })
        .max_by(|a, b| {
            let size = |e: &Extremum| e.over_first.estimate.abs().min(e.over_last.estimate.abs());
            size(a).total_cmp(&size(b))
        });
    let mut j = Judgement {
        verdict: Verdict::Inconclusive,
        tau: Some(tau_i),
        change: Some(change_i),
        extremum: None,
        points: n,
        seeds,
        reason: String::new(),
    };
    let pct = (s.level * 100.0).round();
    if tau.nan_share() > 0.05 {
        j.reason = format!(
            "τ is undefined in {:.0}% of resamples: x or the quantity does not move across the sweep",
            100.0 * tau.nan_share()
        );
        return j;
    }
    if let Some(e) = extremum {
        j.reason = format!(
            "{} at {}: {} over the first point by {:.3} and over the last by {:.3} ({pct}% intervals beyond ±{min_effect})",
            e.kind,
            e.at,
            if e.kind == "peak" { "above" } else { "below" },
            e.over_first.estimate.abs(),
            e.over_last.estimate.abs()
        );
        j.verdict = Verdict::NonMonotone;
        j.extremum = Some(e);
        return j;
    }
    let up = tau_i.lo > 0.0 && change_i.lo > min_effect;
    let down = tau_i.hi < 0.0 && change_i.hi < -min_effect;
    let (verdict, reason) = match direction {
        Direction::Increasing | Direction::Decreasing => {
            let want_up = direction == Direction::Increasing;
            if (want_up && up) || (!want_up && down) {
                (
                    Verdict::Supported,
                    format!("τ and Δ {pct}% intervals exclude no effect, in the claimed direction"),
                )
            } else if (want_up && down) || (!want_up && up) {
                (
                    Verdict::Contradicted,
                    format!(
                        "τ and Δ {pct}% intervals exclude no effect, against the claimed direction"
                    ),
                )
            } else {
                (
                    Verdict::Inconclusive,
                    format!(
                        "the {pct}% intervals of τ or Δ include no effect (Δ within ±{min_effect} or τ = 0)"
                    ),
                )
            }
        }
        Direction::Flat => {
            if change_i.lo >= -min_effect && change_i.hi <= min_effect {
                (
                    Verdict::Supported,
                    format!("Δ's {pct}% interval lies within ±{min_effect}"),
                )
            } else if change_i.lo > min_effect || change_i.hi < -min_effect {
                (
                    Verdict::Contradicted,
                    format!("Δ's {pct}% interval lies beyond ±{min_effect}"),
                )
            } else {
                (
                    Verdict::Inconclusive,
                    format!("Δ's {pct}% interval straddles ±{min_effect}"),
                )
            }
        }
        Direction::Higher | Direction::Lower => (
            Verdict::Inconclusive,
            "a difference direction on a trend claim".into(),
        ),
    };
    j.verdict = verdict;
    j.reason = reason;
    j
}

/// Judges a difference claim: the mean over points of `quantity − baseline` (each run's
/// `y`), `higher` (> `min_effect`) or `lower` (< −`min_effect`).
pub fn judge_difference(
    points: &[PointObs],
    direction: Direction,
    min_effect: f64,
    s: &Settings,
) -> Judgement {
    // The strength plays no part here: keep points without one.
    let points: Vec<PointObs> = points
        .iter()
        .map(|p| PointObs {
            strength: 0.0,
            ..p.clone()
        })
        .collect();
    let (points, _) = match clean(&points, false, s.min_seeds) {
        Ok(p) => p,
        Err((n, seeds, reason)) => return Judgement::inconclusive(n, seeds, reason),
    };
    let seeds = (
        points.iter().map(|p| p.runs.len()).min().unwrap_or(0),
        points.iter().map(|p| p.runs.len()).max().unwrap_or(0),
    );
    let stat = |v: &[(f64, f64)]| mean(v.iter().map(|p| p.1));
    let mut rng = ChaCha8Rng::seed_from_u64(s.seed);
    let mut boot = Boot::new();
    for _ in 0..s.replicates {
        boot.values
            .push(stat(&draw(&points, false, Some(&mut rng))));
    }
    let change = boot.interval(stat(&draw(&points, false, None)), s.level);
    let pct = (s.level * 100.0).round();
    let higher = change.lo > min_effect;
    let lower = change.hi < -min_effect;
    let want_higher = direction == Direction::Higher;
    let (verdict, reason) = if (want_higher && higher) || (!want_higher && lower) {
        (
            Verdict::Supported,
            format!(
                "the difference's {pct}% interval lies beyond {min_effect}, in the claimed direction"
            ),
        )
    } else if higher || lower {
        (
            Verdict::Contradicted,
            format!(
                "the difference's {pct}% interval lies beyond {min_effect}, against the claimed direction"
            ),
        )
    } else {
        (
            Verdict::Inconclusive,
            format!("the difference's {pct}% interval includes values within ±{min_effect}"),
        )
    };
    Judgement {
        verdict,
        tau: None,
        change: Some(change),
        extremum: None,
        points: points.len(),
        seeds,
        reason,
    }
}
