//! The error type of cr-linalg.

/// What can go wrong.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum LinalgError {
    /// A slice does not have `rows · cols` elements, or a shape is empty where it may not be.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// An input contains NaN or an infinity.
    #[error("non-finite value in {0}")]
    NonFinite(String),
    /// A parameter is out of range (`q < 1`, a negative target ε, …).
    #[error("invalid argument `{name}`: {problem}")]
    Invalid {
        /// The argument.
        name: &'static str,
        /// What is wrong.
        problem: String,
    },
    /// The SVD did not converge.
    #[error("SVD did not converge")]
    NoConvergence,
}

/// Shorthand.
pub type Result<T> = std::result::Result<T, LinalgError>;
