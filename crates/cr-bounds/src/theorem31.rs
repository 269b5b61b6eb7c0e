//! Theorem 3.1: operator norms bounded by compressibility × Frobenius norm (paper Eq. 4, 5;
//! SPEC §2).
//!
//! For a layer `W` of shape `h × n` (h rows = neurons):
//!
//! * **(a), Eq. (4):** `‖W‖_∞ ≤ (1−ε_ν)/(1−β_ν) · (√(h·k_r) + √(h·n)·ε_r)/k_ν · ‖W‖_F`, with
//!   ν the row-ℓ1 vector at `(1, k_ν, ε_ν)`, β_ν its spread at k_ν, and every row
//!   `(2, k_r, ε_r)`-compressible (ε_r = the largest row ratio `ε₂(w_i, k_r)`). For the
//!   paper's square layers (n = h) the term `√(h·n)·ε_r` is the paper's `h·ε_r`; for a
//!   non-square layer `√(h·n)` is what the proof needs (`‖tail_i‖₁ ≤ √n‖tail_i‖₂`, then
//!   Cauchy–Schwarz over the h rows), so that is what is computed.
//! * **(b), Eq. (5):** `‖W‖₂ ≤ (1−ε_σ)/(1−β_σ) · √r/k_σ · ‖W‖_F`, σ the singular values at
//!   `(1, k_σ, ε_σ)`, r = min(h, n) their number (= h for the paper's square layers; r ≤ h, so
//!   never looser than the paper's √h).
//!
//! Both hold for **every** k ≥ 1: `(1−ε)·‖v‖₁` is the sum of the top k entries, which is at
//! least `k·v_(k) = k(1−β)·v_(1)`; then `‖ν‖₁ = Σ_i ‖w_i‖₁ ≤ Σ_i (√k_r + √n·ε_r)‖w_i‖₂ ≤
//! (√(h k_r) + √(h n) ε_r)‖W‖_F` and `‖σ‖₁ ≤ √r‖σ‖₂ = √r‖W‖_F`. The row pair `(k_r, ε_r)` is
//! any choice; [`theorem_3_1_linf`] takes the one that minimises the row term (ties: the
//! smallest k_r), [`theorem_3_1_linf_at`] takes it from the caller.
//!
//! Conventions: a k where the k-th largest entry is 0 (β = 1) gives an infinite bound
//! (`f64::INFINITY`, written `null` by serde_json); the zero matrix has bound 0.

use cr_linalg::{Mat, compress, norms, svd};
use serde::{Deserialize, Serialize};

use crate::error::{Result, invalid};

/// How k is chosen for ν (ℓ∞) or σ (ℓ2).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KChoice {
    /// This k (read as h where it exceeds the vector's length h; 0 is an error).
    Fixed(usize),
    /// `⌈f·h⌉` (at least 1), f ∈ (0, 1].
    Fraction(f64),
    /// The least k with `ε₁(k) ≤ target` (at least 1), target ∈ [0, 1].
    EpsTarget(f64),
    /// The k in 1..=h that minimises the bound (ties: the smallest k).
    Minimise,
}

/// `(1, k, ε)`-compressibility of a vector (ν or σ) at one k, with its spread β.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct VectorCompressibility {
    /// k (1 ≤ k ≤ length).
    pub k: usize,
    /// `ε₁(k) = ‖v − v_k‖₁/‖v‖₁`.
    pub eps: f64,
    /// `β = 1 − v_(k)/v_(1)`.
    pub beta: f64,
}

/// Theorem 3.1 (a), paper Eq. (4): the ℓ∞ bound with all its terms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinfBound {
    /// How k_ν was chosen.
    pub choice: KChoice,
    /// k_ν.
    pub k: usize,
    /// ε_ν = ε₁(ν, k_ν).
    pub eps: f64,
    /// β_ν.
    pub beta: f64,
    /// h, the number of rows.
    pub h: usize,
    /// n, the number of columns (row length).
    pub n: usize,
    /// k_r, the per-row k (0..=n).
    pub k_r: usize,
    /// ε_r = max over rows of `ε₂(w_i, k_r)`.
    pub eps_r: f64,
    /// ‖W‖_F.
    pub frobenius: f64,
    /// The bound of Eq. (4).
    pub bound: f64,
    /// The true ‖W‖_∞ (max row ℓ1), for comparison.
    pub true_norm: f64,
}

