//! `report.md`, the figures and `results.csv` from a results folder.
//!
//! Each experiment's figure is drawn from the finished runs of its sweeps (means over seeds,
//! with standard-deviation error bars when there are several), and a findings table states,
//! per experiment, the paper's claim and whether this run supports it, with the statistic it
//! was judged on. A claim the run does not support is reported as such.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::error::ExpError;
use crate::grid::{Experiment, Grid, RunSpec};
use crate::plot::{Content, Panel, Regions, Series, save};
use crate::runner::{RunResult, collect_many};
use crate::stats::{mean_std, pearson, spearman};
use crate::store::write;

/// A verdict on a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The measured statistic goes the way the paper says.
    Supported,
    /// It goes the other way, or not clearly.
    NotSupported,
    /// Not enough finished runs to judge.
    Inconclusive,
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Verdict::Supported => "supported",
            Verdict::NotSupported => "**not supported**",
            Verdict::Inconclusive => "inconclusive (too few runs)",
        })
    }
}

/// One line of the findings table.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Finding {
    /// Experiment id.
    pub experiment: String,
    /// The claim tested (paper wording, shortened).
    pub claim: String,
    /// What was measured, with the number.
    pub measured: String,
    /// The verdict.
    pub verdict: Verdict,
}

/// A point of a curve: the mean over seeds of the runs at one sweep value.
#[derive(Debug, Clone)]
struct Point {
    value: f64,
    label: String,
    runs: Vec<RunResult>,
}

impl Point {
    fn mean(&self, f: impl Fn(&RunResult) -> Option<f64>) -> (f64, Option<f64>) {
        let v: Vec<f64> = self.runs.iter().filter_map(&f).collect();
        mean_std(&v)
    }
}

/// A sweep value as a number: numbers as they are, `"none"` (no factorisation / no limit) as
/// +∞ so it sorts last.
fn numeric(v: &serde_json::Value) -> f64 {
    match v {
        serde_json::Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        serde_json::Value::String(s) if s == "none" => f64::INFINITY,
        serde_json::Value::String(s) => s.parse().unwrap_or(f64::NAN),
        _ => f64::NAN,
    }
}

fn curve(results: &[RunResult], sweep: &str) -> Vec<Point> {
    let mut by: BTreeMap<usize, Point> = BTreeMap::new();
    for r in results.iter().filter(|r| r.sweep == sweep) {
        by.entry(r.index)
            .or_insert_with(|| Point {
                value: numeric(&r.value),
                label: match &r.value {
                    serde_json::Value::String(s) => s.clone(),
                    v => v.to_string(),
                },
                runs: Vec::new(),
            })
            .runs
            .push(r.clone());
    }
    by.into_values().collect()
}

fn series(
    name: &str,
    color: usize,
    points: &[Point],
    x: impl Fn(&Point) -> f64,
    y: impl Fn(&RunResult) -> Option<f64>,
) -> Series {
    Series {
        name: name.into(),
        points: points
            .iter()
            .map(|p| {
                let (m, s) = p.mean(&y);
                (x(p), m, s)
            })
            .filter(|q| q.0.is_finite())
            .collect(),
        color,
        scatter: false,
    }
}

fn robust(r: &RunResult) -> Option<f64> {
    r.eval.robust_accuracy
}
fn clean(r: &RunResult) -> Option<f64> {
    Some(r.eval.clean_accuracy)
}
fn ratio(r: &RunResult) -> Option<f64> {
    r.eval.ra_over_sa
}
fn neuron(r: &RunResult) -> Option<f64> {
    Some(r.eval.compressibility.neuron)
}
fn spectral(r: &RunResult) -> Option<f64> {
    Some(r.eval.compressibility.spectral)
}
fn measure(r: &RunResult, name: &str, path: &[&str]) -> Option<f64> {
    let mut v = r.eval.measures.get(name)?;
    for p in path {
        v = v.get(p)?;
    }
    v.as_f64()
}

fn per_point(points: &[Point], f: impl Fn(&RunResult) -> Option<f64>) -> Vec<f64> {
    points.iter().map(|p| p.mean(&f).0).collect()
}

/// Judges a monotone trend: the sign of Spearman's ρ between `x` and `y` over the curve.
fn trend(
    experiment: &str,
    claim: &str,
    what: &str,
    x: &[f64],
    y: &[f64],
    want_positive: bool,
) -> Finding {
    let rho = spearman(x, y);
    let n = x
        .iter()
        .zip(y)
        .filter(|(a, b)| a.is_finite() && b.is_finite())
        .count();
    let verdict = if n < 3 || rho.is_nan() {
        Verdict::Inconclusive
    } else if (rho > 0.0) == want_positive && rho.abs() >= 0.5 {
        Verdict::Supported
    } else {
        Verdict::NotSupported
    };
    Finding {
        experiment: experiment.into(),
        claim: claim.into(),
        measured: format!("Spearman ρ({what}) = {rho:+.2} over {n} points"),
        verdict,
    }
}

