//! The training loop: learning, determinism, early stopping, head-only training, and resume
//! after an interruption giving the same result as an uninterrupted run.

#![allow(clippy::unwrap_used)] // tests and examples may panic on their own fixtures

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};

use common::Blobs;
use cr_models::device::cpu;
use cr_models::file::model_tensors;
use cr_models::{Arch, Model, ModelSpec};
use cr_train::{
    EarlyStopping, Hooks, NoHooks, OptimizerConfig, Schedule, TrainConfig, TrainOptions, Trainable,
    evaluate, train,
};

fn fcn(depth: usize) -> ModelSpec {
    ModelSpec {
        arch: Arch::Fcn {
            width: 16,
            depth,
            bias: true,
            layer_rank: None,
        },
        input: [1, 3, 3],
        num_classes: 3,
        pruned: Default::default(),
        normalize: None,
    }
}

fn quick(epochs: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: 20,
        early_stopping: None,
        seed: 11,
        ..TrainConfig::default()
    }
}

#[test]
fn training_learns_separable_blobs() {
    let data = Blobs::new(300, 3, [1, 3, 3], 1);
    let device = cpu();
    let model = Model::new(&fcn(1), &device, 0).unwrap();
    let all: Vec<usize> = (0..300).collect();
    let before = evaluate(&model, &data, &all, 100, &device);
    let out = train(
        model,
        &data,
        &quick(15),
        &mut NoHooks,
        &TrainOptions::default(),
        &device,
    )
    .unwrap();
    let after = evaluate(&out.model, &data, &all, 100, &device);
    assert!(after.loss < before.loss * 0.7, "{before:?} -> {after:?}");
    assert!(after.accuracy > 0.95, "{after:?}");
    assert_eq!(out.metrics.epochs.len(), 15);
    let first = out.metrics.epochs[0].train_loss;
    let last = out.metrics.epochs[14].train_loss;
    assert!(last < first);
}

#[test]
fn same_seed_gives_bit_identical_models() {
    let data = Blobs::new(120, 3, [1, 3, 3], 2);
    let device = cpu();
    let run = || {
        let model = Model::new(&fcn(2), &device, 4).unwrap();
        let cfg = TrainConfig {
            augment: true,
            ..quick(3)
        };
        let out = train(
            model,
            &data,
            &cfg,
            &mut NoHooks,
            &TrainOptions::default(),
            &device,
        )
        .unwrap();
        (model_tensors(&out.model), out.metrics)
    };
    let (a, ma) = run();
    let (b, mb) = run();
    assert_eq!(a, b);
    assert_eq!(
        ma.epochs.iter().map(|e| e.train_loss).collect::<Vec<_>>(),
        mb.epochs.iter().map(|e| e.train_loss).collect::<Vec<_>>()
    );
}

#[test]
fn every_optimizer_and_schedule_trains() {
    let data = Blobs::new(90, 3, [1, 3, 3], 3);
    let device = cpu();
    for (opt, sched) in [
        (
            OptimizerConfig::Sgd {
                lr: 0.1,
                momentum: 0.9,
                weight_decay: 5e-4,
                nesterov: true,
            },
            Schedule::Cosine { min_lr: 0.0 },
        ),
        (
            OptimizerConfig::default(),
            Schedule::Step {
                every: 2,
                gamma: 0.5,
            },
        ),
    ] {
        let model = Model::new(&fcn(1), &device, 0).unwrap();
        let cfg = TrainConfig {
            optimizer: opt,
            schedule: sched.clone(),
            ..quick(4)
        };
        let out = train(
            model,
            &data,
            &cfg,
            &mut NoHooks,
            &TrainOptions::default(),
            &device,
        )
        .unwrap();
        let lrs: Vec<f64> = out.metrics.epochs.iter().map(|e| e.lr).collect();
        let want: Vec<f64> = (0..4).map(|e| sched.lr(cfg.optimizer.lr(), e, 4)).collect();
        assert_eq!(lrs, want);
        assert!(out.metrics.epochs[3].train_loss < out.metrics.epochs[0].train_loss);
    }
}

