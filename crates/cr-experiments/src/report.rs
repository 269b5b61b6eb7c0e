//! The bridge from a results folder to `cr-report`: the finished runs of a grid (those whose
//! config hash still matches), each experiment's settings in words, and the report written by
//! [`cr_report::report::write_report`].

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub use cr_report::judge::{Settings, Verdict};
pub use cr_report::report::{Finding, ReportSummary};

use crate::error::ExpError;
use crate::grid::{Experiment, Grid, RunSpec};
use crate::runner::collect_many;

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

/// The report's input: the finished runs of `grid` (with `seeds` per point) found in
/// `dirs`, and every experiment's claims and settings.
pub fn report_input(
    grid: &Grid,
    dirs: &[PathBuf],
    seeds: Option<usize>,
) -> Result<cr_report::report::Input, ExpError> {
    let runs = grid.runs(seeds)?;
    let results = collect_many(dirs, &runs)
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ExpError::Serialise {
            what: "results".into(),
            problem: e.to_string(),
        })?;
    let mut planned: BTreeMap<String, usize> = BTreeMap::new();
    for r in &runs {
        *planned.entry(r.experiment.clone()).or_default() += 1;
    }
    Ok(cr_report::report::Input {
        scale: grid.scale.clone(),
        experiments: grid
            .experiments
            .iter()
            .map(|e| e.info(Some(settings(e, &runs))))
            .collect(),
        planned,
        results,
        source: format!(
            "results in {}",
            dirs.iter()
                .map(|d| format!("`{}`", d.display()))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    })
}

/// Writes `report.md`, `findings.json`, `results.csv` and `figures/` into `out` for the runs
/// of `grid` (`seeds` as given to the runner), reading results from `out` and any `extra`
/// folders (other shards).
pub fn write_report(
    grid: &Grid,
    out: &Path,
    extra: &[PathBuf],
    seeds: Option<usize>,
) -> Result<ReportSummary, ExpError> {
    let mut dirs = vec![out.to_path_buf()];
    dirs.extend(extra.iter().cloned());
    let input = report_input(grid, &dirs, seeds)?;
    Ok(cr_report::report::write_report(
        &input,
        out,
        &Settings::default(),
    )?)
}
