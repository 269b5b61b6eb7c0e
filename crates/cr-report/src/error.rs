//! The error type of cr-report.

use std::path::PathBuf;

/// What can go wrong while judging claims or writing a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// A claim, sweep or panel in an experiment file is malformed.
    #[error("experiment `{experiment}`, {field}: {problem}")]
    Invalid {
        /// The experiment id.
        experiment: String,
        /// The field (`claims[2].quantity`).
        field: String,
        /// What is wrong.
        problem: String,
    },
    /// A file cannot be read or parsed.
    #[error("{path}: {problem}")]
    File {
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
    /// Drawing a figure.
    #[error("drawing a figure: {0}")]
    Draw(String),
}

pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    }
}
