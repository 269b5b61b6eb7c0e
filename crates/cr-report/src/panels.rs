//! Panels drawn from measures that are not curves over a sweep: the singular-value spectrum
//! and rank truncation of W¹ (Figure 4), decision regions (Figure 2) and pruning curves
//! (Figure 8). Each reads the first seed of every point (a picture, not a statistic).

use serde_json::Value;

use crate::claims::PanelKind;
use crate::curves::Point;
use crate::plot::{Content, Panel, Regions, Series};

fn nums(v: &Value) -> Vec<f64> {
    v.as_array()
        .map(|a| a.iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect())
        .unwrap_or_default()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

/// The panels of `kind` for the points of one sweep labelled `axis`.
pub fn panels(kind: PanelKind, points: &[Point<'_>], axis: &str) -> Vec<Panel> {
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
