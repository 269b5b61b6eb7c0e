//! # cr-prune
//!
//! Compression of trained models, for measuring how accuracy and robust accuracy survive it
//! (SPEC §5, paper §4.1 and Figure 8): one call, [`prune`], turns a [`Model`] and a
//! [`PruneConfig`] into the compressed model(s) and a [`PruneReport`]; [`sweep`] repeats it
//! over pruning ratios and evaluates each result with a caller's closure.
//!
//! | method | what goes | forms |
//! |---|---|---|
//! | [`Method::Layerwise`] | the same fraction of rows (neurons / filters) in every prunable layer, smallest ‖row‖₂ first | masked, physical |
//! | [`Method::Global`] | one threshold on ‖row‖₂ / max-row-norm of the layer, across layers | masked, physical |
//! | [`Method::EpsTarget`] | per layer all but the least k with ε₂(k) ≤ ε of the row-norm vector; ε given or scanned to hit a global ratio | masked, physical |
//! | [`Method::Unstructured`] | the smallest \|w\| of the hidden layers (one global ranking) | masked |
//! | [`Method::LowRank`] | all but the top-k singular triplets of each factorisable layer | masked; physical (two factors) with one `rank` on architectures with low-rank layers |
//!
//! Rows are rows of the `[out, in·kh·kw]` layer matrices of `cr-models`' introspection; the
//! head and the first conv are never pruned, every layer keeps at least one row and loses at
//! most `max_layer_ratio` of them. Which layers are prunable in each architecture, and how
//! residual networks stay consistent, is in [`structured`]; every architecture of cr-models
//! (FCN, CNN, ResNet, VGG, WRN, ViT — ViT through its MLP hidden layers) has both the masked
//! form (same shapes, pruned rows zeroed, with their bias and batch-norm affine) and the
//! physically smaller form (built from `ModelSpec::pruned` widths; it runs faster and saves to
//! a smaller file). The two compute the same logits.
//!
//! Pruned models are fresh, independent evaluation copies (`Model::snapshot` semantics): the
//! input model is never modified.
//!
//! This crate does not fine-tune after pruning (see `cr-train`), does not attack or load data
//! (the evaluation closure of [`sweep`] does that), and does not measure compressibility (see
//! `cr-linalg`).
//!
//! ```
//! use cr_models::{Model, ModelSpec, device::cpu};
//! use cr_prune::{Method, PruneConfig, prune};
//!
//! let spec = ModelSpec::preset("fcn-1x400", [1, 8, 8], 10).unwrap();
//! let model = Model::new(&spec, &cpu(), 0).unwrap();
//! let cfg = PruneConfig { physical: true, ..PruneConfig::with_ratio(Method::Layerwise, 0.5) };
//! let pruned = prune(&model, &cfg).unwrap();
//! assert_eq!(pruned.report.layers[0].kept, 200);
//! assert!(pruned.report.params_after < pruned.report.params_before);
//! let small = pruned.physical.unwrap();
//! assert_eq!(small.layer("layers.0").unwrap().rows, 200);
//! ```

pub mod config;
pub mod error;
mod host;
pub mod lowrank;
pub mod structured;
pub mod sweep;
pub mod unstructured;

use serde::Serialize;

use cr_models::Model;

pub use config::{DEFAULT_MAX_LAYER_RATIO, EpsVector, Method, PruneConfig};
pub use error::{PruneError, Result};
pub use sweep::{EvalPoint, PrunePoint, SweepError, sweep};

/// What happened to one layer.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerPrune {
    /// Layer name (`layers.0`, `layer1.0.conv1`, …).
    pub name: String,
    /// Rows before pruning (structured), weights (unstructured) or full rank (low rank).
    pub rows: usize,
    /// Rows (weights, rank) kept.
    pub kept: usize,
    /// `1 − kept / rows`.
    pub ratio: f64,
}

/// What a pruning did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PruneReport {
    /// The method.
    pub method: Method,
    /// The requested ratio; for `eps-target` with an `eps_target`, and for `lowrank` with a
    /// `rank`, the ratio that target implies (equal to `achieved`).
    pub requested: f64,
    /// Fraction removed: of prunable rows (structured), of hidden-layer weights
    /// (unstructured), of the summed full ranks of the truncated layers (low rank).
    pub achieved: f64,
    /// The ε used by `eps-target` (given or found by the scan).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eps: Option<f64>,
    /// Trainable parameters before.
    pub params_before: u64,
    /// Parameters after: those of the physically smaller model (structured; low rank stored
    /// as factors), or the non-zero count (unstructured), or for masked-only low rank the
    /// parameters of the layers stored as factors where that is smaller.
    pub params_after: u64,
    /// FLOPs per sample before (cr-models' count).
    pub flops_before: u64,
    /// FLOPs after: those of the smaller model; unchanged for masked-only forms (dense
    /// kernels compute the zeros too).
    pub flops_after: u64,
    /// Per layer, in forward order.
    pub layers: Vec<LayerPrune>,
}

