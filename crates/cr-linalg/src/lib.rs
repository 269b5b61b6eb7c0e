//! # cr-linalg
//!
//! **One job:** the dense linear algebra every other cr crate stands on — SVD, operator norms
//! and the compressibility metrics of the paper (SPEC §1) — on host matrices
//! ([`faer::Mat`], `f64` as the main API, `f32` where a routine is generic over [`Real`]).
//!
//! * [`matrix`]: matrices from row-major `f32`/`f64` slices (shape-checked, typed
//!   [`LinalgError`]), conv weights matricised as `[out, in·kh·kw]` (a row is a neuron /
//!   filter), and back to row-major vectors.
//! * [`svd`]: singular values (largest first), the thin SVD `W = U diag(s) Vᵀ`, the spectral
//!   norm by SVD and by seeded power iteration with a tolerance, best rank-k approximation
//!   and its two factors.
//! * [`norms`]: ‖W‖_∞ (max row ℓ1), ‖W‖_1 (max column ℓ1), ‖W‖_F, nuclear norm, stable rank
//!   ‖W‖_F²/σ₁², effective rank exp H(σ/‖σ‖₁), numerical rank, row ℓq norms.
//! * [`product`]: `f32` matrix products on row-major slices (stored, strided or transposed),
//!   on the calling thread: the kernel of cr-models' convolution (each product clears the
//!   vector state faer's x86 kernels leave dirty).
//! * [`compress`]: `(q, k, ε)`-compressibility both ways — `ε_q(k) = ‖θ − θ_k‖_q/‖θ‖_q`
//!   ([`compress::eps`]) and the least k for a target ε ([`compress::min_k`]) — the spread
//!   `β = 1 − |θ_(k)|/|θ_(1)|` and advcomp's "compressibility at level κ".
//!
//! **What it does not do:** no burn dependency, no I/O, no knowledge of models or layers
//! (callers hand it matrices and vectors; the `[in, out]` → `[out, in]` conversion of burn's
//! Linear lives in cr-models), no bounds (that is cr-bounds).
//!
//! ```
//! use cr_linalg::{compress, matrix::from_rows_f32, norms, svd};
//!
//! // W = [[3, 0], [0, 4]]: σ = (4, 3), ‖W‖_∞ = 4, ‖W‖_F = 5.
//! let w = from_rows_f32(2, 2, &[3.0, 0.0, 0.0, 4.0]).unwrap();
//! assert_eq!(svd::singular_values(&w).unwrap(), vec![4.0, 3.0]);
//! assert_eq!(norms::inf_norm(&w), 4.0);
//! assert!((norms::frobenius(&w) - 5.0).abs() < 1e-12);
//! // Row-ℓ1 norms ν = (3, 4): keeping the largest one leaves ε₁(1) = 3/7, and the least k
//! // with ε₁(k) ≤ 0.5 is 1.
//! let nu = norms::row_norms(&w, 1.0);
//! assert!((compress::eps(&nu, 1.0, 1).unwrap() - 3.0 / 7.0).abs() < 1e-12);
//! assert_eq!(compress::min_k(&nu, 1.0, 0.5).unwrap(), 1);
//! // A shape mismatch is a typed error, not a panic.
//! assert!(from_rows_f32(2, 2, &[1.0]).is_err());
//! ```

pub mod compress;
pub mod error;
pub mod matrix;
pub mod norm;
pub mod norms;
pub mod product;
pub mod scalar;
pub mod svd;

pub use error::{LinalgError, Result};

/// Makes every faer routine of this process (SVD, eigendecompositions, products) run on the
/// calling thread. faer splits its blocked algorithms by the number of threads available, and
/// the last bits of an SVD then depend on it (seen: σ₁ 2.495233891431221 with one thread,
/// 2.4952338914312207 with two). The CLI calls this once at start-up so that results do not
/// depend on the machine's core count; it runs several experiments at once instead (see
/// `cr-experiments`' runner). Without it faer uses every rayon thread.
pub fn sequential() {
    faer::set_global_parallelism(faer::Par::Seq);
}

/// Lets faer use every thread of the current rayon pool again (its default); the speed
/// benchmark uses this for its linear-algebra workloads, which one large matrix cannot
/// parallelise otherwise.
pub fn parallel() {
    faer::set_global_parallelism(faer::Par::rayon(0));
}
pub use faer::Mat;
pub use norm::Norm;
pub use scalar::Real;
pub use svd::{PowerIteration, Svd, singular_values, thin_svd};
