//! `report.md`, `findings.json`, `results.csv` and the figures, from the experiments' claims
//! and the runs' `result.json` values.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::claims::{Claim, Direction, ExperimentInfo, Scale, SweepInfo};
use crate::csv::csv;
use crate::curves::{
    EXCLUSION_RULE, Point, curve, did_not_train, did_not_train_below, observations,
};
use crate::determinism::determinism;
use crate::error::{ReportError, io};
use crate::judge::{Judgement, Rule, Settings, Verdict, judge_claim};
use crate::panels::panels;
use crate::plot::{Panel, Series, save};
use crate::quantity::Path as QPath;
use crate::stats::holm;

/// What the report is made from.
#[derive(Debug, Clone)]
pub struct Input {
    /// Scale name (`cpu`).
    pub scale: String,
    /// The experiments, in report order.
    pub experiments: Vec<ExperimentInfo>,
    /// Planned runs per experiment id (for "n of m runs finished"); absent ids count the
    /// finished runs as planned.
    pub planned: BTreeMap<String, usize>,
    /// Every finished run's `result.json`.
    pub results: Vec<Value>,
    /// Where the results came from, in words.
    pub source: String,
}

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

fn axis_label(s: &SweepInfo) -> String {
    s.label.clone().unwrap_or_else(|| s.key.clone())
}

fn quantity_label(c: &Claim) -> String {
    let q = c.label.clone().unwrap_or_else(|| c.quantity.clone());
    match &c.baseline {
        Some(b) => format!("{q} − {b}"),
        None => q,
    }
}

fn against_label(c: &Claim, sweep: &SweepInfo) -> String {
    match (&c.against_label, c.against.as_str()) {
        (Some(l), _) => l.clone(),
        (None, "strength") => axis_label(sweep),
        (None, p) => p.to_string(),
    }
}

/// The sweeps a claim is judged on.
fn claim_sweeps<'a>(exp: &'a ExperimentInfo, c: &Claim) -> Vec<&'a SweepInfo> {
    exp.sweep
        .iter()
        .filter(|s| c.sweep.as_ref().is_none_or(|n| *n == s.name))
        .collect()
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

