//! The training loop.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::module::{Module, ModuleMapper, Param};
use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use indicatif::ProgressBar;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use cr_models::Model;
use cr_models::file::{
    HostTensor, from_safetensors_bytes, model_tensors, model_with_tensors, to_safetensors_bytes,
    write_atomic,
};
use cr_models::layout::PathStack;

use crate::config::{TrainConfig, Trainable};
use crate::data::{TrainData, epoch_order, split_indices, sub_seed, tags};
use crate::error::TrainError;
use crate::hooks::Hooks;
use crate::metrics::{EpochMetrics, TrainMetrics};
use crate::optim::Optimizer;

/// Options of a run that are not hyper-parameters.
#[derive(Debug, Clone, Default)]
pub struct TrainOptions {
    /// Checkpoint file: written (atomically) after every epoch, and resumed from when it
    /// exists. `None`: no checkpoints.
    pub checkpoint: Option<PathBuf>,
    /// Show a progress bar per epoch.
    pub progress: bool,
    /// A label for logs and the progress bar.
    pub label: String,
}

/// The result of [`train`].
#[derive(Debug, Clone)]
pub struct TrainOutcome {
    /// The kept model (lowest validation loss with early stopping on, else the last), as an
    /// evaluation snapshot on the plain device.
    pub model: Model,
    /// What was measured.
    pub metrics: TrainMetrics,
}

/// Loss and accuracy of a model on some samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LossAccuracy {
    /// Mean cross-entropy.
    pub loss: f64,
    /// Fraction classified correctly.
    pub accuracy: f64,
    /// Number of samples.
    pub n: usize,
}

/// Mean softmax cross-entropy of `logits` `[B, K]` against labels `[B]`, as `[1]`.
pub fn cross_entropy(logits: Tensor<2>, y: Tensor<1, Int>) -> Tensor<1> {
    log_softmax(logits, 1)
        .gather(1, y.unsqueeze_dim(1))
        .mean()
        .neg()
}

/// The summed cross-entropy and the number of correct predictions of `model` on one batch:
/// the one rule every evaluation loop of cr uses (this crate's [`evaluate`], and the
/// experiments' accuracy on test tensors).
pub fn batch_loss_correct(model: &Model, x: Tensor<4>, y: Tensor<1, Int>) -> (f64, usize) {
    let b = y.dims()[0];
    let logits = model.forward(x);
    let l: f32 = cross_entropy(logits.clone(), y.clone()).into_scalar();
    let c: i64 = logits
        .argmax(1)
        .reshape([b])
        .equal(y)
        .int()
        .sum()
        .into_scalar();
    (l as f64 * b as f64, c as usize)
}

/// Evaluates `model` (put in evaluation mode here) on the samples `indices`.
pub fn evaluate(
    model: &Model,
    data: &dyn TrainData,
    indices: &[usize],
    batch_size: usize,
    device: &Device,
) -> LossAccuracy {
    let model = model.snapshot();
    let device = device.clone().without_autodiff();
    let mut loss_sum = 0.0;
    let mut correct = 0usize;
    for chunk in indices.chunks(batch_size.max(1)) {
        let (x, y) = data.batch(chunk, None, &device);
        let (l, c) = batch_loss_correct(&model, x, y);
        loss_sum += l;
        correct += c;
    }
    let n = indices.len();
    LossAccuracy {
        loss: loss_sum / n.max(1) as f64,
        accuracy: correct as f64 / n.max(1) as f64,
        n,
    }
}

/// Everything a checkpoint stores besides tensors.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct CheckpointState {
    version: u32,
    config: TrainConfig,
    spec: cr_models::ModelSpec,
    next_epoch: usize,
    step: u64,
    optimizer_steps: BTreeMap<String, u64>,
    metrics: TrainMetrics,
    /// ∞ until a validation loss is seen, which JSON writes as `null`.
    #[serde(deserialize_with = "best_or_infinity")]
    best_val_loss: f64,
    bad_epochs: usize,
    hook_state: serde_json::Value,
    finished: bool,
}

fn best_or_infinity<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::INFINITY))
}

