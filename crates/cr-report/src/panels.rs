//! The panels of a figure: curves over a sweep (accuracy, each claim's quantity, the
//! certificate sandwich; means with 95% t-intervals, excluded points hollow) and panels drawn
//! from measures that are not curves: the singular-value spectrum and rank truncation of W¹
//! (Figure 4), decision regions (Figure 2) and pruning curves (Figure 8), which read the first
//! seed of every point (a picture, not a statistic).

use serde_json::Value;

use crate::claims::{Claim, ExperimentInfo, PanelKind, SweepInfo};
use crate::curves::{Point, is_proportion, under_rule};
use crate::findings::{against_label, axis_label, quantity_label};
use crate::plot::{Content, Panel, Regions, Series};
use crate::quantity::Path as QPath;

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
    if is_proportion(path) || last.starts_with("eps") {
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

/// Every panel of one sweep: accuracy, each claim's quantity against its x, the certificate
/// sandwich where recorded, and the experiment's measure panels.
pub(crate) fn sweep_panels(
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
    for c in exp.claims.iter().filter(|c| c.applies_to(sweep)) {
        let key = (c.quantity.clone(), c.against.clone());
        if drawn.contains(&key) {
            continue;
        }
        drawn.push(key);
        let Some(mut panel) = claim_panel(c, sweep, points, &axis, log_x) else {
            continue;
        };
        panel.title = format!("{} ({})", panel.title, sweep.name);
        out.push(panel);
    }
    out.extend(sandwich(points, &axis, log_x).into_iter().flatten());
    for kind in &exp.panels {
        out.extend(measure_panels(*kind, all_points, &axis));
    }
    out
}

/// The panel of one claim: its quantity against the strength (with its baseline), or against
/// the measured quantity it names, in strength order; `None` when a path does not parse.
fn claim_panel(
    c: &Claim,
    sweep: &SweepInfo,
    points: &[(Point<'_>, usize, bool)],
    axis: &str,
    log_x: bool,
) -> Option<Panel> {
    let q = quantity_label(c);
    if c.against == "strength" {
        let mut series = vec![line(
            &c.label.clone().unwrap_or_else(|| c.quantity.clone()),
            1,
            by_strength(points, &c.quantity),
        )];
        if let Some(b) = &c.baseline {
            series.push(line(b, 2, by_strength(points, b)));
        }
        let mut p = Panel::lines(&format!("{q} vs {axis}"), axis, &q, series);
        p.log_x = log_x;
        p.clip = if c.baseline.is_none() {
            natural_range(&c.quantity)
        } else {
            None
        };
        Some(p)
    } else {
        let (Ok(xp), Ok(yp)) = (QPath::parse(&c.against), QPath::parse(&c.quantity)) else {
            return None;
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
        Some(p)
    }
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

fn nums(v: &Value) -> Vec<f64> {
    v.as_array()
        .map(|a| a.iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect())
        .unwrap_or_default()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

/// The panels of `kind` for the points of one sweep labelled `axis`.
pub fn measure_panels(kind: PanelKind, points: &[Point<'_>], axis: &str) -> Vec<Panel> {
    match kind {
        PanelKind::Spectrum => vec![spectrum(points, axis)],
        PanelKind::RankTruncation => vec![truncation(points, axis)],
        PanelKind::Boundary => points.iter().flat_map(boundary).collect(),
        PanelKind::Pruning => pruning(points, axis),
    }
}

fn first_measure<'a>(p: &Point<'a>, name: &str) -> Option<&'a Value> {
    p.runs.first()?.pointer(&format!("/eval/measures/{name}"))
}

fn spectrum(points: &[Point<'_>], axis: &str) -> Panel {
    let series = points
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let sv = nums(&first_measure(p, "rank-truncation")?["singular_values"]);
            let s1 = sv.first().copied().unwrap_or(1.0).max(1e-30);
            Some(Series {
                name: format!("{axis} = {}", p.label),
                points: sv
                    .iter()
                    .take(60)
                    .enumerate()
                    .map(|(k, s)| ((k + 1) as f64, s / s1, None))
                    .collect(),
                color: i,
                scatter: false,
                hollow: Vec::new(),
            })
        })
        .collect();
    let mut panel = Panel::lines(
        "Singular values of W¹ (seed 0)",
        "index i",
        "σᵢ / σ₁",
        series,
    );
    panel.log_x = true;
    panel
}

fn truncation(points: &[Point<'_>], axis: &str) -> Panel {
    let series = points
        .iter()
        .enumerate()
        .filter_map(|(i, p)| {
            let m = first_measure(p, "rank-truncation")?;
            Some(Series {
                name: format!("{axis} = {}", p.label),
                points: m["points"]
                    .as_array()?
                    .iter()
                    .map(|q| (f(&q["rank"]), f(&q["accuracy"]), None))
                    .collect(),
                color: i,
                scatter: false,
                hollow: Vec::new(),
            })
        })
        .collect();
    let mut panel = Panel::lines(
        "Accuracy under rank truncation of W¹ (seed 0)",
        "rank kept",
        "test accuracy",
        series,
    );
    panel.log_x = true;
    panel
}

fn boundary(p: &Point<'_>) -> Vec<Panel> {
    let Some(b) = first_measure(p, "boundary") else {
        return Vec::new();
    };
    let name = format!("value {}", p.label);
    let points: Vec<(f64, f64, i64)> = b["points"]
        .as_array()
        .map(|a| {
            a.iter()
                .zip(b["labels"].as_array().into_iter().flatten())
                .map(|(q, l)| (f(&q[0]), f(&q[1]), l.as_i64().unwrap_or(0)))
                .collect()
        })
        .unwrap_or_default();
    let mut out = vec![Panel {
        title: format!("{name}: PCA of Φ(x), decision regions"),
        x_label: "PC 1".into(),
        y_label: "PC 2".into(),
        log_x: false,
        y_range: None,
        clip: None,
        content: Content::Regions(Regions {
            xs: nums(&b["grid"]["x"]),
            ys: nums(&b["grid"]["y"]),
            class: b["grid"]["class"]
                .as_array()
                .map(|a| a.iter().map(|v| v.as_i64().unwrap_or(0)).collect())
                .unwrap_or_default(),
            points,
            clean: (f(&b["clean"][0]), f(&b["clean"][1])),
            adversarial: (f(&b["adversarial"][0]), f(&b["adversarial"][1])),
        }),
    }];
    let shape: Vec<usize> = b["image_shape"]
        .as_array()
        .map(|a| a.iter().map(|v| v.as_u64().unwrap_or(0) as usize).collect())
        .unwrap_or_default();
    if let [_, h, w] = shape[..] {
        let pert: Vec<f32> = nums(&b["perturbation"]).iter().map(|v| *v as f32).collect();
        out.push(Panel {
            title: format!("{name}: perturbation (sample {})", b["sample"]),
            x_label: String::new(),
            y_label: String::new(),
            log_x: false,
            y_range: None,
            clip: None,
            content: Content::Heatmap {
                values: pert.into_iter().take(h * w).collect(),
                height: h,
                width: w,
                signed: true,
            },
        });
    }
    out
}

fn pruning(points: &[Point<'_>], axis: &str) -> Vec<Panel> {
    let (mut sa, mut ra) = (Vec::new(), Vec::new());
    let mut color = 0;
    for p in points {
        let Some(curves) = first_measure(p, "pruning").and_then(|m| m["curves"].as_array()) else {
            continue;
        };
        for c in curves {
            let name = format!("{axis}={} {}", p.label, c["method"].as_str().unwrap_or("?"));
            let pts: Vec<(f64, f64, f64)> = c["points"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|q| {
                            (
                                f(&q["achieved"]),
                                f(&q["clean_accuracy"]),
                                f(&q["robust_accuracy"]),
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            sa.push(Series {
                name: name.clone(),
                points: pts.iter().map(|q| (q.0, q.1, None)).collect(),
                color,
                scatter: false,
                hollow: Vec::new(),
            });
            ra.push(Series {
                name,
                points: pts.iter().map(|q| (q.0, q.2, None)).collect(),
                color,
                scatter: false,
                hollow: Vec::new(),
            });
            color += 1;
        }
    }
    vec![
        Panel::lines(
            "Standard accuracy (SA) under pruning (seed 0)",
            "fraction of neurons removed",
            "SA",
            sa,
        ),
        Panel::lines(
            "Robust accuracy (RA) under pruning (seed 0)",
            "fraction of neurons removed",
            "RA",
            ra,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_axes_for_values_spanning_decades() {
        assert!(wants_log([0.0, 1e-4, 1e-2, 1.0].into_iter()));
        assert!(!wants_log([1.0, 2.0, 4.0].into_iter()));
        assert!(!wants_log([0.0, 1.0].into_iter()));
    }
}
