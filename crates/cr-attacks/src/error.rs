//! Errors of the attack library.

use thiserror::Error;

/// Why an attack or a measurement could not run.
#[derive(Debug, Error)]
pub enum AttackError {
    /// A configuration value is out of its domain (the field is named).
    #[error("invalid attack parameter `{field}`: {problem}")]
    InvalidParam {
        /// The configuration field.
        field: &'static str,
        /// What is wrong with its value.
        problem: String,
    },
    /// Inputs, labels or model outputs have shapes that do not fit together.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// A label is outside `0..num_classes`.
    #[error("label {label} of sample {index} is outside 0..{num_classes}")]
    LabelOutOfRange {
        /// Position of the sample in the batch.
        index: usize,
        /// The label.
        label: i64,
        /// Number of logits the model returns.
        num_classes: usize,
    },
    /// The inputs leave `[0, 1]` while clipping to `[0, 1]` is on.
    #[error(
        "inputs span [{min}, {max}], outside [0, 1], while clipping to [0, 1] is on; \
         rescale the data or switch clipping off"
    )]
    InputRange {
        /// Smallest input value.
        min: f32,
        /// Largest input value.
        max: f32,
    },
    /// The DLR loss needs at least three classes.
    #[error("the DLR loss needs at least 3 classes, the model returns {0} logits")]
    TooFewClasses(usize),
    /// An attack needs more classes than the model has.
    #[error("{attack} needs at least {needed} classes, the model returns {got} logits")]
    NotEnoughClasses {
        /// The attack.
        attack: &'static str,
        /// Classes it needs.
        needed: usize,
        /// Logits the model returns.
        got: usize,
    },
    /// Reading a tensor back to the host failed.
    #[error("reading {what} back from the device failed: {message}")]
    Read {
        /// Which tensor.
        what: &'static str,
        /// The backend's message.
        message: String,
    },
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, AttackError>;

/// An [`AttackError::InvalidParam`] for `field`.
pub(crate) fn invalid(field: &'static str, problem: impl Into<String>) -> AttackError {
    AttackError::InvalidParam {
        field,
        problem: problem.into(),
    }
}
