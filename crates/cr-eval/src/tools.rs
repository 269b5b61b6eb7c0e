//! The library side of the single-model commands (`attack`, `analyze`, `prune`): load a model
//! file and data, run, return a serialisable report. The CLI only parses and prints.

use std::path::Path;
use std::time::Instant;

use burn::prelude::*;
use serde::Serialize;

use cr_attacks::{AttackOptions, UapConfig, universal_perturbation, worst_case};
use cr_data::Dataset;
use cr_models::Model;
use cr_models::file::load_model;

use crate::attacking::{ATTACK_BATCH, attack_of, worst_case_of};
use crate::config::{AttackSpec, Norm};
use crate::context::Context;
use crate::error::{EvalError, err, invalid, readback};

/// Which split of a data set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// Training split.
    Train,
    /// Test split.
    Test,
}

impl std::str::FromStr for Split {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "train" => Ok(Split::Train),
            "test" => Ok(Split::Test),
            o => Err(format!("`{o}` is neither `train` nor `test`")),
        }
    }
}

/// Loads a model file and checks it against a data set.
pub fn load_for(path: &Path, data: &Dataset, ctx: &Context) -> Result<Model, EvalError> {
    let model = load_model(path, &ctx.device)?;
    if model.spec.input != data.shape || model.spec.num_classes != data.num_classes {
        return Err(EvalError::Mismatch {
            path: path.to_path_buf(),
            problem: format!(
                "the model takes {:?} inputs with {} classes, the data `{}` has {:?} with {} classes",
                model.spec.input, model.spec.num_classes, data.name, data.shape, data.num_classes
            ),
        });
    }
    Ok(model)
}

/// Which samples of a split a single-model command takes (reported in its JSON as
/// `{"rule": "first", "n": 500}` and the like).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "rule", content = "n", rename_all = "kebab-case")]
pub enum SampleSelection {
    /// Every sample of the split.
    All,
    /// `n` samples, class-balanced: round robin over the classes, each class's samples in
    /// file order, then sorted back into file order (cr's `--n`).
    Balanced(usize),
    /// The first `n` samples in file order (`--first`: the images AutoAttack, RobustBench
    /// and torchattacks evaluate on).
    First(usize),
}

impl SampleSelection {
    /// `--n` / `--first` as given (at most one of them).
    pub fn from_flags(n: Option<usize>, first: Option<usize>) -> Result<Self, EvalError> {
        match (n, first) {
            (Some(_), Some(_)) => Err(invalid(
                "--n, --first",
                "--n (class-balanced) and --first (file order) exclude each other",
            )),
            (Some(n), None) => Ok(SampleSelection::Balanced(n)),
            (None, Some(n)) => Ok(SampleSelection::First(n)),
            (None, None) => Ok(SampleSelection::All),
        }
    }

    /// The selected samples of `d`.
    pub fn apply(&self, d: Dataset) -> Dataset {
        match *self {
            SampleSelection::All => d,
            SampleSelection::Balanced(n) => d.balanced(n),
            SampleSelection::First(n) => d.first(n),
        }
    }
}

/// The samples to attack: the first `n` (class-balanced) of the split.
pub fn samples(
    spec: &str,
    split: Split,
    n: Option<usize>,
    ctx: &Context,
) -> Result<Dataset, EvalError> {
    let sel = n.map_or(SampleSelection::All, SampleSelection::Balanced);
    select_samples(spec, split, sel, ctx)
}

/// The samples of `split` that `sel` picks.
pub fn select_samples(
    spec: &str,
    split: Split,
    sel: SampleSelection,
    ctx: &Context,
) -> Result<Dataset, EvalError> {
    let s =
        cr_data::load(spec, ctx.data_dir.as_deref()).map_err(|e| EvalError::Data(e.to_string()))?;
    let d = match split {
        Split::Train => s.train,
        Split::Test => s.test,
    };
    Ok(sel.apply(d))
}

