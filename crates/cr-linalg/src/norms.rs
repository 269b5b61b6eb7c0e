//! Operator norms, ranks and row norms (SPEC §1).

use faer::Mat;

/// ‖W‖_∞ = max over rows of the row's ℓ1 norm (the ℓ∞ → ℓ∞ operator norm).
pub fn inf_norm(w: &Mat<f64>) -> f64 {
    row_norms(w, 1.0).into_iter().fold(0.0, f64::max)
}

/// ‖W‖_1 = max over columns of the column's ℓ1 norm (the ℓ1 → ℓ1 operator norm).
pub fn one_norm(w: &Mat<f64>) -> f64 {
    (0..w.ncols())
        .map(|j| (0..w.nrows()).map(|i| w[(i, j)].abs()).sum::<f64>())
        .fold(0.0, f64::max)
}

/// ‖W‖_F.
pub fn frobenius(w: &Mat<f64>) -> f64 {
    w.norm_l2()
}

/// ℓq norms of the rows (q ≥ 1; `f64::INFINITY` for the max norm): the neuron vector ν of
/// SPEC §1 is `row_norms(w, 1.0)`.
pub fn row_norms(w: &Mat<f64>, q: f64) -> Vec<f64> {
    (0..w.nrows())
        .map(|i| crate::compress::lq_norm((0..w.ncols()).map(|j| w[(i, j)]), q))
        .collect()
}

/// The nuclear norm Σσ from singular values.
pub fn nuclear(sigma: &[f64]) -> f64 {
    sigma.iter().sum()
}

/// Stable rank ‖W‖_F²/σ₁² from singular values (0 for the zero matrix).
pub fn stable_rank(sigma: &[f64]) -> f64 {
    match sigma.first() {
        Some(&s1) if s1 > 0.0 => sigma.iter().map(|s| s * s).sum::<f64>() / (s1 * s1),
        _ => 0.0,
    }
}

/// Effective rank exp(H(p)), p = σ/‖σ‖₁, with 0·log 0 = 0 (Roy & Vetterli 2007); 0 for the
/// zero matrix. Lies in [1, rank] for a non-zero matrix.
pub fn effective_rank(sigma: &[f64]) -> f64 {
    let total: f64 = sigma.iter().sum();
    if total <= 0.0 {
        return 0.0;
    }
    let h: f64 = sigma
        .iter()
        .map(|s| s / total)
        .filter(|p| *p > 0.0)
        .map(|p| -p * p.ln())
        .sum();
    h.exp()
}

/// Number of singular values above `tol · σ₁` (numerical rank).
pub fn numerical_rank(sigma: &[f64], tol: f64) -> usize {
    match sigma.first() {
        Some(&s1) if s1 > 0.0 => sigma.iter().filter(|s| **s > tol * s1).count(),
        _ => 0,
    }
}