#[test]
fn early_stopping_keeps_the_best_validation_model() {
    let data = Blobs::new(150, 3, [1, 3, 3], 5);
    let device = cpu();
    let model = Model::new(&fcn(1), &device, 0).unwrap();
    // A learning rate so high that validation loss wanders: the kept model must be the one
    // with the lowest validation loss, and the run must stop `patience` epochs after it.
    let cfg = TrainConfig {
        optimizer: OptimizerConfig::Sgd {
            lr: 3.0,
            momentum: 0.9,
            weight_decay: 0.0,
            nesterov: false,
        },
        early_stopping: Some(EarlyStopping {
            patience: 2,
            min_delta: 0.0,
        }),
        val_fraction: 0.2,
        ..quick(30)
    };
    let out = train(
        model,
        &data,
        &cfg,
        &mut NoHooks,
        &TrainOptions::default(),
        &device,
    )
    .unwrap();
    let m = &out.metrics;
    let best = m.best_epoch.expect("validation is on");
    let min = m
        .epochs
        .iter()
        .map(|e| e.val_loss)
        .fold(f64::INFINITY, f64::min);
    assert_eq!(m.epochs[best].val_loss, min);
    if m.stopped_early {
        assert_eq!(m.epochs.len(), best + 1 + 2);
    }
    // The returned model is the best one: its validation loss is the recorded minimum.
    let (_, val) = cr_train::data::split_indices(&data, 0.2, cfg.seed).unwrap();
    let e = evaluate(&out.model, &data, &val, 500, &device);
    assert!((e.loss - min).abs() < 1e-5, "{} vs {}", e.loss, min);
}

#[test]
fn head_only_training_leaves_the_encoder_untouched() {
    let data = Blobs::new(90, 3, [1, 3, 3], 6);
    let device = cpu();
    let model = Model::new(&fcn(2), &device, 0).unwrap();
    let before = model_tensors(&model);
    let cfg = TrainConfig {
        trainable: Trainable::HeadOnly,
        ..quick(3)
    };
    let out = train(
        model,
        &data,
        &cfg,
        &mut NoHooks,
        &TrainOptions::default(),
        &device,
    )
    .unwrap();
    let after = model_tensors(&out.model);
    for (k, v) in &before {
        if k.starts_with("head.") {
            assert_ne!(&after[k], v, "{k} should have changed");
        } else {
            assert_eq!(&after[k], v, "{k} must not change");
        }
    }
}

/// A hook that aborts the run (as a kill would) at a given step.
struct Crash(Option<u64>, u64);
impl Hooks for Crash {
    fn name(&self) -> String {
        "crash".into()
    }
    fn after_step(&mut self, model: Model) -> Model {
        self.1 += 1;
        if Some(self.1) == self.0 {
            panic!("simulated kill at step {}", self.1);
        }
        model
    }
    fn state(&self) -> serde_json::Value {
        serde_json::json!(self.1)
    }
    fn restore(&mut self, s: &serde_json::Value) -> Result<(), String> {
        self.1 = s.as_u64().ok_or("bad state")?;
        Ok(())
    }
}

#[test]
fn resume_after_a_kill_ends_bit_identical() {
    let data = Blobs::new(100, 3, [1, 3, 3], 7);
    let device = cpu();
    let spec = fcn(2);
    let cfg = TrainConfig {
        augment: true,
        val_fraction: 0.2,
        early_stopping: Some(EarlyStopping::default()),
        schedule: Schedule::Cosine { min_lr: 1e-5 },
        ..quick(5)
    };
    // Uninterrupted.
    let dir = tempfile::tempdir().unwrap();
    let opts = |name: &str| TrainOptions {
        checkpoint: Some(dir.path().join(name)),
        ..TrainOptions::default()
    };
    let model = Model::new(&spec, &device, 9).unwrap();
    let full = train(
        model,
        &data,
        &cfg,
        &mut Crash(None, 0),
        &opts("a.ckpt"),
        &device,
    )
    .unwrap();
    // Killed in the middle of epoch 3 (4 steps per epoch: step 11), then resumed.
    let model = Model::new(&spec, &device, 9).unwrap();
    let crashed = catch_unwind(AssertUnwindSafe(|| {
        train(
            model,
            &data,
            &cfg,
            &mut Crash(Some(11), 0),
            &opts("b.ckpt"),
            &device,
        )
    }));
    assert!(crashed.is_err());
    let model = Model::new(&spec, &device, 9).unwrap();
    let resumed = train(
        model,
        &data,
        &cfg,
        &mut Crash(None, 0),
        &opts("b.ckpt"),
        &device,
    )
    .unwrap();
    assert_eq!(model_tensors(&full.model), model_tensors(&resumed.model));
    assert_eq!(full.metrics.epochs.len(), resumed.metrics.epochs.len());
    for (a, b) in full.metrics.epochs.iter().zip(&resumed.metrics.epochs) {
        assert_eq!(
            (a.train_loss, a.val_loss, a.steps),
            (b.train_loss, b.val_loss, b.steps)
        );
    }
    // A checkpoint from another config is refused, not silently reused.
    let other = TrainConfig {
        seed: 99,
        ..cfg.clone()
    };
    let model = Model::new(&spec, &device, 9).unwrap();
    let err = train(
        model,
        &data,
        &other,
        &mut Crash(None, 0),
        &opts("b.ckpt"),
        &device,
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("different training config"), "{err}");
}

