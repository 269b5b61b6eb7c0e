//! `report.md`, `findings.json`, `results.csv` and the figures, from the experiments' claims
//! and the runs' `result.json` values.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::Value;

use crate::claims::ExperimentInfo;
use crate::csv::csv;
use crate::curves::{EXCLUSION_RULE, curve, did_not_train_below};
use crate::determinism::determinism;
use crate::error::{ReportError, io};
pub use crate::files::write_atomic;
use crate::findings::axis_label;
pub use crate::findings::{Finding, adjust_holm, counts, judge_experiment, summary_line};
use crate::judge::Settings;
use crate::panels::sweep_panels;
use crate::plot::save;
pub use crate::tables::findings_table;
use crate::tables::table;

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

/// The finished runs of each experiment (in report order), the experiments without any, and
/// the number of runs planned in all.
fn group_runs(input: &Input) -> (Vec<ExpRuns<'_>>, Vec<String>, usize) {
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
    (runs, not_run, planned_total)
}

/// `report.md`: the header, how claims are judged, the findings, determinism, the
/// experiments not run, then each experiment's `body`.
fn report_md(
    input: &Input,
    all: &[Finding],
    planned_total: usize,
    not_run: &[String],
    body: &str,
) -> String {
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
    let _ = writeln!(md, "## Findings\n\n{}\n", summary_line(all));
    md.push_str(&findings_table(all));
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
    md.push_str(body);
    md
}

/// Writes `report.md`, `findings.json`, `results.csv` and `figures/` into `out`.
pub fn write_report(
    input: &Input,
    out: &Path,
    settings: &Settings,
) -> Result<ReportSummary, ReportError> {
    let fig_dir = out.join("figures");
    let (runs, not_run, planned_total) = group_runs(input);
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
    let md = report_md(input, &all, planned_total, &not_run, &body);
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
}
