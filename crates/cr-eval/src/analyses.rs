//! The analyses that need `cr-bounds` and `cr-prune`: Lipschitz bounds (paper Theorem 3.2,
//! Figure 3) and pruning curves (paper Figure 8).

use burn::prelude::*;
use serde::Serialize;

use cr_attacks::{AttackOptions, run_attack};
use cr_bounds::{BoundOptions, Estimator, KChoice, Layer, Norm, analyze};
use cr_linalg::Mat;
use cr_models::{Model, Selection};
use cr_prune::{EvalPoint, Method, PruneConfig, sweep};

use crate::attacking::{ATTACK_BATCH, accuracy_and_loss, attack_of};
use crate::config::{AttackSpec, EvalConfig};
use crate::error::{EvalError, err};

/// The layer chain of `model` (input layer to head, effective matrices of factorised layers)
/// as cr-bounds layers.
pub fn bound_layers(model: &Model) -> Vec<Layer> {
    model
        .effective_matrices(Selection::ALL)
        .into_iter()
        .map(|(name, m)| Layer {
            name,
            matrix: Mat::from_fn(m.rows, m.cols, |i, j| f64::from(m.data[i * m.cols + j])),
        })
        .collect()
}

/// Whether consecutive layers chain as matrices (`cols(l+1) = rows(l)`): true for FCNs, where
/// Theorem 3.2 applies as stated; conv nets' matricised filters do not chain.
pub fn chains(layers: &[Layer]) -> bool {
    layers
        .windows(2)
        .all(|w| w[1].matrix.ncols() == w[0].matrix.nrows())
}

/// Theorem 3.1 per layer, Theorem 3.2 for the ENCODER Φ (hidden layers only; k minimised per
/// layer, certified upper estimate of the alignment terms), and Corollary 3.3 for softmax
/// cross-entropy at the main attack's budget.
///
/// Result fields (under `measures.bounds`):
/// * `l2.theorem_3_2`, `linf.theorem_3_2`: the encoder bounds `L̂_Φ` (Eq. 9, 8); also copied
///   to `encoder_bound.{l2,linf}`;
/// * `head_factor.{l2,linf}`: the head's operator norm `‖C‖_p` (also `l2.head_true_norm`);
/// * `input_factor`: `max_c 1/std_c` of the model's input normalisation (1 without one);
/// * `network_bound.{l2,linf}`: `input_factor × encoder_bound × head_factor`, a bound on the
///   pixels → logits map;
/// * `corollary_3_3` (with an attack): [`cr_bounds::corollary::GapBound`] in the attack's
///   norm — `input_factor`, `encoder_bound`, `head_factor`, `loss_constant`,
///   `network_bound`, `gap_bound`
///   (the Corollary's bound on `F^adv − F`, what Figure 3 plots), and `gap` (= `gap_bound`,
///   the name older result files used).
pub(crate) fn bounds(
    model: &Model,
    attack: Option<&AttackSpec>,
    seed: u64,
) -> Result<serde_json::Value, EvalError> {
    let layers = bound_layers(model);
    let opts = BoundOptions {
        k: KChoice::Minimise,
        estimator: Estimator::CertifiedUpper,
        include_head: false,
        seed,
        strict_shapes: chains(&layers),
        ..BoundOptions::default()
    };
    let report = analyze(&layers, &opts).map_err(|e| err("bounds", e))?;
    let head = |b: &cr_bounds::NetworkBound| b.head_true_norm.unwrap_or(1.0);
    // The fixed normalisation layer diag(1/std): ‖·‖₂ = ‖·‖_∞ = max_c 1/std_c.
    let input_factor = model
        .spec
        .normalize
        .as_ref()
        .map_or(1.0, |n| n.std.iter().map(|s| 1.0 / s).fold(0.0, f64::max));
    let corollary_3_3 = match attack {
        Some(a) => {
            let (n, net) = match a.norm {
                Norm::Linf => (Norm::Linf, &report.linf),
                Norm::L2 => (Norm::L2, &report.l2),
            };
            let gap = cr_bounds::corollary::softmax_cross_entropy_gap_bound(
                n,
                a.eps,
                input_factor,
                net.theorem_3_2,
                head(net),
            )
            .map_err(|e| err("Corollary 3.3", e))?;
            Some(GapRecord {
                gap: gap.gap_bound,
                bound: gap,
            })
        }
        None => None,
    };
    let record = BoundsRecord {
        input_factor,
        encoder_bound: PerNorm {
            l2: report.l2.theorem_3_2,
            linf: report.linf.theorem_3_2,
        },
        head_factor: PerNorm {
            l2: head(&report.l2),
            linf: head(&report.linf),
        },
        network_bound: PerNorm {
            l2: input_factor * report.l2.theorem_3_2 * head(&report.l2),
            linf: input_factor * report.linf.theorem_3_2 * head(&report.linf),
        },
        corollary_3_3,
        report,
    };
    serde_json::to_value(record).map_err(|e| err("bounds", e))
}

/// A value per threat model.
#[derive(Debug, Clone, Copy, Serialize)]
struct PerNorm {
    l2: f64,
    linf: f64,
}