/// The result of [`prune`].
#[derive(Debug, Clone)]
pub struct Pruned {
    /// Same shapes as the input, pruned parts zeroed (or low-rank products written back).
    pub masked: Model,
    /// The physically smaller model, when `physical` was requested.
    pub physical: Option<Model>,
    /// Counts and ratios.
    pub report: PruneReport,
}

/// Prunes `model` as `cfg` says. The input is not modified.
///
/// # Errors
/// [`PruneError::InvalidConfig`] naming the bad field; [`PruneError::PhysicalUnsupported`] for a
/// physical form that does not exist; errors of cr-models / cr-linalg (non-finite weights).
pub fn prune(model: &Model, cfg: &PruneConfig) -> Result<Pruned> {
    cfg.validate()?;
    let params_before = model.num_params() as u64;
    let flops_before = model.flops();
    match cfg.method {
        Method::Layerwise | Method::Global | Method::EpsTarget => {
            prune_structured(model, cfg, params_before, flops_before)
        }
        Method::Unstructured => prune_unstructured(model, cfg, params_before, flops_before),
        Method::LowRank => prune_lowrank(model, cfg, params_before, flops_before),
    }
}

/// Structured pruning (`layerwise`, `global`, `eps-target`): rows of the prunable layers.
fn prune_structured(
    model: &Model,
    cfg: &PruneConfig,
    params_before: u64,
    flops_before: u64,
) -> Result<Pruned> {
    let cap = cfg.max_layer_ratio;
    let plan = structured::plan(
        model,
        cfg.method,
        cfg.ratio,
        cfg.eps_target,
        cfg.eps_vector,
        cap,
    )?;
    let masked = structured::apply_masked(model, &plan)?;
    let (physical, params_after, flops_after) = if cfg.physical {
        let p = structured::apply_physical(model, &plan)?;
        let (n, f) = (p.num_params() as u64, p.flops());
        (Some(p), n, f)
    } else {
        // The structure alone (built lazily, nothing allocated) gives the counts.
        let lazy = Model::build(&structured::pruned_spec(model, &plan), &model.device())?;
        (None, lazy.num_params() as u64, lazy.flops())
    };
    let achieved = plan.achieved();
    Ok(Pruned {
        masked,
        physical,
        report: PruneReport {
            method: cfg.method,
            requested: cfg.ratio.unwrap_or(achieved),
            achieved,
            eps: plan.eps,
            params_before,
            params_after,
            flops_before,
            flops_after,
            layers: plan.layer_reports(),
        },
    })
}

/// Unstructured pruning: the smallest weights of the hidden layers, masked.
fn prune_unstructured(
    model: &Model,
    cfg: &PruneConfig,
    params_before: u64,
    flops_before: u64,
) -> Result<Pruned> {
    let cap = cfg.max_layer_ratio;
    let ratio = cfg.ratio.unwrap_or(0.0);
    let (masked, layers) =
        unstructured::magnitude_prune(model, ratio, unstructured::Scope::Global, cap)?;
    let total: usize = layers.iter().map(|l| l.rows).sum();
    let zeroed: usize = layers.iter().map(|l| l.rows - l.kept).sum();
    Ok(Pruned {
        masked,
        physical: None,
        report: PruneReport {
            method: cfg.method,
            requested: ratio,
            achieved: zeroed as f64 / total.max(1) as f64,
            eps: None,
            params_before,
            params_after: params_before - zeroed as u64,
            flops_before,
            flops_after: flops_before,
            layers,
        },
    })
}

/// Low-rank truncation of every factorisable layer.
fn prune_lowrank(
    model: &Model,
    cfg: &PruneConfig,
    params_before: u64,
    flops_before: u64,
) -> Result<Pruned> {
    let cap = cfg.max_layer_ratio;
    let rule = match (cfg.rank, cfg.ratio) {
        (Some(k), _) => lowrank::RankRule::Fixed(k),
        (None, r) => lowrank::RankRule::Ratio(r.unwrap_or(0.0)),
    };
    let plan = lowrank::plan(model, rule, cap)?;
    let masked = lowrank::apply_masked(model, &plan)?;
    let full: usize = plan.iter().map(|t| t.full_rank).sum();
    let kept: usize = plan.iter().map(|t| t.keep).sum();
    let achieved = 1.0 - kept as f64 / full.max(1) as f64;
    let (physical, params_after, flops_after) = match (cfg.physical, cfg.rank) {
        (true, Some(k)) => {
            let p = lowrank::apply_physical(model, &plan, k)?;
            let (n, f) = (p.num_params() as u64, p.flops());
            (Some(p), n, f)
        }
        _ => {
            let saved: usize = plan
                .iter()
                .map(|t| t.stored.saturating_sub(t.keep * (t.rows + t.cols)))
                .sum();
            (None, params_before - saved as u64, flops_before)
        }
    };
    Ok(Pruned {
        masked,
        physical,
        report: PruneReport {
            method: cfg.method,
            requested: cfg.ratio.unwrap_or(achieved),
            achieved,
            eps: None,
            params_before,
            params_after,
            flops_before,
            flops_after,
            layers: lowrank::reports(&plan),
        },
    })
}
