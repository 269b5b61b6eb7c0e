//! Compressibility and norms of a model's layers (SPEC §1): per layer on its effective
//! `[out, in·kh·kw]` matrix, and averaged over the hidden layers.

use serde::{Deserialize, Serialize};

use cr_linalg::{compress, matrix::from_rows_f32, norms, svd};
use cr_models::{LayerMatrix, Model, Selection};

use crate::error::{EvalError, err};

/// Compressibility and norms of one layer (SPEC §1), on its effective `[out, in·kh·kw]`
/// matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerStats {
    /// Layer name.
    pub name: String,
    /// Rows (neurons / filters).
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// ‖W‖_F.
    pub frobenius: f64,
    /// ‖W‖_∞.
    pub inf_norm: f64,
    /// ‖W‖₂.
    pub spectral_norm: f64,
    /// ‖W‖_F²/σ₁².
    pub stable_rank: f64,
    /// exp H(σ/‖σ‖₁).
    pub effective_rank: f64,
    /// k used for ν (⌈κ·rows⌉).
    pub k_nu: usize,
    /// ε₁(ν, k_ν).
    pub eps_nu: f64,
    /// β(ν, k_ν).
    pub beta_nu: f64,
    /// k used for σ (⌈κ·min(rows, cols)⌉).
    pub k_sigma: usize,
    /// ε₁(σ, k_σ).
    pub eps_sigma: f64,
    /// β(σ, k_σ).
    pub beta_sigma: f64,
    /// advcomp's compressibility at level κ of the flattened weights, 1 − ε₂(⌈κ·d⌉).
    pub advcomp: f64,
    /// Numerical rank: singular values above `σ₁ · max(rows, cols) · 2⁻²³` (f32 rounding).
    #[serde(default)]
    pub numerical_rank: usize,
    /// ε₁ of ν and σ at several fractions of their length ([`LEVELS`]), so that a measure
    /// still moves where one level has saturated.
    #[serde(default)]
    pub levels: Vec<Level>,
}

/// The fractions (in percent) of a vector's length at which [`LayerStats::levels`] reads ε.
pub const LEVELS: [u32; 5] = [1, 5, 10, 25, 50];

/// ε₁ of ν and σ keeping `percent`% of their entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Level {
    /// Fraction kept, in percent.
    pub percent: u32,
    /// k for ν (⌈percent/100 · rows⌉).
    pub k_nu: usize,
    /// ε₁(ν, k_nu).
    pub eps_nu: f64,
    /// k for σ.
    pub k_sigma: usize,
    /// ε₁(σ, k_sigma).
    pub eps_sigma: f64,
}

/// Compressibility of the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Compressibility {
    /// κ.
    pub kappa: f64,
    /// Per hidden layer (effective matrices; head and first conv excluded).
    pub layers: Vec<LayerStats>,
    /// Mean over layers of `1 − ε₁(ν, ⌈κh⌉)`: neuron compressibility (higher = more).
    pub neuron: f64,
    /// Mean over layers of `1 − ε₁(σ, ⌈κr⌉)`: spectral compressibility.
    pub spectral: f64,
    /// Mean over layers of the stable rank.
    #[serde(default)]
    pub stable_rank: f64,
    /// Mean over layers of the effective rank.
    #[serde(default)]
    pub effective_rank: f64,
    /// Mean over layers of ε₁ of ν and σ at each of [`LEVELS`] (k the mean of the layers' k).
    #[serde(default)]
    pub levels: Vec<Level>,
}

/// Statistics of one matrix.
pub fn layer_stats(name: &str, m: &LayerMatrix, kappa: f64) -> Result<LayerStats, EvalError> {
    let w = from_rows_f32(m.rows, m.cols, &m.data).map_err(|e| err(name, e))?;
    let sigma = svd::singular_values(&w).map_err(|e| err(name, e))?;
    let nu = norms::row_norms(&w, 1.0);
    let k_nu = ((kappa * m.rows as f64).ceil() as usize).clamp(1, m.rows.max(1));
    let k_sigma = ((kappa * sigma.len() as f64).ceil() as usize).clamp(1, sigma.len().max(1));
    let flat: Vec<f64> = m.data.iter().map(|v| *v as f64).collect();
    let e = |r: Result<f64, cr_linalg::LinalgError>| r.map_err(|e| err(name, e));
    let at = |len: usize, percent: u32| {
        ((percent as f64 / 100.0 * len as f64).ceil() as usize).clamp(1, len.max(1))
    };
    let levels = LEVELS
        .iter()
        .map(|p| {
            let (kn, ks) = (at(nu.len(), *p), at(sigma.len(), *p));
            Ok(Level {
                percent: *p,
                k_nu: kn,
                eps_nu: e(compress::eps(&nu, 1.0, kn))?,
                k_sigma: ks,
                eps_sigma: e(compress::eps(&sigma, 1.0, ks))?,
            })
        })
        .collect::<Result<Vec<_>, EvalError>>()?;
    let tol = m.rows.max(m.cols) as f64 * f32::EPSILON as f64;
    Ok(LayerStats {
        name: name.to_string(),
        rows: m.rows,
        cols: m.cols,
        frobenius: norms::frobenius(&w),
        inf_norm: norms::inf_norm(&w),
        spectral_norm: sigma.first().copied().unwrap_or(0.0),
        stable_rank: norms::stable_rank(&sigma),
        effective_rank: norms::effective_rank(&sigma),
        k_nu,
        eps_nu: e(compress::eps(&nu, 1.0, k_nu))?,
        beta_nu: e(compress::beta(&nu, k_nu))?,
        k_sigma,
        eps_sigma: e(compress::eps(&sigma, 1.0, k_sigma))?,
        beta_sigma: e(compress::beta(&sigma, k_sigma))?,
        advcomp: e(compress::compressibility_at_level(&flat, kappa))?,
        numerical_rank: norms::numerical_rank(&sigma, tol),
        levels,
    })
}

/// Compressibility of every hidden layer of `model`.
pub fn compressibility(model: &Model, kappa: f64) -> Result<Compressibility, EvalError> {
    let layers = model
        .effective_matrices(Selection::HIDDEN)
        .iter()
        .map(|(n, m)| layer_stats(n, m, kappa))
        .collect::<Result<Vec<_>, _>>()?;
    let mean = |f: &dyn Fn(&LayerStats) -> f64| {
        if layers.is_empty() {
            f64::NAN
        } else {
            layers.iter().map(f).sum::<f64>() / layers.len() as f64
        }
    };
    let levels = LEVELS
        .iter()
        .enumerate()
        .map(|(i, p)| Level {
            percent: *p,
            k_nu: mean(&|l| l.levels[i].k_nu as f64).round() as usize,
            eps_nu: mean(&|l| l.levels[i].eps_nu),
            k_sigma: mean(&|l| l.levels[i].k_sigma as f64).round() as usize,
            eps_sigma: mean(&|l| l.levels[i].eps_sigma),
        })
        .collect();
    Ok(Compressibility {
        kappa,
        neuron: mean(&|l| 1.0 - l.eps_nu),
        spectral: mean(&|l| 1.0 - l.eps_sigma),
        stable_rank: mean(&|l| l.stable_rank),
        effective_rank: mean(&|l| l.effective_rank),
        levels: if layers.is_empty() {
            Vec::new()
        } else {
            levels
        },
        layers,
    })
}