/// The `bounds` measure as recorded: cr-bounds' report, and the factors of the network.
#[derive(Debug, Clone, Serialize)]
struct BoundsRecord {
    #[serde(flatten)]
    report: cr_bounds::NetworkReport,
    /// The normalisation layer's norm.
    input_factor: f64,
    /// Theorem 3.2 on the encoder.
    encoder_bound: PerNorm,
    /// The head's true norm (1 without a head).
    head_factor: PerNorm,
    /// The product of the three.
    network_bound: PerNorm,
    /// Corollary 3.3 at the main attack's norm and ε.
    #[serde(skip_serializing_if = "Option::is_none")]
    corollary_3_3: Option<GapRecord>,
}

/// Corollary 3.3's bound, and `gap` (= `gap_bound`, the name older result files used).
#[derive(Debug, Clone, Serialize)]
struct GapRecord {
    #[serde(flatten)]
    bound: cr_bounds::corollary::GapBound,
    gap: f64,
}

/// Pruning ratios at or above this count as "high" (paper Figure 8 compares the methods
/// where most neurons are gone).
pub const HIGH_RATIO: f64 = 0.8;

/// Mean clean and robust accuracy over the points that removed at least [`HIGH_RATIO`] (the
/// last point when none did): the number a claim about high pruning ratios is judged on.
pub fn high_ratio(points: &[cr_prune::PrunePoint]) -> HighRatio {
    let high: Vec<&cr_prune::PrunePoint> = {
        let h: Vec<_> = points.iter().filter(|p| p.achieved >= HIGH_RATIO).collect();
        if h.is_empty() {
            points.last().into_iter().collect()
        } else {
            h
        }
    };
    let n = high.len().max(1) as f64;
    let robust: Vec<f64> = high.iter().filter_map(|p| p.robust_accuracy).collect();
    HighRatio {
        threshold: HIGH_RATIO,
        points: high.len(),
        clean_accuracy: high.iter().map(|p| p.clean_accuracy).sum::<f64>() / n,
        robust_accuracy: (robust.len() == high.len() && !robust.is_empty())
            .then(|| robust.iter().sum::<f64>() / n),
    }
}

/// The mean accuracies at high pruning ratios ([`high_ratio`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HighRatio {
    /// [`HIGH_RATIO`].
    pub threshold: f64,
    /// Points averaged.
    pub points: usize,
    /// Mean clean accuracy over them.
    pub clean_accuracy: f64,
    /// Mean robust accuracy over them (`None` without an attack).
    pub robust_accuracy: Option<f64>,
}

/// One pruning method's curve, as recorded.
#[derive(Debug, Clone, Serialize)]
struct PruneCurve {
    method: String,
    points: Vec<cr_prune::PrunePoint>,
    high_ratio: HighRatio,
}

/// The `pruning` measure, as recorded.
#[derive(Debug, Clone, Serialize)]
struct PruningRecord {
    attack: Option<String>,
    curves: Vec<PruneCurve>,
}

/// Accuracy and robust accuracy against the pruning ratio, one curve per configured method
/// (paper Figure 8). Each pruned model is the physically smaller one where the method has
/// one; the robust accuracy uses the main attack.
pub(crate) fn pruning(
    model: &Model,
    cfg: &EvalConfig,
    attack: Option<&AttackSpec>,
    x: &Tensor<4>,
    y: &Tensor<1, Int>,
) -> Result<serde_json::Value, EvalError> {
    let settings = cfg
        .settings
        .pruning
        .as_ref()
        .ok_or_else(|| err("pruning", "needs eval.settings.pruning"))?;
    let label = attack.map(AttackSpec::label);
    let attack = attack.map(|a| attack_of(a, cfg.seed));
    let mut curves = Vec::new();
    for name in &settings.methods {
        let method: Method = name.parse().map_err(|e| err("pruning", e))?;
        let base = PruneConfig {
            physical: method.is_structured(),
            max_layer_ratio: settings
                .max_layer_ratio
                .unwrap_or(cr_prune::DEFAULT_MAX_LAYER_RATIO),
            eps_vector: settings.eps_vector,
            ..PruneConfig::with_ratio(method, 0.0)
        };
        let eval = |m: &Model| -> Result<EvalPoint, EvalError> {
            let (clean_accuracy, _) = accuracy_and_loss(m, x, y);
            let robust_accuracy = match &attack {
                Some(a) => {
                    let f = |x: Tensor<4>| m.forward(x);
                    let r = run_attack(
                        &f,
                        a,
                        x.clone(),
                        y.clone(),
                        &AttackOptions {
                            batch_size: Some(ATTACK_BATCH),
                            sanity: false,
                        },
                    )
                    .map_err(|e| err("pruning attack", e))?;
                    Some(r.robust_accuracy)
                }
                None => None,
            };
            Ok(EvalPoint {
                clean_accuracy,
                robust_accuracy,
            })
        };
        let points = sweep(model, &base, &settings.ratios, eval)
            .map_err(|e| err(&format!("pruning ({name})"), e))?;
        let high = high_ratio(&points);
        curves.push(PruneCurve {
            method: name.clone(),
            points,
            high_ratio: high,
        });
    }
    serde_json::to_value(PruningRecord {
        attack: label,
        curves,
    })
    .map_err(|e| err("pruning", e))
}
