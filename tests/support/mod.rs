//! Helpers shared by the end-to-end test binaries: the real `xtask` binary, run from the
//! repository root, and the `result.json` files of a results folder.

#![allow(clippy::unwrap_used, dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The `xtask` binary under test, run from the repository root with warnings-only logging.
pub fn xtask() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_xtask"));
    c.current_dir(repo()).env("CR_LOG", "warn");
    c
}

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `result.json` under `dir`, keyed by its relative path, with wall-clock fields removed.
pub fn results(dir: &Path) -> Vec<(String, serde_json::Value)> {
    fn strip(v: &mut serde_json::Value) {
        match v {
            serde_json::Value::Object(m) => {
                m.retain(|k, _| k != "seconds");
                m.values_mut().for_each(strip);
            }
            serde_json::Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    let mut out = Vec::new();
    for exp in std::fs::read_dir(dir).unwrap().flatten() {
        if !exp.path().is_dir() || exp.file_name() == "figures" {
            continue;
        }
        for run in std::fs::read_dir(exp.path()).unwrap().flatten() {
            let f = run.path().join("result.json");
            if let Ok(text) = std::fs::read_to_string(&f) {
                let mut v: serde_json::Value = serde_json::from_str(&text)
                    .unwrap_or_else(|e| panic!("{} is not valid JSON: {e}", f.display()));
                strip(&mut v);
                out.push((f.strip_prefix(dir).unwrap().display().to_string(), v));
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}
