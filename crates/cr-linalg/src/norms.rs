//! Operator norms, ranks and row norms (SPEC §1).
//!
//! Conventions: `W` is `m × n` and acts on column vectors, `x ↦ W x`; a row is a neuron.
//! The routines that take singular values expect them sorted largest first, as
//! [`crate::svd::singular_values`] returns them.

use faer::Mat;

use crate::scalar::Real;

/// ‖W‖_∞ = max over rows of the row's ℓ1 norm: the ℓ∞ → ℓ∞ operator norm (SPEC §1).
/// Computed in the precision of `T`; 0 for an empty matrix.
pub fn inf_norm<T: Real>(w: &Mat<T>) -> T {
    let mut best = T::from_f64(0.0);
    for i in 0..w.nrows() {
        let mut s = T::from_f64(0.0);
        for j in 0..w.ncols() {
            s += w[(i, j)].magnitude();
        }
        if s > best {
            best = s;
        }
    }
    best
}

/// ‖W‖_1 = max over columns of the column's ℓ1 norm: the ℓ1 → ℓ1 operator norm.
pub fn one_norm<T: Real>(w: &Mat<T>) -> T {
    let mut best = T::from_f64(0.0);
    for j in 0..w.ncols() {
        let mut s = T::from_f64(0.0);
        for i in 0..w.nrows() {
            s += w[(i, j)].magnitude();
        }
        if s > best {
            best = s;
        }
    }
    best
}

/// ‖W‖_F = (Σ w_ij²)^½ (faer's scaled, overflow-safe sum).
pub fn frobenius<T: Real>(w: &Mat<T>) -> T {
    w.norm_l2()
}

/// ℓq norms of the rows, accumulated in `f64` (q ≥ 1; `f64::INFINITY` for the max norm). The
/// neuron vector ν of SPEC §1 is `row_norms(w, 1.0)`. A `q` below 1 or NaN gives NaNs; use
/// [`crate::compress`] when q comes from a user.
pub fn row_norms<T: Real>(w: &Mat<T>, q: f64) -> Vec<f64> {
    (0..w.nrows())
        .map(|i| crate::compress::lq_norm((0..w.ncols()).map(|j| w[(i, j)].into()), q))
        .collect()
}

/// The nuclear norm ‖W‖_* = Σσ, from singular values.
pub fn nuclear(sigma: &[f64]) -> f64 {
    sigma.iter().sum()
}

/// Stable rank ‖W‖_F²/‖W‖₂² = Σσ²/σ₁², from singular values (SPEC §1). Lies in [1, rank] for a
/// non-zero matrix; 0 for the zero (or empty) matrix.
pub fn stable_rank(sigma: &[f64]) -> f64 {
    match sigma.first() {
        Some(&s1) if s1 > 0.0 => sigma.iter().map(|s| (s / s1) * (s / s1)).sum::<f64>(),
        _ => 0.0,
    }
}

/// Effective rank exp(H(p)) with p = σ/‖σ‖₁ and H the Shannon entropy in nats, 0·log 0 = 0
/// (Roy & Vetterli 2007; SPEC §1). Lies in [1, rank] for a non-zero matrix; by convention 0 for
/// the zero (or empty) matrix, whose p is undefined.
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

/// Number of singular values above `tol · σ₁` (numerical rank; 0 for the zero matrix).
pub fn numerical_rank(sigma: &[f64], tol: f64) -> usize {
    match sigma.first() {
        Some(&s1) if s1 > 0.0 => sigma.iter().filter(|s| **s > tol * s1).count(),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::from_rows_f64;

    #[test]
    fn hand_values() {
        // [[1, -2], [3, 4]]: rows ℓ1 3, 7; columns ℓ1 4, 6; ‖·‖_F = √30.
        let w = from_rows_f64(2, 2, &[1., -2., 3., 4.]).unwrap();
        assert_eq!(inf_norm(&w), 7.0);
        assert_eq!(one_norm(&w), 6.0);
        assert!((frobenius(&w) - 30f64.sqrt()).abs() < 1e-14);
        assert_eq!(row_norms(&w, 1.0), vec![3.0, 7.0]);
        assert_eq!(row_norms(&w, f64::INFINITY), vec![2.0, 4.0]);
        assert!((row_norms(&w, 2.0)[1] - 5.0).abs() < 1e-14);
        let w32 = crate::matrix::to_f32(&w);
        assert_eq!((inf_norm(&w32), one_norm(&w32)), (7.0f32, 6.0f32));
        // σ = (4, 2, 2): stable rank (16+4+4)/16, nuclear 8, p = (½, ¼, ¼) → H = 1.5 ln 2.
        let s = [4.0, 2.0, 2.0];
        assert_eq!(stable_rank(&s), 1.5);
        assert_eq!(nuclear(&s), 8.0);
        assert!((effective_rank(&s) - 2f64.powf(1.5)).abs() < 1e-12);
        assert_eq!(numerical_rank(&[3.0, 1e-12, 0.0], 1e-10), 1);
        // Equal singular values: effective rank = stable rank = rank.
        assert!((effective_rank(&[2.0, 2.0, 2.0]) - 3.0).abs() < 1e-12);
        assert_eq!(stable_rank(&[2.0, 2.0, 2.0]), 3.0);
        // Zero and empty matrices.
        assert_eq!(
            (stable_rank(&[0.0, 0.0]), effective_rank(&[0.0, 0.0])),
            (0.0, 0.0)
        );
        assert_eq!(
            (
                stable_rank(&[]),
                effective_rank(&[]),
                numerical_rank(&[], 0.1)
            ),
            (0.0, 0.0, 0)
        );
        assert_eq!(inf_norm(&Mat::<f64>::zeros(0, 0)), 0.0);
    }
}
