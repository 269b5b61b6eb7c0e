//! The error type of cr-experiments.

use std::path::PathBuf;

/// What can go wrong in an experiment.
#[derive(Debug, thiserror::Error)]
pub enum ExpError {
    /// A value is out of range or unknown.
    #[error("field `{field}`: {problem}")]
    Invalid {
        /// The key, dotted (`eval.attacks[0].eps`).
        field: String,
        /// What is wrong.
        problem: String,
    },
    /// A config file cannot be parsed or validated.
    #[error("{path}: {problem}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// I/O.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Data loading.
    #[error("data: {0}")]
    Data(String),
    /// Models and model files.
    #[error(transparent)]
    Model(#[from] cr_models::ModelError),
    /// Training.
    #[error(transparent)]
    Train(#[from] cr_train::TrainError),
    /// Measuring a trained model.
    #[error(transparent)]
    Eval(#[from] cr_eval::EvalError),
    /// Judging claims and writing the report.
    #[error(transparent)]
    Report(#[from] cr_report::ReportError),
    /// A value could not be written as JSON.
    #[error("{what}: {problem}")]
    Serialise {
        /// What was being written.
        what: String,
        /// The cause.
        problem: String,
    },
    /// A worker's thread pool could not be started.
    #[error("cannot start a thread pool for a worker: {0}")]
    ThreadPool(String),
}

pub(crate) fn invalid(field: &str, problem: impl Into<String>) -> ExpError {
    ExpError::Invalid {
        field: field.to_string(),
        problem: problem.into(),
    }
}
