//! The judge: a verdict on a claim from a statistic with an interval that holds at the
//! number of seeds we run, never from a bare sign.
//!
//! A claim is judged on the points of one curve (one sweep value each, the same seeds at
//! every point), ordered by the swept strength (never by a mean of a measured `x`). Every
//! interval comes from the seed-paired t simulation of [`crate::tsim`]: seed effects move
//! the whole curve together, the t factor has the degrees of freedom of the fewest seeds at
//! a point, and for proportions measured on `N` test samples (accuracies, fooling rates) the
//! binomial test-sample noise is added. For linear statistics the interval is exactly the
//! paired t interval (plus the test-sample term).
//!
//! Per replicate the judge computes, on the quantity's scale (`log` for rank-, norm- and
//! ratio-valued quantities, where `min_effect` is a relative change: 0.1 = 10%):
//! - Δ = μ(last) − μ(first): the trend's size;
//! - the OLS slope of μ on the sweep's steps: the trend's consistency;
//! - the shape (curves of ≥ 5 points): the breakpoint `b` with ≥ 3 points on each side that
//!   makes the largest reversal, **re-chosen inside every replicate**, the slopes of the two
//!   sides and the reversal as a share of the curve's range.
//!
//! Verdicts, with `m` the threshold and every interval at the configured level (95%):
//! - `supported`: Δ's interval lies beyond `m` and the slope's excludes 0, both in the
//!   claimed direction (for `flat`: Δ's interval lies within ±m);
//! - `contradicted`: the same against it (for `flat`: Δ's interval lies beyond ±m);
//! - `inconclusive`: anything else, with the reason and the number of seeds that would
//!   decide an effect of 2·m at the measured noise (80% power); also whenever the data cannot
//!   carry an interval, and whenever a measured `x` does not move monotonically with the
//!   strength (`x folds back at …`).
//!
//! A shape is its own finding beside the trend: reported when both side slopes exclude 0
//! with opposite signs and the reversal's interval lies above [`Settings::reversal_share`]
//! of the range; it never replaces the verdict.
//!
//! Each decision has a p-value (from the same replicates, `(1 + misses)/(R + 1)`, doubled
//! for two sides) so that the report can adjust the primary claims for multiplicity (Holm).
//! Claims about a size (`target`: the paper's correlation) are judged on Pearson's r between
//! the point means of `x` and the quantity, with Spearman's beside it.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::claims::{Direction, Scale};
use crate::stats::{pearson, quantile, slope_on_steps, spearman, t80, t975};
use crate::tsim::{Channel, Sim};

/// One run's observation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Obs {
    /// The run's seed (runs of the same seed at different points are paired); `None` pairs
    /// by position within the point.
    pub seed: Option<u64>,
    /// The run's `x` when the claim is judged against a measured quantity.
    pub x: Option<f64>,
    /// The quantity (or `quantity − baseline`).
    pub y: f64,
    /// For a proportion: the number of test samples it was measured on.
    pub trials: Option<u64>,
    /// For a mean over test samples that is not a proportion (a loss gap, a ratio of norms):
    /// the standard error of that mean over the samples, as the run recorded it (`<quantity>_se`).
    pub se: Option<f64>,
    /// Excluded by the report's declared rule (the run did not train): left out of the
    /// statistic, named in the verdict.
    pub excluded: bool,
}