#[test]
fn bad_configs_name_the_field() {
    let data = Blobs::new(30, 3, [1, 3, 3], 8);
    let device = cpu();
    let cases = [
        (
            TrainConfig {
                batch_size: 0,
                ..quick(1)
            },
            "train.batch_size",
        ),
        (
            TrainConfig {
                val_fraction: f64::NAN,
                ..quick(1)
            },
            "train.val_fraction",
        ),
        (
            TrainConfig {
                optimizer: OptimizerConfig::Adamw {
                    lr: -1.0,
                    weight_decay: 0.0,
                    beta1: 0.9,
                    beta2: 0.999,
                    eps: 1e-8,
                },
                ..quick(1)
            },
            "optimizer.lr",
        ),
    ];
    for (cfg, field) in cases {
        let model = Model::new(&fcn(1), &device, 0).unwrap();
        let err = train(
            model,
            &data,
            &cfg,
            &mut NoHooks,
            &TrainOptions::default(),
            &device,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains(field), "{err}");
    }
    let toml_err = toml::from_str::<TrainConfig>("epochs = 3\nbatchsize = 5\n")
        .unwrap_err()
        .to_string();
    assert!(toml_err.contains("batchsize"), "{toml_err}");
}

#[test]
fn every_architecture_takes_a_training_step() {
    let device = cpu();
    let specs = [
        (
            Arch::Cnn {
                channels: vec![2, 3],
                hidden: 4,
                layer_rank: Some(1),
            },
            [1, 8, 8],
        ),
        (
            Arch::Resnet {
                blocks: [1, 1, 1, 1],
                bottleneck: false,
                width: 2,
                width_per_group: 64,
                layer_rank: Some(1),
                stem: Default::default(),
            },
            [3, 8, 8],
        ),
        (
            Arch::Vgg {
                config: vec![2, 0, 4, 0],
                layer_rank: None,
            },
            [1, 8, 8],
        ),
        (
            Arch::Wrn {
                depth: 10,
                widen: 1,
                layer_rank: None,
            },
            [3, 8, 8],
        ),
        (
            Arch::Vit {
                patch: 4,
                dim: 8,
                depth: 1,
                heads: 2,
                mlp_dim: 8,
            },
            [3, 8, 8],
        ),
    ];
    for (arch, input) in specs {
        let spec = ModelSpec {
            arch,
            input,
            num_classes: 3,
            pruned: Default::default(),
            normalize: None,
        };
        let data = Blobs::new(12, 3, input, 9);
        let model = Model::new(&spec, &device, 0).unwrap();
        let before = model_tensors(&model);
        let cfg = TrainConfig {
            max_steps: Some(1),
            val_fraction: 0.0,
            ..quick(1)
        };
        let out = train(
            model,
            &data,
            &cfg,
            &mut NoHooks,
            &TrainOptions::default(),
            &device,
        )
        .unwrap();
        assert_eq!(out.metrics.steps, 1);
        let after = model_tensors(&out.model);
        let changed = before.iter().filter(|(k, v)| &after[*k] != *v).count();
        // Every trainable tensor moves under AdamW with weight decay (running stats too).
        let trainable = before.len();
        assert!(
            changed * 10 >= trainable * 9,
            "{}: {changed}/{trainable} changed",
            spec.arch_name()
        );
        let x: Vec<f32> = after
            .values()
            .flat_map(|t| t.data.iter().copied())
            .collect();
        assert!(x.iter().all(|v| v.is_finite()));
    }
}