/// Where the trend of `y` along the curve reverses (the report says so).
fn reversals(points: &[Point], f: impl Fn(&RunResult) -> Option<f64>) -> Vec<String> {
    let ys = per_point(points, f);
    let mut out = Vec::new();
    let mut last_sign = 0i8;
    for i in 1..ys.len() {
        let d = ys[i] - ys[i - 1];
        if !d.is_finite() || d.abs() < 0.01 {
            continue;
        }
        let s = if d > 0.0 { 1 } else { -1 };
        if last_sign != 0 && s != last_sign {
            out.push(format!(
                "reverses at {} (from {} to {})",
                points[i - 1].label,
                if last_sign > 0 { "rising" } else { "falling" },
                if s > 0 { "rising" } else { "falling" }
            ));
        }
        last_sign = s;
    }
    out
}

struct Section {
    figure: Vec<PathBuf>,
    findings: Vec<Finding>,
    table: String,
    notes: Vec<String>,
}

/// An extra table column: its header and how to read it from a run.
type Column<'a> = (&'a str, &'a dyn Fn(&RunResult) -> Option<f64>);

fn table(points: &[Point], key: &str, extra: &[Column<'_>]) -> String {
    let mut s = format!(
        "| {key} | runs | clean acc | robust acc | RA/SA | neuron comp. | spectral comp. |"
    );
    for (name, _) in extra {
        let _ = write!(s, " {name} |");
    }
    s.push('\n');
    s.push_str(&"|---".repeat(7 + extra.len()));
    s.push_str("|\n");
    let fmt = |p: &Point, f: &dyn Fn(&RunResult) -> Option<f64>| -> String {
        match p.mean(f) {
            (m, _) if m.is_nan() => "–".into(),
            (m, Some(sd)) => format!("{m:.4} ± {sd:.4}"),
            (m, None) => format!("{m:.4}"),
        }
    };
    for p in points {
        let _ = write!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} |",
            p.label,
            p.runs.len(),
            fmt(p, &clean),
            fmt(p, &robust),
            fmt(p, &ratio),
            fmt(p, &neuron),
            fmt(p, &spectral)
        );
        for (_, f) in extra {
            let _ = write!(s, " {} |", fmt(p, *f));
        }
        s.push('\n');
    }
    s
}

fn x_of(p: &Point) -> f64 {
    p.value
}

