//! The report's markdown tables: the findings, and each sweep's points under the exclusion
//! rule with the means and intervals of the quantities its claims name.

use std::fmt::Write as _;

use crate::claims::{Direction, ExperimentInfo, Scale, SweepInfo};
use crate::csv::COLUMNS;
use crate::curves::{Point, under_rule};
use crate::findings::{Finding, axis_label};
use crate::quantity::Path as QPath;

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

/// The table of one sweep: a row per point under the exclusion rule at `below`, the base
/// [`COLUMNS`] and then every quantity the sweep's claims name (mean ± 95% t half-width).
pub(crate) fn table(
    exp: &ExperimentInfo,
    sweep: &SweepInfo,
    points: &[Point<'_>],
    below: Option<f64>,
) -> String {
    let mut cols: Vec<(String, String)> = COLUMNS
        .iter()
        .map(|(h, p)| (h.to_string(), p.to_string()))
        .collect();
    for c in exp.claims.iter().filter(|c| c.applies_to(sweep)) {
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
