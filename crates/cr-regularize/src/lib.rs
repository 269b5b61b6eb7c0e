//! # cr-regularize
//!
//! Every intervention the paper uses to make a model compressible or to control it, on the
//! layer-introspection interface of `cr-models` (weights read as `[out, in·kh·kw]`, rows are
//! neurons / filters), selectable and weighted from the `[regularize]` table of a training
//! config, combinable, and applied by the training loop as one [`Regularizer`] hook:
//!
//! | intervention | formula (SPEC §4) | function |
//! |---|---|---|
//! | group lasso (neuron sparsity) | `α Σ_l Σ_rows ‖w_row‖₂`, head and first conv skipped | [`penalties::group_lasso`] |
//! | scale-invariant group lasso | `α Σ_l ‖ρ_l‖₁/‖ρ_l‖₂`, ρ_l row ℓ2 norms | [`penalties::scale_invariant_group_lasso`] |
//! | nuclear norm (spectral) | `α Σ_l ‖σ(W_l)‖₁` via `α⟨W, stopgrad(U Vᵀ)⟩` | [`penalties::nuclear_norm`] |
//! | spread control | `γ Σ_l Var(top 5% of row norms)` | [`penalties::spread`] |
//! | plain ℓ1 | `α Σ |θ|` | [`penalties::l1`] |
//! | Frobenius normalisation | rescale to a fixed ‖W‖_F after every step | [`frobenius`] |
//!
//! Low-rank factorisation, the fourth intervention of the paper, is an architecture option
//! (`layer_rank` of `cr-models`); its rank is swept through the model spec.
//!
//! This crate does not train (see `cr-train`) and does not measure compressibility (see
//! `cr-linalg`).
//!
//! ```
//! use cr_models::{Model, ModelSpec, device::cpu};
//! use cr_regularize::{RegularizeConfig, Regularizer, config::GroupLasso};
//!
//! let spec = ModelSpec::preset("fcn-1x400", [1, 8, 8], 10).unwrap();
//! let model = Model::new(&spec, &cpu(), 0).unwrap();
//! let config = RegularizeConfig {
//!     group_lasso: Some(GroupLasso { alpha: 1e-4, layers: Default::default() }),
//!     ..Default::default()
//! };
//! let reg = Regularizer::new(&config, &model).unwrap();
//! let penalty: f32 = reg.total_penalty(&model).unwrap().into_scalar();
//! assert!(penalty > 0.0);
//! ```

pub mod config;
pub mod error;
pub mod frobenius;
pub mod hooks;
pub mod penalties;

pub use config::RegularizeConfig;
pub use error::RegularizeError;
pub use hooks::Regularizer;
