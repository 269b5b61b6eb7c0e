//! The error type of cr-data: every variant names the file (or data set) and the problem.

use std::path::PathBuf;

/// What can go wrong when reading or preparing data.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file that the format requires is not there.
    #[error("{path}: file not found ({what})")]
    Missing {
        /// The path looked for.
        path: PathBuf,
        /// What it should contain.
        what: String,
    },
    /// An I/O error while reading.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The bytes are not in the expected format (wrong magic number, truncated data, a
    /// header that disagrees with the length, corrupt compression, bad structure).
    #[error("{path}: {problem}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A label outside `0..classes`.
    #[error("{path}: label {label} of sample {index} is outside 0..{classes}")]
    Label {
        /// The label file.
        path: PathBuf,
        /// Sample index.
        index: usize,
        /// The label found.
        label: u32,
        /// Number of classes of the data set.
        classes: usize,
    },
    /// Image and label files, or several files of one split, disagree.
    #[error("{path}: {problem}")]
    Mismatch {
        /// The file that disagrees.
        path: PathBuf,
        /// How.
        problem: String,
    },
    /// Embedded bytes do not match their recorded checksum.
    #[error("embedded {name}: SHA-256 {got} differs from the recorded {expected}")]
    Checksum {
        /// Which file.
        name: String,
        /// Recorded hash.
        expected: String,
        /// Hash of the bytes.
        got: String,
    },
    /// An unknown data set name.
    #[error("unknown data set `{name}` (known: {known})")]
    UnknownName {
        /// The name given.
        name: String,
        /// The names cr knows.
        known: String,
    },
    /// A parameter is out of range.
    #[error("invalid `{field}`: {problem}")]
    Invalid {
        /// The parameter.
        field: String,
        /// What is wrong.
        problem: String,
    },
}

/// Shorthand.
pub type Result<T> = std::result::Result<T, DataError>;

pub(crate) fn format(path: &std::path::Path, problem: impl Into<String>) -> DataError {
    DataError::Format {
        path: path.to_path_buf(),
        problem: problem.into(),
    }
}