impl Obs {
    /// An observation of `y` alone (no seed id, `x`, trials or exclusion).
    pub fn new(y: f64) -> Self {
        Self {
            seed: None,
            x: None,
            y,
            trials: None,
            se: None,
            excluded: false,
        }
    }
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

/// Simulation settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Settings {
    /// Replicates.
    pub replicates: usize,
    /// Two-sided confidence level.
    pub level: f64,
    /// Seed of the simulation.
    pub seed: u64,
    /// Fewest seeds a point needs for an interval.
    pub min_seeds: usize,
    /// Smallest reversal, as a share of the curve's range, that counts as a shape (smaller
    /// ones are a levelling-off).
    pub reversal_share: f64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            replicates: 20_000,
            level: 0.95,
            seed: 0,
            min_seeds: 2,
            reversal_share: 0.1,
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

impl Interval {
    fn of(estimate: f64, values: &[f64], level: f64) -> Self {
        let a = (1.0 - level) / 2.0;
        Self {
            estimate,
            lo: quantile(values, a),
            hi: quantile(values, 1.0 - a),
        }
    }
    /// `exp` of every end (a log-scale difference as a ratio).
    pub fn exp(self) -> Self {
        Self {
            estimate: self.estimate.exp(),
            lo: self.lo.exp(),
            hi: self.hi.exp(),
        }
    }
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
    /// The interval contains no effect, or the data cannot carry an interval.
    Inconclusive,
}

impl Verdict {
    /// Every verdict, in the order the summary counts them.
    pub const ALL: [Verdict; 3] = [
        Verdict::Supported,
        Verdict::Contradicted,
        Verdict::Inconclusive,
    ];
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Supported => "supported",
            Verdict::Contradicted => "contradicted",
            Verdict::Inconclusive => "inconclusive",
        })
    }
}

/// What a claim states, as the judge needs it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rule {
    /// The claimed direction.
    pub direction: Direction,
    /// The threshold (a relative change on the log scale).
    pub min_effect: f64,
    /// The scale the quantity is judged on.
    pub scale: Scale,
    /// The paper's correlation, for a claim about a size.
    pub target: Option<f64>,
}

impl Rule {
    /// A linear-scale rule without a target.
    pub fn new(direction: Direction, min_effect: f64) -> Self {
        Self {
            direction,
            min_effect,
            scale: Scale::Linear,
            target: None,
        }
    }
    /// The threshold on the judged scale.
    pub fn threshold(&self) -> f64 {
        match self.scale {
            Scale::Linear => self.min_effect,
            Scale::Log => self.min_effect.ln_1p(),
        }
    }
}

/// A reversal found beside the trend.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shape {
    /// `peak` or `trough`.
    pub kind: &'static str,
    /// The breakpoint's label (on the observed means).
    pub at: String,
    /// Its position among the judged points.
    pub index: usize,
    /// The slope before it, signed so that positive means "towards the extremum".
    pub before: Interval,
    /// The slope after it, signed so that positive means "away from the extremum".
    pub after: Interval,
    /// The reversal (the smaller side's change) as a share of the curve's range.
    pub reversal: Interval,
    /// Observed change from the first point to the breakpoint (judged scale).
    pub first_leg: f64,
    /// Observed change from the breakpoint to the last point (judged scale).
    pub second_leg: f64,
}

impl Shape {
    /// The shape in words: "rebounds after 0.01 by 8.0 of its 281.0 fall".
    pub fn describe(&self) -> String {
        let word = |d: f64| if d < 0.0 { "fall" } else { "rise" };
        let (a, b) = (self.first_leg, self.second_leg);
        if b.abs() <= a.abs() {
            let verb = if b > 0.0 { "rebounds" } else { "turns down" };
            format!(
                "{verb} after {} by {:.3} of its {:.3} {}",
                self.at,
                b.abs(),
                a.abs(),
                word(a)
            )
        } else {
            format!(
                "{}s by {:.3} up to {} before its {:.3} {}",
                word(a),
                a.abs(),
                self.at,
                b.abs(),
                word(b)
            )
        }
    }
}

/// Correlations of the point means of `x` and the quantity, with intervals.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Correlations {
    /// Pearson's r.
    pub pearson: Interval,
    /// Spearman's ρ.
    pub spearman: Interval,
}

