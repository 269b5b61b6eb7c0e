//! # cr-bounds
//!
//! **One job:** the paper's Lipschitz bounds for a chain of layer matrices (SPEC §2) — pure
//! linear algebra on host `[out, in]` `f64` matrices ([`cr_linalg::Mat`]).
//!
//! | what | paper | function |
//! |---|---|---|
//! | ‖W‖_∞ ≤ compressibility × ‖W‖_F (neurons) | Thm 3.1 (a), Eq. (4) | [`theorem_3_1_linf`], [`theorem_3_1_linf_at`] |
//! | ‖W‖₂ ≤ compressibility × ‖W‖_F (spectrum) | Thm 3.1 (b), Eq. (5) | [`theorem_3_1_l2`] |
//! | alignment terms A_∞*, A_2* with remainders R | Eq. (6), (7) | [`alignment::alignment`] |
//! | optimal alignment partition S_opt | Def. A.4 | [`s_opt`] |
//! | network bound `Π Thm 3.1 × Π_{S_opt} A*` | Thm 3.2, Eq. (8), (9) | [`analyze`] |
//! | adversarial risk gap | Cor. 3.3 | [`corollary::binary_logistic_gap`], [`corollary::softmax_cross_entropy_gap`] |
//! | bound vs measured gap | Fig. 3 (ρ = 0.947) | judged by `cr-report` (`stats::pearson`, `stats::spearman`) |
//!
//! k is chosen per layer by [`KChoice`] (fixed, a fraction of h, a target ε, or minimising
//! the bound); every result carries its terms (ε, β, k, ‖W‖_F, h, k_r, ε_r) next to the true
//! norm. The alignment `max_D` over ReLU patterns is estimated by one of four
//! [`Estimator`]s, named in every output: exact enumeration and a certified upper estimate
//! (the network bound is then certified), data-driven and local-search lower estimates.
//! [`lipschitz`] has exact references for small nets (pattern maximum, Jacobians).
//!
//! **What it does not do:** no models, no burn, no data: callers hand it matrices (conv filters
//! matricised `[out, in·kh·kw]`, see `cr_linalg::matrix::matricize_conv`) and, for the
//! data-driven estimators, ReLU patterns they recorded. A matricised conv layer's norms are
//! those of the matrix, not of the convolution operator; such chains need
//! [`BoundOptions::strict_shapes`] = false and get no alignment correction where shapes do
//! not chain. No attacks, no measured gaps (cr-attacks, cr-experiments).
//!
//! ```
//! use cr_bounds::{analyze, theorem_3_1_l2, BoundOptions, Estimator, KChoice, Layer};
//! use cr_linalg::matrix::from_rows_f64;
//!
//! // W = diag(4, 3): σ = (4, 3), ‖W‖_F = 5. At k = 1, ε = 3/7, β = 0, so Eq. (5) gives
//! // (4/7) · √2/1 · 5 ≈ 4.04 ≥ ‖W‖₂ = 4.
//! let w = from_rows_f64(2, 2, &[4.0, 0.0, 0.0, 3.0]).unwrap();
//! let b = theorem_3_1_l2(&w, KChoice::Fixed(1)).unwrap();
//! assert!((b.bound - 4.0 / 7.0 * 2f64.sqrt() * 5.0).abs() < 1e-12);
//! assert!(b.bound >= b.true_norm);
//!
//! // A two-layer ReLU net x ↦ C φ(W x) with C = (1, −1): at x = (1, 1) both units are
//! // active and the gradient is (4, −3), so the ℓ2 Lipschitz constant is 5.
//! let c = from_rows_f64(1, 2, &[1.0, -1.0]).unwrap();
//! let layers = vec![Layer::new("fc1", w), Layer::new("head", c)];
//! let opts = BoundOptions { estimator: Estimator::Exact, ..Default::default() };
//! let report = analyze(&layers, &opts).unwrap();
//! assert!(report.l2.theorem_3_2 >= 5.0);
//! assert!(report.l2.product_true_norms >= 5.0);
//! assert_eq!(report.l2.alignment[0].estimator, Estimator::Exact);
//! // Mismatched shapes are a typed error naming the layer, never a panic.
//! let bad = vec![layers[1].clone(), layers[1].clone()];
//! assert!(analyze(&bad, &opts).unwrap_err().to_string().contains("head"));
//! ```

pub mod alignment;
pub mod corollary;
pub mod error;
pub mod layer;
pub mod lipschitz;
pub mod network;
pub mod theorem31;

pub use alignment::{Alignment, Estimator, LocalSearchOptions, Norm};
pub use error::{BoundsError, Result};
pub use layer::activation_patterns;
pub use network::{BoundOptions, Layer, LayerReport, NetworkBound, NetworkReport, analyze, s_opt};
pub use theorem31::{
    KChoice, L2Bound, LinfBound, VectorCompressibility, theorem_3_1_l2, theorem_3_1_linf,
    theorem_3_1_linf_at,
};
