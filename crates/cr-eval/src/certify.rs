//! Certified robustness from the Lipschitz bounds: the lower bound beside an attack's upper
//! bound on robust accuracy.
//!
//! If `L̂` bounds the Lipschitz constant of the pixels → logits map `g` in ℓ2, every logit
//! difference `g_y − g_j` is `√2·L̂`-Lipschitz (`|(e_y − e_j)·Δg| ≤ √2‖Δg‖₂`), so a correctly
//! classified sample with margin `m = g_y(x) − max_{j≠y} g_j(x)` keeps its label within the
//! ℓ2 radius `m / (√2·L̂)`. The ℓ∞ analogue uses the ℓ∞ → ℓ∞ bound `L̂∞` of Eq. (8): each
//! logit moves by at most `L̂∞‖δ‖∞`, a difference by twice that, so the radius is
//! `m / (2·L̂∞)`. A sample is certified at ε when its radius exceeds ε; certified robust
//! accuracy can therefore never exceed any attack's robust accuracy at the same ε.
//!
//! `L̂` is `input_factor × bound`, with the bound either Theorem 3.2 (k minimised per layer,
//! certified upper estimate of the alignment terms: a certified bound) or the plain product
//! of the layers' operator norms; the certificate uses the smaller. Only networks whose layer
//! matrices chain (FCNs) have certified bounds: a conv net's matricised filters give matrix
//! norms, not the convolution's, so [`certify`] declines them.
//!
//! In the grid, the measure `certificate` ([`measure`]) records the certificate at the main
//! attack's norm and ε beside the attack's robust accuracy; the report draws the two as a
//! sandwich against the sweep's strength.

use burn::prelude::*;
use serde::Serialize;

use cr_bounds::{BoundOptions, Estimator, KChoice, Norm, analyze};
use cr_models::Model;

use crate::analyses::{bound_layers, chains};
use crate::config::AttackSpec;
use crate::error::{EvalError, err, readback};

/// The certificate of one model at one (norm, ε).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Certificate {
    /// The threat model.
    pub norm: Norm,
    /// The budget.
    pub eps: f64,
    /// `max_c 1/std_c` of the input normalisation (1 without one).
    pub input_factor: f64,
    /// The network's Theorem 3.2 bound (head included), before the input factor.
    pub theorem_3_2: f64,
    /// The product of the layers' operator norms, before the input factor.
    pub product_of_norms: f64,
    /// `L̂ = input_factor × min(theorem_3_2, product_of_norms)`.
    pub lipschitz: f64,
    /// Fraction certified with the Theorem 3.2 bound alone.
    pub certified_accuracy_theorem_3_2: f64,
    /// Fraction certified with the product of norms alone.
    pub certified_accuracy_product: f64,
    /// Fraction certified with `L̂` (the larger of the two).
    pub certified_accuracy: f64,
    /// Per sample: the certified radius (0 for a misclassified sample).
    pub radii: Vec<f64>,
}

/// Margins `g_y(x) − max_{j≠y} g_j(x)` of `model` on `x` (negative: misclassified).
pub fn margins(model: &Model, x: &Tensor<4>, y: &[usize]) -> Result<Vec<f64>, EvalError> {
    let k = model.spec.num_classes;
    let logits: Vec<f32> = model
        .forward(x.clone())
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|e| readback("logits", e))?;
    Ok(logits
        .chunks_exact(k)
        .zip(y)
        .map(|(row, &c)| {
            let other = row
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != c)
                .map(|(_, v)| f64::from(*v))
                .fold(f64::NEG_INFINITY, f64::max);
            f64::from(row[c]) - other
        })
        .collect())
}

/// The radius certified by a Lipschitz bound `l` at `margin` in `norm` (see the module docs).
pub fn radius(norm: Norm, margin: f64, l: f64) -> f64 {
    let per_difference = match norm {
        Norm::L2 => std::f64::consts::SQRT_2,
        Norm::Linf => 2.0,
    };
    if margin > 0.0 && l > 0.0 {
        margin / (per_difference * l)
    } else if margin > 0.0 {
        f64::INFINITY
    } else {
        0.0
    }
}