/// The judge's answer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Judgement {
    /// The verdict (after the report's multiplicity adjustment, when it made one).
    pub verdict: Verdict,
    /// The verdict before any multiplicity adjustment.
    pub unadjusted: Verdict,
    /// OLS slope per sweep step (trend claims), on the judged scale.
    pub slope: Option<Interval>,
    /// Δ = μ(last) − μ(first) (trend claims), or the mean difference (difference claims),
    /// on the judged scale.
    pub change: Option<Interval>,
    /// Whether `slope` and `change` are on the log scale.
    pub log_scale: bool,
    /// A reversal beside the trend.
    pub shape: Option<Shape>,
    /// Pearson and Spearman (claims against a measured `x`).
    pub correlations: Option<Correlations>,
    /// The p-value of the decision (two-sided), when one was computed.
    pub p: Option<f64>,
    /// The p-value after the report's multiplicity adjustment.
    pub p_adjusted: Option<f64>,
    /// Points judged.
    pub points: usize,
    /// Fewest and most seeds over the judged points.
    pub seeds: (usize, usize),
    /// Degrees of freedom of the t factor; whether the points were paired by seed.
    pub df: Option<(f64, bool)>,
    /// Runs excluded by the declared rule, by point: "1 (3 of 3 seeds)".
    pub excluded: Vec<String>,
    /// For an inconclusive verdict: the seeds that would decide an effect of 2·`min_effect`.
    pub power: Option<String>,
    /// Why this verdict, in words.
    pub reason: String,
}

impl Judgement {
    fn empty(points: usize, seeds: (usize, usize), reason: String) -> Self {
        Self {
            verdict: Verdict::Inconclusive,
            unadjusted: Verdict::Inconclusive,
            slope: None,
            change: None,
            log_scale: false,
            shape: None,
            correlations: None,
            p: None,
            p_adjusted: None,
            points,
            seeds,
            df: None,
            excluded: Vec::new(),
            power: None,
            reason,
        }
    }
    fn decide(&mut self, verdict: Verdict, p: f64, reason: String) {
        self.verdict = verdict;
        self.unadjusted = verdict;
        self.p = Some(p);
        self.reason = reason;
    }
}

/// The points a claim is judged on, after the declared exclusions and the data checks.
struct Prepared {
    points: Vec<PointObs>,
    excluded: Vec<String>,
    note: String,
    seeds: (usize, usize),
}

fn seed_range(points: &[PointObs]) -> (usize, usize) {
    (
        points.iter().map(|p| p.runs.len()).min().unwrap_or(0),
        points.iter().map(|p| p.runs.len()).max().unwrap_or(0),
    )
}

/// Drops excluded runs (naming them), non-finite values (and non-positive ones on the log
/// scale), points without a strength; orders the points by strength; checks the seeds.
fn prepare(
    points: &[PointObs],
    measured_x: bool,
    log: bool,
    min_seeds: usize,
) -> Result<Prepared, Box<Judgement>> {
    let (mut kept, mut dropped, mut excluded) = (Vec::new(), Vec::new(), Vec::new());
    for p in points {
        let out = p.runs.iter().filter(|o| o.excluded).count();
        if out > 0 {
            excluded.push(format!("{} ({out} of {} seeds)", p.label, p.runs.len()));
        }
        let runs: Vec<Obs> = p
            .runs
            .iter()
            .copied()
            .filter(|o| !o.excluded && o.y.is_finite() && (!log || o.y > 0.0))
            .filter(|o| !measured_x || o.x.is_some_and(f64::is_finite))
            .collect();
        if runs.is_empty() || !p.strength.is_finite() {
            if out < p.runs.len() || p.runs.is_empty() {
                dropped.push(p.label.clone());
            }
            continue;
        }
        kept.push(PointObs {
            label: p.label.clone(),
            strength: p.strength,
            runs,
        });
    }
    kept.sort_by(|a, b| a.strength.total_cmp(&b.strength));
    let seeds = seed_range(&kept);
    let mut note = String::new();
    if !dropped.is_empty() {
        note = format!(
            " (no usable value at {}: missing runs, NaN{})",
            dropped.join(", "),
            if log { " or ≤ 0 on a log scale" } else { "" }
        );
    }
    let fail = |reason: String| {
        let mut j = Judgement::empty(kept.len(), seeds, reason);
        j.excluded = excluded.clone();
        Box::new(j)
    };
    if kept.is_empty() {
        return Err(fail(format!("no finished run has this quantity{note}")));
    }
    if let Some(p) = kept.iter().find(|p| p.runs.len() < min_seeds) {
        return Err(fail(format!(
            "point {} has {} seed(s); an interval needs at least {min_seeds}{note}",
            p.label,
            p.runs.len()
        )));
    }
    Ok(Prepared {
        points: kept,
        excluded,
        note,
        seeds,
    })
}