const CHECKPOINT_KEY: &str = "cr.checkpoint";

/// Trains `model` on `data` with `config`, calling `hooks`, on `device` (a plain device: the
/// loop adds autodiff itself).
///
/// Deterministic on CPU: the split, the epoch order, augmentation and every seed handed to
/// hooks are functions of `config.seed`, the epoch and the step, so a run resumed from its
/// checkpoint ends bit-identical to an uninterrupted one.
pub fn train(
    model: Model,
    data: &dyn TrainData,
    config: &TrainConfig,
    hooks: &mut dyn Hooks,
    options: &TrainOptions,
    device: &Device,
) -> Result<TrainOutcome, TrainError> {
    config.validate()?;
    check_data(data, &model)?;
    let plain = device.clone().without_autodiff();
    let ad = plain.clone().autodiff();
    let (train_idx, val_idx) = split_indices(data, config.val_fraction, config.seed)?;
    let head = model.net.head_name().to_string();
    let head_prefix = format!("{head}.");
    let trainable_all = |_: &str| true;
    let trainable_head = |k: &str| k.starts_with(&head_prefix);
    let trainable: &dyn Fn(&str) -> bool = match config.trainable {
        Trainable::All => &trainable_all,
        Trainable::HeadOnly => &trainable_head,
    };
    // Head-only: features come from a frozen evaluation copy of the encoder.
    let frozen_encoder = (config.trainable == Trainable::HeadOnly).then(|| model.snapshot());

    let mut optimizer = Optimizer::new(config.optimizer.clone());
    let mut model = model.for_training(&ad);
    if config.trainable == Trainable::HeadOnly {
        model.net = freeze_except(model.net, &head_prefix);
    }
    let mut state = CheckpointState::fresh(config, &model, hooks);
    let mut best: Option<Model> = None;

    if let Some(path) = options.checkpoint.as_deref().filter(|p| p.exists()) {
        let (s, m, b) = resume(path, config, options, &model, &mut optimizer, &ad, hooks)?;
        state = s;
        model = m;
        if config.trainable == Trainable::HeadOnly {
            model.net = freeze_except(model.net, &head_prefix);
        }
        best = b;
    } else {
        model = hooks.start(model);
    }

    let run = EpochLoop {
        data,
        config,
        options,
        trainable,
        frozen_encoder: frozen_encoder.as_ref(),
        train_idx: &train_idx,
        val_idx: &val_idx,
        plain: &plain,
        ad: &ad,
    };
    while !state.finished && state.next_epoch < config.epochs {
        model = run.epoch(model, &mut optimizer, hooks, &mut state, &mut best)?;
    }
    let kept = match best {
        Some(b) if config.early_stopping.is_some() => b,
        _ => model.snapshot(),
    };
    Ok(TrainOutcome {
        model: kept.to_device(&plain),
        metrics: state.metrics,
    })
}

/// Checks that `data` has at least 2 samples and as many classes as `model`.
fn check_data(data: &dyn TrainData, model: &Model) -> Result<(), TrainError> {
    if data.len() < 2 {
        return Err(TrainError::Data(format!(
            "{} training samples: need at least 2",
            data.len()
        )));
    }
    if data.num_classes() != model.spec.num_classes {
        return Err(TrainError::Data(format!(
            "the data has {} classes, the model {}",
            data.num_classes(),
            model.spec.num_classes
        )));
    }
    Ok(())
}

impl CheckpointState {
    /// The state of a run that has not taken a step yet.
    fn fresh(config: &TrainConfig, model: &Model, hooks: &dyn Hooks) -> Self {
        Self {
            version: 1,
            config: config.clone(),
            spec: model.spec.clone(),
            next_epoch: 0,
            step: 0,
            optimizer_steps: BTreeMap::new(),
            metrics: TrainMetrics {
                parameters: model.num_params(),
                hooks: hooks.name(),
                ..TrainMetrics::default()
            },
            best_val_loss: f64::INFINITY,
            bad_epochs: 0,
            hook_state: serde_json::Value::Null,
            finished: false,
        }
    }
}

