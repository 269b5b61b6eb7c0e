//! `results.csv`: one row per run, for plotting elsewhere.

use std::fmt::Write as _;

use serde_json::Value;

use crate::claims::ExperimentInfo;

/// Base columns of every table: (header, path).
pub(crate) const COLUMNS: [(&str, &str); 5] = [
    ("clean acc", "eval.clean_accuracy"),
    ("robust acc", "eval.robust_accuracy"),
    ("RA/SA", "eval.ra_over_sa"),
    ("stable rank", "eval.compressibility.stable_rank"),
    ("eff. rank", "eval.compressibility.effective_rank"),
];

fn csv_escape(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// `results.csv`: one row per run; fixed columns, then every claim's quantities.
pub fn csv(experiments: &[ExperimentInfo], results: &[Value]) -> String {
    let mut extra: Vec<String> = Vec::new();
    for c in experiments.iter().flat_map(|e| &e.claims) {
        for p in [Some(&c.quantity), Some(&c.against), c.baseline.as_ref()]
            .into_iter()
            .flatten()
        {
            if p != "strength" && !extra.contains(p) && !COLUMNS.iter().any(|(_, q)| q == p) {
                extra.push(p.clone());
            }
        }
    }
    let mut cols: Vec<&str> = vec![
        "eval.test_samples",
        "eval.compressibility.neuron",
        "eval.compressibility.spectral",
        "seconds",
    ];
    cols.extend(COLUMNS.iter().map(|c| c.1));
    cols.extend(extra.iter().map(String::as_str));
    let mut out = String::from("experiment,sweep,value,index,seed,device");
    for c in &cols {
        out.push(',');
        out.push_str(&csv_escape(c));
    }
    out.push('\n');
    let text = |r: &Value, k: &str| match r.get(k) {
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => String::new(),
    };
    for r in results {
        let _ = write!(
            out,
            "{},{},{},{},{},{}",
            csv_escape(&text(r, "experiment")),
            csv_escape(&text(r, "sweep")),
            csv_escape(&text(r, "value")),
            text(r, "index"),
            text(r, "seed"),
            csv_escape(&text(r, "device")),
        );
        for c in &cols {
            out.push(',');
            if let Some(v) = crate::quantity::number(r, c) {
                let _ = write!(out, "{v}");
            }
        }
        out.push('\n');
    }
    out
}
