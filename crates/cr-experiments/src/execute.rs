//! Running one config: load its data, build and train its model with its interventions,
//! optionally transfer it, and save everything into a folder atomically.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::prelude::*;
use cr_attacks::{Norm, PgdConfig, Replace, adversarial_batch};
use cr_data::{Dataset, Splits};
use cr_models::Model;
use cr_models::file::{load_model, save_model};
use cr_regularize::Regularizer;
use cr_train::{HookList, Hooks, RunOptions, TrainConfig, TrainMetrics, Trainable};

use crate::config::{AdversarialTraining, DataConfig, NormKind, RunConfig};
use crate::error::{ExpError, invalid};
use crate::store::{read_json, write_json};

/// Where and how runs execute.
#[derive(Debug, Clone)]
pub struct Context {
    /// The device (plain; autodiff is added where needed).
    pub device: Device,
    /// Root of full official data sets (`--data-dir`), if any.
    pub data_dir: Option<PathBuf>,
    /// Show progress bars.
    pub progress: bool,
}

impl Context {
    /// The CPU device, embedded data, no progress bars.
    pub fn cpu() -> Self {
        Self {
            device: cr_models::device::cpu(),
            data_dir: None,
            progress: false,
        }
    }
}

/// The attack norm of cr-attacks.
pub fn norm(n: NormKind) -> Norm {
    match n {
        NormKind::Linf => Norm::Linf,
        NormKind::L2 => Norm::L2,
    }
}

/// Loads a data config's splits (applying its subsets) and checks them against the model.
pub fn load_data(cfg: &DataConfig, ctx: &Context) -> Result<Splits, ExpError> {
    let mut s = cr_data::load(&cfg.name, ctx.data_dir.as_deref())
        .map_err(|e| ExpError::Data(e.to_string()))?;
    if let Some(n) = cfg.train_subset {
        s.train = s.train.balanced(n);
    }
    if let Some(n) = cfg.test_subset {
        s.test = s.test.balanced(n);
    }
    Ok(s)
}

fn check_model_fits(cfg: &RunConfig, data: &Dataset, field: &str) -> Result<(), ExpError> {
    if cfg.model.input != data.shape {
        return Err(invalid(
            &format!("{field}.input"),
            format!(
                "{:?} does not match the data `{}` ({:?})",
                cfg.model.input, data.name, data.shape
            ),
        ));
    }
    if cfg.model.num_classes != data.num_classes {
        return Err(invalid(
            &format!("{field}.num_classes"),
            format!(
                "{} does not match the data `{}` ({} classes)",
                cfg.model.num_classes, data.name, data.num_classes
            ),
        ));
    }
    Ok(())
}

/// PGD adversarial training as a training hook (SPEC §3): each minibatch gets a fraction of
/// its samples replaced by PGD examples computed on an evaluation copy of the current model.
#[derive(Debug, Clone)]
pub struct AdversarialHook {
    cfg: AdversarialTraining,
}

impl AdversarialHook {
    /// The hook for `cfg`.
    pub fn new(cfg: &AdversarialTraining) -> Self {
        Self { cfg: cfg.clone() }
    }

    /// The PGD configuration used at a step with seed `seed`.
    pub fn pgd(&self, seed: u64) -> PgdConfig {
        let mut p = PgdConfig::new(norm(self.cfg.norm), self.cfg.eps as f32);
        p.steps = self.cfg.steps;
        p.step_size = self.cfg.step() as f32;
        p.clip = self.cfg.clip;
        p.seed = seed;
        p
    }
}

impl Hooks for AdversarialHook {
    fn name(&self) -> String {
        format!(
            "pgd-at({} {} x{} f={})",
            self.cfg.norm, self.cfg.eps, self.cfg.steps, self.cfg.fraction
        )
    }

    fn transform_batch(
        &mut self,
        model: &Model,
        x: Tensor<4>,
        y: Tensor<1, Int>,
        seed: u64,
    ) -> Tensor<4> {
        let eval = model.snapshot();
        let f = |x: Tensor<4>| eval.forward(x);
        let device = x.device();
        match adversarial_batch(
            &f,
            x.clone(),
            y,
            &self.pgd(seed),
            self.cfg.fraction,
            Replace::First,
        ) {
            Ok(b) => b.x.to_device(&device).autodiff(),
            Err(e) => {
                // Only reachable with a config that validation rejects; keep training clean.
                tracing::error!("adversarial batch failed ({e}); using the clean batch");
                x
            }
        }
    }
}

/// Builds the hooks of a run: its regularisers (with Frobenius targets from `initial`) and
/// adversarial training.
pub fn hooks(cfg: &RunConfig, initial: &Model) -> Result<HookList, ExpError> {
    let mut list: Vec<Box<dyn Hooks>> = Vec::new();
    if !cfg.regularize.is_empty() {
        list.push(Box::new(
            Regularizer::new(&cfg.regularize, initial)
                .map_err(|e| invalid("regularize", e.to_string()))?,
        ));
    }
    if let Some(a) = &cfg.adversarial {
        list.push(Box::new(AdversarialHook::new(a)));
    }
    Ok(HookList(list))
}