/// The certificate of `model` on `(x, y)` at `(norm, eps)`; `None` when the model's layers do
/// not chain (conv nets, ViT), whose bounds are not certified.
pub fn certify(
    model: &Model,
    x: &Tensor<4>,
    y: &[usize],
    norm: Norm,
    eps: f64,
) -> Result<Option<Certificate>, EvalError> {
    if !matches!(model.spec.arch, cr_models::Arch::Fcn { .. }) {
        return Ok(None);
    }
    let layers = bound_layers(model);
    if !chains(&layers) {
        return Ok(None);
    }
    let opts = BoundOptions {
        k: KChoice::Minimise,
        estimator: Estimator::CertifiedUpper,
        include_head: true,
        strict_shapes: true,
        ..BoundOptions::default()
    };
    let report = analyze(&layers, &opts).map_err(|e| err("bounds", e))?;
    let b = match norm {
        Norm::L2 => &report.l2,
        Norm::Linf => &report.linf,
    };
    let input_factor = model
        .spec
        .normalize
        .as_ref()
        .map_or(1.0, |n| n.std.iter().map(|s| 1.0 / s).fold(0.0, f64::max));
    let thm = if b.certified {
        b.theorem_3_2
    } else {
        f64::INFINITY
    };
    let lipschitz = input_factor * thm.min(b.product_true_norms);
    let m = margins(model, x, y)?;
    let share = |l: f64| {
        let c = m.iter().filter(|&&v| radius(norm, v, l) > eps).count();
        c as f64 / m.len().max(1) as f64
    };
    Ok(Some(Certificate {
        norm,
        eps,
        input_factor,
        theorem_3_2: b.theorem_3_2,
        product_of_norms: b.product_true_norms,
        lipschitz,
        certified_accuracy_theorem_3_2: share(input_factor * thm),
        certified_accuracy_product: share(input_factor * b.product_true_norms),
        certified_accuracy: share(lipschitz),
        radii: m.iter().map(|&v| radius(norm, v, lipschitz)).collect(),
    }))
}

/// The certified lower bound on robust accuracy at the main attack's norm and ε
/// ([`crate::certify`]), beside the attack's upper bound `eval.robust_accuracy`: certified
/// accuracy from Theorem 3.2, from the product of norms and from the smaller of the two, and
/// the median certified radius of the clean-correct samples. `null` for a model whose layers
/// do not chain (conv nets): their bounds are not certified.
pub fn measure(
    model: &Model,
    attack: Option<&AttackSpec>,
    x: &Tensor<4>,
    y: &Tensor<1, Int>,
) -> Result<serde_json::Value, EvalError> {
    let spec = attack.ok_or_else(|| err("certificate", "needs an attack"))?;
    // Read as i64 whatever the backend's integer type (i32 on flex).
    let labels: Vec<usize> = y
        .clone()
        .try_into_vec_as::<i64>()
        .map_err(|e| readback("certificate: labels", e))?
        .into_iter()
        .map(|l| l as usize)
        .collect();
    let Some(c) = crate::certify::certify(model, x, &labels, spec.norm, spec.eps)? else {
        return Ok(serde_json::Value::Null);
    };
    let mut radii: Vec<f64> = c.radii.iter().copied().filter(|r| *r > 0.0).collect();
    radii.sort_by(f64::total_cmp);
    let median = radii.get(radii.len() / 2).copied();
    let record = CertificateRecord {
        attack: spec.label(),
        norm: c.norm,
        eps: c.eps,
        input_factor: c.input_factor,
        theorem_3_2: c.theorem_3_2,
        product_of_norms: c.product_of_norms,
        lipschitz: c.lipschitz,
        certified_accuracy: c.certified_accuracy,
        certified_accuracy_theorem_3_2: c.certified_accuracy_theorem_3_2,
        certified_accuracy_product: c.certified_accuracy_product,
        median_radius: median,
    };
    serde_json::to_value(record).map_err(|e| err("certificate", e))
}

/// The `certificate` measure as recorded: the [`Certificate`] without the per-sample radii,
/// with the attack it is set beside and the median radius.
#[derive(Debug, Clone, Serialize)]
struct CertificateRecord {
    attack: String,
    norm: Norm,
    eps: f64,
    input_factor: f64,
    theorem_3_2: f64,
    product_of_norms: f64,
    lipschitz: f64,
    certified_accuracy: f64,
    certified_accuracy_theorem_3_2: f64,
    certified_accuracy_product: f64,
    median_radius: Option<f64>,
}
