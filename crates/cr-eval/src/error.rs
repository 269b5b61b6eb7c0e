//! The error type of cr-eval.

use std::path::PathBuf;

/// What can go wrong while measuring a model.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// A configuration value or flag is out of range, unknown, or conflicts with another.
    #[error("field `{field}`: {problem}")]
    Invalid {
        /// The key, dotted (`eval.attacks[0].eps`), or the flag.
        field: String,
        /// What is wrong.
        problem: String,
    },
    /// The model does not fit the data it is asked to measure (input shape, classes).
    #[error("{path}: {problem}")]
    Mismatch {
        /// The model file.
        path: PathBuf,
        /// The two shapes.
        problem: String,
    },
    /// What was asked is not defined for this model or input (e.g. activation patterns of a
    /// CNN).
    #[error("{0}")]
    Unsupported(String),
    /// Data loading.
    #[error("data: {0}")]
    Data(String),
    /// Models and model files.
    #[error(transparent)]
    Model(#[from] cr_models::ModelError),
    /// An attack, bound, pruning step or other measure failed.
    #[error("{what}: {problem}")]
    Measure {
        /// The measure or step (`attacks`, `bounds`, `uap`, a file).
        what: String,
        /// The cause.
        problem: String,
    },
    /// The backend could not hand tensor values back to the host.
    #[error("{what}: {problem}")]
    Readback {
        /// Which values.
        what: String,
        /// The backend's error.
        problem: String,
    },
}

/// An [`EvalError::Invalid`] for `field`.
pub(crate) fn invalid(field: &str, problem: impl Into<String>) -> EvalError {
    EvalError::Invalid {
        field: field.to_string(),
        problem: problem.into(),
    }
}

/// An [`EvalError::Measure`]: `what` failed with `e`.
pub(crate) fn err(what: &str, e: impl std::fmt::Display) -> EvalError {
    EvalError::Measure {
        what: what.to_string(),
        problem: e.to_string(),
    }
}

/// An [`EvalError::Readback`] of `what`.
pub(crate) fn readback(what: &str, e: impl std::fmt::Debug) -> EvalError {
    EvalError::Readback {
        what: what.to_string(),
        problem: format!("{e:?}"),
    }
}
