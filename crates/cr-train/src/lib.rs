//! # cr-train
//!
//! The training loop every experiment uses: PyTorch-rule optimisers (AdamW, SGD with
//! momentum), per-epoch cosine and step schedules, a stratified seeded validation split with
//! early stopping on validation loss (best model kept), head-only training on a frozen
//! encoder, and checkpoints after every epoch from which a killed run resumes bit-identically
//! on CPU. Three [`Hooks`] let other crates change training without this crate knowing them:
//! a loss term (regularisers, `cr-regularize`), a rewrite after each optimiser step
//! (Frobenius normalisation) and a minibatch transform (adversarial training, `cr-attacks`).
//!
//! It does not know data formats (it reads any [`TrainData`]), regularisers or attacks.
//!
//! ```no_run
//! use cr_train::{TrainConfig, TrainOptions, NoHooks, train};
//! # fn demo(model: cr_models::Model, data: &dyn cr_train::TrainData) -> Result<(), cr_train::TrainError> {
//! let device = cr_models::device::cpu();
//! let config = TrainConfig { epochs: 3, ..TrainConfig::default() };
//! let out = train(model, data, &config, &mut NoHooks, &TrainOptions::default(), &device)?;
//! println!("best epoch {:?}", out.metrics.best_epoch);
//! # Ok(()) }
//! ```

mod adamw;
pub mod config;
pub mod data;
pub mod error;
pub mod hooks;
pub mod metrics;
pub mod optim;
pub mod progress;
pub mod schedule;
pub mod train;

pub use config::{EarlyStopping, TrainConfig, Trainable};
pub use data::TrainData;
pub use error::TrainError;
pub use hooks::{HookList, Hooks, NoHooks};
pub use metrics::{EpochMetrics, TrainMetrics};
pub use optim::{Optimizer, OptimizerConfig};
pub use schedule::Schedule;
pub use train::{
    LossAccuracy, TrainOptions, TrainOutcome, batch_loss_correct, check_checkpoint, cross_entropy,
    evaluate, train,
};
