//! The error type of cr-data: every variant names the file (or data set, or parameter) and the
//! problem, so a user can fix the input without reading the source.

use std::path::{Path, PathBuf};

/// What can go wrong when reading or preparing data.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file or directory that the format requires is not there.
    #[error("{path}: not found ({what})")]
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
    /// The file starts with the wrong magic number (e.g. a label file where images belong).
    #[error("{path}: wrong magic number 0x{found:08x}, expected 0x{expected:08x} ({what})")]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// The magic number found.
        found: u32,
        /// The magic number of the expected kind of file.
        expected: u32,
        /// The expected kind of file.
        what: &'static str,
    },
    /// The file is shorter or longer than its header says, or the header claims sizes that
    /// cannot be (overflowing or absurd counts).
    #[error("{path}: {problem}")]
    Length {
        /// The file.
        path: PathBuf,
        /// What disagrees.
        problem: String,
    },
    /// The images have a shape that the data set does not have (a 32×32 file where MNIST's
    /// 28×28 is expected).
    #[error("{path}: images are {found}, but {dataset} has {expected} images")]
    Dimensions {
        /// The file.
        path: PathBuf,
        /// The data set expected.
        dataset: String,
        /// Shape found.
        found: String,
        /// Shape expected.
        expected: String,
    },
    /// A `.gz` file (or a zlib stream) that does not decompress.
    #[error("{path}: corrupt compressed data: {message}")]
    Compressed {
        /// The file.
        path: PathBuf,
        /// The decoder's message.
        message: String,
    },
    /// A MATLAB `.mat` file whose structure cr cannot read (see [`crate::mat`]).
    #[error("{path}: bad MAT-file: {problem}")]
    Mat {
        /// The file.
        path: PathBuf,
        /// What is wrong or unsupported.
        problem: String,
    },
    /// Other format problems (e.g. values that a format does not allow).
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
        label: i64,
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
    /// A parameter is out of range or malformed.
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

pub(crate) fn length(path: &Path, problem: impl Into<String>) -> DataError {
    DataError::Length {
        path: path.to_path_buf(),
        problem: problem.into(),
    }
}

pub(crate) fn format(path: &Path, problem: impl Into<String>) -> DataError {
    DataError::Format {
        path: path.to_path_buf(),
        problem: problem.into(),
    }
}

pub(crate) fn invalid(field: &str, problem: impl Into<String>) -> DataError {
    DataError::Invalid {
        field: field.to_string(),
        problem: problem.into(),
    }
}
