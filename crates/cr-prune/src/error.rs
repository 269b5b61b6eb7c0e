//! The one error type of cr-prune.

/// Everything that can go wrong when pruning a model or sweeping pruning ratios.
#[derive(Debug, thiserror::Error)]
pub enum PruneError {
    /// A configuration value is missing, out of range or inconsistent with the method.
    #[error("invalid prune config: field `{field}`: {problem}")]
    InvalidConfig {
        /// The field (`method`, `ratio`, `rank`, `eps_target`, `max_layer_ratio`, `physical`).
        field: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The physically smaller form was requested for a method or architecture that has none.
    #[error("no physically smaller model for {what}: {reason}")]
    PhysicalUnsupported {
        /// Method and architecture.
        what: String,
        /// Why.
        reason: String,
    },
    /// The model has nothing this method can prune.
    #[error("nothing to prune: {0}")]
    NothingToPrune(String),
    /// An error from cr-models (building or rewriting a model).
    #[error(transparent)]
    Model(#[from] cr_models::ModelError),
    /// An error from cr-linalg (non-finite weights, SVD failure).
    #[error(transparent)]
    Linalg(#[from] cr_linalg::LinalgError),
    /// Copying tensors into a rebuilt model failed (an internal inconsistency).
    #[error("rebuilding the pruned model: {0}")]
    Rebuild(String),
}

/// `Result` with [`PruneError`].
pub type Result<T, E = PruneError> = std::result::Result<T, E>;

pub(crate) fn invalid(field: &str, problem: impl Into<String>) -> PruneError {
    PruneError::InvalidConfig {
        field: field.to_string(),
        problem: problem.into(),
    }
}