/// The channels of the simulation: the quantity (on its judged scale, with its test-sample
/// noise) and, against a measured `x`, `x`.
fn channels(points: &[PointObs], measured_x: bool, log: bool) -> Vec<Channel> {
    let mut ids: Vec<u64> = Vec::new();
    for p in points {
        for (i, o) in p.runs.iter().enumerate() {
            let id = o.seed.unwrap_or(i as u64);
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    ids.sort_unstable();
    let slot_of = |i: usize, o: &Obs| {
        let id = o.seed.unwrap_or(i as u64);
        ids.iter().position(|s| *s == id).unwrap_or(0)
    };
    let grid = |f: &dyn Fn(&Obs) -> f64| -> Vec<Vec<Option<f64>>> {
        points
            .iter()
            .map(|p| {
                let mut row = vec![None; ids.len()];
                for (i, o) in p.runs.iter().enumerate() {
                    row[slot_of(i, o)] = Some(f(o));
                }
                row
            })
            .collect()
    };
    let y = Channel {
        values: grid(&|o| if log { o.y.ln() } else { o.y }),
        test_sd: points.iter().map(|p| test_sd(p, log)).collect(),
    };
    let mut out = vec![y];
    if measured_x {
        out.push(Channel {
            values: grid(&|o| o.x.unwrap_or(f64::NAN)),
            test_sd: vec![0.0; points.len()],
        });
    }
    out
}

/// The test-sample standard deviation of a point's mean: binomial for proportions, the
/// recorded standard error over the test samples for other means (on the log scale both by the
/// delta method), 0 where no run carries either.
fn test_sd(p: &PointObs, log: bool) -> f64 {
    let v: Vec<f64> = p
        .runs
        .iter()
        .filter_map(|o| match (o.trials, o.se) {
            (Some(t), _) if t > 0 && (0.0..=1.0).contains(&o.y) => {
                Some(o.y * (1.0 - o.y) / t as f64)
            }
            (None, Some(se)) if se.is_finite() && se >= 0.0 => Some(se * se),
            _ => None,
        })
        .collect();
    if v.is_empty() {
        return 0.0;
    }
    let var = v.iter().sum::<f64>() / v.len() as f64;
    let m = p.runs.iter().map(|o| o.y).sum::<f64>() / p.runs.len() as f64;
    if log {
        var.sqrt() / m.abs()
    } else {
        var.sqrt()
    }
}

/// The breakpoint (≥ 3 points each side) with the largest reversal of `kind` (+1 peak, −1
/// trough): (index, signed slope before, signed slope after, reversal / range).
fn shape_of(mu: &[f64], kind: f64) -> Option<(usize, f64, f64, f64)> {
    let k = mu.len();
    if k < 5 {
        return None;
    }
    let (lo, hi) = mu
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(*v), b.max(*v))
        });
    let range = hi - lo;
    let size = |b: usize| (kind * (mu[b] - mu[0])).min(kind * (mu[b] - mu[k - 1]));
    let b = (2..=k - 3).max_by(|a, b| size(*a).total_cmp(&size(*b)))?;
    let before = kind * slope_on_steps(&mu[..=b]);
    let after = -kind * slope_on_steps(&mu[b..]);
    let share = if range > 0.0 { size(b) / range } else { 0.0 };
    Some((b, before, after, share))
}

