//! The results folder: one folder per run, written so that a kill at any instant loses no
//! finished work and never leaves a half-written file that reads as finished.
//!
//! ```text
//! results/
//!   manifest.json                    index of every run seen (status, hash), rebuilt atomically
//!   <experiment>/<run id>/
//!     config.toml                    the resolved run config
//!     train.ckpt                     training checkpoint (removed once training is done)
//!     model.safetensors              the trained model (PyTorch keys; spec under cr.model)
//!     metrics.json             per-epoch metrics
//!     result.json                    the evaluation; written last: its presence with the
//!                                    run's config hash is what "finished" means
//!     error.txt                      the error of a failed attempt (removed on success)
//! ```
//!
//! Every file is written to a temporary name and renamed into place (see
//! [`cr_models::file::write_atomic`]). A folder whose `result.json` carries another config hash
//! (the grid changed) is renamed to `<run id>.stale-<old hash>` before the run is redone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::ExpError;
use crate::grid::RunSpec;

/// Status of one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Not started.
    Pending,
    /// Started, not finished (killed, or running now).
    Interrupted,
    /// Finished.
    Done,
    /// The last attempt failed (see `error.txt`).
    Failed,
}

/// One line of the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// Experiment.
    pub experiment: String,
    /// Run id.
    pub run: String,
    /// Config hash.
    pub hash: String,
    /// Status.
    pub status: Status,
}

/// Writes `bytes` atomically, mapping errors to [`ExpError::Io`].
pub fn write(path: &Path, bytes: &[u8]) -> Result<(), ExpError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|source| ExpError::Io {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    cr_models::file::write_atomic(path, bytes).map_err(|source| ExpError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes `value` as pretty JSON, atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<(), ExpError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| ExpError::Serialise {
        what: format!("{}: serialising", path.display()),
        problem: e.to_string(),
    })?;
    write(path, text.as_bytes())
}

/// Reads JSON, or `None` when the file is missing or unreadable (a torn file cannot exist:
/// every write is atomic).
pub fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Option<T> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// The folder of a run.
pub fn run_dir(out: &Path, run: &RunSpec) -> PathBuf {
    out.join(&run.experiment).join(&run.id)
}

/// The header every `result.json` starts with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultHeader {
    /// Config hash of the run that wrote it.
    pub hash: String,
}

/// Status of `run` in `out`.
pub fn status(out: &Path, run: &RunSpec) -> Status {
    let dir = run_dir(out, run);
    match read_json::<ResultHeader>(&dir.join("result.json")) {
        Some(h) if h.hash == run.hash => Status::Done,
        _ if dir.join("error.txt").exists() => Status::Failed,
        _ if dir.exists() => Status::Interrupted,
        _ => Status::Pending,
    }
}

/// Prepares the folder of a run that is about to (re)start: moves aside a finished result
/// of a different config, and writes the resolved config.
pub fn prepare(out: &Path, run: &RunSpec) -> Result<PathBuf, ExpError> {
    let dir = run_dir(out, run);
    if let Some(h) = read_json::<ResultHeader>(&dir.join("result.json"))
        && h.hash != run.hash
    {
        let stale = dir.with_file_name(format!("{}.stale-{}", run.id, h.hash));
        std::fs::rename(&dir, &stale).map_err(|source| ExpError::Io {
            path: dir.clone(),
            source,
        })?;
        tracing::warn!(
            "{}: config changed; the old result is kept in {}",
            dir.display(),
            stale.display()
        );
    }
    // A checkpoint of another config would be refused by the trainer: start that one over.
    let cfg_path = dir.join("config.toml");
    let text = run.config.to_toml();
    if let Ok(old) = std::fs::read_to_string(&cfg_path)
        && old != text
    {
        for f in ["train.ckpt", "model.safetensors", "metrics.json"] {
            let _ = std::fs::remove_file(dir.join(f));
        }
    }
    write(&cfg_path, text.as_bytes())?;
    Ok(dir)
}

/// Records the manifest of every run of `runs` as found on disk now.
pub fn write_manifest(out: &Path, runs: &[RunSpec], name: &str) -> Result<(), ExpError> {
    let entries: Vec<ManifestEntry> = runs
        .iter()
        .map(|r| ManifestEntry {
            experiment: r.experiment.clone(),
            run: r.id.clone(),
            hash: r.hash.clone(),
            status: status(out, r),
        })
        .collect();
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    for e in &entries {
        *counts
            .entry(format!("{:?}", e.status).to_lowercase())
            .or_default() += 1;
    }
    write_json(
        &out.join(name),
        &serde_json::json!({ "counts": counts, "runs": entries }),
    )
}