/// What training produced.
#[derive(Debug, Clone)]
pub struct Trained {
    /// The model (evaluation snapshot): the pretrained model, or after transfer the model
    /// with its new head.
    pub model: Model,
    /// Training metrics (pretraining).
    pub metrics: TrainMetrics,
    /// Head-training metrics of the transfer stage.
    pub transfer_metrics: Option<TrainMetrics>,
    /// The data the model is evaluated on (the transfer target's, when there is one).
    pub eval_data: Splits,
}

/// Trains the model of `cfg`, writing `model.safetensors`, `metrics.json` (and the
/// transfer stage's) into `dir` when given, and checkpointing there after every epoch. If the
/// folder already holds a finished model and metrics, they are loaded instead of retrained.
pub fn train_run(cfg: &RunConfig, dir: Option<&Path>, ctx: &Context) -> Result<Trained, ExpError> {
    cfg.validate()?;
    let data = load_data(&cfg.data, ctx)?;
    check_model_fits(cfg, &data.train, "model")?;
    let model_path = dir.map(|d| d.join("model.safetensors"));
    let metrics_path = dir.map(|d| d.join("metrics.json"));
    let finished = match (&model_path, &metrics_path) {
        (Some(m), Some(t)) if m.exists() => {
            read_json::<TrainMetrics>(t).map(|metrics| (m, metrics))
        }
        _ => None,
    };
    let (model, metrics) = match finished {
        Some((path, metrics)) => {
            tracing::info!("{}: trained model found, not retraining", path.display());
            (load_model(path, &ctx.device)?, metrics)
        }
        None => {
            let initial = Model::new(&cfg.model, &ctx.device, cfg.init_seed)?;
            let mut hooks = hooks(cfg, &initial)?;
            let options = RunOptions {
                checkpoint: dir.map(|d| d.join("train.ckpt")),
                progress: ctx.progress,
                label: dir
                    .and_then(|d| d.file_name())
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "train".into()),
            };
            let out = cr_train::train(
                initial,
                &data.train,
                &cfg.train,
                &mut hooks,
                &options,
                &ctx.device,
            )?;
            if let (Some(m), Some(t)) = (&model_path, &metrics_path) {
                save_model(&out.model, m, &model_metadata(cfg))?;
                write_json(t, &out.metrics)?;
                if let Some(c) = &options.checkpoint {
                    let _ = std::fs::remove_file(c);
                }
            }
            (out.model, out.metrics)
        }
    };
    match &cfg.transfer {
        None => Ok(Trained {
            model,
            metrics,
            transfer_metrics: None,
            eval_data: data,
        }),
        Some(t) => {
            let target = load_data(&t.data, ctx)?;
            if target.train.shape != cfg.model.input {
                return Err(invalid(
                    "transfer.data",
                    format!(
                        "images of {:?} do not fit the pretrained encoder's input {:?}",
                        target.train.shape, cfg.model.input
                    ),
                ));
            }
            let head_path = dir.map(|d| d.join("transfer_model.safetensors"));
            let head_metrics_path = dir.map(|d| d.join("transfer_metrics.json"));
            let done = match (&head_path, &head_metrics_path) {
                (Some(m), Some(p)) if m.exists() => read_json::<TrainMetrics>(p).map(|x| (m, x)),
                _ => None,
            };
            let (model, tm) = match done {
                Some((path, tm)) => (load_model(path, &ctx.device)?, tm),
                None => {
                    let fresh =
                        model.with_new_head(target.train.num_classes, cfg.init_seed ^ 0x7472)?;
                    let tc = TrainConfig {
                        trainable: Trainable::HeadOnly,
                        ..t.train.clone()
                    };
                    let options = RunOptions {
                        checkpoint: dir.map(|d| d.join("transfer.ckpt")),
                        progress: ctx.progress,
                        label: "transfer".into(),
                    };
                    let out = cr_train::train(
                        fresh,
                        &target.train,
                        &tc,
                        &mut cr_train::NoHooks,
                        &options,
                        &ctx.device,
                    )?;
                    if let (Some(m), Some(p)) = (&head_path, &head_metrics_path) {
                        save_model(&out.model, m, &model_metadata(cfg))?;
                        write_json(p, &out.metrics)?;
                        if let Some(c) = &options.checkpoint {
                            let _ = std::fs::remove_file(c);
                        }
                    }
                    (out.model, out.metrics)
                }
            };
            Ok(Trained {
                model,
                metrics,
                transfer_metrics: Some(tm),
                eval_data: target,
            })
        }
    }
}

/// Metadata stored beside `cr.model` in model files: the run config that trained it.
pub fn model_metadata(cfg: &RunConfig) -> BTreeMap<String, String> {
    let mut m = BTreeMap::new();
    m.insert("cr.run_config".to_string(), cfg.to_toml());
    m.insert(
        "cr.version".to_string(),
        env!("CARGO_PKG_VERSION").to_string(),
    );
    m
}