/// Per-replicate statistics, one vector each.
#[derive(Default)]
struct Reps {
    change: Vec<f64>,
    slope: Vec<f64>,
    shape: [Vec<f64>; 3],
    x_slope: Vec<f64>,
    x_shape: [Vec<f64>; 3],
    pearson: Vec<f64>,
    spearman: Vec<f64>,
}

impl Reps {
    fn push(&mut self, mu: &[Vec<f64>], kinds: (f64, f64), measured_x: bool) {
        let y = &mu[0];
        self.change.push(y[y.len() - 1] - y[0]);
        self.slope.push(slope_on_steps(y));
        if let Some((_, a, b, c)) = shape_of(y, kinds.0) {
            for (v, x) in self.shape.iter_mut().zip([a, b, c]) {
                v.push(x);
            }
        }
        if measured_x {
            let x = &mu[1];
            self.x_slope.push(slope_on_steps(x));
            if let Some((_, a, b, c)) = shape_of(x, kinds.1) {
                for (v, s) in self.x_shape.iter_mut().zip([a, b, c]) {
                    v.push(s);
                }
            }
            self.pearson.push(pearson(x, y));
            self.spearman.push(spearman(x, y));
        }
    }
}

/// The kind (+1 peak, −1 trough) with the larger reversal on the observed means.
fn observed_kind(mu: &[f64]) -> f64 {
    let share = |k: f64| shape_of(mu, k).map_or(f64::NEG_INFINITY, |s| s.3);
    if share(1.0) >= share(-1.0) { 1.0 } else { -1.0 }
}

fn simulate(sim: &Sim, measured_x: bool, s: &Settings) -> (Reps, (f64, f64)) {
    let obs = sim.observed();
    let kinds = (
        observed_kind(&obs[0]),
        if measured_x {
            observed_kind(&obs[1])
        } else {
            1.0
        },
    );
    let mut rng = ChaCha8Rng::seed_from_u64(s.seed);
    let mut out = vec![Vec::new(); obs.len()];
    let mut reps = Reps::default();
    for _ in 0..s.replicates {
        sim.draw(&mut rng, &mut out);
        reps.push(&out, kinds, measured_x);
    }
    (reps, kinds)
}

/// The shape finding of one channel, when its test passes.
fn shape_finding(
    mu: &[f64],
    kind: f64,
    reps: &[Vec<f64>; 3],
    labels: &[String],
    s: &Settings,
) -> Option<Shape> {
    let (b, before, after, share) = shape_of(mu, kind)?;
    let before = Interval::of(before, &reps[0], s.level);
    let after = Interval::of(after, &reps[1], s.level);
    let reversal = Interval::of(share, &reps[2], s.level);
    (before.lo > 0.0 && after.lo > 0.0 && reversal.lo > s.reversal_share).then(|| Shape {
        kind: if kind > 0.0 { "peak" } else { "trough" },
        at: labels[b].clone(),
        index: b,
        before,
        after,
        reversal,
        first_leg: mu[b] - mu[0],
        second_leg: mu[mu.len() - 1] - mu[b],
    })
}

/// `(1 + #misses) / (R + 1)`: the one-sided p-value of "`v` lies beyond `m` upwards".
fn p_above(v: &[f64], m: f64) -> f64 {
    let miss = v.iter().filter(|x| x.is_nan() || **x <= m).count();
    (1 + miss) as f64 / (v.len() + 1) as f64
}

/// One-sided p-values of the trend in each direction: (up, down); both Δ beyond `m` and
/// the slope beyond 0 (an intersection–union test: the larger p).
fn trend_p(r: &Reps, sign: f64, m: f64) -> (f64, f64) {
    let d: Vec<f64> = r.change.iter().map(|v| sign * v).collect();
    let sl: Vec<f64> = r.slope.iter().map(|v| sign * v).collect();
    let neg = |v: &[f64]| v.iter().map(|x| -x).collect::<Vec<f64>>();
    let up = p_above(&d, m).max(p_above(&sl, 0.0));
    let down = p_above(&neg(&d), m).max(p_above(&neg(&sl), 0.0));
    (up, down)
}