/// Loads the checkpoint at `path` into `optimizer` and restores the hooks' state from it.
fn resume(
    path: &Path,
    config: &TrainConfig,
    options: &TrainOptions,
    template: &Model,
    optimizer: &mut Optimizer,
    ad: &Device,
    hooks: &mut dyn Hooks,
) -> Result<Loaded, TrainError> {
    let (s, m, b) = load_checkpoint(path, config, template, optimizer, ad)?;
    hooks
        .restore(&s.hook_state)
        .map_err(|e| TrainError::Checkpoint(format!("{}: hook state: {e}", path.display())))?;
    tracing::info!(
        "{}: resuming from {} at epoch {} (step {})",
        options.label,
        path.display(),
        s.next_epoch,
        s.step
    );
    Ok((s, m, b))
}

/// What every epoch of a run reads and never changes.
struct EpochLoop<'a> {
    data: &'a dyn TrainData,
    config: &'a TrainConfig,
    options: &'a TrainOptions,
    trainable: &'a dyn Fn(&str) -> bool,
    frozen_encoder: Option<&'a Model>,
    train_idx: &'a [usize],
    val_idx: &'a [usize],
    plain: &'a Device,
    ad: &'a Device,
}

/// Where a minibatch step is in the run.
#[derive(Debug, Clone, Copy)]
struct BatchAt {
    /// The epoch.
    epoch: usize,
    /// The minibatch's index in the epoch.
    b: usize,
    /// The global step before this one.
    step: u64,
    /// The epoch's learning rate.
    lr: f64,
}

/// What one minibatch step measured, on the device.
struct StepResult {
    /// Mean cross-entropy of the minibatch.
    ce: Tensor<1>,
    /// The hooks' penalty, if any.
    penalty: Option<Tensor<1>>,
    /// Number of correct predictions.
    correct: Tensor<1, Int>,
}

/// The sums an epoch accumulates over its minibatches, on the device.
#[derive(Default)]
struct EpochSums {
    loss: Option<Tensor<1>>,
    penalty: Option<Tensor<1>>,
    correct: Option<Tensor<1, Int>>,
    seen: usize,
}

impl EpochSums {
    /// Adds the result of one minibatch of `len` samples.
    fn add(&mut self, r: StepResult, len: usize) {
        let nb = len as f64;
        let ce = r.ce.inner().mul_scalar(nb);
        self.loss = Some(match self.loss.take() {
            Some(s) => s + ce,
            None => ce,
        });
        if let Some(p) = r.penalty {
            let p = p.inner().mul_scalar(nb);
            self.penalty = Some(match self.penalty.take() {
                Some(s) => s + p,
                None => p,
            });
        }
        self.correct = Some(match self.correct.take() {
            Some(s) => s + r.correct,
            None => r.correct,
        });
        self.seen += len;
    }

    /// The mean training loss, penalty and accuracy per sample seen.
    fn means(self) -> (f64, f64, f64) {
        let host = |t: Option<Tensor<1>>| -> f64 {
            t.map(|t| {
                let v: f32 = t.into_scalar();
                v as f64
            })
            .unwrap_or(0.0)
        };
        let n = self.seen.max(1) as f64;
        let train_loss = host(self.loss) / n;
        let penalty = host(self.penalty) / n;
        let train_accuracy = self
            .correct
            .map(|c| {
                let v: i64 = c.into_scalar();
                v as f64
            })
            .unwrap_or(0.0)
            / n;
        (train_loss, penalty, train_accuracy)
    }
}