/// Escapes a markdown table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The findings as a markdown table (the report's summary; stable text for tests).
pub fn findings_table(findings: &[Finding]) -> String {
    let mut s = String::from(
        "| experiment | claim | judged on | effect (95% interval) | p (raw / Holm) | verdict | threshold |\n|---|---|---|---|---|---|---|\n",
    );
    for f in findings {
        let j = &f.judgement;
        let seeds = if j.seeds.1 != j.seeds.0 {
            format!("{}–{}", j.seeds.0, j.seeds.1)
        } else {
            j.seeds.0.to_string()
        };
        let judged = format!(
            "{} vs {} ({}; {} points × {seeds} seeds){}",
            f.quantity,
            f.against,
            f.sweep,
            j.points,
            f.regime
                .as_ref()
                .map(|r| format!("; judged on {r}"))
                .unwrap_or_default(),
        );
        let rel = if f.scale.0 == Scale::Log {
            format!(
                " (relative: ×{:.3}; log scale: {})",
                1.0 + f.min_effect,
                f.scale.1.as_deref().unwrap_or("")
            )
        } else {
            String::new()
        };
        let threshold = match (f.direction, f.target) {
            (_, Some(t)) => format!("Pearson's interval against the paper's {t}"),
            (Direction::Flat, _) => format!("Δ within ±{}{rel}", f.min_effect),
            (Direction::Higher | Direction::Lower, _) => {
                format!("difference beyond ±{}", f.min_effect)
            }
            _ => format!("Δ beyond ±{}{rel}", f.min_effect),
        };
        let fp = |p: Option<f64>| p.map_or("–".to_string(), |p| format!("{p:.4}"));
        let p = match (j.p, f.primary) {
            (None, _) => "–".to_string(),
            (Some(_), true) => format!("{} / {}", fp(j.p), fp(j.p_adjusted)),
            (Some(_), false) => format!("{} / secondary", fp(j.p)),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {p} | {} | {}: {} |",
            cell(&f.experiment),
            cell(&f.text),
            cell(&judged),
            cell(&f.effect()),
            cell(&f.verdict_text()),
            cell(&threshold),
            cell(&f.threshold_reason)
        );
    }
    s
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

fn fmt_num(m: f64) -> String {
    if !m.is_finite() {
        "–".into()
    } else if m != 0.0 && (m.abs() >= 1e4 || m.abs() < 1e-3) {
        format!("{m:.3e}")
    } else if m.abs() >= 100.0 {
        format!("{m:.1}")
    } else {
        format!("{m:.4}")
    }
}

fn fmt_cell(p: &Point<'_>, path: &QPath) -> String {
    match p.mean_ci(path) {
        (m, _) if !m.is_finite() => "–".into(),
        (m, Some(h)) => format!("{} ± {}", fmt_num(m), fmt_num(h)),
        (m, None) => fmt_num(m),
    }
}

/// Base columns of every table: (header, path).
pub(crate) const COLUMNS: [(&str, &str); 5] = [
    ("clean acc", "eval.clean_accuracy"),
    ("robust acc", "eval.robust_accuracy"),
    ("RA/SA", "eval.ra_over_sa"),
    ("stable rank", "eval.compressibility.stable_rank"),
    ("eff. rank", "eval.compressibility.effective_rank"),
];

/// The points as the judge sees them under the exclusion rule at `below`: each point with
/// its kept runs (all its runs when none is kept), the number excluded, and whether the
/// whole point is excluded.
fn under_rule<'a>(points: &[Point<'a>], below: Option<f64>) -> Vec<(Point<'a>, usize, bool)> {
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

fn table(
    exp: &ExperimentInfo,
    sweep: &SweepInfo,
    points: &[Point<'_>],
    below: Option<f64>,
) -> String {
    let mut cols: Vec<(String, String)> = COLUMNS
        .iter()
        .map(|(h, p)| (h.to_string(), p.to_string()))
        .collect();
    for c in exp
        .claims
        .iter()
        .filter(|c| c.sweep.as_ref().is_none_or(|n| *n == sweep.name))
    {
        let mut add = |h: String, p: &str| {
            if !cols.iter().any(|(_, q)| q == p) {
                cols.push((h, p.to_string()));
            }
        };
        add(
            c.label.clone().unwrap_or_else(|| c.quantity.clone()),
            &c.quantity,
        );
        if c.against != "strength" {
            add(
                c.against_label.clone().unwrap_or_else(|| c.against.clone()),
                &c.against,
            );
        }
        if let Some(b) = &c.baseline {
            add(b.clone(), b);
        }
    }
    let paths: Vec<QPath> = cols
        .iter()
        .filter_map(|(_, p)| QPath::parse(p).ok())
        .collect();
    let mut s = format!("| {} | runs |", axis_label(sweep));
    for (h, _) in &cols {
        let _ = write!(s, " {h} |");
    }
    s.push('\n');
    s.push_str(&"|---".repeat(2 + cols.len()));
    s.push_str("|\n");
    for (p, out, all_out) in under_rule(points, below) {
        let runs = if out > 0 {
            let total = if all_out {
                p.runs.len()
            } else {
                p.runs.len() + out
            };
            format!("{total} ({out} did not train)")
        } else {
            p.runs.len().to_string()
        };
        let _ = write!(s, "| {} | {runs} |", p.label);
        for path in &paths {
            let _ = write!(s, " {} |", fmt_cell(&p, path));
        }
        s.push('\n');
    }
    s
}

/// Whether values spanning this range read better on a log axis.
fn wants_log(xs: impl Iterator<Item = f64>) -> bool {
    let pos: Vec<f64> = xs.filter(|x| x.is_finite() && *x > 0.0).collect();
    let (lo, hi) = pos
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(a, b), x| (a.min(*x), b.max(*x)));
    pos.len() >= 2 && hi / lo >= 20.0
}

/// A point to draw: (x, y, half-width, excluded).
type Drawn = (f64, f64, Option<f64>, bool);

fn line(name: &str, color: usize, pts: Vec<Drawn>) -> Series {
    let pts: Vec<Drawn> = pts
        .into_iter()
        .filter(|q| q.0.is_finite() && q.1.is_finite())
        .collect();
    Series {
        name: name.into(),
        points: pts.iter().map(|q| (q.0, q.1, q.2)).collect(),
        hollow: pts.iter().map(|q| q.3).collect(),
        color,
        scatter: false,
    }
}

fn by_strength(points: &[(Point<'_>, usize, bool)], path: &str) -> Vec<Drawn> {
    let Ok(p) = QPath::parse(path) else {
        return Vec::new();
    };
    points
        .iter()
        .map(|(pt, _, all)| {
            let (m, h) = pt.mean_ci(&p);
            (pt.strength, m, h, *all)
        })
        .collect()
}

/// The range a quantity's interval is clipped to in figures: [0, 1] for proportions,
/// [0, ∞) for ranks, norms, ratios, rates and bounds, none for signed quantities (gaps,
/// differences, slopes).
fn natural_range(path: &str) -> Option<(f64, f64)> {
    let last = path.rsplit('.').next().unwrap_or(path);
    if crate::curves::is_proportion(path) || last.starts_with("eps") {
        Some((0.0, 1.0))
    } else if last.contains("rank")
        || last.contains("norm")
        || last.contains("ratio")
        || last.contains("bound")
        || last.ends_with("change_mean")
        || last.ends_with("over_sa")
    {
        Some((0.0, f64::INFINITY))
    } else {
        None
    }
}

fn sweep_panels(
    exp: &ExperimentInfo,
    sweep: &SweepInfo,
    all_points: &[Point<'_>],
    below: Option<f64>,
) -> Vec<Panel> {
    let points = &under_rule(all_points, below);
    let axis = axis_label(sweep);
    let log_x = sweep
        .log_x
        .unwrap_or_else(|| wants_log(points.iter().map(|p| p.0.strength)));
    let mut out = Vec::new();
    let mut acc = Panel::lines(
        &format!("Accuracy vs {axis} ({})", sweep.name),
        &axis,
        "accuracy (mean ± 95% t-interval)",
        vec![
            line("robust", 3, by_strength(points, "eval.robust_accuracy")),
            line("clean", 0, by_strength(points, "eval.clean_accuracy")),
        ],
    );
    acc.log_x = log_x;
    acc.clip = Some((0.0, 1.0));
    out.push(acc);
    let mut drawn: Vec<(String, String)> = vec![
        ("eval.robust_accuracy".into(), "strength".into()),
        ("eval.clean_accuracy".into(), "strength".into()),
    ];
    for c in exp
        .claims
        .iter()
        .filter(|c| c.sweep.as_ref().is_none_or(|n| *n == sweep.name))
    {
        let key = (c.quantity.clone(), c.against.clone());
        if drawn.contains(&key) {
            continue;
        }
        drawn.push(key);
        let q = quantity_label(c);
        let mut panel = if c.against == "strength" {
            let mut series = vec![line(
                &c.label.clone().unwrap_or_else(|| c.quantity.clone()),
                1,
                by_strength(points, &c.quantity),
            )];
            if let Some(b) = &c.baseline {
                series.push(line(b, 2, by_strength(points, b)));
            }
            let mut p = Panel::lines(&format!("{q} vs {axis}"), &axis, &q, series);
            p.log_x = log_x;
            p.clip = if c.baseline.is_none() {
                natural_range(&c.quantity)
            } else {
                None
            };
            p
        } else {
            let (Ok(xp), Ok(yp)) = (QPath::parse(&c.against), QPath::parse(&c.quantity)) else {
                continue;
            };
            // In strength order, never sorted by the mean x: a fold-back shows as one.
            let pts: Vec<Drawn> = points
                .iter()
                .map(|(pt, _, all)| {
                    let (y, h) = pt.mean_ci(&yp);
                    (pt.mean_ci(&xp).0, y, h, *all)
                })
                .collect();
            let xl = against_label(c, sweep);
            let log = wants_log(pts.iter().map(|p| p.0));
            let mut p = Panel::lines(
                &format!("{q} vs {xl}"),
                &xl,
                &q,
                vec![line(&format!("points of {}", sweep.name), 4, pts)],
            );
            p.log_x = log;
            p.clip = natural_range(&c.quantity);
            p
        };
        panel.title = format!("{} ({})", panel.title, sweep.name);
        out.push(panel);
    }
    out.extend(sandwich(points, &axis, log_x).into_iter().flatten());
    for kind in &exp.panels {
        out.extend(panels(*kind, all_points, &axis));
    }
    out
}

/// Where the runs carry a certificate (the `certificate` measure): robust accuracy under the
/// attack (an upper bound on the true robust accuracy) above the certified accuracy at the
/// same ε (a lower bound), from Theorem 3.2 and from the product of norms; beside it the median
/// certified radius of the clean-correct samples against the attack's ε, which says how far
/// the bound is from certifying anything when the certified accuracy is 0.
fn sandwich(points: &[(Point<'_>, usize, bool)], axis: &str, log_x: bool) -> Option<[Panel; 2]> {
    let has = points.iter().any(|(p, ..)| {
        p.runs.iter().any(|r| {
            r.pointer("/eval/measures/certificate/certified_accuracy")
                .is_some()
        })
    });
    if !has {
        return None;
    }
    let c = "eval.measures.certificate";
    let mut p = Panel::lines(
        &format!("Empirical (upper) and certified (lower) robust accuracy vs {axis}"),
        axis,
        "robust accuracy (mean ± 95% t-interval)",
        vec![
            line(
                "attack (upper bound)",
                3,
                by_strength(points, "eval.robust_accuracy"),
            ),
            line(
                "certified, Theorem 3.2",
                1,
                by_strength(points, &format!("{c}.certified_accuracy_theorem_3_2")),
            ),
            line(
                "certified, product of norms",
                2,
                by_strength(points, &format!("{c}.certified_accuracy_product")),
            ),
        ],
    );
    p.log_x = log_x;
    p.clip = Some((0.0, 1.0));
    let eps: Vec<Drawn> = by_strength(points, &format!("{c}.eps"));
    let mut r = Panel::lines(
        &format!("Median certified radius vs {axis}"),
        axis,
        "radius (mean ± 95% t-interval)",
        vec![
            line(
                "median certified radius",
                1,
                by_strength(points, &format!("{c}.median_radius")),
            ),
            line("the attack's ε", 7, eps),
        ],
    );
    r.log_x = log_x;
    r.clip = Some((0.0, f64::INFINITY));
    Some([p, r])
}

/// What [`write_report`] wrote.
#[derive(Debug, Clone, Serialize)]
pub struct ReportSummary {
    /// `report.md`.
    pub report: PathBuf,
    /// `results.csv`.
    pub csv: PathBuf,
    /// Figures (PNG and SVG).
    pub figures: Vec<PathBuf>,
    /// Every finding.
    pub findings: Vec<Finding>,
    /// Runs planned / finished.
    pub runs: (usize, usize),
    /// The summary line.
    pub summary: String,
}

/// Writes `path` atomically (`cr_io::write_atomic`: temporary name, fsync, rename), creating
/// its directory first.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ReportError> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(io(d))?;
    }
    cr_io::write_atomic(path, bytes).map_err(io(path))
}

const METHOD: &str = "How claims are judged (fixed before the data were read). Each claim is data \
in its experiment's TOML: the quantity, what it is judged against (the swept strength, or a \
measured quantity), the claimed direction, the smallest change that counts (with its reason), the \
scale (`log` for rank-, norm- and ratio-valued quantities, where the threshold is a relative \
change) and, where stated, the regime. Points are ordered by the swept strength. Intervals come \
from a seed-paired t simulation (20,000 replicates): point k of every sweep is trained with the \
same seeds, so each replicate moves a seed's whole curve together, scaled by a t factor with the \
degrees of freedom of the fewest seeds at a point (2 at 3 seeds: t₀.₉₇₅ = 4.30); for any \
difference of points this is exactly the paired t interval. Accuracies and fooling rates add \
their binomial test-sample noise, unshrunk by the number of seeds (every run attacks the same \
test subset); means over test samples that are not proportions (the loss gap, ‖Δz‖/‖z‖) add \
the standard error over the samples that the run recorded beside them (`gap_se`, \
`change_mean_se`); the remaining quantities (compressibility of the weights, bounds, the \
alignment ratio) hold the seed-to-seed spread only. Two-point curves (two models) are a Welch test of the \
difference. `supported` / `contradicted`: Δ = last − first point lies beyond the threshold and \
the OLS slope over the sweep's steps excludes 0, both at 95%, in / against the claimed \
direction (for `flat`: Δ within / beyond ±threshold). A claim against a measured x is \
`inconclusive` when x does not move monotonically with the strength (it folds back, or its slope \
includes 0). Claims about a size (Figure 3's ρ) are judged on Pearson's interval against the \
paper's value: `supported` when it excludes 0 and reaches it, `contradicted` when it lies below \
it. Shape is a finding beside the verdict, never in its place: a peak or trough at a breakpoint \
with at least 3 points on each side, re-chosen inside every replicate, both side slopes \
excluding 0 with opposite signs and the reversal above a tenth of the curve's range. \
Multiplicity: Holm's step-down adjustment over the primary claims (secondary rows, such as \
cross-checks, are outside the family); a claim decided alone but not after the adjustment is \
`inconclusive`. Every `inconclusive` verdict states how many seeds would give 80% power to decide \
an effect of twice the threshold at the measured noise. Tables give means ± the half-width of \
the 95% t-interval over seeds (excluded runs left out); figures draw the same bars, clipped to the \
quantity's range, and excluded points hollow.";

/// One experiment with its finished runs.
struct ExpRuns<'a> {
    exp: &'a ExperimentInfo,
    res: Vec<Value>,
    planned: usize,
}

/// The report body of one experiment: its settings, tables, findings and figures.
fn experiment_body(
    e: &ExpRuns<'_>,
    findings: &[Finding],
    fig_dir: &Path,
    body: &mut String,
) -> Result<Vec<PathBuf>, ReportError> {
    let exp = e.exp;
    let _ = writeln!(body, "## {} — {} (`{}`)\n", exp.figure, exp.title, exp.id);
    let _ = writeln!(body, "![{}](figures/{}.png)\n", exp.id, exp.id);
    let _ = writeln!(body, "**Paper's claim.** {}\n", exp.claim.trim());
    let _ = writeln!(
        body,
        "**Settings.** {}{} of {} runs finished.\n",
        exp.settings
            .as_ref()
            .map(|s| format!("{s}. "))
            .unwrap_or_default(),
        e.res.len(),
        e.planned
    );
    if let Some(n) = &exp.notes {
        let _ = writeln!(body, "**Notes.** {}\n", n.trim());
    }
    let mut fig = Vec::new();
    for sweep in &exp.sweep {
        let points = curve(&e.res, sweep);
        if exp.sweep.len() > 1 {
            let _ = writeln!(body, "**Sweep `{}`** ({})\n", sweep.name, axis_label(sweep));
        }
        let below = did_not_train_below(&points, exp.num_classes.unwrap_or(10));
        let _ = writeln!(body, "{}", table(exp, sweep, &points, below));
        fig.extend(sweep_panels(exp, sweep, &points, below));
    }
    if !findings.is_empty() {
        body.push_str(&findings_table(findings));
        body.push('\n');
    }
    let title = format!("{} — {} ({})", exp.figure, exp.title, exp.id);
    save(&fig_dir.join(&exp.id), &title, &fig, 3)
}

/// Writes `report.md`, `findings.json`, `results.csv` and `figures/` into `out`.
pub fn write_report(
    input: &Input,
    out: &Path,
    settings: &Settings,
) -> Result<ReportSummary, ReportError> {
    let fig_dir = out.join("figures");
    let mut not_run = Vec::new();
    let mut planned_total = 0;
    let mut runs = Vec::new();
    for exp in &input.experiments {
        let res: Vec<Value> = input
            .results
            .iter()
            .filter(|r| r.get("experiment").and_then(Value::as_str) == Some(exp.id.as_str()))
            .cloned()
            .collect();
        let planned = input.planned.get(&exp.id).copied().unwrap_or(res.len());
        planned_total += planned;
        if res.is_empty() {
            not_run.push(exp.id.clone());
        } else {
            runs.push(ExpRuns { exp, res, planned });
        }
    }
    let mut all: Vec<Finding> = runs
        .iter()
        .flat_map(|e| judge_experiment(e.exp, &e.res, settings))
        .collect();
    adjust_holm(&mut all, settings.level);
    let mut body = String::new();
    let mut figures = Vec::new();
    for e in &runs {
        let mine: Vec<Finding> = all
            .iter()
            .filter(|f| f.experiment == e.exp.id)
            .cloned()
            .collect();
        figures.extend(experiment_body(e, &mine, &fig_dir, &mut body)?);
    }
    let mut md = format!("# cr reproduction report — scale `{}`\n\n", input.scale);
    let _ = writeln!(
        md,
        "{} of {planned_total} runs finished ({}).\n",
        input.results.len(),
        input.source
    );
    let _ = writeln!(
        md,
        "## How claims are judged\n\n{METHOD}\n\n**Exclusion rule.** {EXCLUSION_RULE}\n"
    );
    let _ = writeln!(md, "## Findings\n\n{}\n", summary_line(&all));
    md.push_str(&findings_table(&all));
    md.push('\n');
    md.push_str(&determinism(
        input
            .results
            .iter()
            .map(|r| r.get("device").and_then(Value::as_str).unwrap_or("")),
    ));
    if !not_run.is_empty() {
        let _ = writeln!(
            md,
            "Experiments of the grid with no finished run here: {}.\n",
            not_run.join(", ")
        );
    }
    md.push_str(&body);
    let report = out.join("report.md");
    write_atomic(&report, md.as_bytes())?;
    let csv_path = out.join("results.csv");
    write_atomic(
        &csv_path,
        csv(&input.experiments, &input.results).as_bytes(),
    )?;
    let json = serde_json::to_vec_pretty(&all).map_err(|e| ReportError::Draw(e.to_string()))?;
    write_atomic(&out.join("findings.json"), &json)?;
    Ok(ReportSummary {
        report,
        csv: csv_path,
        figures,
        summary: summary_line(&all),
        findings: all,
        runs: (planned_total, input.results.len()),
    })
}

/// Every `<experiment>/<run>/result.json` under `dir` (unreadable or malformed files are
/// errors naming the file).
pub fn load_results(dir: &Path) -> Result<Vec<Value>, ReportError> {
    let mut out = Vec::new();
    let mut exps: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    exps.sort();
    for e in exps {
        let mut runs: Vec<PathBuf> = std::fs::read_dir(&e)
            .map_err(io(&e))?
            .filter_map(|d| d.ok().map(|d| d.path().join("result.json")))
            .filter(|p| p.is_file())
            .collect();
        runs.sort();
        for r in runs {
            let text = std::fs::read_to_string(&r).map_err(io(&r))?;
            out.push(serde_json::from_str(&text).map_err(|e| ReportError::File {
                path: r.clone(),
                problem: e.to_string(),
            })?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn determinism_names_the_devices_and_flags_gpu_runs() {
        let cpu = determinism(["Device<Flex(Cpu)>", "Device<Flex(Cpu)>", ""]);
        assert!(cpu.contains("`Device<Flex(Cpu)>` (2 runs)"), "{cpu}");
        assert!(cpu.contains("`not recorded` (1 runs)"), "{cpu}");
        assert!(cpu.contains("On a GPU"), "{cpu}");
        assert!(cpu.contains("Across machines"), "{cpu}");
        assert!(!cpu.contains("Some of these runs are GPU runs"), "{cpu}");
        let gpu = determinism(["Device<Flex(Cpu)>", "Device<Cuda(0)>"]);
        assert!(gpu.contains("Some of these runs are GPU runs"), "{gpu}");
    }

    #[test]
    fn log_axes_for_values_spanning_decades() {
        assert!(wants_log([0.0, 1e-4, 1e-2, 1.0].into_iter()));
        assert!(!wants_log([1.0, 2.0, 4.0].into_iter()));
        assert!(!wants_log([0.0, 1.0].into_iter()));
    }
}