/// Judges a trend claim (`increasing`, `decreasing` or `flat`) on a linear scale; `measured_x`
/// when `x` comes from each run rather than from the strength.
pub fn judge_trend(
    points: &[PointObs],
    measured_x: bool,
    direction: Direction,
    min_effect: f64,
    s: &Settings,
) -> Judgement {
    judge_claim(points, measured_x, &Rule::new(direction, min_effect), s)
}

/// Judges `rule` on `points`: a difference claim (`higher`/`lower`), a size claim (`target`)
/// or a trend claim.
pub fn judge_claim(points: &[PointObs], measured_x: bool, rule: &Rule, s: &Settings) -> Judgement {
    if rule.direction.is_difference() {
        return judge_difference_rule(points, rule, s);
    }
    let log = rule.scale == Scale::Log;
    let prep = match prepare(points, measured_x, log, s.min_seeds) {
        Ok(p) => p,
        Err(j) => return *j,
    };
    let n = prep.points.len();
    let mut j = Judgement::empty(n, prep.seeds, String::new());
    j.excluded = prep.excluded.clone();
    j.log_scale = log;
    if n < 2 {
        j.reason = format!(
            "{n} point(s) with data; a trend needs at least 2{}",
            prep.note
        );
        return j;
    }
    let sim = Sim::new(&channels(&prep.points, measured_x, log));
    j.df = Some((sim.df, sim.paired()));
    let (reps, kinds) = simulate(&sim, measured_x, s);
    let labels: Vec<String> = prep.points.iter().map(|p| p.label.clone()).collect();
    let obs = sim.observed().to_vec();
    let mut sign = 1.0;
    if measured_x {
        let c = correlations(&obs, &reps, s);
        j.correlations = Some(c);
        if let Some(t) = rule.target {
            return judge_size(j, &reps, c, t, s);
        }
        match x_direction(&obs[1], &reps, kinds.1, &labels, s) {
            Ok(d) => sign = d,
            Err(reason) => {
                j.reason = reason;
                return j;
            }
        }
    }
    let y = &obs[0];
    j.change = Some(Interval::of(
        sign * (y[n - 1] - y[0]),
        &signed(&reps.change, sign),
        s.level,
    ));
    j.slope = Some(Interval::of(
        sign * slope_on_steps(y),
        &signed(&reps.slope, sign),
        s.level,
    ));
    j.shape = shape_finding(y, kinds.0, &reps.shape, &labels, s);
    trend_verdict(&mut j, &reps, sign, rule, s);
    if j.verdict == Verdict::Inconclusive {
        let (v_seed, v_test) = sim.contrast_var(0, &delta_contrast(n));
        j.power = Some(seeds_needed(v_seed, v_test, rule.threshold()));
    }
    j.reason.push_str(&prep.note);
    j
}

fn signed(v: &[f64], sign: f64) -> Vec<f64> {
    v.iter().map(|x| sign * x).collect()
}

fn delta_contrast(n: usize) -> Vec<f64> {
    let mut c = vec![0.0; n];
    c[0] = -1.0;
    c[n - 1] += 1.0;
    c
}

fn correlations(obs: &[Vec<f64>], reps: &Reps, s: &Settings) -> Correlations {
    Correlations {
        pearson: Interval::of(pearson(&obs[1], &obs[0]), &reps.pearson, s.level),
        spearman: Interval::of(spearman(&obs[1], &obs[0]), &reps.spearman, s.level),
    }
}