/// One attack's line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct AttackLine {
    /// Every parameter used.
    pub params: cr_attacks::AttackParams,
    /// Robust accuracy.
    pub robust_accuracy: f64,
    /// Seconds.
    pub seconds: f64,
    /// AutoAttack: each component's share, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub stages: Vec<cr_attacks::StageResult>,
    /// AutoAttack: per sample, the component that broke it (`null`: robust or
    /// misclassified without perturbation).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broken_by: Option<Vec<Option<String>>>,
    /// Forward and backward passes, per sample (a batch of B is B passes).
    pub passes: cr_attacks::PassCount,
    /// Where the adversarial examples lie: largest perturbation in the attack's norm, value
    /// range, NaNs (every point must be in the ε-ball and in `[0, 1]`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub perturbation: Option<cr_attacks::Perturbation>,
    /// The certified lower bound at the same norm and ε (FCNs only: see
    /// [`crate::certify`]); its `certified_accuracy` is at most `robust_accuracy`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub certificate: Option<crate::certify::Certificate>,
}

/// What `attack` reports.
#[derive(Debug, Clone, Serialize)]
pub struct AttackReport {
    /// Model file.
    pub model: String,
    /// Data spec and split.
    pub data: String,
    /// Samples attacked.
    pub samples: usize,
    /// How they were chosen from the split (set by the caller that chose them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub selection: Option<SampleSelection>,
    /// Clean accuracy.
    pub clean_accuracy: f64,
    /// Per attack.
    pub attacks: Vec<AttackLine>,
    /// Per-sample worst case over the attacks.
    pub worst_case_robust_accuracy: Option<f64>,
    /// Universal perturbation, when asked for.
    pub uap: Option<cr_attacks::UapResult>,
    /// Sanity-check warnings.
    pub warnings: Vec<String>,
    /// RobustBench's `model_info` fields, when AutoAttack ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_info: Option<ModelInfo>,
    /// Wall seconds.
    pub seconds: f64,
}

/// The fields of a RobustBench `model_info` JSON file (accuracies as percentage strings with
/// two decimals and ε as `k/255` where it is one, as RobustBench writes them), so results
/// drop into its leaderboard tooling.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelInfo {
    /// Clean accuracy, percent.
    pub clean_acc: String,
    /// AutoAttack robust accuracy, percent.
    pub autoattack_acc: String,
    /// The budget.
    pub eps: String,
    /// `Linf` or `L2`.
    pub threat_model: String,
    /// The data set (`mnist`, `cifar10`, …).
    pub dataset: String,
    /// The architecture, in RobustBench's style (`WideResNet-28-10`, `PreActResNet-18`).
    pub architecture: String,
    /// Forward passes per prediction: 1, cr's models are deterministic.
    pub number_forward_passes: u32,
}

impl ModelInfo {
    /// The fields for an AutoAttack line of a report on `spec`'s model.
    pub fn new(spec: &cr_models::ModelSpec, dataset: &str, clean: f64, line: &AttackLine) -> Self {
        let eps = line.params.eps;
        let k = f64::from(eps) * 255.0;
        let eps = if (k - k.round()).abs() < 1e-4 && k >= 0.5 {
            format!("{}/255", k.round())
        } else {
            format!("{eps}")
        };
        ModelInfo {
            clean_acc: format!("{:.2}", 100.0 * clean),
            autoattack_acc: format!("{:.2}", 100.0 * line.robust_accuracy),
            eps,
            threat_model: match line.params.norm {
                cr_attacks::Norm::Linf => "Linf".into(),
                cr_attacks::Norm::L2 => "L2".into(),
            },
            dataset: dataset.to_string(),
            architecture: architecture_title(spec),
            number_forward_passes: 1,
        }
    }
}

