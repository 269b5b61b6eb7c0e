//! Running one config: load its data, build and train its model with its interventions,
//! optionally transfer it, and save everything into a folder atomically.

use std::collections::BTreeMap;
use std::path::Path;

use burn::prelude::*;
use cr_attacks::{PgdConfig, Replace, adversarial_batch};
use cr_data::{Dataset, Splits};
use cr_models::Model;
use cr_models::file::{load_model, save_model};
use cr_regularize::Regularizer;
use cr_train::{HookList, Hooks, TrainConfig, TrainMetrics, TrainOptions, Trainable};

use crate::config::{AdversarialTraining, AtLabels, DataConfig, RunConfig};
use crate::error::{ExpError, invalid};
use crate::store::{read_json, write_json};

pub use cr_eval::Context;

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

/// The model spec a run trains: `cfg.model`, with the input normalisation of its data filled
/// in when the spec has none and `data.normalize` is on (the default): the data set's
/// published per-channel statistics (`cr_data::Kind::normalization`, the authors' values), or
/// the training split's own for sets without them.
pub fn model_spec(cfg: &RunConfig, train: &Dataset) -> Result<cr_models::ModelSpec, ExpError> {
    let mut spec = cfg.model.clone();
    if spec.normalize.is_none() && cfg.data.normalize {
        let name = cfg.data.name.split(':').next().unwrap_or("").trim();
        let kind =
            cr_data::Kind::from_name(name).map_err(|e| invalid("data.name", e.to_string()))?;
        let (mean, std) = match kind.normalization() {
            Some((m, s)) => (m.to_vec(), s.to_vec()),
            None => {
                let (m, s) = train.channel_stats();
                // A constant channel has no spread to divide by: leave it unscaled.
                (
                    m,
                    s.into_iter()
                        .map(|v| if v > 1e-6 { v } else { 1.0 })
                        .collect(),
                )
            }
        };
        spec.normalize = Some(cr_models::Normalize { mean, std });
    }
    spec.validate()
        .map_err(|e| invalid("model.normalize", e.to_string()))?;
    Ok(spec)
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
        let mut p = PgdConfig::new(self.cfg.norm, self.cfg.eps as f32);
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
    ) -> Result<Tensor<4>, String> {
        let eval = model.snapshot();
        let f = |x: Tensor<4>| eval.forward(x);
        let device = x.device();
        let y = attack_labels(&f, &x, y, self.cfg.labels);
        let b = adversarial_batch(&f, x, y, &self.pgd(seed), self.cfg.fraction, Replace::First)
            .map_err(|e| format!("the adversarial batch could not be computed: {e}"))?;
        Ok(b.x.to_device(&device).autodiff())
    }
}