/// Whether a measured `x` moves monotonically with the strength: its sign (+1 rising, −1
/// falling), or why the claim against it cannot be judged.
fn x_direction(
    x: &[f64],
    reps: &Reps,
    kind: f64,
    labels: &[String],
    s: &Settings,
) -> Result<f64, String> {
    if let Some(f) = shape_finding(x, kind, &reps.x_shape, labels, s) {
        let word = |d: f64| if d < 0.0 { "falls" } else { "rises" };
        return Err(format!(
            "x folds back at {}: it {} by {:.3} up to there, then {} by {:.3} (the points cannot be ordered by x)",
            f.at,
            word(f.first_leg),
            f.first_leg.abs(),
            word(f.second_leg),
            f.second_leg.abs()
        ));
    }
    let sl = Interval::of(slope_on_steps(x), &reps.x_slope, s.level);
    if !sl.lo.is_finite() || (sl.lo <= 0.0 && sl.hi >= 0.0) {
        return Err(format!(
            "x does not move monotonically with the strength (its slope per step {sl:.3} includes 0)"
        ));
    }
    Ok(if sl.estimate > 0.0 { 1.0 } else { -1.0 })
}

/// A claim about a size: Pearson's interval against the paper's value `target`.
fn judge_size(
    mut j: Judgement,
    reps: &Reps,
    c: Correlations,
    target: f64,
    s: &Settings,
) -> Judgement {
    let pct = (s.level * 100.0).round();
    let r = c.pearson;
    let p_pos = (2.0 * p_above(&reps.pearson, 0.0)).min(1.0);
    let neg: Vec<f64> = reps.pearson.iter().map(|v| -v).collect();
    let p_below = (2.0 * p_above(&neg, -target)).min(1.0);
    if r.hi < target {
        j.decide(
            Verdict::Contradicted,
            p_below,
            format!("Pearson's {pct}% interval {r:.3} lies below the paper's {target}"),
        );
    } else if r.lo > 0.0 {
        j.decide(
            Verdict::Supported,
            p_pos,
            format!("Pearson's {pct}% interval {r:.3} excludes 0 and reaches the paper's {target}"),
        );
    } else {
        j.p = Some(p_pos.min(p_below));
        j.reason =
            format!("Pearson's {pct}% interval {r:.3} includes both 0 and the paper's {target}");
    }
    j
}

fn trend_verdict(j: &mut Judgement, reps: &Reps, sign: f64, rule: &Rule, s: &Settings) {
    let pct = (s.level * 100.0).round();
    let alpha = 1.0 - s.level;
    let m = rule.threshold();
    let shown = rule.min_effect;
    let rel = if rule.scale == Scale::Log {
        " (relative, log scale)"
    } else {
        ""
    };
    let d = signed(&reps.change, sign);
    if rule.direction == Direction::Flat {
        let neg: Vec<f64> = d.iter().map(|v| -v).collect();
        let below = |v: &[f64]| {
            let miss = v.iter().filter(|x| x.is_nan() || **x >= m).count();
            (1 + miss) as f64 / (v.len() + 1) as f64
        };
        let within = (2.0 * below(&d).max(below(&neg))).min(1.0);
        let beyond = (2.0 * p_above(&d, m).min(p_above(&neg, m))).min(1.0);
        if within <= alpha {
            j.decide(
                Verdict::Supported,
                within,
                format!("Δ's {pct}% interval lies within ±{shown}{rel}"),
            );
        } else if beyond <= alpha {
            j.decide(
                Verdict::Contradicted,
                beyond,
                format!("Δ's {pct}% interval lies beyond ±{shown}{rel}"),
            );
        } else {
            j.p = Some(within.min(beyond));
            j.reason = format!("Δ's {pct}% interval straddles ±{shown}{rel}");
        }
        return;
    }
    let (up, down) = trend_p(reps, sign, m);
    let want_up = rule.direction == Direction::Increasing;
    let (p_for, p_against) = if want_up { (up, down) } else { (down, up) };
    let (p_for, p_against) = ((2.0 * p_for).min(1.0), (2.0 * p_against).min(1.0));
    if p_for <= alpha {
        j.decide(
            Verdict::Supported,
            p_for,
            format!("Δ's {pct}% interval lies beyond {shown}{rel} and the slope's excludes 0, in the claimed direction"),
        );
    } else if p_against <= alpha {
        j.decide(
            Verdict::Contradicted,
            p_against,
            format!("Δ's {pct}% interval lies beyond {shown}{rel} and the slope's excludes 0, against the claimed direction"),
        );
    } else {
        j.p = Some(p_for.min(p_against));
        j.reason = format!(
            "the {pct}% intervals of Δ or the slope include no effect (Δ within ±{shown}{rel}, or a slope of 0)"
        );
    }
}

