//! The one error type of cr-models.

use std::path::PathBuf;

/// Everything that can go wrong when building, introspecting, saving or loading a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A value of the architecture specification is out of range or inconsistent.
    #[error("invalid model spec: field `{field}`: {problem}")]
    InvalidSpec {
        /// The field, as written in the TOML/JSON spec (e.g. `fcn.width`).
        field: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The input shape is too small or otherwise unusable for the architecture.
    #[error("input shape {shape:?} does not fit architecture `{arch}`: {problem}")]
    InputShape {
        /// Architecture name.
        arch: String,
        /// `[channels, height, width]`.
        shape: [usize; 3],
        /// What is wrong.
        problem: String,
    },
    /// The device name is not one this build supports.
    #[error("unknown or unavailable device `{0}` (this build supports: {1})")]
    Device(String, String),
    /// A layer name that the model does not have.
    #[error("model has no layer `{name}` (layers: {available})")]
    UnknownLayer {
        /// The requested name.
        name: String,
        /// The names it has, comma separated.
        available: String,
    },
    /// A matrix written back into a layer has the wrong shape.
    #[error("layer `{name}`: expected a {expected_rows}x{expected_cols} matrix, got {rows}x{cols}")]
    MatrixShape {
        /// Layer name.
        name: String,
        /// Rows the layer has.
        expected_rows: usize,
        /// Columns the layer has.
        expected_cols: usize,
        /// Rows given.
        rows: usize,
        /// Columns given.
        cols: usize,
    },
    /// I/O failure on a model file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A model file is malformed, incomplete or inconsistent with its own metadata.
    #[error("{path}: {problem}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the key and the shapes where relevant.
        problem: String,
    },
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, ModelError>;

pub(crate) fn invalid(field: &str, problem: impl Into<String>) -> ModelError {
    ModelError::InvalidSpec {
        field: field.to_string(),
        problem: problem.into(),
    }
}
