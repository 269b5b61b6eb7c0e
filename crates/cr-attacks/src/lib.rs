//! # cr-attacks
//!
//! Adversarial attacks and robustness measurements for any burn model, on any device
//! (SPEC §3): its one job is to answer "how robust is this classifier, and how does the
//! perturbation act on it?".
//!
//! * Attacks ([`Attack`], [`run_attack`]): FGSM / FGM ([`FgsmConfig`]); PGD with random start
//!   and restarts ([`PgdConfig`]); AutoPGD with CE or DLR loss ([`ApgdConfig`]) in the
//!   auto-attack reference semantics or ART 1.18's variant ([`ApgdMode`]). Norms ℓ∞ and ℓ2
//!   ([`Norm`]) with per-sample projections; clipping to `[0, 1]` on by default, switchable.
//! * AutoAttack ([`AutoAttackConfig`], versions `standard`, `plus`, `rand`): APGD-T
//!   ([`ApgdTConfig`]), FAB / FAB-T ([`FabConfig`]) and the gradient-free Square
//!   ([`SquareConfig`]), each on the samples the previous components left robust, with the
//!   per-sample attack that broke each sample and AutoAttack's checks as warnings.
//! * Evaluation: per-sample worst case over attacks ([`worst_case`]), robust-accuracy curves
//!   over ε ([`eps_sweep`]), AutoAttack-style sanity checks ([`sanity_checks`]). Every
//!   result records its parameters, per-sample masks, the adversarial examples and the wall
//!   time, and serialises with serde.
//! * Universal perturbations ([`universal_perturbation`] after ART's FGSM-based algorithm,
//!   [`universal_perturbation_sgd`]), and the PGD minibatch for adversarial training
//!   ([`adversarial_batch`]).
//! * Measurements ([`representation_change`], [`singular_alignment`], [`local_lipschitz`]).
//!
//! It does not build, load, train or prune models, read data sets, or print reports: the
//! model is any [`Classifier`] (a closure `Tensor<4> → Tensor<2>` of logits), passed in
//! evaluation mode; the CLI and the experiments are thin callers. Inputs are NCHW f32 in
//! `[0, 1]`, labels `Tensor<1, Int>`. Attacks make the input an autodiff leaf, so the model
//! needs no autodiff parameters; everything returned is off autodiff. Randomness is drawn on
//! the host from ChaCha8 streams keyed by (seed, sample position): the same seed gives the
//! same numbers on every backend and every batch size.
//!
//! ```
//! use burn::prelude::*;
//! use cr_attacks::{Attack, Norm, PgdConfig, ApgdConfig, Loss, AttackOptions, worst_case};
//!
//! let device = Device::flex();
//! // A linear classifier z = W·flatten(x) on 2×2 one-channel images, 3 classes.
//! let w = Tensor::<2>::from_floats(
//!     [[1.0, -1.0, 0.0], [0.5, 0.0, -0.5], [0.0, 1.0, -1.0], [-1.0, 0.5, 0.5]],
//!     &device,
//! );
//! let model = move |x: Tensor<4>| x.reshape([-1, 4]).matmul(w.clone());
//! let x = Tensor::<4>::from_floats([[[[0.9, 0.1], [0.2, 0.3]]], [[[0.1, 0.8], [0.9, 0.2]]]], &device);
//! let y = Tensor::<1, Int>::from_ints([0, 2], &device);
//!
//! let attacks = [
//!     Attack::Pgd(PgdConfig::new(Norm::Linf, 0.1)),
//!     Attack::Apgd(ApgdConfig::new(Norm::Linf, 0.1, Loss::Dlr)),
//! ];
//! let report = worst_case(&model, &attacks, x, y, &AttackOptions::default()).unwrap();
//! assert!(report.robust_accuracy <= report.clean_accuracy);
//! assert_eq!(report.attacks.len(), 2);
//! ```
//!
//! Each algorithm's documentation names the paper, the SPEC section and the reference
//! implementation it follows, and every deviation from that reference.
// burn's `slice` takes one range per dimension, so `[a..b]` is a one-dimension slice, not a mistake.
#![allow(clippy::single_range_in_vec_init)]

mod apgd;
mod apgd_t;
mod attack;
mod autoattack;
mod combine;
mod component;
mod error;
mod fab;
mod fgsm;
mod loss;
mod max_loss;
mod measure;
mod model;
mod norm;
mod pgd;
mod restarts;
mod rng;
mod run;
mod sanity;
mod square;
mod train;
mod uap;

pub use apgd::{ApgdConfig, ApgdMode, apgd_checkpoints, art_checkpoints};
pub use apgd_t::ApgdTConfig;
pub use attack::{
    Attack, AttackName, AttackParams, AttackResult, AutoAttackConfig, AutoAttackVersion,
    Perturbation, StageResult,
};
pub use combine::{EpsPoint, SweepResult, WorstCaseResult, eps_sweep, worst_case};
pub use error::{AttackError, Result};
pub use fab::{FabConfig, project_hyperplane_box};
pub use fgsm::FgsmConfig;
pub use loss::{Loss, ce_loss, dlr_loss, logit_margin, targeted_dlr_loss};
pub use max_loss::{MaxLossResult, max_loss_points};
pub use measure::{
    LipschitzConfig, LipschitzEstimate, RepresentationChange, SingularAlignment, local_lipschitz,
    representation_change, singular_alignment,
};
pub use model::{Classifier, PassCount, passes_on_this_thread};
pub use norm::{Norm, project, sample_norms};
pub use pgd::PgdConfig;
pub use run::{AttackOptions, apgd, fgsm, pgd, run_attack};
pub use sanity::{SanityWarning, sanity_checks};
pub use square::SquareConfig;
pub use train::{AdversarialBatch, Replace, adversarial_batch};
pub use uap::{
    UapConfig, UapResult, UapSgdConfig, fooling_rate, universal_perturbation,
    universal_perturbation_sgd,
};