/// Draws one experiment's figure and judges its claims.
fn section(exp: &Experiment, results: &[RunResult], fig_dir: &Path) -> Result<Section, ExpError> {
    let id = exp.id.as_str();
    let stem = fig_dir.join(id);
    let title = format!("{} — {} ({})", exp.figure, exp.title, id);
    let mut findings = Vec::new();
    let mut notes = Vec::new();
    let mut tables = String::new();
    let sweeps: Vec<&str> = exp.sweep.iter().map(|s| s.name.as_str()).collect();
    let label = |name: &str| -> String {
        exp.sweep
            .iter()
            .find(|s| s.name == name)
            .map(|s| s.label.clone().unwrap_or_else(|| s.key.clone()))
            .unwrap_or_default()
    };
    let panels: Vec<Panel> = match id {
        "motivating" => {
            let pts = curve(results, sweeps[0]);
            let l = label(sweeps[0]);
            let mut spectra = Vec::new();
            let mut trunc = Vec::new();
            for (i, p) in pts.iter().enumerate() {
                if let Some(r) = p.runs.first()
                    && let Some(m) = r.eval.measures.get("rank-truncation")
                {
                    let sv: Vec<f64> = m["singular_values"]
                        .as_array()
                        .map(|a| a.iter().filter_map(|v| v.as_f64()).collect())
                        .unwrap_or_default();
                    let s1 = sv.first().copied().unwrap_or(1.0).max(1e-30);
                    spectra.push(Series {
                        name: format!("α={}", p.label),
                        points: sv
                            .iter()
                            .take(60)
                            .enumerate()
                            .map(|(k, s)| ((k + 1) as f64, s / s1, None))
                            .collect(),
                        color: i,
                        scatter: false,
                    });
                    trunc.push(Series {
                        name: format!("α={}", p.label),
                        points: m["points"]
                            .as_array()
                            .map(|a| {
                                a.iter()
                                    .filter_map(|q| {
                                        Some((q["rank"].as_f64()?, q["accuracy"].as_f64()?, None))
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                        color: i,
                        scatter: false,
                    });
                }
            }
            let mut robust_panel = Panel::lines(
                "Robust and clean accuracy",
                &l,
                "accuracy",
                vec![
                    series("robust", 3, &pts, x_of, robust),
                    series("clean", 0, &pts, x_of, clean),
                ],
            );
            robust_panel.log_x = true;
            let mut change = Panel::lines(
                "Representation change",
                &l,
                "‖z_adv − z‖₂ / ‖z‖₂",
                vec![series("mean over test samples", 4, &pts, x_of, |r| {
                    measure(r, "representation", &["change_mean"])
                })],
            );
            change.log_x = true;
            let mut align = Panel::lines(
                "Perturbation alignment with W¹'s top-k right singular vectors",
                &l,
                "mean |vᵢᵀa|, i ≤ k  /  i > k",
                vec![series("top-k / tail", 2, &pts, x_of, |r| {
                    measure(r, "representation", &["alignment", "ratio"])
                })],
            );
            align.log_x = true;
            let mut comp = Panel::lines(
                "SV compressibility of W¹",
                &l,
                "1 − ε₁(σ, ⌈κ r⌉)",
                vec![series("spectral compressibility", 1, &pts, x_of, spectral)],
            );
            comp.log_x = true;
            let mut spec_panel =
                Panel::lines("Singular values of W¹", "index i", "σᵢ / σ₁", spectra);
            spec_panel.log_x = true;
            let mut trunc_panel = Panel::lines(
                "Accuracy under rank truncation of W¹",
                "rank kept",
                "test accuracy",
                trunc,
            );
            trunc_panel.log_x = true;
            let x = per_point(&pts, |r| Some(numeric(&r.value)));
            findings.push(trend(
                id,
                "Nuclear-norm regularisation raises spectral compressibility",
                "α, spectral compressibility",
                &x,
                &per_point(&pts, spectral),
                true,
            ));
            findings.push(trend(
                id,
                "Robust accuracy falls as α (and compressibility) rises",
                "spectral compressibility, robust acc",
                &per_point(&pts, spectral),
                &per_point(&pts, robust),
                false,
            ));
            findings.push(trend(
                id,
                "Adversarial representations grow relative to clean ones",
                "α, ‖z_adv−z‖/‖z‖",
                &x,
                &per_point(&pts, |r| measure(r, "representation", &["change_mean"])),
                true,
            ));
            findings.push(trend(
                id,
                "Perturbations align more with the dominant singular directions",
                "α, top-k/tail alignment",
                &x,
                &per_point(&pts, |r| {
                    measure(r, "representation", &["alignment", "ratio"])
                }),
                true,
            ));
            findings.push(held_accuracy(id, &pts));
            notes.extend(
                reversals(&pts, robust)
                    .into_iter()
                    .map(|s| format!("robust accuracy {s}")),
            );
            tables.push_str(&table(
                &pts,
                &l,
                &[
                    ("‖Δz‖/‖z‖", &|r| {
                        measure(r, "representation", &["change_mean"])
                    }),
                    ("align top/tail", &|r| {
                        measure(r, "representation", &["alignment", "ratio"])
                    }),
                ],
            ));
            vec![comp, spec_panel, trunc_panel, robust_panel, change, align]
        }
        "boundaries" => {
            let pts = curve(results, sweeps[0]);
            let mut panels = Vec::new();
            for p in &pts {
                let Some(r) = p.runs.first() else { continue };
                let Some(b) = r.eval.measures.get("boundary") else {
                    continue;
                };
                let f = |v: &serde_json::Value| v.as_f64().unwrap_or(0.0);
                let arr = |v: &serde_json::Value| -> Vec<f64> {
                    v.as_array()
                        .map(|a| a.iter().map(f).collect())
                        .unwrap_or_default()
                };
                let name = if p.value.is_infinite() {
                    "baseline (full rank)".to_string()
                } else {
                    format!("low rank (r = {})", p.label)
                };
                let points: Vec<(f64, f64, i64)> = b["points"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .zip(b["labels"].as_array().into_iter().flatten())
                            .map(|(q, l)| (f(&q[0]), f(&q[1]), l.as_i64().unwrap_or(0)))
                            .collect()
                    })
                    .unwrap_or_default();
                panels.push(Panel {
                    title: format!("{name}: PCA of Φ(x), decision regions"),
                    x_label: "PC 1".into(),
                    y_label: "PC 2".into(),
                    log_x: false,
                    y_range: None,
                    content: Content::Regions(Regions {
                        xs: arr(&b["grid"]["x"]),
                        ys: arr(&b["grid"]["y"]),
                        class: b["grid"]["class"]
                            .as_array()
                            .map(|a| a.iter().map(|v| v.as_i64().unwrap_or(0)).collect())
                            .unwrap_or_default(),
                        points,
                        clean: (f(&b["clean"][0]), f(&b["clean"][1])),
                        adversarial: (f(&b["adversarial"][0]), f(&b["adversarial"][1])),
                    }),
                });
                let shape: Vec<usize> = b["image_shape"]
                    .as_array()
                    .map(|a| a.iter().map(|v| v.as_u64().unwrap_or(0) as usize).collect())
                    .unwrap_or_default();
                if let [_, h, w] = shape[..] {
                    let pert: Vec<f32> =
                        arr(&b["perturbation"]).iter().map(|v| *v as f32).collect();
                    panels.push(Panel {
                        title: format!("{name}: perturbation (sample {})", b["sample"]),
                        x_label: String::new(),
                        y_label: String::new(),
                        log_x: false,
                        y_range: None,
                        content: Content::Heatmap {
                            values: pert.into_iter().take(h * w).collect(),
                            height: h,
                            width: w,
                            signed: true,
                        },
                    });
                }
            }
            let changes = per_point(&pts, |r| measure(r, "representation", &["change_mean"]));
            if let [base, .., low] = changes[..] {
                let (base, low) = if pts.first().map(|p| p.value.is_infinite()).unwrap_or(false) {
                    (base, low)
                } else {
                    (low, base)
                };
                findings.push(Finding {
                    experiment: id.into(),
                    claim: "The same input-space budget moves the compressible (low-rank) model's representation much further".into(),
                    measured: format!("mean ‖z_adv−z‖/‖z‖: low rank {low:.3} vs baseline {base:.3}"),
                    verdict: if !(low.is_finite() && base.is_finite()) { Verdict::Inconclusive } else if low > base { Verdict::Supported } else { Verdict::NotSupported },
                });
            }
            tables.push_str(&table(
                &pts,
                &label(sweeps[0]),
                &[("‖Δz‖/‖z‖", &|r| {
                    measure(r, "representation", &["change_mean"])
                })],
            ));
            panels
        }
        "bound-vs-gap" => {
            let pts = curve(results, sweeps[0]);
            let bound = |r: &RunResult| measure(r, "bounds", &["l2", "theorem_3_2"]);
            let gap = |r: &RunResult| measure(r, "gap", &["gap"]);
            let b = per_point(&pts, bound);
            let g = per_point(&pts, gap);
            let (rp, rs) = (pearson(&b, &g), spearman(&b, &g));
            let lb: Vec<f64> = b.iter().map(|v| v.log10()).collect();
            let rpl = pearson(&lb, &g);
            findings.push(Finding {
                experiment: id.into(),
                claim: "The Theorem 3.2 bound tracks the empirical robustness gap across layer ranks (paper: ρ = 0.947)".into(),
                measured: format!("Pearson ρ = {rp:.3} (on log10 bound {rpl:.3}), Spearman ρ = {rs:.3} over {} ranks", pts.len()),
                verdict: if pts.len() < 3 || rp.is_nan() { Verdict::Inconclusive } else if rp > 0.5 || rs > 0.5 { Verdict::Supported } else { Verdict::NotSupported },
            });
            let scatter = Series {
                name: "layer ranks".into(),
                points: b.iter().zip(&g).map(|(x, y)| (*x, *y, None)).collect(),
                color: 0,
                scatter: true,
            };
            let mut p1 = Panel::lines(
                &format!("Bound vs gap (Pearson ρ = {rp:.3}, Spearman {rs:.3})"),
                "Theorem 3.2 ℓ2 bound on L_Φ",
                "robustness gap (adv − clean CE)",
                vec![scatter],
            );
            p1.log_x = true;
            let mut p2 = Panel::lines(
                "Across layer rank",
                &label(sweeps[0]),
                "value (normalised to max)",
                vec![
                    series("bound / max", 0, &pts, x_of, move |r| bound(r)),
                    series("gap / max", 3, &pts, x_of, move |r| gap(r)),
                ],
            );
            for s in match &mut p2.content {
                Content::Series(s) => s,
                _ => unreachable!(),
            } {
                let m = s.points.iter().map(|q| q.1.abs()).fold(1e-30, f64::max);
                for q in &mut s.points {
                    q.1 /= m;
                    q.2 = q.2.map(|e| e / m);
                }
            }
            p2.log_x = true;
            tables.push_str(&table(
                &pts,
                &label(sweeps[0]),
                &[("bound", &bound), ("gap", &gap)],
            ));
            vec![p1, p2]
        }
        "uae" => {
            let mut panels = Vec::new();
            let mut xs = BTreeMap::new();
            for s in &sweeps {
                let pts = curve(results, s);
                let l = label(s);
                let mut fool = Panel::lines(
                    &format!("UAE fooling rate vs {l}"),
                    &l,
                    "fooling rate",
                    vec![series("UAP (FGSM inner)", 3, &pts, x_of, |r| {
                        measure(r, "uap", &["fooling_rate"])
                    })],
                );
                fool.log_x = s.contains("alpha");
                let mut ra = Panel::lines(
                    &format!("Robust accuracy vs {l}"),
                    &l,
                    "accuracy",
                    vec![
                        series("robust", 3, &pts, x_of, robust),
                        series("clean", 0, &pts, x_of, clean),
                    ],
                );
                ra.log_x = s.contains("alpha");
                panels.push(fool);
                panels.push(ra);
                let x = per_point(&pts, |r| Some(numeric(&r.value)));
                xs.insert(
                    s.to_string(),
                    spearman(
                        &x,
                        &per_point(&pts, |r| measure(r, "uap", &["fooling_rate"])),
                    ),
                );
                tables.push_str(&format!("\n**{s}**\n\n"));
                tables.push_str(&table(
                    &pts,
                    &l,
                    &[("UAP fooling", &|r| measure(r, "uap", &["fooling_rate"]))],
                ));
                if s.contains("alpha") {
                    findings.push(trend(
                        id,
                        "Compressibility (α) raises the UAE fooling rate",
                        "α, fooling rate",
                        &x,
                        &per_point(&pts, |r| measure(r, "uap", &["fooling_rate"])),
                        true,
                    ));
                } else {
                    findings.push(trend(
                        id,
                        "A larger Frobenius scale c lowers robust accuracy",
                        "c, robust acc",
                        &x,
                        &per_point(&pts, robust),
                        false,
                    ));
                }
            }
            if let (Some(a), Some(c)) = (xs.get("alpha"), xs.get("c")) {
                findings.push(Finding {
                    experiment: id.into(),
                    claim: "Only compressibility, not the Frobenius scale, creates universal perturbations".into(),
                    measured: format!("Spearman ρ(α, fooling) = {a:+.2} vs ρ(c, fooling) = {c:+.2}"),
                    verdict: if a.is_nan() || c.is_nan() { Verdict::Inconclusive } else if *a > *c && *a > 0.0 { Verdict::Supported } else { Verdict::NotSupported },
                });
            }
            panels
        }
        "pruning" | "robust-pruning" => {
            let mut panels_sa = Vec::new();
            let mut panels_ra = Vec::new();
            let mut sa_series = Vec::new();
            let mut ra_series = Vec::new();
            let mut color = 0;
            let mut at_max: Vec<(String, f64, f64)> = Vec::new();
            for s in &sweeps {
                for p in curve(results, s) {
                    let Some(r) = p.runs.first() else { continue };
                    let Some(curves) = r
                        .eval
                        .measures
                        .get("pruning")
                        .and_then(|m| m["curves"].as_array())
                    else {
                        continue;
                    };
                    for c in curves {
                        let method = c["method"].as_str().unwrap_or("?");
                        let name = format!("{}={} {method}", label(s), p.label);
                        let pts: Vec<(f64, f64, f64)> = c["points"]
                            .as_array()
                            .map(|a| {
                                a.iter()
                                    .filter_map(|q| {
                                        Some((
                                            q["achieved"].as_f64()?,
                                            q["clean_accuracy"].as_f64()?,
                                            q["robust_accuracy"].as_f64().unwrap_or(f64::NAN),
                                        ))
                                    })
                                    .collect()
                            })
                            .unwrap_or_default();
                        // "High pruning ratios": every point at or above 0.8 removed (the
                        // last point if none reaches it); mean SA and RA over them.
                        let high: Vec<&(f64, f64, f64)> = {
                            let h: Vec<_> = pts.iter().filter(|q| q.0 >= 0.8).collect();
                            if h.is_empty() {
                                pts.last().into_iter().collect()
                            } else {
                                h
                            }
                        };
                        if !high.is_empty() {
                            let n = high.len() as f64;
                            at_max.push((
                                name.clone(),
                                high.iter().map(|q| q.1).sum::<f64>() / n,
                                high.iter().map(|q| q.2).sum::<f64>() / n,
                            ));
                        }
                        sa_series.push(Series {
                            name: name.clone(),
                            points: pts.iter().map(|q| (q.0, q.1, None)).collect(),
                            color,
                            scatter: false,
                        });
                        ra_series.push(Series {
                            name,
                            points: pts.iter().map(|q| (q.0, q.2, None)).collect(),
                            color,
                            scatter: false,
                        });
                        color += 1;
                    }
                }
            }
            panels_sa.push(Panel::lines(
                "Standard accuracy (SA) under pruning",
                "fraction of neurons removed",
                "SA",
                sa_series,
            ));
            panels_ra.push(Panel::lines(
                "Robust accuracy (RA) under pruning",
                "fraction of neurons removed",
                "RA",
                ra_series,
            ));
            if at_max.len() >= 2 {
                let best = at_max
                    .iter()
                    .max_by(|a, b| a.2.total_cmp(&b.2))
                    .cloned()
                    .unwrap_or_default();
                let (claim, ok) = if id == "pruning" {
                    (
                        "The compressible model retains SA/RA better than the baseline at high pruning ratios",
                        !best.0.contains("=0 ") && !best.0.contains("=0.0 "),
                    )
                } else {
                    (
                        "ε-targeted pruning with spread control retains robustness best",
                        best.0.contains("eps-target"),
                    )
                };
                findings.push(Finding {
                    experiment: id.into(),
                    claim: claim.into(),
                    measured: format!(
                        "mean RA at pruning ratios ≥ 0.8, best: {} ({:.4}); all: {}",
                        best.0,
                        best.2,
                        at_max
                            .iter()
                            .map(|(n, _, r)| format!("{n} {r:.3}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    verdict: if ok {
                        Verdict::Supported
                    } else {
                        Verdict::NotSupported
                    },
                });
            }
            for s in &sweeps {
                tables.push_str(&table(&curve(results, s), &label(s), &[]));
            }
            panels_sa.into_iter().chain(panels_ra).collect()
        }
        _ => {
            // Robust accuracy and RA/SA against compressibility, per sweep (Figures 5, 6, 7).
            let mut panels = Vec::new();
            for (i, s) in sweeps.iter().enumerate() {
                let pts = curve(results, s);
                let spectral_sweep =
                    s.contains("rank") || s.contains("spectral") || s.contains("nuclear");
                let (comp, comp_name): (fn(&RunResult) -> Option<f64>, &str) = if spectral_sweep {
                    (spectral, "spectral compressibility 1 − ε₁(σ, ⌈κr⌉)")
                } else {
                    (neuron, "neuron compressibility 1 − ε₁(ν, ⌈κh⌉)")
                };
                let cx = |p: &Point| p.mean(comp).0;
                let attack_names: Vec<String> = pts
                    .first()
                    .and_then(|p| p.runs.first())
                    .map(|r| r.eval.attacks.iter().map(|a| a.label.clone()).collect())
                    .unwrap_or_default();
                let mut ra_series: Vec<Series> = attack_names
                    .iter()
                    .enumerate()
                    .map(|(k, a)| {
                        let a = a.clone();
                        series(&a.clone(), 3 + k, &pts, cx, move |r| {
                            r.eval
                                .attacks
                                .iter()
                                .find(|x| x.label == a)
                                .map(|x| x.robust_accuracy)
                        })
                    })
                    .collect();
                ra_series.push(series("clean", 0, &pts, cx, clean));
                panels.push(Panel::lines(
                    &format!("{}: robust accuracy", label(s)),
                    comp_name,
                    "accuracy",
                    ra_series,
                ));
                panels.push(Panel::lines(
                    &format!("{}: RA / SA", label(s)),
                    comp_name,
                    "robust / standard accuracy",
                    vec![series("worst case / clean", 2 + i, &pts, cx, ratio)],
                ));
                let c = per_point(&pts, comp);
                findings.push(trend(
                    id,
                    &format!("{}: robust accuracy falls as compressibility rises", s),
                    "compressibility, worst-case RA",
                    &c,
                    &per_point(&pts, robust),
                    false,
                ));
                findings.push(trend(
                    id,
                    &format!("{}: RA/SA falls too (not a clean-accuracy effect)", s),
                    "compressibility, RA/SA",
                    &c,
                    &per_point(&pts, ratio),
                    false,
                ));
                let x = per_point(&pts, |r| Some(numeric(&r.value)));
                if !spectral_sweep {
                    findings.push(trend(
                        id,
                        &format!("{}: the intervention raises compressibility", s),
                        "swept value, compressibility",
                        &x,
                        &c,
                        true,
                    ));
                } else {
                    findings.push(trend(
                        id,
                        &format!("{}: lower rank gives higher spectral compressibility", s),
                        "rank, compressibility",
                        &x,
                        &c,
                        false,
                    ));
                }
                findings.push(held_accuracy(id, &pts));
                notes.extend(
                    reversals(&pts, robust)
                        .into_iter()
                        .map(|r| format!("{s}: robust accuracy {r}")),
                );
                tables.push_str(&format!("\n**{s}** ({})\n\n", label(s)));
                tables.push_str(&table(&pts, &label(s), &[]));
            }
            panels
        }
    };
    let figure = if results.is_empty() {
        save(
            &stem,
            &title,
            &[Panel {
                title: id.into(),
                x_label: String::new(),
                y_label: String::new(),
                log_x: false,
                y_range: None,
                content: Content::Note("no finished runs".into()),
            }],
            1,
        )?
    } else {
        let cols = if panels.len() >= 5 {
            3
        } else {
            2.min(panels.len()).max(1)
        };
        save(&stem, &title, &panels, cols)?
    };
    Ok(Section {
        figure,
        findings,
        table: tables,
        notes,
    })
}

/// Standard accuracy is held: the last point's clean accuracy within 5 points of the first's.
fn held_accuracy(id: &str, pts: &[Point]) -> Finding {
    let c = per_point(pts, clean);
    match (
        c.first(),
        c.iter().copied().filter(|v| v.is_finite()).reduce(f64::min),
    ) {
        (Some(first), Some(min)) if pts.len() >= 2 => Finding {
            experiment: id.into(),
            claim: "Standard accuracy is held while compressibility rises".into(),
            measured: format!("clean accuracy {first:.4} at the first point, lowest {min:.4}"),
            verdict: if first - min <= 0.05 {
                Verdict::Supported
            } else {
                Verdict::NotSupported
            },
        },
        _ => Finding {
            experiment: id.into(),
            claim: "Standard accuracy is held while compressibility rises".into(),
            measured: "too few points".into(),
            verdict: Verdict::Inconclusive,
        },
    }
}

/// What [`write_report`] wrote.
#[derive(Debug, Clone, serde::Serialize)]
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
}

fn csv_escape(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn csv(results: &[RunResult]) -> String {
    let mut out = String::from(
        "experiment,sweep,key,value,index,seed,clean_accuracy,clean_loss,robust_accuracy,ra_over_sa,neuron_compressibility,spectral_compressibility,attacks,uap_fooling_rate,gap,bound_l2,bound_linf,lipschitz_l2,parameters,flops,epochs,train_seconds,eval_seconds\n",
    );
    let num = |v: Option<f64>| {
        v.filter(|x| x.is_finite())
            .map(|x| format!("{x}"))
            .unwrap_or_default()
    };
    for r in results {
        let attacks: Vec<String> = r
            .eval
            .attacks
            .iter()
            .map(|a| format!("{}={}", a.label, a.robust_accuracy))
            .collect();
        let train_seconds: f64 = r.train.epochs.iter().map(|e| e.seconds).sum();
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}",
            csv_escape(&r.experiment),
            csv_escape(&r.sweep),
            csv_escape(&r.key),
            csv_escape(&match &r.value {
                serde_json::Value::String(s) => s.clone(),
                v => v.to_string(),
            }),
            r.index,
            r.seed,
            r.eval.clean_accuracy,
            r.eval.clean_loss,
            num(r.eval.robust_accuracy),
            num(r.eval.ra_over_sa),
            r.eval.compressibility.neuron,
            r.eval.compressibility.spectral,
            csv_escape(&attacks.join(";")),
            num(measure(r, "uap", &["fooling_rate"])),
            num(measure(r, "gap", &["gap"])),
            num(measure(r, "bounds", &["l2", "theorem_3_2"])),
            num(measure(r, "bounds", &["linf", "theorem_3_2"])),
            num(measure(r, "lipschitz", &["l2", "max"])),
            r.eval.parameters,
            r.eval.flops,
            r.train.epochs.len(),
            train_seconds,
            r.eval.seconds
        );
    }
    out
}

fn settings(exp: &Experiment, runs: &[RunSpec]) -> String {
    let Some(first) = runs.iter().find(|r| r.experiment == exp.id) else {
        return String::new();
    };
    let c = &first.config;
    let attacks: Vec<String> = c.eval.attacks.iter().map(|a| a.label()).collect();
    let mut s = format!(
        "data `{}` (train subset {:?}, test {:?}), model `{}` {}, {} epochs max (batch {}, {:?}), attacks: {}",
        c.data.name,
        c.data.train_subset,
        c.eval.test_samples.or(c.data.test_subset),
        c.model.arch_name(),
        serde_json::to_string(&c.model.arch).unwrap_or_default(),
        c.train.epochs,
        c.train.batch_size,
        c.train.optimizer,
        if attacks.is_empty() {
            "none".into()
        } else {
            attacks.join(", ")
        }
    );
    if let Some(a) = &c.adversarial {
        let _ = write!(
            s,
            "; PGD adversarial training {} ε = {} ({} steps, fraction {})",
            a.norm, a.eps, a.steps, a.fraction
        );
    }
    if let Some(t) = &c.transfer {
        let _ = write!(s, "; transfer: linear head on `{}`", t.data.name);
    }
    s
}

/// Whether a device string (burn's `Debug` of the device) names the CPU backend.
fn is_cpu_device(device: &str) -> bool {
    device.contains("NdArray") || device.contains("Flex") || device.contains("Cpu")
}

/// The report's determinism section: the devices the results came from, and which numbers
/// are bit-reproducible on them.
fn determinism<'a>(run_devices: impl IntoIterator<Item = &'a str>) -> String {
    let mut devices: BTreeMap<&str, usize> = BTreeMap::new();
    for d in run_devices {
        let d = if d.is_empty() { "not recorded" } else { d };
        *devices.entry(d).or_default() += 1;
    }
    let list: Vec<String> = devices
        .iter()
        .map(|(d, n)| format!("`{d}` ({n} runs)"))
        .collect();
    let gpu = devices
        .keys()
        .any(|d| *d != "not recorded" && !is_cpu_device(d));
    let mut s = String::from("## Determinism\n\n");
    let _ = writeln!(s, "Devices: {}.\n", list.join(", "));
    s.push_str(
        "On the CPU every number in this report is bit-identical for the same configs and seeds: \
         weights are initialised from a host ChaCha8 stream, data subsets, splits, shuffling and \
         augmentation and the attacks' random starts come from seeded host generators, the \
         CPU kernels sum in a fixed order, and the linear algebra (SVD, operator norms, \
         compressibility, bounds) runs on the host in faer. `tests/catalogue.rs` checks same \
         seed → same bytes; `tests/e2e.rs` checks that a run killed at random moments resumes to \
         identical results.\n\n",
    );
    s.push_str(if gpu {
        "**Some of these runs are GPU runs, whose numbers are not bit-reproducible**: "
    } else {
        "On a GPU (`--device cuda` or `vulkan`) these are not bit-reproducible: "
    });
    s.push_str(
        "the training losses and accuracies, the trained weights and therefore every number \
         computed from them (clean and robust accuracy, compressibility, bounds, gaps, pruning \
         curves), and an attack's result even on fixed weights (a sample near the decision \
         boundary can flip), because GPU kernels do not fix their floating-point summation \
         order (parallel reductions, kernels chosen by autotuning). The same on \
         every device: the initial weights, the data and its order, the attacks' random \
         starts, and for given weights everything computed on the host (SVD, norms, \
         compressibility, bounds). Differences between two GPU runs are at rounding level per \
         step but compound over training; compare GPU runs through their means over seeds.\n\n",
    );
    s
}

/// Writes `report.md`, `results.csv` and `figures/` into `out` for the runs of `grid`
/// (`seeds` as given to the runner), reading results from `out` and any `extra` folders
/// (other shards).
pub fn write_report(
    grid: &Grid,
    out: &Path,
    extra: &[PathBuf],
    seeds: Option<usize>,
) -> Result<ReportSummary, ExpError> {
    let runs = grid.runs(seeds)?;
    let mut dirs = vec![out.to_path_buf()];
    dirs.extend(extra.iter().cloned());
    let results = collect_many(&dirs, &runs);
    let fig_dir = out.join("figures");
    let mut md = String::new();
    let _ = writeln!(md, "# cr reproduction report — scale `{}`\n", grid.scale);
    let _ = writeln!(
        md,
        "{} of {} runs finished. Generated by `cargo xtask report` from `{}`. Numbers are means over seeds (± standard deviation when there are several); compressibility is reported as `1 − ε₁(·, ⌈κ·d⌉)` of the row-ℓ1-norm vector ν (neuron) or the singular values σ (spectral) of each hidden layer, averaged over layers.\n",
        results.len(),
        runs.len(),
        out.display()
    );
    let mut all_findings = Vec::new();
    let mut figures = Vec::new();
    let mut body = String::new();
    let mut not_run = Vec::new();
    for exp in &grid.experiments {
        let res: Vec<RunResult> = results
            .iter()
            .filter(|r| r.experiment == exp.id)
            .cloned()
            .collect();
        if res.is_empty() {
            // Not run into this folder (e.g. `reproduce --only` of other experiments).
            not_run.push(exp.id.clone());
            continue;
        }
        let sec = section(exp, &res, &fig_dir)?;
        let planned = runs.iter().filter(|r| r.experiment == exp.id).count();
        let _ = writeln!(body, "## {} — {} (`{}`)\n", exp.figure, exp.title, exp.id);
        let _ = writeln!(body, "![{}](figures/{}.png)\n", exp.id, exp.id);
        let _ = writeln!(body, "**Paper's claim.** {}\n", exp.claim);
        let _ = writeln!(
            body,
            "**Settings.** {}. {} of {} runs finished.\n",
            settings(exp, &runs),
            res.len(),
            planned
        );
        if let Some(n) = &exp.notes {
            let _ = writeln!(body, "**Notes.** {}\n", n.trim());
        }
        let _ = writeln!(body, "{}\n", sec.table);
        if !sec.findings.is_empty() {
            let _ = writeln!(body, "| claim | measured | verdict |\n|---|---|---|");
            for f in &sec.findings {
                let _ = writeln!(body, "| {} | {} | {} |", f.claim, f.measured, f.verdict);
            }
            body.push('\n');
        }
        for n in &sec.notes {
            let _ = writeln!(body, "- Trend: {n}");
        }
        body.push('\n');
        all_findings.extend(sec.findings);
        figures.extend(sec.figure);
    }
    let _ = writeln!(
        md,
        "## Findings\n\n| experiment | claim | measured | verdict |\n|---|---|---|---|"
    );
    for f in &all_findings {
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} |",
            f.experiment, f.claim, f.measured, f.verdict
        );
    }
    let supported = all_findings
        .iter()
        .filter(|f| f.verdict == Verdict::Supported)
        .count();
    let _ = writeln!(
        md,
        "\n{supported} of {} claims supported by this run.\n",
        all_findings.len()
    );
    md.push_str(&determinism(results.iter().map(|r| r.device.as_str())));
    if !not_run.is_empty() {
        let _ = writeln!(
            md,
            "Experiments of the grid with no finished run in this folder: {}.\n",
            not_run.join(", ")
        );
    }
    md.push_str(&body);
    let report = out.join("report.md");
    write(&report, md.as_bytes())?;
    let csv_path = out.join("results.csv");
    write(&csv_path, csv(&results).as_bytes())?;
    crate::store::write_json(&out.join("findings.json"), &all_findings)?;
    Ok(ReportSummary {
        report,
        csv: csv_path,
        figures,
        findings: all_findings,
        runs: (runs.len(), results.len()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn determinism_names_the_devices_and_flags_gpu_runs() {
        let cpu = determinism(["Device<NdArray(Cpu)>", "Device<NdArray(Cpu)>", ""]);
        assert!(cpu.contains("`Device<NdArray(Cpu)>` (2 runs)"), "{cpu}");
        assert!(cpu.contains("`not recorded` (1 runs)"), "{cpu}");
        assert!(cpu.contains("On a GPU"), "{cpu}");
        assert!(!cpu.contains("Some of these runs are GPU runs"), "{cpu}");
        let gpu = determinism(["Device<NdArray(Cpu)>", "Device<Cuda(0)>"]);
        assert!(gpu.contains("Some of these runs are GPU runs"), "{gpu}");
        assert!(gpu.contains("robust accuracy"), "{gpu}");
    }
}
