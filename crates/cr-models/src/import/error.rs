//! The error type of the PyTorch state-dict importer: every variant names the file and, where
//! one is at fault, the state-dict key.

use std::path::PathBuf;

/// Everything that can go wrong when importing a PyTorch state dict.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file could not be read.
    #[error("{file}: {source}")]
    Io {
        /// The state-dict file.
        file: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The bytes are not a safetensors file (truncated, or another format).
    #[error("{file}: {problem}")]
    NotSafetensors {
        /// The state-dict file.
        file: PathBuf,
        /// What the safetensors reader found.
        problem: String,
    },
    /// A tensor has a dtype cr cannot import (cr reads F32; integer `num_batches_tracked`
    /// buffers are dropped).
    #[error(
        "{file}: tensor `{key}` has dtype {dtype}; cr imports F32 tensors only (save the model with `.float()` first)"
    )]
    Dtype {
        /// The state-dict file.
        file: PathBuf,
        /// The key.
        key: String,
        /// Its dtype, as safetensors names it.
        dtype: String,
    },
    /// `--arch` names no architecture the importer knows.
    #[error("unknown architecture `{name}` (known: {known})")]
    UnknownArch {
        /// The name given.
        name: String,
        /// The names accepted, comma separated.
        known: String,
    },
    /// A key the architecture needs is absent.
    #[error("{file}: missing tensor `{key}` (shape {shape:?}), needed by architecture `{arch}`")]
    Missing {
        /// The state-dict file.
        file: PathBuf,
        /// The PyTorch key.
        key: String,
        /// The shape it should have.
        shape: Vec<usize>,
        /// The architecture asked for.
        arch: String,
    },
    /// A key the architecture does not have (for example one of another architecture).
    #[error("{file}: unexpected tensor `{key}`: architecture `{arch}` has no such parameter")]
    Unexpected {
        /// The state-dict file.
        file: PathBuf,
        /// The PyTorch key.
        key: String,
        /// The architecture asked for.
        arch: String,
    },
    /// A tensor's shape differs from what the architecture (with the hyper-parameters read
    /// from the other tensors and the command line) implies.
    #[error(
        "{file}: tensor `{key}` has shape {found:?}, architecture `{arch}` expects {expected:?}"
    )]
    Shape {
        /// The state-dict file.
        file: PathBuf,
        /// The PyTorch key.
        key: String,
        /// The shape in the file.
        found: Vec<usize>,
        /// The shape expected.
        expected: Vec<usize>,
        /// The architecture asked for.
        arch: String,
    },
    /// The state dict does not have the structure `--arch` names (wrong block counts, a
    /// missing anchor key, inconsistent widths, …).
    #[error("{file}: not a `{arch}` state dict: {problem}")]
    Structure {
        /// The state-dict file.
        file: PathBuf,
        /// The architecture asked for.
        arch: String,
        /// What does not fit, naming the key.
        problem: String,
    },
    /// The spec built from the state dict and the options is invalid (input too small, bad
    /// normalisation, …).
    #[error("{file}: {source}")]
    Spec {
        /// The state-dict file.
        file: PathBuf,
        /// The model error.
        source: crate::ModelError,
    },
}
