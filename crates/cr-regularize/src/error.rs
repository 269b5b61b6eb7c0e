//! The error type of cr-regularize.

/// What can go wrong when configuring an intervention.
#[derive(Debug, thiserror::Error)]
pub enum RegularizeError {
    /// A configuration value is out of range.
    #[error("invalid regularizer config: field `{field}`: {problem}")]
    InvalidConfig {
        /// The field.
        field: String,
        /// What is wrong.
        problem: String,
    },
    /// The model does not have what the intervention needs.
    #[error("{0}")]
    Model(String),
}

pub(crate) fn invalid(field: &str, problem: impl Into<String>) -> RegularizeError {
    RegularizeError::InvalidConfig {
        field: field.to_string(),
        problem: problem.into(),
    }
}
