//! Cost estimates for `--dry-run`: floating-point operations of a run from its model's FLOPs,
//! its data sizes, epochs, adversarial training and evaluation attacks.

use crate::config::RunConfig;
use crate::error::ExpError;

/// Estimated work of one run.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Cost {
    /// Forward FLOPs per sample.
    pub model_flops: u64,
    /// Training FLOPs (forward + backward ≈ 3× forward, per epoch, all epochs).
    pub train: f64,
    /// Evaluation FLOPs (attacks: 3× forward per step).
    pub eval: f64,
}

impl Cost {
    /// Total FLOPs.
    pub fn total(&self) -> f64 {
        self.train + self.eval
    }
}

/// The cost of `cfg` (building the model lazily: nothing is allocated).
pub fn estimate(cfg: &RunConfig) -> Result<Cost, ExpError> {
    let model = cr_models::Model::build(&cfg.model, &cr_models::device::cpu())?;
    let f = model.flops() as f64;
    cr_data::source::describe(&cfg.data.name).map_err(|e| ExpError::Data(e.to_string()))?;
    let (n_train, n_test) = sizes(&cfg.data.name);
    let n_train = cfg.data.train_subset.map_or(n_train, |s| s.min(n_train)) as f64;
    let n_test = cfg
        .eval
        .test_samples
        .or(cfg.data.test_subset)
        .map_or(n_test, |s| s.min(n_test)) as f64;
    let at = cfg
        .adversarial
        .as_ref()
        .map_or(1.0, |a| 1.0 + a.fraction * a.steps as f64);
    let train = 3.0 * f * n_train * cfg.train.epochs as f64 * at;
    let steps: f64 = cfg
        .eval
        .attacks
        .iter()
        .map(|a| {
            let s = a.steps.unwrap_or(match a.attack.as_str() {
                "fgsm" => 1,
                "pgd" => 10,
                _ => 100,
            });
            (s * a.restarts.unwrap_or(1)) as f64
        })
        .sum();
    let eval = 3.0 * f * n_test * (1.0 + steps + 20.0 * cfg.eval.measures.len() as f64);
    Ok(Cost {
        model_flops: model.flops(),
        train,
        eval,
    })
}

/// Train and test sizes of the full data sets (embedded subsets for the embedded names).
fn sizes(name: &str) -> (usize, usize) {
    let parts = match name.split_once(':') {
        Some((n, d)) => (n, Some(d)),
        None => (name, None),
    };
    match parts {
        ("mnist" | "fashion-mnist", None) => (8000, 2000),
        ("mnist" | "fashion-mnist", Some(_)) => (60000, 10000),
        ("uci-digits", _) => (1442, 355),
        ("cifar10" | "cifar100" | "cifar100-coarse", _) => (50000, 10000),
        ("svhn", _) => (73257, 26032),
        ("svhn-extra", _) => (604388, 26032),
        _ => (2000, 500),
    }
}