/// Theorem 3.1 (b), paper Eq. (5): the ℓ2 bound with all its terms.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct L2Bound {
    /// How k_σ was chosen.
    pub choice: KChoice,
    /// k_σ.
    pub k: usize,
    /// ε_σ = ε₁(σ, k_σ).
    pub eps: f64,
    /// β_σ.
    pub beta: f64,
    /// h, the number of rows.
    pub h: usize,
    /// r = min(h, n), the number of singular values (the √r of the bound).
    pub r: usize,
    /// ‖W‖_F.
    pub frobenius: f64,
    /// The bound of Eq. (5).
    pub bound: f64,
    /// The true ‖W‖₂ = σ₁, for comparison.
    pub true_norm: f64,
}

/// `(1−ε)/(1−β) · c/k · fro` for a sorted (decreasing, non-negative) vector at k, from its
/// ε curve; 0 when fro is 0, ∞ when `v_(k)` is 0.
fn compress_bound(sorted: &[f64], curve: &[f64], k: usize, c: f64, fro: f64) -> (f64, f64, f64) {
    let eps = curve[k];
    if sorted[0] == 0.0 {
        return (eps, 0.0, 0.0);
    }
    let beta = 1.0 - sorted[k - 1] / sorted[0];
    let bound = if fro == 0.0 {
        0.0
    } else if sorted[k - 1] == 0.0 {
        f64::INFINITY
    } else {
        (1.0 - eps) / (1.0 - beta) * c / k as f64 * fro
    };
    (eps, beta, bound)
}

/// Resolves a [`KChoice`] for a vector of length `len ≥ 1` with ε curve `curve`; `value(k)`
/// is the bound at k (used by [`KChoice::Minimise`]).
fn resolve_k(
    choice: KChoice,
    len: usize,
    curve: &[f64],
    value: impl Fn(usize) -> f64,
) -> Result<usize> {
    match choice {
        KChoice::Fixed(0) => Err(invalid("k", "Fixed(0): k must be at least 1")),
        KChoice::Fixed(k) => Ok(k.min(len)),
        KChoice::Fraction(f) => {
            if !(f > 0.0 && f <= 1.0) {
                return Err(invalid("k", format!("Fraction({f}) is outside (0, 1]")));
            }
            Ok(((f * len as f64).ceil() as usize).clamp(1, len))
        }
        KChoice::EpsTarget(t) => {
            if !(0.0..=1.0).contains(&t) {
                return Err(invalid("k", format!("EpsTarget({t}) is outside [0, 1]")));
            }
            let k = curve.iter().position(|e| *e <= t).unwrap_or(len);
            Ok(k.clamp(1, len))
        }
        KChoice::Minimise => {
            let mut best = (1, value(1));
            for k in 2..=len {
                let v = value(k);
                if v < best.1 {
                    best = (k, v);
                }
            }
            Ok(best.0)
        }
    }
}

/// The ν-side statistics of a layer that every k shares.
#[derive(Debug, Clone)]
pub(crate) struct NuStats {
    pub(crate) nu: Vec<f64>,
    pub(crate) sorted: Vec<f64>,
    pub(crate) curve: Vec<f64>,
    pub(crate) fro: f64,
    pub(crate) h: usize,
    pub(crate) n: usize,
    /// Row ε curves' maximum over rows: `row_eps[k_r] = max_i ε₂(w_i, k_r)`, k_r = 0..=n.
    pub(crate) row_eps: Vec<f64>,
}

impl NuStats {
    pub(crate) fn new(w: &Mat<f64>) -> Result<Self> {
        let (h, n) = (w.nrows(), w.ncols());
        if h == 0 || n == 0 {
            return Err(invalid("matrix", format!("empty {h}x{n} matrix")));
        }
        let nu = norms::row_norms(w, 1.0);
        let curve = compress::eps_curve(&nu, 1.0)?;
        let sorted = compress::sorted_magnitudes(&nu);
        let mut row_eps = vec![0.0f64; n + 1];
        let mut row = vec![0.0; n];
        for i in 0..h {
            for (j, r) in row.iter_mut().enumerate() {
                *r = w[(i, j)];
            }
            for (m, e) in row_eps.iter_mut().zip(compress::eps_curve(&row, 2.0)?) {
                *m = m.max(e);
            }
        }
        Ok(NuStats {
            nu,
            sorted,
            curve,
            fro: norms::frobenius(w),
            h,
            n,
            row_eps,
        })
    }

    fn row_term(&self, k_r: usize) -> f64 {
        let (h, n) = (self.h as f64, self.n as f64);
        (h * k_r as f64).sqrt() + (h * n).sqrt() * self.row_eps[k_r]
    }