/// Regression (fuzz/ `checkpoint`, found reading the loader): optimiser moments were imported
/// without comparing their length with the parameter's, so a damaged checkpoint failed (or
/// silently broadcast a length-1 moment) at the first step after resuming.
#[test]
fn checkpoint_with_misfit_optimizer_state_is_refused() {
    use cr_models::file::{from_safetensors_bytes, to_safetensors_bytes};
    let data = Blobs::new(60, 3, [1, 3, 3], 5);
    let device = cpu();
    let spec = fcn(1);
    let cfg = quick(1);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.ckpt");
    let opts = TrainOptions {
        checkpoint: Some(path.clone()),
        ..TrainOptions::default()
    };
    let model = Model::new(&spec, &device, 1).unwrap();
    train(model, &data, &cfg, &mut NoHooks, &opts, &device).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    let template = Model::new(&spec, &device, 1).unwrap();
    cr_train::check_checkpoint(&bytes, &path, &cfg, &template, &device).unwrap();

    let (tensors, meta) = from_safetensors_bytes(&bytes).unwrap();
    let rewrite = |edit: &dyn Fn(&mut cr_models::file::TensorMap)| {
        let mut t = tensors.clone();
        edit(&mut t);
        let b = to_safetensors_bytes(&t, meta.clone()).unwrap();
        cr_train::check_checkpoint(&b, &path, &cfg, &template, &device)
            .unwrap_err()
            .to_string()
    };
    let key = tensors
        .keys()
        .find(|k| k.starts_with("optim.m."))
        .unwrap()
        .clone();
    let short = rewrite(&|t| {
        let m = t.get_mut(&key).unwrap();
        m.data.truncate(1);
        m.shape = vec![1];
    });
    assert!(
        short.contains(&key) && short.contains("shape [1]"),
        "{short}"
    );
    let stray = rewrite(&|t| {
        let m = t[&key].clone();
        t.insert("optim.m.nowhere.weight".into(), m);
    });
    assert!(stray.contains("nowhere.weight"), "{stray}");
    let odd = rewrite(&|t| {
        let m = t[&key].clone();
        t.insert("optim.q.x".into(), m);
    });
    assert!(odd.contains("optim.q.x"), "{odd}");
}

/// Regression (fuzz/ `checkpoint` seed run): a run without early stopping keeps its best
/// validation loss at ∞ and a run without a validation split has NaN validation metrics;
/// serde_json writes both as `null` and then refused to read its own checkpoint, so such a
/// run could never resume.
#[test]
fn checkpoint_with_non_finite_values_resumes() {
    let data = Blobs::new(60, 3, [1, 3, 3], 5);
    let device = cpu();
    let spec = fcn(1);
    let cfg = TrainConfig {
        val_fraction: 0.0,
        ..quick(1)
    };
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.ckpt");
    let opts = TrainOptions {
        checkpoint: Some(path.clone()),
        ..TrainOptions::default()
    };
    let run = || {
        let model = Model::new(&spec, &device, 1).unwrap();
        train(model, &data, &cfg, &mut NoHooks, &opts, &device).unwrap()
    };
    let first = run();
    assert!(first.metrics.epochs[0].val_loss.is_nan());
    // The second run finds the first one's finished checkpoint and resumes from it.
    let again = run();
    assert_eq!(model_tensors(&first.model), model_tensors(&again.model));
    assert!(again.metrics.epochs[0].val_loss.is_nan());
}

/// A hook that cannot transform a batch stops training with an error naming it and the step
/// (training never continues on a batch other than the one asked for).
#[test]
fn a_failing_batch_transform_stops_training() {
    struct Failing;
    impl Hooks for Failing {
        fn name(&self) -> String {
            "failing".into()
        }
        fn transform_batch(
            &mut self,
            _model: &Model,
            _x: burn::prelude::Tensor<4>,
            _y: burn::prelude::Tensor<1, burn::prelude::Int>,
            _seed: u64,
        ) -> Result<burn::prelude::Tensor<4>, String> {
            Err("no adversarial batch".into())
        }
    }
    let data = Blobs::new(60, 3, [1, 3, 3], 4);
    let device = cpu();
    let model = Model::new(&fcn(1), &device, 0).unwrap();
    let e = train(
        model,
        &data,
        &quick(1),
        &mut Failing,
        &TrainOptions::default(),
        &device,
    )
    .err()
    .unwrap();
    assert!(
        matches!(&e, cr_train::TrainError::Hook { hook, step: 0, message } if hook == "failing" && message.contains("no adversarial")),
        "{e}"
    );
}
