//! # cr-linalg
//!
//! The numerics every other cr crate stands on, on dense host matrices (faer, `f64`):
//!
//! * [`matrix`]: matrices from row-major `f32`/`f64` slices (shape-checked) and conv weights
//!   matricised as `[out, in·kh·kw]` (SPEC §1: a row is a neuron / filter).
//! * [`svd`]: singular values, the thin SVD `W = U diag(σ) Vᵀ`, the spectral norm by SVD and by
//!   power iteration (with a tolerance), best rank-k approximation and its factors.
//! * [`norms`]: operator norms ‖W‖_∞ (max row ℓ1), ‖W‖_1 (max column ℓ1), ‖W‖₂ = σ₁,
//!   ‖W‖_F, nuclear norm, stable rank ‖W‖_F²/σ₁², effective rank exp H(σ/‖σ‖₁), row norms.
//! * [`compress`]: `(q, k, ε)`-compressibility both ways — `ε_q(k) = ‖θ − θ_k‖_q/‖θ‖_q`
//!   ([`compress::eps`]) and the least k for a target ε ([`compress::min_k`]) — the spread
//!   `β = 1 − |θ_(k)|/|θ_(1)|` and advcomp's "compressibility at level κ".
//!
//! It has no burn dependency, does no I/O and knows nothing of models: callers hand it
//! matrices and vectors.
//!
//! ```
//! use cr_linalg::{matrix::from_rows_f32, norms, svd, compress};
//!
//! // W = [[3, 0], [0, 4]]: σ = (4, 3), ‖W‖_∞ = 4, ‖W‖_F = 5.
//! let w = from_rows_f32(2, 2, &[3.0, 0.0, 0.0, 4.0]).unwrap();
//! assert_eq!(svd::singular_values(&w).unwrap(), vec![4.0, 3.0]);
//! assert_eq!(norms::inf_norm(&w), 4.0);
//! assert!((norms::frobenius(&w) - 5.0).abs() < 1e-12);
//! // Row-ℓ1 norms ν = (3, 4): keeping the largest one leaves ε₁(1) = 3/7.
//! let nu = norms::row_norms(&w, 1.0);
//! assert!((compress::eps(&nu, 1.0, 1).unwrap() - 3.0 / 7.0).abs() < 1e-12);
//! ```

pub mod compress;
pub mod error;
pub mod matrix;
pub mod norms;
pub mod svd;

pub use error::LinalgError;
pub use faer::Mat;
pub use svd::{Svd, singular_values, thin_svd};