    /// The k_r in 0..=n minimising the row term (ties: the smallest).
    pub(crate) fn best_k_r(&self) -> usize {
        let mut best = (0, self.row_term(0));
        for k_r in 1..=self.n {
            let v = self.row_term(k_r);
            if v < best.1 {
                best = (k_r, v);
            }
        }
        best.0
    }

    pub(crate) fn bound(&self, choice: KChoice, k_r: Option<usize>) -> Result<LinfBound> {
        let k_r = match k_r {
            Some(k_r) if k_r > self.n => {
                return Err(invalid(
                    "k_r",
                    format!("{k_r} is outside 0..={} (the row length)", self.n),
                ));
            }
            Some(k_r) => k_r,
            None => self.best_k_r(),
        };
        let c = self.row_term(k_r);
        let at = |k| compress_bound(&self.sorted, &self.curve, k, c, self.fro);
        let k = resolve_k(choice, self.h, &self.curve, |k| at(k).2)?;
        let (eps, beta, bound) = at(k);
        Ok(LinfBound {
            choice,
            k,
            eps,
            beta,
            h: self.h,
            n: self.n,
            k_r,
            eps_r: self.row_eps[k_r],
            frobenius: self.fro,
            bound,
            true_norm: self.sorted[0],
        })
    }
}

/// Theorem 3.1 (b) from singular values (sorted, largest first) and the layer's row count.
pub(crate) fn l2_from_sigma(sigma: &[f64], h: usize, choice: KChoice) -> Result<L2Bound> {
    let r = sigma.len();
    if r == 0 {
        return Err(invalid("matrix", "empty matrix"));
    }
    let curve = compress::eps_curve(sigma, 1.0)?;
    let fro = sigma.iter().map(|s| s * s).sum::<f64>().sqrt();
    let c = (r as f64).sqrt();
    let at = |k| compress_bound(sigma, &curve, k, c, fro);
    let k = resolve_k(choice, r, &curve, |k| at(k).2)?;
    let (eps, beta, bound) = at(k);
    Ok(L2Bound {
        choice,
        k,
        eps,
        beta,
        h,
        r,
        frobenius: fro,
        bound,
        true_norm: sigma[0],
    })
}

/// Theorem 3.1 (a), paper Eq. (4): the ℓ∞ bound of `w` (`[out, in]`) with k_ν chosen by
/// `choice` and the row pair `(k_r, ε_r)` that minimises `√(h·k_r) + √(h·n)·ε_r`.
///
/// # Errors
/// [`crate::BoundsError::Invalid`] for an empty matrix or a bad choice;
/// [`crate::BoundsError::Linalg`] for non-finite entries.
pub fn theorem_3_1_linf(w: &Mat<f64>, choice: KChoice) -> Result<LinfBound> {
    NuStats::new(w)?.bound(choice, None)
}

/// Theorem 3.1 (a), paper Eq. (4), with the per-row k_r given by the caller (0..=n; ε_r is
/// then `max_i ε₂(w_i, k_r)`). The bound holds for every k_r.
///
/// # Errors
/// As [`theorem_3_1_linf`], and [`crate::BoundsError::Invalid`] for k_r > n.
pub fn theorem_3_1_linf_at(w: &Mat<f64>, choice: KChoice, k_r: usize) -> Result<LinfBound> {
    NuStats::new(w)?.bound(choice, Some(k_r))
}

/// Theorem 3.1 (b), paper Eq. (5): the ℓ2 bound of `w` with k_σ chosen by `choice`.
///
/// # Errors
/// As [`theorem_3_1_linf`], and [`crate::BoundsError::Linalg`] when the SVD fails.
pub fn theorem_3_1_l2(w: &Mat<f64>, choice: KChoice) -> Result<L2Bound> {
    if w.nrows() == 0 || w.ncols() == 0 {
        return Err(invalid(
            "matrix",
            format!("empty {}x{} matrix", w.nrows(), w.ncols()),
        ));
    }
    l2_from_sigma(&svd::singular_values(w)?, w.nrows(), choice)
}

/// Compressibility of `v` (any non-negative vector, e.g. ν or σ) at k (clamped to 1..=len).
pub(crate) fn compressibility(v: &[f64], k: usize) -> Result<VectorCompressibility> {
    let k = k.clamp(1, v.len().max(1));
    Ok(VectorCompressibility {
        k,
        eps: compress::eps(v, 1.0, k)?,
        beta: compress::beta(v, k)?,
    })
}