impl EpochLoop<'_> {
    /// Runs epoch `state.next_epoch`: its minibatches, validation, early stopping and the
    /// checkpoint; returns the model to continue with.
    fn epoch(
        &self,
        model: Model,
        optimizer: &mut Optimizer,
        hooks: &mut dyn Hooks,
        state: &mut CheckpointState,
        best: &mut Option<Model>,
    ) -> Result<Model, TrainError> {
        let config = self.config;
        let epochs = config.epochs;
        let epoch = state.next_epoch;
        let started = Instant::now();
        let lr = config.schedule.lr(config.optimizer.lr(), epoch, epochs);
        let (model, sums, stop_steps) =
            self.minibatches(model, optimizer, hooks, state, epoch, lr)?;
        let (train_loss, penalty, train_accuracy) = sums.means();
        if !train_loss.is_finite() || !penalty.is_finite() {
            return Err(TrainError::Diverged {
                epoch,
                step: state.step,
                loss: train_loss + penalty,
            });
        }
        let val = (!self.val_idx.is_empty()).then(|| {
            evaluate(
                &model,
                self.data,
                self.val_idx,
                config.eval_batch_size,
                self.plain,
            )
        });
        let m = EpochMetrics {
            epoch,
            lr,
            train_loss,
            penalty,
            train_accuracy,
            val_loss: val.map_or(f64::NAN, |v| v.loss),
            val_accuracy: val.map_or(f64::NAN, |v| v.accuracy),
            steps: state.step,
            seconds: started.elapsed().as_secs_f64(),
        };
        log_epoch(self.options, epochs, &m);
        state.metrics.epochs.push(m);
        state.metrics.steps = state.step;
        self.early_stopping(val, &model, epoch, state, best);
        state.next_epoch = epoch + 1;
        if stop_steps {
            state.finished = true;
        }
        if let Some(path) = &self.options.checkpoint {
            state.hook_state = hooks.state();
            save_checkpoint(path, state, &model, best.as_ref(), optimizer)?;
        }
        Ok(model)
    }

    /// Takes the optimiser steps of epoch `epoch` at learning rate `lr`: returns the model,
    /// the epoch's sums and whether `max_steps` ended the epoch.
    fn minibatches(
        &self,
        mut model: Model,
        optimizer: &mut Optimizer,
        hooks: &mut dyn Hooks,
        state: &mut CheckpointState,
        epoch: usize,
        lr: f64,
    ) -> Result<(Model, EpochSums, bool), TrainError> {
        let config = self.config;
        let order = epoch_order(self.train_idx, config.seed, epoch);
        let batches: Vec<&[usize]> = order.chunks(config.batch_size).collect();
        let bar = progress_bar(self.options, epoch, config.epochs, batches.len());
        let mut sums = EpochSums::default();
        let mut stop_steps = false;
        for (b, chunk) in batches.iter().enumerate() {
            let at = BatchAt {
                epoch,
                b,
                step: state.step,
                lr,
            };
            let (m, r) = self.step(model, optimizer, hooks, at, chunk)?;
            model = m;
            state.step += 1;
            sums.add(r, chunk.len());
            bar.inc(1);
            if config.max_steps.is_some_and(|m| state.step >= m) {
                stop_steps = true;
                break;
            }
        }
        crate::progress::remove(&bar);
        Ok((model, sums, stop_steps))
    }

    /// One optimiser step on minibatch `chunk`, at `at`: returns the updated model and what
    /// the step measured.
    fn step(
        &self,
        mut model: Model,
        optimizer: &mut Optimizer,
        hooks: &mut dyn Hooks,
        at: BatchAt,
        chunk: &[usize],
    ) -> Result<(Model, StepResult), TrainError> {
        let BatchAt { epoch, b, step, lr } = at;
        let config = self.config;
        let mut aug = config.augment.then(|| {
            ChaCha8Rng::seed_from_u64(sub_seed(
                config.seed,
                tags::AUGMENT,
                ((epoch as u64) << 32) | b as u64,
            ))
        });
        let (x, y) = self.data.batch(chunk, aug.as_mut(), self.ad);
        let x = hooks
            .transform_batch(
                &model,
                x,
                y.clone(),
                sub_seed(config.seed, tags::HOOK, step),
            )
            .map_err(|message| TrainError::Hook {
                hook: hooks.name(),
                step,
                message,
            })?;
        let logits = match self.frozen_encoder {
            Some(enc) => model.net.head(enc.features(x.inner()).autodiff()),
            None => model.forward(x),
        };
        let ce = cross_entropy(logits.clone(), y.clone());
        let correct = logits
            .clone()
            .inner()
            .argmax(1)
            .reshape([chunk.len()])
            .equal(y.inner())
            .int()
            .sum();
        let penalty = hooks.penalty(&model);
        let loss = match &penalty {
            Some(p) => ce.clone() + p.clone(),
            None => ce.clone(),
        };
        let grads = loss.backward();
        model.net = optimizer.step(model.net, &grads, lr, self.trainable);
        model = hooks.after_step(model);
        Ok((
            model,
            StepResult {
                ce,
                penalty,
                correct,
            },
        ))
    }

    /// Early stopping after epoch `epoch`: records a new best validation loss (keeping a
    /// snapshot of `model`) or counts a bad epoch, finishing the run after `patience` of them.
    fn early_stopping(
        &self,
        val: Option<LossAccuracy>,
        model: &Model,
        epoch: usize,
        state: &mut CheckpointState,
        best: &mut Option<Model>,
    ) {
        if let (Some(v), Some(es)) = (val, &self.config.early_stopping) {
            if v.loss < state.best_val_loss - es.min_delta {
                state.best_val_loss = v.loss;
                state.bad_epochs = 0;
                state.metrics.best_epoch = Some(epoch);
                *best = Some(model.snapshot());
            } else {
                state.bad_epochs += 1;
                if state.bad_epochs >= es.patience {
                    state.metrics.stopped_early = true;
                    state.finished = true;
                }
            }
        }
    }
}