/// An architecture's name in the style of RobustBench's leaderboard.
pub fn architecture_title(spec: &cr_models::ModelSpec) -> String {
    use cr_models::Arch;
    let convs = |c: &[usize]| c.iter().filter(|&&v| v > 0).count();
    match &spec.arch {
        Arch::Fcn { width, depth, .. } => format!("FCN-{depth}x{width}"),
        Arch::Cnn { channels, .. } => format!("CNN-{}", channels.len()),
        Arch::Resnet {
            blocks, bottleneck, ..
        } => {
            let per = if *bottleneck { 3 } else { 2 };
            format!("ResNet-{}", 2 + per * blocks.iter().sum::<usize>())
        }
        Arch::PreactResnet { blocks, .. } => {
            format!("PreActResNet-{}", 2 + 2 * blocks.iter().sum::<usize>())
        }
        Arch::Wrn { depth, widen, .. } => format!("WideResNet-{depth}-{widen}"),
        Arch::Vgg { config, .. } => format!("VGG-{}-BN", convs(config) + 1),
        Arch::VggTorchvision { config, .. } => format!("VGG-{}-BN", convs(config) + 3),
        Arch::Vit { depth, dim, .. } => format!("ViT-{depth}x{dim}"),
    }
}

/// Runs `attacks` (and a UAP when `uap` is given) on `data` against the model in `path`.
pub fn attack(
    path: &Path,
    data: &Dataset,
    data_label: &str,
    attacks: &[AttackSpec],
    uap: Option<(Norm, f64)>,
    seed: u64,
    ctx: &Context,
) -> Result<AttackReport, EvalError> {
    let started = Instant::now();
    for (i, a) in attacks.iter().enumerate() {
        a.validate(&format!("--attack #{}", i + 1))?;
    }
    let model = load_for(path, data, ctx)?.snapshot();
    let (x, y) = data.tensors(&ctx.device);
    let f = |x: Tensor<4>| model.forward(x);
    let mut report = AttackReport {
        model: path.display().to_string(),
        data: data_label.to_string(),
        samples: data.len(),
        selection: None,
        clean_accuracy: f64::NAN,
        attacks: Vec::new(),
        worst_case_robust_accuracy: None,
        uap: None,
        warnings: Vec::new(),
        model_info: None,
        seconds: 0.0,
    };
    report.clean_accuracy = crate::attacking::accuracy_and_loss(&model, &x, &y).0;
    if !attacks.is_empty() {
        let (wc, warnings) = worst_case_of(&model, attacks, seed, &x, &y)?;
        report.worst_case_robust_accuracy = Some(wc.robust_accuracy);
        report.warnings = warnings;
        report.attacks = wc
            .attacks
            .iter()
            .map(|r| AttackLine {
                params: r.params.clone(),
                robust_accuracy: r.robust_accuracy,
                seconds: r.seconds,
                stages: r.stages.clone(),
                broken_by: r.broken_by.clone(),
                passes: r.passes,
                perturbation: r.perturbation,
                certificate: None,
            })
            .collect();
        certify_lines(&model, &x, data, &mut report)?;
    }
    let dataset = data_label.split([' ', ':', '/']).next().unwrap_or_default();
    report.model_info = report
        .attacks
        .iter()
        .find(|a| a.params.attack == "autoattack")
        .map(|a| ModelInfo::new(&model.spec, dataset, report.clean_accuracy, a));
    if let Some((n, eps)) = uap {
        let mut c = UapConfig::new(n, eps as f32);
        c.seed = seed;
        let r = universal_perturbation(&f, x, y, &c).map_err(|e| err("uap", e))?;
        report.uap = Some(r);
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// One sample's prediction.
#[derive(Debug, Clone, Serialize)]
pub struct Prediction {
    /// Its true label.
    pub label: usize,
    /// The arg-max of the logits (the first on ties).
    pub predicted: usize,
    /// The logits.
    pub logits: Vec<f32>,
}

/// What `predict` reports: every selected sample's logits, in the selection's order (file
/// order for `first` and `balanced`).
#[derive(Debug, Clone, Serialize)]
pub struct PredictReport {
    /// Model file.
    pub model: String,
    /// Data spec and split.
    pub data: String,
    /// How the samples were chosen.
    pub selection: SampleSelection,
    /// Number of samples.
    pub samples: usize,
    /// Fraction predicted correctly.
    pub accuracy: f64,
    /// Per sample.
    pub predictions: Vec<Prediction>,
}

/// The logits of the model in `path` on `data` (evaluation mode: batch norm uses its running
/// statistics), in batches of [`ATTACK_BATCH`].
pub fn predict(
    path: &Path,
    data: &Dataset,
    data_label: &str,
    selection: SampleSelection,
    ctx: &Context,
) -> Result<PredictReport, EvalError> {
    let model = load_for(path, data, ctx)?.snapshot();
    let (x, _) = data.tensors(&ctx.device);
    let n = data.len();
    let k = model.spec.num_classes;
    let mut predictions = Vec::with_capacity(n);
    for s in (0..n).step_by(ATTACK_BATCH) {
        let e = (s + ATTACK_BATCH).min(n);
        let logits: Vec<f32> = model
            .forward(x.clone().narrow(0, s, e - s))
            .into_data()
            .try_to_vec::<f32>()
            .map_err(|e| readback("logits", e))?;
        for (i, row) in logits.chunks_exact(k).enumerate() {
            let predicted = row
                .iter()
                .enumerate()
                .fold(0, |best, (j, v)| if *v > row[best] { j } else { best });
            predictions.push(Prediction {
                label: data.labels[s + i] as usize,
                predicted,
                logits: row.to_vec(),
            });
        }
    }
    let correct = predictions
        .iter()
        .filter(|p| p.label == p.predicted)
        .count();
    Ok(PredictReport {
        model: path.display().to_string(),
        data: data_label.to_string(),
        selection,
        samples: n,
        accuracy: correct as f64 / n.max(1) as f64,
        predictions,
    })
}

/// Puts the certified lower bound beside every attack line of `report` (FCNs only), with a
/// warning should it ever exceed the attack's robust accuracy (a wrong bound or attack).
fn certify_lines(
    model: &Model,
    x: &Tensor<4>,
    data: &Dataset,
    report: &mut AttackReport,
) -> Result<(), EvalError> {
    let y: Vec<usize> = data.labels.iter().map(|&l| l as usize).collect();
    for line in &mut report.attacks {
        let eps = f64::from(line.params.eps);
        let Some(c) = crate::certify::certify(model, x, &y, line.params.norm, eps)? else {
            return Ok(());
        };
        if c.certified_accuracy > line.robust_accuracy {
            report.warnings.push(format!(
                "{}: certified robust accuracy {:.4} exceeds the attack's {:.4} at {} eps {}: a bound or the attack is wrong",
                line.params.attack, c.certified_accuracy, line.robust_accuracy, line.params.norm, eps
            ));
        }
        line.certificate = Some(c);
    }
    Ok(())
}

/// What `analyze` computes.
#[derive(Debug, Clone)]
pub struct AnalyzeOptions {
    /// How k is chosen per layer.
    pub k: cr_bounds::KChoice,
    /// Estimator of the alignment terms.
    pub estimator: cr_bounds::Estimator,
    /// Bound the whole network (true) or the encoder Φ with the head reported apart.
    pub include_head: bool,
    /// Seed of the local search.
    pub seed: u64,
}

/// What `analyze` reports: the cr-bounds network report of the model's layer chain.
#[derive(Debug, Clone, Serialize)]
pub struct AnalyzeReport {
    /// Model file.
    pub model: String,
    /// Architecture kind.
    pub arch: String,
    /// Data the activation patterns came from, when given.
    pub data: Option<String>,
    /// Samples whose patterns were used.
    pub pattern_samples: usize,
    /// Whether the layers chain as matrices (FCN); false for conv nets, whose matricised
    /// filters give matrix norms, not operator norms of the convolution.
    pub chained: bool,
    /// Per layer and per network.
    pub bounds: cr_bounds::NetworkReport,
    /// Wall seconds.
    pub seconds: f64,
}

/// ReLU patterns of every hidden layer of a bias-free FCN on `x` (the data-driven input of the
/// alignment estimators): `patterns[l][sample][unit]`, computed on the host from the
/// effective layer matrices applied to the normalised input.
pub fn fcn_patterns(model: &Model, x: &Tensor<4>) -> Result<Vec<Vec<Vec<bool>>>, EvalError> {
    match model.spec.arch {
        cr_models::Arch::Fcn { bias: false, .. } => {}
        _ => {
            return Err(EvalError::Unsupported(format!(
                "activation patterns are computed for bias-free FCNs only (the model is a {})",
                model.spec.arch_name()
            )));
        }
    }
    let [n, ..] = x.dims();
    // The layer matrices act on the normalised input (the spec's fixed first layer).
    let flat: Vec<f32> = model
        .normalize(x.clone())
        .reshape([n as i32, -1])
        .into_data()
        .try_into_vec::<f32>()
        .map_err(|e| readback("reading inputs", e))?;
    let d = flat.len() / n.max(1);
    let a = cr_linalg::Mat::<f64>::from_fn(n, d, |i, j| f64::from(flat[i * d + j]));
    let layers = crate::analyses::bound_layers(model);
    Ok(cr_bounds::activation_patterns(&layers, &a))
}

/// Bounds of the model in `path` (paper Theorems 3.1 and 3.2); `data` supplies activation
/// patterns for the data-driven and local-search estimators.
pub fn analyze(
    path: &Path,
    data: Option<(&Dataset, &str)>,
    opts: &AnalyzeOptions,
    ctx: &Context,
) -> Result<AnalyzeReport, EvalError> {
    use cr_bounds::Estimator;
    let started = Instant::now();
    let model = match data {
        Some((d, _)) => load_for(path, d, ctx)?,
        None => load_model(path, &ctx.device)?,
    };
    let layers = crate::analyses::bound_layers(&model);
    let chained = crate::analyses::chains(&layers);
    let needs_patterns = matches!(opts.estimator, Estimator::DataDriven);
    let patterns = match data {
        Some((d, _)) => {
            let (x, _) = d.tensors(&ctx.device);
            Some(fcn_patterns(&model, &x)?)
        }
        None if needs_patterns => {
            return Err(EvalError::Unsupported(
                "the data-driven estimator needs --data (activation patterns come from it)".into(),
            ));
        }
        None => None,
    };
    let pattern_samples = data.map_or(0, |(d, _)| d.len());
    let bounds = cr_bounds::analyze(
        &layers,
        &cr_bounds::BoundOptions {
            k: opts.k,
            estimator: opts.estimator,
            include_head: opts.include_head,
            seed: opts.seed,
            patterns,
            strict_shapes: chained,
            ..Default::default()
        },
    )
    .map_err(|e| err(&path.display().to_string(), e))?;
    Ok(AnalyzeReport {
        model: path.display().to_string(),
        arch: model.spec.arch_name().to_string(),
        data: data.map(|(_, l)| l.to_string()),
        pattern_samples,
        chained,
        bounds,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Accuracy of a model before or after pruning.
#[derive(Debug, Clone, Serialize)]
pub struct PruneEval {
    /// Clean accuracy.
    pub clean_accuracy: f64,
    /// Per-sample worst case over the attacks, when attacks were given.
    pub robust_accuracy: Option<f64>,
}

/// What `prune` reports.
#[derive(Debug, Clone, Serialize)]
pub struct PruneOutcome {
    /// Input model file.
    pub model: String,
    /// What the pruning did (ratios per layer, parameters and FLOPs before and after).
    pub report: cr_prune::PruneReport,
    /// Which form was saved / evaluated: `physical` or `masked`.
    pub form: String,
    /// Where the pruned model was written, with its size and the input file's size in bytes.
    pub saved: Option<(String, u64, u64)>,
    /// Evaluation of the input model.
    pub before: Option<PruneEval>,
    /// Evaluation of the pruned model.
    pub after: Option<PruneEval>,
    /// Anything done differently from what was asked (e.g. a masked fallback).
    pub notes: Vec<String>,
    /// Wall seconds.
    pub seconds: f64,
}

fn prune_eval(
    model: &Model,
    data: &Dataset,
    attacks: &[AttackSpec],
    seed: u64,
    ctx: &Context,
) -> Result<PruneEval, EvalError> {
    let model = model.snapshot();
    let (x, y) = data.tensors(&ctx.device);
    let clean_accuracy = crate::attacking::accuracy_and_loss(&model, &x, &y).0;
    let robust_accuracy = if attacks.is_empty() {
        None
    } else {
        let list: Vec<_> = attacks.iter().map(|a| attack_of(a, seed)).collect();
        let f = |x: Tensor<4>| model.forward(x);
        let wc = worst_case(
            &f,
            &list,
            x,
            y,
            &AttackOptions {
                batch_size: Some(ATTACK_BATCH),
                sanity: false,
            },
        )
        .map_err(|e| err("attack", e))?;
        Some(wc.robust_accuracy)
    };
    Ok(PruneEval {
        clean_accuracy,
        robust_accuracy,
    })
}

/// Prunes the model in `path` (cr-prune), optionally saves the result to `out` (the
/// physically smaller form where there is one) and evaluates it before and after on `eval`.
pub fn prune(
    path: &Path,
    cfg: &cr_prune::PruneConfig,
    out: Option<&Path>,
    eval: Option<(&Dataset, &[AttackSpec])>,
    seed: u64,
    ctx: &Context,
) -> Result<PruneOutcome, EvalError> {
    let started = Instant::now();
    cfg.validate()
        .map_err(|e| invalid("prune", e.to_string()))?;
    for (i, a) in eval.map_or(&[][..], |e| e.1).iter().enumerate() {
        a.validate(&format!("--attack #{}", i + 1))?;
    }
    let model = match eval {
        Some((d, _)) => load_for(path, d, ctx)?,
        None => load_model(path, &ctx.device)?,
    };
    // Where the architecture has no physically smaller form (low rank on a ViT), fall back to
    // the masked form and say so.
    let mut notes = Vec::new();
    let pruned = match cr_prune::prune(&model, cfg) {
        Err(e @ cr_prune::PruneError::PhysicalUnsupported { .. }) if cfg.physical => {
            notes.push(format!("{e}; wrote the masked form instead"));
            tracing::warn!("{e}; using the masked form");
            cr_prune::prune(
                &model,
                &cr_prune::PruneConfig {
                    physical: false,
                    ..cfg.clone()
                },
            )
        }
        other => other,
    }
    .map_err(|e| err(&path.display().to_string(), e))?;
    let (form, result) = match &pruned.physical {
        Some(p) => ("physical", p),
        None => ("masked", &pruned.masked),
    };
    let saved = match out {
        Some(o) => {
            let mut extra = std::collections::BTreeMap::new();
            extra.insert(
                "cr.pruned".to_string(),
                serde_json::to_string(&pruned.report).map_err(|e| err("cr.pruned", e))?,
            );
            cr_models::file::save_model(result, o, &extra)?;
            let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
            Some((o.display().to_string(), size(o), size(path)))
        }
        None => None,
    };
    let (before, after) = match eval {
        Some((d, attacks)) => (
            Some(prune_eval(&model, d, attacks, seed, ctx)?),
            Some(prune_eval(result, d, attacks, seed, ctx)?),
        ),
        None => (None, None),
    };
    Ok(PruneOutcome {
        model: path.display().to_string(),
        report: pruned.report,
        form: form.into(),
        saved,
        before,
        after,
        notes,
        seconds: started.elapsed().as_secs_f64(),
    })
}