/// Seeds that would give 80% power to find Δ beyond `m` when the true Δ is 2·`m`, at the
/// measured per-seed variance `v_seed` (of the statistic over one seed) and the test-sample
/// variance `v_test` (which more seeds do not shrink).
pub fn seeds_needed(v_seed: f64, v_test: f64, m: f64) -> String {
    for n in 2..=200usize {
        let df = n - 1;
        let se = (v_seed / n as f64 + v_test).sqrt();
        if (t975(df) + t80(df)) * se <= m {
            return format!("{n} seeds would decide an effect of twice the threshold (80% power)");
        }
    }
    if (1.960 + 0.842) * v_test.sqrt() > m {
        format!(
            "no number of seeds decides an effect of twice the threshold: the test-sample noise alone (sd {:.3}) is too large; it needs more test samples",
            v_test.sqrt()
        )
    } else {
        "more than 200 seeds would be needed to decide an effect of twice the threshold".into()
    }
}

/// Judges a difference claim: the mean over points of `quantity − baseline` (each run's
/// `y`), `higher` (> `min_effect`) or `lower` (< −`min_effect`).
pub fn judge_difference(
    points: &[PointObs],
    direction: Direction,
    min_effect: f64,
    s: &Settings,
) -> Judgement {
    judge_difference_rule(points, &Rule::new(direction, min_effect), s)
}

fn judge_difference_rule(points: &[PointObs], rule: &Rule, s: &Settings) -> Judgement {
    // The strength plays no part here: keep points without one.
    let points: Vec<PointObs> = points
        .iter()
        .map(|p| PointObs {
            strength: 0.0,
            ..p.clone()
        })
        .collect();
    let prep = match prepare(&points, false, false, s.min_seeds) {
        Ok(p) => p,
        Err(j) => return *j,
    };
    let n = prep.points.len();
    let sim = Sim::new(&channels(&prep.points, false, false));
    let mut rng = ChaCha8Rng::seed_from_u64(s.seed);
    let mut out = vec![Vec::new()];
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let vals: Vec<f64> = (0..s.replicates)
        .map(|_| {
            sim.draw(&mut rng, &mut out);
            mean(&out[0])
        })
        .collect();
    let mut j = Judgement::empty(n, prep.seeds, String::new());
    j.excluded = prep.excluded;
    j.df = Some((sim.df, sim.paired()));
    let change = Interval::of(mean(&sim.observed()[0]), &vals, s.level);
    j.change = Some(change);
    let pct = (s.level * 100.0).round();
    let m = rule.min_effect;
    let neg: Vec<f64> = vals.iter().map(|v| -v).collect();
    let (hi, lo) = (
        (2.0 * p_above(&vals, m)).min(1.0),
        (2.0 * p_above(&neg, m)).min(1.0),
    );
    let want_higher = rule.direction == Direction::Higher;
    let (p_for, p_against) = if want_higher { (hi, lo) } else { (lo, hi) };
    let alpha = 1.0 - s.level;
    if p_for <= alpha {
        j.decide(
            Verdict::Supported,
            p_for,
            format!("the difference's {pct}% interval lies beyond {m}, in the claimed direction"),
        );
    } else if p_against <= alpha {
        j.decide(
            Verdict::Contradicted,
            p_against,
            format!(
                "the difference's {pct}% interval lies beyond {m}, against the claimed direction"
            ),
        );
    } else {
        j.p = Some(p_for.min(p_against));
        j.reason = format!("the difference's {pct}% interval includes values within ±{m}");
        let c = vec![1.0 / n as f64; n];
        let (v_seed, v_test) = sim.contrast_var(0, &c);
        j.power = Some(seeds_needed(v_seed, v_test, m));
    }
    j.reason.push_str(&prep.note);
    j
}