/// Logs the metrics `m` of one epoch of `epochs`.
fn log_epoch(options: &TrainOptions, epochs: usize, m: &EpochMetrics) {
    tracing::info!(
        "{} epoch {}/{}: loss {:.4} (+{:.4}) acc {:.4} | val loss {:.4} acc {:.4} | {:.1}s",
        options.label,
        m.epoch + 1,
        epochs,
        m.train_loss,
        m.penalty,
        m.train_accuracy,
        m.val_loss,
        m.val_accuracy,
        m.seconds
    );
}

fn progress_bar(options: &TrainOptions, epoch: usize, epochs: usize, len: usize) -> ProgressBar {
    if !options.progress {
        return ProgressBar::hidden();
    }
    let bar = crate::progress::bar(
        len as u64,
        "{msg} [{bar:30}] {pos}/{len} batches {elapsed} ETA {eta}",
    );
    bar.set_message(format!("{} epoch {}/{}", options.label, epoch + 1, epochs));
    bar
}

/// Stops gradients for every parameter whose key does not start with `prefix`.
fn freeze_except<M: Module>(net: M, prefix: &str) -> M {
    struct F<'a> {
        path: PathStack,
        prefix: &'a str,
    }
    impl ModuleMapper for F<'_> {
        fn enter_module(&mut self, name: &str, ct: &str) {
            self.path.enter(name, ct);
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.exit();
        }
        fn map_float<const D: usize>(&mut self, p: Param<Tensor<D>>) -> Param<Tensor<D>> {
            if self.path.key().starts_with(self.prefix) {
                p
            } else {
                p.set_require_grad(false)
            }
        }
    }
    net.map(&mut F {
        path: PathStack::default(),
        prefix,
    })
}

fn save_checkpoint(
    path: &Path,
    state: &CheckpointState,
    model: &Model,
    best: Option<&Model>,
    optimizer: &Optimizer,
) -> Result<(), TrainError> {
    let mut tensors: BTreeMap<String, HostTensor> = BTreeMap::new();
    for (k, t) in model_tensors(model) {
        tensors.insert(format!("model.{k}"), t);
    }
    if let Some(b) = best {
        for (k, t) in model_tensors(b) {
            tensors.insert(format!("best.{k}"), t);
        }
    }
    let (opt_tensors, steps) = optimizer.export();
    for (k, t) in opt_tensors {
        tensors.insert(format!("optim.{k}"), t);
    }
    let mut st = state.clone();
    st.optimizer_steps = steps;
    let mut meta = HashMap::new();
    meta.insert(
        CHECKPOINT_KEY.to_string(),
        serde_json::to_string(&st).map_err(|e| TrainError::Checkpoint(e.to_string()))?,
    );
    let bytes = to_safetensors_bytes(&tensors, meta).map_err(TrainError::Checkpoint)?;
    write_atomic(path, &bytes).map_err(|source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    })
}

