//! `report.md`, `findings.json`, `results.csv` and the figures, from the experiments' claims
//! and the runs' `result.json` values.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::claims::{Claim, Direction, ExperimentInfo, SweepInfo};
use crate::csv::csv;
use crate::curves::{Point, curve, observations};
use crate::determinism::determinism;
use crate::error::{ReportError, io};
use crate::judge::{Judgement, Settings, Verdict, judge_difference, judge_trend};
use crate::panels::panels;
use crate::plot::{Panel, Series, save};
use crate::quantity::Path as QPath;
use crate::stats::{pearson, spearman};

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
    /// Pearson and Spearman correlations of the point means, when judged against a measured
    /// quantity.
    pub correlations: Option<(f64, f64)>,
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
        } else {
            if let Some(t) = j.tau {
                parts.push(format!("τ {t:.2}"));
            }
            if let Some(c) = j.change {
                parts.push(format!("Δ {c:.3}"));
            }
        }
        if let Some((p, s)) = self.correlations {
            parts.push(format!("Pearson {p:+.3}, Spearman {s:+.3} (point means)"));
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
        match (&j.verdict, &j.extremum) {
            (Verdict::NonMonotone, Some(e)) => {
                let side = |t: &crate::judge::Interval| {
                    if t.lo > 0.0 {
                        "rising"
                    } else if t.hi < 0.0 {
                        "falling"
                    } else {
                        "flat within noise"
                    }
                };
                format!(
                    "**non-monotone**: {} at {} ({} before, τ {:.2}; {} after, τ {:.2})",
                    e.kind,
                    e.at,
                    side(&e.before),
                    e.before,
                    side(&e.after),
                    e.after
                )
            }
            (Verdict::Supported, _) => "**supported**".into(),
            (Verdict::Contradicted, _) => "**contradicted**".into(),
            (v, _) => format!("{v} ({})", j.reason),
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
            let obs = observations(c, &points);
            let measured = c.against != "strength";
            let judgement = if c.direction.is_difference() {
                judge_difference(&obs, c.direction, c.min_effect, s)
            } else {
                judge_trend(&obs, measured, c.direction, c.min_effect, s)
            };
            let correlations = measured.then(|| {
                let means: Vec<(f64, f64)> = obs
                    .iter()
                    .map(|p| {
                        let xs: Vec<f64> = p.runs.iter().filter_map(|o| o.x).collect();
                        let ys: Vec<f64> = p.runs.iter().map(|o| o.y).collect();
                        (crate::stats::mean_std(&xs).0, crate::stats::mean_std(&ys).0)
                    })
                    .collect();
                let (x, y): (Vec<f64>, Vec<f64>) = means.into_iter().unzip();
                (pearson(&x, &y), spearman(&x, &y))
            });
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
                correlations: correlations.filter(|(p, s)| p.is_finite() || s.is_finite()),
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
        "| experiment | claim | judged on | effect (95% interval) | verdict | threshold |\n|---|---|---|---|---|---|\n",
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
        let threshold = match f.direction {
            Direction::Flat => format!("Δ within ±{}", f.min_effect),
            Direction::Higher | Direction::Lower => {
                format!("difference beyond ±{}", f.min_effect)
            }
            _ => format!("Δ beyond ±{}", f.min_effect),
        };
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {}: {} |",
            cell(&f.experiment),
            cell(&f.text),
            cell(&judged),
            cell(&f.effect()),
            cell(&f.verdict_text()),
            threshold,
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

/// The summary line: how many claims got each verdict.
pub fn summary_line(findings: &[Finding]) -> String {
    let c = counts(findings);
    format!(
        "{} claims judged: {} supported, {} contradicted, {} non-monotone, {} inconclusive.",
        findings.len(),
        c[&Verdict::Supported],
        c[&Verdict::Contradicted],
        c[&Verdict::NonMonotone],
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

fn table(exp: &ExperimentInfo, sweep: &SweepInfo, points: &[Point<'_>]) -> String {
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
    for p in points {
        let _ = write!(s, "| {} | {} |", p.label, p.runs.len());
        for path in &paths {
            let _ = write!(s, " {} |", fmt_cell(p, path));
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

fn line(name: &str, color: usize, pts: Vec<(f64, f64, Option<f64>)>) -> Series {
    Series {
        name: name.into(),
        points: pts
            .into_iter()
            .filter(|q| q.0.is_finite() && q.1.is_finite())
            .collect(),
        color,
        scatter: false,
    }
}

fn by_strength(points: &[Point<'_>], path: &str) -> Vec<(f64, f64, Option<f64>)> {
    let Ok(p) = QPath::parse(path) else {
        return Vec::new();
    };
    points
        .iter()
        .map(|pt| {
            let (m, h) = pt.mean_ci(&p);
            (pt.strength, m, h)
        })
        .collect()
}

fn sweep_panels(exp: &ExperimentInfo, sweep: &SweepInfo, points: &[Point<'_>]) -> Vec<Panel> {
    let axis = axis_label(sweep);
    let log_x = sweep
        .log_x
        .unwrap_or_else(|| wants_log(points.iter().map(|p| p.strength)));
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
            p
        } else {
            let (Ok(xp), Ok(yp)) = (QPath::parse(&c.against), QPath::parse(&c.quantity)) else {
                continue;
            };
            let mut pts: Vec<(f64, f64, Option<f64>)> = points
                .iter()
                .map(|pt| {
                    let (y, h) = pt.mean_ci(&yp);
                    (pt.mean_ci(&xp).0, y, h)
                })
                .collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            let xl = against_label(c, sweep);
            let log = wants_log(pts.iter().map(|p| p.0));
            let mut p = Panel::lines(
                &format!("{q} vs {xl}"),
                &xl,
                &q,
                vec![line(&format!("points of {}", sweep.name), 4, pts)],
            );
            p.log_x = log;
            p
        };
        panel.title = format!("{} ({})", panel.title, sweep.name);
        out.push(panel);
    }
    for kind in &exp.panels {
        out.extend(panels(*kind, points, &axis));
    }
    out
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

const METHOD: &str = "How claims are judged. Each claim below is data in its experiment's TOML: the \
quantity, what it is judged against (the swept strength, or a compressibility measure that still \
moves across the sweep), the claimed direction, the smallest change that counts (with its \
reason) and, where stated, the regime. The judge resamples every point's seeds (and, for \
accuracies and fooling rates, the test samples, as a binomial draw) 2,000 times and computes \
Kendall's τ between x and the point means, Δ = last point − first point, and the rise of the \
highest (or lowest) interior point over both ends. `non-monotone`: a peak or trough whose 95% \
interval over both ends lies beyond the threshold (checked first; the verdict names where, and \
the direction on each side). `supported` / `contradicted`: τ's interval excludes 0 and Δ's \
interval lies beyond the threshold, in / against the claimed direction. `inconclusive`: \
anything else, or too little data (fewer than 2 points, or a point with fewer than 2 seeds), with \
the reason. Tables give means ± the half-width of the 95% t-interval over seeds; figures draw the \
same as error bars.";

/// Writes `report.md`, `findings.json`, `results.csv` and `figures/` into `out`.
pub fn write_report(
    input: &Input,
    out: &Path,
    settings: &Settings,
) -> Result<ReportSummary, ReportError> {
    let fig_dir = out.join("figures");
    let mut all = Vec::new();
    let mut figures = Vec::new();
    let mut body = String::new();
    let mut not_run = Vec::new();
    let mut planned_total = 0;
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
            continue;
        }
        let findings = judge_experiment(exp, &res, settings);
        let _ = writeln!(body, "## {} — {} (`{}`)\n", exp.figure, exp.title, exp.id);
        let _ = writeln!(body, "![{}](figures/{}.png)\n", exp.id, exp.id);
        let _ = writeln!(body, "**Paper's claim.** {}\n", exp.claim.trim());
        let _ = writeln!(
            body,
            "**Settings.** {}{} of {planned} runs finished.\n",
            exp.settings
                .as_ref()
                .map(|s| format!("{s}. "))
                .unwrap_or_default(),
            res.len()
        );
        if let Some(n) = &exp.notes {
            let _ = writeln!(body, "**Notes.** {}\n", n.trim());
        }
        let mut fig = Vec::new();
        for sweep in &exp.sweep {
            let points = curve(&res, sweep);
            if exp.sweep.len() > 1 {
                let _ = writeln!(body, "**Sweep `{}`** ({})\n", sweep.name, axis_label(sweep));
            }
            let _ = writeln!(body, "{}", table(exp, sweep, &points));
            fig.extend(sweep_panels(exp, sweep, &points));
        }
        if !findings.is_empty() {
            body.push_str(&findings_table(&findings));
            body.push('\n');
        }
        let title = format!("{} — {} ({})", exp.figure, exp.title, exp.id);
        figures.extend(save(&fig_dir.join(&exp.id), &title, &fig, 3)?);
        all.extend(findings);
    }
    let mut md = format!("# cr reproduction report — scale `{}`\n\n", input.scale);
    let _ = writeln!(
        md,
        "{} of {planned_total} runs finished ({}).\n",
        input.results.len(),
        input.source
    );
    let _ = writeln!(md, "## Findings\n\n{}\n", summary_line(&all));
    md.push_str(&findings_table(&all));
    let _ = writeln!(md, "\n{METHOD}\n");
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
