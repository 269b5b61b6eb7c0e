//! The library side of the single-model commands (`attack`, `analyze`, `prune`): load a model
//! file and data, run, return a serialisable report. The CLI only parses and prints.

use std::path::Path;
use std::time::Instant;

use burn::prelude::*;
use serde::Serialize;

use cr_attacks::{RunOptions, UapConfig, universal_perturbation, worst_case};
use cr_data::Dataset;
use cr_models::Model;
use cr_models::file::load_model;

use crate::config::{AttackSpec, NormKind};
use crate::error::ExpError;
use crate::execute::{Context, norm};
use crate::measures::{ATTACK_BATCH, attack_of};

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
pub fn load_for(path: &Path, data: &Dataset, ctx: &Context) -> Result<Model, ExpError> {
    let model = load_model(path, &ctx.device)?;
    if model.spec.input != data.shape || model.spec.num_classes != data.num_classes {
        return Err(ExpError::Other(format!(
            "{}: the model takes {:?} inputs with {} classes, the data `{}` has {:?} with {} classes",
            path.display(),
            model.spec.input,
            model.spec.num_classes,
            data.name,
            data.shape,
            data.num_classes
        )));
    }
    Ok(model)
}

/// The samples to attack: the first `n` (class-balanced) of the split.
pub fn samples(
    spec: &str,
    split: Split,
    n: Option<usize>,
    ctx: &Context,
) -> Result<Dataset, ExpError> {
    let s =
        cr_data::load(spec, ctx.data_dir.as_deref()).map_err(|e| ExpError::Data(e.to_string()))?;
    let d = match split {
        Split::Train => s.train,
        Split::Test => s.test,
    };
    Ok(match n {
        Some(n) => d.balanced(n),
        None => d,
    })
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
    /// Wall seconds.
    pub seconds: f64,
}

/// Runs `attacks` (and a UAP when `uap` is given) on `data` against the model in `path`.
pub fn attack(
    path: &Path,
    data: &Dataset,
    data_label: &str,
    attacks: &[AttackSpec],
    uap: Option<(NormKind, f64)>,
    seed: u64,
    ctx: &Context,
) -> Result<AttackReport, ExpError> {
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
        clean_accuracy: f64::NAN,
        attacks: Vec::new(),
        worst_case_robust_accuracy: None,
        uap: None,
        warnings: Vec::new(),
        seconds: 0.0,
    };
    report.clean_accuracy = crate::measures::accuracy_and_loss(&model, &x, &y).0;
    if !attacks.is_empty() {
        let list: Vec<_> = attacks.iter().map(|a| attack_of(a, seed)).collect();
        let wc = worst_case(
            &f,
            &list,
            x.clone(),
            y.clone(),
            &RunOptions {
                batch_size: Some(ATTACK_BATCH),
                sanity: true,
            },
        )
        .map_err(|e| ExpError::Other(e.to_string()))?;
        report.worst_case_robust_accuracy = Some(wc.robust_accuracy);
        report.warnings = wc.warnings.iter().map(|w| w.to_string()).collect();
        report.attacks = wc
            .attacks
            .iter()
            .map(|r| AttackLine {
                params: r.params.clone(),
                robust_accuracy: r.robust_accuracy,
                seconds: r.seconds,
            })
            .collect();
    }
    if let Some((n, eps)) = uap {
        let mut c = UapConfig::new(norm(n), eps as f32);
        c.seed = seed;
        let r = universal_perturbation(&f, x, y, &c).map_err(|e| ExpError::Other(e.to_string()))?;
        report.uap = Some(r);
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}
