//! The error type of cr-train.

use std::path::PathBuf;

/// What can go wrong while configuring or running training.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// A configuration value is out of range.
    #[error("invalid training config: field `{field}`: {problem}")]
    InvalidConfig {
        /// The field (e.g. `train.batch_size`).
        field: String,
        /// What is wrong.
        problem: String,
    },
    /// The data set cannot be used as configured.
    #[error("data: {0}")]
    Data(String),
    /// A checkpoint is unreadable or belongs to another configuration.
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    /// I/O on a checkpoint or metrics file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The loss became NaN or infinite.
    #[error("training diverged at epoch {epoch}, step {step}: loss is {loss}")]
    Diverged {
        /// Epoch (0-based).
        epoch: usize,
        /// Global step.
        step: u64,
        /// The loss value.
        loss: f64,
    },
    /// A hook failed to transform a minibatch (e.g. the adversarial examples of adversarial
    /// training could not be computed); training stops rather than continue on another batch.
    #[error("{hook} failed at step {step}: {message}")]
    Hook {
        /// The hook's name.
        hook: String,
        /// Global step.
        step: u64,
        /// What went wrong.
        message: String,
    },
    /// A model error (building, files).
    #[error(transparent)]
    Model(#[from] cr_models::ModelError),
}

pub(crate) fn invalid(field: &str, problem: impl Into<String>) -> TrainError {
    TrainError::InvalidConfig {
        field: field.to_string(),
        problem: problem.into(),
    }
}