/// The labels adversarial training attacks: the model's predictions on the clean batch
/// ([`AtLabels::Predicted`], advcomp's choice) or the true labels.
pub fn attack_labels(
    model: &dyn Fn(Tensor<4>) -> Tensor<2>,
    x: &Tensor<4>,
    y: Tensor<1, Int>,
    labels: AtLabels,
) -> Tensor<1, Int> {
    match labels {
        AtLabels::True => y,
        AtLabels::Predicted => {
            let [n, ..] = x.dims();
            model(x.clone().inner()).argmax(1).reshape([n])
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
    let label = dir
        .and_then(|d| d.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "train".into());
    let stage = Stage {
        model: "model.safetensors",
        metrics: "metrics.json",
        checkpoint: "train.ckpt",
        label,
    };
    let (model, metrics) = reuse_or_train(dir, stage, cfg, ctx, |options| {
        let spec = model_spec(cfg, &data.train)?;
        let initial = Model::new(&spec, &ctx.device, cfg.init_seed)?;
        let mut hooks = hooks(cfg, &initial)?;
        Ok(cr_train::train(
            initial,
            &data.train,
            &cfg.train,
            &mut hooks,
            options,
            &ctx.device,
        )?)
    })?;
    match &cfg.transfer {
        None => Ok(Trained {
            model,
            metrics,
            transfer_metrics: None,
            eval_data: data,
        }),
        Some(t) => {
            let (model, tm, target) = transfer(cfg, t, model, dir, ctx)?;
            Ok(Trained {
                model,
                metrics,
                transfer_metrics: Some(tm),
                eval_data: target,
            })
        }
    }
}

/// The transfer stage: a fresh linear head trained on `t.data` on the frozen encoder of
/// `model` (or the finished one reused); returns the model, its metrics and the target data.
fn transfer(
    cfg: &RunConfig,
    t: &crate::config::Transfer,
    model: Model,
    dir: Option<&Path>,
    ctx: &Context,
) -> Result<(Model, TrainMetrics, Splits), ExpError> {
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
    let stage = Stage {
        model: "transfer_model.safetensors",
        metrics: "transfer_metrics.json",
        checkpoint: "transfer.ckpt",
        label: "transfer".into(),
    };
    let (model, tm) = reuse_or_train(dir, stage, cfg, ctx, |options| {
        let fresh = model.with_new_head(target.train.num_classes, cfg.init_seed ^ 0x7472)?;
        let tc = TrainConfig {
            trainable: Trainable::HeadOnly,
            ..t.train.clone()
        };
        Ok(cr_train::train(
            fresh,
            &target.train,
            &tc,
            &mut cr_train::NoHooks,
            options,
            &ctx.device,
        )?)
    })?;
    Ok((model, tm, target))
}

/// Where one training stage keeps its outputs in a run folder.
struct Stage {
    /// The trained model's file.
    model: &'static str,
    /// Its training metrics.
    metrics: &'static str,
    /// The checkpoint while it trains (removed once the model is saved).
    checkpoint: &'static str,
    /// The progress bar's label.
    label: String,
}

/// A stage's finished model and metrics from `dir` when both are there; otherwise `train`
/// runs (checkpointing into `dir`), and its model and metrics are saved there.
fn reuse_or_train(
    dir: Option<&Path>,
    stage: Stage,
    cfg: &RunConfig,
    ctx: &Context,
    train: impl FnOnce(&TrainOptions) -> Result<cr_train::TrainOutcome, ExpError>,
) -> Result<(Model, TrainMetrics), ExpError> {
    let model_path = dir.map(|d| d.join(stage.model));
    let metrics_path = dir.map(|d| d.join(stage.metrics));
    if let (Some(m), Some(t)) = (&model_path, &metrics_path)
        && m.exists()
        && let Some(metrics) = read_json::<TrainMetrics>(t)
    {
        tracing::info!("{}: trained model found, not retraining", m.display());
        return Ok((load_model(m, &ctx.device)?, metrics));
    }
    let options = TrainOptions {
        checkpoint: dir.map(|d| d.join(stage.checkpoint)),
        progress: ctx.progress,
        label: stage.label,
    };
    let out = train(&options)?;
    if let (Some(m), Some(t)) = (&model_path, &metrics_path) {
        save_model(&out.model, m, &model_metadata(cfg))?;
        write_json(t, &out.metrics)?;
        if let Some(c) = &options.checkpoint {
            let _ = std::fs::remove_file(c);
        }
    }
    Ok((out.model, out.metrics))
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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn cpu() -> Device {
        Device::flex()
    }

    /// Adversarial training attacks the model's predictions by default (advcomp calls ART's
    /// `generate(x)` without y); `labels = "true"` attacks the data's labels.
    #[test]
    fn adversarial_training_labels_default_to_predictions() {
        // A "model" whose logits are the two input pixels: predictions [0, 1, 1].
        let x = Tensor::<4>::from_data(
            TensorData::new(vec![0.9f32, 0.1, 0.2, 0.8, 0.4, 0.6], [3, 1, 1, 2]),
            &cpu(),
        );
        let y = Tensor::<1, Int>::from_data(TensorData::new(vec![1i64, 1, 0], [3]), &cpu());
        let f = |x: Tensor<4>| x.reshape([3, 2]);
        let host = |t: Tensor<1, Int>| t.into_data().try_into_vec_as::<i64>().unwrap();
        assert_eq!(
            host(attack_labels(&f, &x, y.clone(), AtLabels::Predicted)),
            vec![0, 1, 1]
        );
        assert_eq!(
            host(attack_labels(&f, &x, y, AtLabels::True)),
            vec![1, 1, 0]
        );
        let at: AdversarialTraining = toml::from_str("norm = \"linf\"\neps = 0.1").unwrap();
        assert_eq!(at.labels, AtLabels::Predicted);
        let at: AdversarialTraining =
            toml::from_str("norm = \"linf\"\neps = 0.1\nlabels = \"true\"").unwrap();
        assert_eq!(at.labels, AtLabels::True);
        assert!(
            toml::from_str::<AdversarialTraining>("norm = \"linf\"\neps = 0.1\nlabels = \"y\"")
                .is_err()
        );
    }

    fn run_config(extra_data: &str, extra_model: &str, name: &str) -> RunConfig {
        toml::from_str(&format!(
            "[data]\nname = \"{name}\"\n{extra_data}\n[model]\ninput = [1, 8, 8]\nnum_classes = 10\n{extra_model}\n[model.arch]\nkind = \"fcn\"\nwidth = 4\ndepth = 1\n"
        ))
        .unwrap()
    }

    /// Normalisation is on by default: MNIST gets advcomp's 0.1307/0.3081; a set without
    /// published statistics gets its training split's (checked against a host computation);
    /// `data.normalize = false` turns it off; a spec's own statistics win.
    #[test]
    fn normalisation_is_filled_in_by_default() {
        let tiny = Dataset {
            name: "t".into(),
            images: vec![0.0, 0.5, 1.0, 0.5, 0.25, 0.25, 0.75, 0.75],
            labels: vec![0, 1],
            shape: [1, 2, 2],
            num_classes: 10,
        };
        let spec = model_spec(&run_config("", "", "mnist"), &tiny).unwrap();
        let n = spec.normalize.unwrap();
        assert_eq!((n.mean, n.std), (vec![0.1307], vec![0.3081]));
        let cfg = run_config("", "", "uci-digits");
        let n = model_spec(&cfg, &tiny).unwrap().normalize.unwrap();
        // Pixels 0, .5, 1, .5, .25, .25, .75, .75: mean 0.5, E[x²] = 2.75/8, var 0.75/8.
        assert!((n.mean[0] - 0.5).abs() < 1e-12);
        assert!(
            (n.std[0] - (0.75f64 / 8.0).sqrt()).abs() < 1e-7,
            "{:?}",
            n.std
        );
        let off = run_config("normalize = false", "", "mnist");
        assert!(!off.data.normalize);
        assert!(model_spec(&off, &tiny).unwrap().normalize.is_none());
        let own = run_config("", "normalize = { mean = [0.5], std = [0.25] }", "mnist");
        let n = model_spec(&own, &tiny).unwrap().normalize.unwrap();
        assert_eq!((n.mean, n.std), (vec![0.5], vec![0.25]));
    }

    /// An adversarial batch that cannot be computed is an error, not a clean batch.
    #[test]
    fn a_failed_adversarial_batch_is_an_error() {
        let spec: cr_models::ModelSpec = serde_json::from_str(
            r#"{"arch": {"kind": "fcn", "width": 4, "depth": 1}, "input": [1, 1, 2], "num_classes": 2}"#,
        )
        .unwrap();
        let model = Model::new(&spec, &cpu(), 0).unwrap();
        let mut hook = AdversarialHook::new(&AdversarialTraining {
            norm: crate::config::Norm::Linf,
            eps: -1.0,
            steps: 2,
            step_size: None,
            fraction: 0.5,
            clip: false,
            labels: AtLabels::True,
        });
        let x = Tensor::<4>::zeros([2, 1, 1, 2], &cpu());
        let y = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 1], [2]), &cpu());
        let e = hook.transform_batch(&model, x, y, 0).unwrap_err();
        assert!(e.contains("adversarial batch"), "{e}");
    }
}
