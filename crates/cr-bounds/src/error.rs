//! The error type of cr-bounds.

use cr_linalg::LinalgError;

/// What can go wrong. Every variant that concerns one layer names it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BoundsError {
    /// The chain of layers is empty.
    #[error("no layers: the chain of layer matrices is empty")]
    Empty,
    /// A layer's matrix holds NaN or an infinity.
    #[error("layer `{layer}`: non-finite value ({detail})")]
    NonFinite {
        /// The layer.
        layer: String,
        /// Which entry.
        detail: String,
    },
    /// A layer's matrix is empty, or does not chain with its predecessor.
    #[error("layer `{layer}`: {problem}")]
    Shape {
        /// The layer.
        layer: String,
        /// What is wrong.
        problem: String,
    },
    /// An option or argument is out of range.
    #[error("invalid argument `{field}`: {problem}")]
    Invalid {
        /// The option or argument.
        field: String,
        /// What is wrong.
        problem: String,
    },
    /// Exact enumeration of activation patterns was asked for above the size limit.
    #[error(
        "exact alignment for `{lower}` → `{upper}` would enumerate 2^{bits} activation patterns \
         (limit 2^{max}); use the certified_upper, local_search or data_driven estimator"
    )]
    TooLarge {
        /// The lower layer of the pair (W^l).
        lower: String,
        /// The upper layer of the pair (W^{l+1}).
        upper: String,
        /// Free pattern bits.
        bits: usize,
        /// The limit.
        max: usize,
    },
    /// A linear-algebra routine failed (SVD non-convergence and the like).
    #[error("linear algebra: {0}")]
    Linalg(#[from] LinalgError),
}

/// Shorthand.
pub type Result<T> = std::result::Result<T, BoundsError>;

pub(crate) fn invalid(field: impl Into<String>, problem: impl Into<String>) -> BoundsError {
    BoundsError::Invalid {
        field: field.into(),
        problem: problem.into(),
    }
}