type Loaded = (CheckpointState, Model, Option<Model>);

fn load_checkpoint(
    path: &Path,
    config: &TrainConfig,
    template: &Model,
    optimizer: &mut Optimizer,
    ad: &Device,
) -> Result<Loaded, TrainError> {
    let bytes = std::fs::read(path).map_err(|source| TrainError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    restore_checkpoint(&bytes, path, config, template, optimizer, ad)
}

/// Reads the bytes of a checkpoint (`path` names it in errors) exactly as a run with `config`
/// and `model`'s spec resuming from it would, without training: every error a resumed run
/// could meet in the file. Public for the fuzz targets in `fuzz/`; [`train`] uses the same
/// code.
pub fn check_checkpoint(
    bytes: &[u8],
    path: &Path,
    config: &TrainConfig,
    model: &Model,
    device: &Device,
) -> Result<(), TrainError> {
    let ad = device.clone().without_autodiff().autodiff();
    let mut optimizer = Optimizer::new(config.optimizer.clone());
    restore_checkpoint(bytes, path, config, model, &mut optimizer, &ad).map(|_| ())
}

fn restore_checkpoint(
    bytes: &[u8],
    path: &Path,
    config: &TrainConfig,
    template: &Model,
    optimizer: &mut Optimizer,
    ad: &Device,
) -> Result<Loaded, TrainError> {
    let ctx = |e: String| TrainError::Checkpoint(format!("{}: {e}", path.display()));
    let (tensors, meta) = from_safetensors_bytes(bytes).map_err(ctx)?;
    let state: CheckpointState = serde_json::from_str(
        meta.get(CHECKPOINT_KEY)
            .ok_or_else(|| ctx(format!("no `{CHECKPOINT_KEY}` metadata")))?,
    )
    .map_err(|e| ctx(format!("bad `{CHECKPOINT_KEY}` metadata: {e}")))?;
    if &state.config != config {
        return Err(ctx(
            "it was written by a run with a different training config; delete it to start over"
                .into(),
        ));
    }
    if state.spec != template.spec {
        return Err(ctx(
            "it was written for a different model spec; delete it to start over".into(),
        ));
    }
    let part = |prefix: &str| -> BTreeMap<String, HostTensor> {
        tensors
            .iter()
            .filter_map(|(k, t)| k.strip_prefix(prefix).map(|s| (s.to_string(), t.clone())))
            .collect()
    };
    let plain = ad.clone().without_autodiff();
    let fresh = || Model::build(&template.spec, &plain);
    let model = model_with_tensors(fresh()?, &part("model.")).map_err(ctx)?;
    let best_tensors = part("best.");
    let best = if best_tensors.is_empty() {
        None
    } else {
        Some(model_with_tensors(fresh()?, &best_tensors).map_err(ctx)?)
    };
    // The optimiser's state must fit the parameters it updates: a moment of another length
    // would fail (or silently broadcast) at the first step after resuming.
    let sizes: BTreeMap<String, usize> = cr_models::params::param_infos(&model.net)
        .into_iter()
        .map(|i| (i.key, i.shape.iter().product()))
        .collect();
    let optim = part("optim.");
    for (k, t) in &optim {
        let param = k
            .strip_prefix("m.")
            .or_else(|| k.strip_prefix("v."))
            .ok_or_else(|| ctx(format!("unexpected optimizer tensor `optim.{k}`")))?;
        let want = sizes.get(param).ok_or_else(|| {
            ctx(format!(
                "optimizer tensor `optim.{k}` is for `{param}`, which is not in the model"
            ))
        })?;
        if t.shape != [*want] || t.data.len() != *want {
            return Err(ctx(format!(
                "optimizer tensor `optim.{k}` has shape {:?}, `{param}` has {want} values",
                t.shape
            )));
        }
    }
    optimizer
        .import(&optim, &state.optimizer_steps, ad)
        .map_err(|e| ctx(e.to_string()))?;
    Ok((state, model.for_training(ad), best.map(|b| b.snapshot())))
}
