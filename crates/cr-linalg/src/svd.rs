//! Singular value decompositions, the spectral norm and low-rank truncation.

use faer::Mat;
use rand::{Rng, SeedableRng};

use crate::error::{LinalgError, Result};
use crate::matrix::check_finite;
use crate::scalar::Real;

/// A thin SVD `W = U diag(s) Vᵀ`: `U` is `m × r`, `V` is `n × r`, `r = min(m, n)`, and `s` is
/// non-negative and non-increasing.
#[derive(Debug, Clone)]
pub struct Svd<T: Real = f64> {
    /// Left singular vectors (columns).
    pub u: Mat<T>,
    /// Singular values, largest first.
    pub s: Vec<T>,
    /// Right singular vectors (columns).
    pub v: Mat<T>,
}

impl<T: Real> Svd<T> {
    /// The best rank-k approximation `U_k diag(s_k) V_kᵀ` (Eckart–Young: it minimises both
    /// ‖W − X‖₂ and ‖W − X‖_F over rank-k matrices X). `k` above `r` is read as `r`; `k = 0`
    /// gives the zero matrix.
    pub fn truncate(&self, k: usize) -> Mat<T> {
        let k = k.min(self.s.len());
        let (m, n) = (self.u.nrows(), self.v.nrows());
        let us = Mat::from_fn(m, k, |i, j| self.u[(i, j)] * self.s[j]);
        let vt = Mat::from_fn(k, n, |i, j| self.v[(j, i)]);
        &us * &vt
    }

    /// The two factors of the rank-k approximation, `(U_k diag(√s_k), diag(√s_k) V_kᵀ)`, of
    /// shapes `m × k` and `k × n`; their product is [`Svd::truncate`]. This is the balanced
    /// split a low-rank layer `W = A B` is initialised with.
    pub fn factors(&self, k: usize) -> (Mat<T>, Mat<T>) {
        let k = k.min(self.s.len());
        let (m, n) = (self.u.nrows(), self.v.nrows());
        let a = Mat::from_fn(m, k, |i, j| self.u[(i, j)] * self.s[j].square_root());
        let b = Mat::from_fn(k, n, |i, j| self.s[i].square_root() * self.v[(j, i)]);
        (a, b)
    }
}

/// Singular values of `w`, largest first (`min(m, n)` of them; none for an empty matrix),
/// computed in the precision of `T`.
///
/// # Errors
/// [`LinalgError::NonFinite`] for NaN/∞ entries; [`LinalgError::NoConvergence`].
pub fn singular_values<T: Real>(w: &Mat<T>) -> Result<Vec<T>> {
    if w.nrows() == 0 || w.ncols() == 0 {
        return Ok(Vec::new());
    }
    check_finite(w, "matrix passed to the SVD")?;
    w.singular_values().map_err(|_| LinalgError::NoConvergence)
}

/// The thin SVD of `w`, computed in the precision of `T`.
///
/// # Errors
/// [`LinalgError::Shape`] for an empty matrix, [`LinalgError::NonFinite`],
/// [`LinalgError::NoConvergence`].
pub fn thin_svd<T: Real>(w: &Mat<T>) -> Result<Svd<T>> {
    if w.nrows() == 0 || w.ncols() == 0 {
        return Err(LinalgError::Shape(format!(
            "SVD of an empty {}x{} matrix",
            w.nrows(),
            w.ncols()
        )));
    }
    check_finite(w, "matrix passed to the SVD")?;
    let svd = w.thin_svd().map_err(|_| LinalgError::NoConvergence)?;
    let r = w.nrows().min(w.ncols());
    let d = svd.S().column_vector();
    let s: Vec<T> = (0..r).map(|i| d[i]).collect();
    Ok(Svd {
        u: svd.U().to_owned(),
        s,
        v: svd.V().to_owned(),
    })
}

/// The best rank-k approximation of `w` (see [`Svd::truncate`]).
///
/// # Errors
/// As [`thin_svd`].
pub fn low_rank<T: Real>(w: &Mat<T>, k: usize) -> Result<Mat<T>> {
    Ok(thin_svd(w)?.truncate(k))
}

/// ‖W‖₂ = σ₁ (0 for an empty matrix), as `√λ_max` of the Gram matrix of the smaller side
/// (`W Wᵀ` or `Wᵀ W`, formed in f64), from its symmetric eigenvalues.
///
/// Exact up to rounding, not an estimate: λ_max of the Gram matrix is perturbed by at most
/// about `ε·σ₁²`, so σ₁ keeps a relative accuracy of about ε/2 (squaring only costs accuracy
/// on the *small* singular values, which are not wanted here). About 2× faster than the
/// singular values for square matrices (2048² f64: see `cargo xtask bench`'s `norms-2048`).
///
/// # Errors
/// [`LinalgError::NonFinite`] for NaN/∞ entries; [`LinalgError::NoConvergence`].
pub fn spectral_norm<T: Real>(w: &Mat<T>) -> Result<f64> {
    if w.nrows() == 0 || w.ncols() == 0 {
        return Ok(0.0);
    }
    check_finite(w, "matrix passed to the spectral norm")?;
    // Scaled by the largest |entry| so that squaring neither overflows nor underflows.
    let (m, n) = (w.nrows(), w.ncols());
    let scale = (0..n)
        .flat_map(|j| (0..m).map(move |i| (i, j)))
        .map(|(i, j)| Into::<f64>::into(w[(i, j)]).abs())
        .fold(0.0_f64, f64::max);
    if scale == 0.0 {
        return Ok(0.0);
    }
    let w64 = Mat::<f64>::from_fn(m, n, |i, j| w[(i, j)].into() / scale);
    let gram = if w64.nrows() <= w64.ncols() {
        &w64 * w64.transpose()
    } else {
        w64.transpose() * &w64
    };
    let lambda = gram
        .self_adjoint_eigenvalues(faer::Side::Lower)
        .map_err(|_| LinalgError::NoConvergence)?;
    Ok(lambda.into_iter().fold(0.0_f64, f64::max).max(0.0).sqrt() * scale)
}

/// The orthogonal polar factor `U Vᵀ` of the thin SVD `W = U Σ Vᵀ`: the (sub)gradient of the
/// nuclear norm `‖W‖_* = Σ σ_i`, so `⟨W, U Vᵀ⟩ = ‖W‖_*`.
///
/// Computed from the eigendecomposition of the Gram matrix of the smaller side, which is
/// 2–3× faster than the SVD for the wide layers this is used on (400×784 f64: 23 ms vs 55 ms
/// on one core): for `h ≤ n`, `W Wᵀ = Q Λ Qᵀ` and `U Vᵀ = Q Λ^{-1/2} Qᵀ W` (for `h > n` the
/// transpose). Directions with `σ_i ≤ 1e-6·σ_1` (`λ_i ≤ 1e-12·λ_1`) get 0 instead of
/// `u_i v_iᵀ`: squaring loses their accuracy, and 0 is an equally valid subgradient there
/// (any contraction on the near-null space is). For full-rank, well-conditioned `W` the
/// result equals the SVD's `U Vᵀ` to rounding.
///
/// # Errors
/// An empty or non-finite matrix, or an eigendecomposition that does not converge.
pub fn polar_factor(w: &Mat<f64>) -> Result<Mat<f64>> {
    if w.nrows() == 0 || w.ncols() == 0 {
        return Err(LinalgError::Shape(format!(
            "polar factor of an empty {}x{} matrix",
            w.nrows(),
            w.ncols()
        )));
    }
    check_finite(w, "matrix passed to the polar factor")?;
    let wide = w.nrows() <= w.ncols();
    let gram = if wide {
        w * w.transpose()
    } else {
        w.transpose() * w
    };
    let eig = gram
        .self_adjoint_eigen(faer::Side::Lower)
        .map_err(|_| LinalgError::NoConvergence)?;
    let (q, lambda) = (eig.U(), eig.S().column_vector());
    let m = gram.nrows();
    let top = (0..m).map(|i| lambda[i]).fold(0.0_f64, f64::max);
    let scaled = Mat::<f64>::from_fn(m, m, |i, j| {
        let l = lambda[j];
        if l > top * 1e-12 && l > 0.0 {
            q[(i, j)] / l.sqrt()
        } else {
            0.0
        }
    });
    // Q Λ^{-1/2} Qᵀ, the inverse square root of the Gram matrix on its range.
    let inv_sqrt = &scaled * q.transpose();
    Ok(if wide { &inv_sqrt * w } else { w * &inv_sqrt })
}

/// The result of [`power_iteration`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PowerIteration {
    /// Estimate of σ₁: `‖W v‖₂` for a unit vector v, so never above σ₁ (up to rounding), and
    /// non-decreasing over the iterations.
    pub value: f64,
    /// Iterations run.
    pub iterations: usize,
    /// Whether the relative change of the estimate fell to `tol` or below before `max_iter`.
    pub converged: bool,
}

/// σ₁ = ‖W‖₂ by power iteration on `WᵀW` from a seeded random start (ChaCha8, uniform
/// entries in [−½, ½)), until the relative change of the estimate is at most `tol` or
/// `max_iter` iterations ran. Computes in the precision of `T`. The zero matrix converges at
/// once to 0. Convergence is linear with rate (σ₂/σ₁)²: when σ₁ ≈ σ₂ the estimate stops
/// moving early and can sit below σ₁ by more than `tol` — use [`spectral_norm`] when an exact
/// value matters.
///
/// # Errors
/// [`LinalgError::NonFinite`]; [`LinalgError::Invalid`] for a negative or NaN `tol`.
pub fn power_iteration<T: Real>(
    w: &Mat<T>,
    tol: f64,
    max_iter: usize,
    seed: u64,
) -> Result<PowerIteration> {
    if tol.is_nan() || tol < 0.0 {
        return Err(LinalgError::Invalid {
            name: "tol",
            problem: format!("{tol} is not a non-negative number"),
        });
    }
    check_finite(w, "matrix passed to power iteration")?;
    let n = w.ncols();
    let done = |value, iterations| PowerIteration {
        value,
        iterations,
        converged: true,
    };
    if n == 0 || w.nrows() == 0 {
        return Ok(done(0.0, 0));
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut v = Mat::<T>::from_fn(n, 1, |_, _| T::from_f64(rng.random::<f64>() - 0.5));
    let mut value = 0.0f64;
    for it in 1..=max_iter {
        let nv: f64 = v.norm_l2().into();
        if nv == 0.0 {
            // WᵀW v vanished: v lies in the null space, which only happens for W = 0 (the
            // random start has a component along the top singular vector almost surely).
            return Ok(done(value, it));
        }
        let scale = T::from_f64(1.0 / nv);
        v = Mat::from_fn(n, 1, |i, _| v[(i, 0)] * scale);
        let wv = w * &v;
        let new: f64 = wv.norm_l2().into();
        v = w.transpose() * &wv;
        if (new - value).abs() <= tol * new.max(f64::MIN_POSITIVE) {
            return Ok(done(new, it));
        }
        value = new;
    }
    Ok(PowerIteration {
        value,
        iterations: max_iter,
        converged: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::from_rows_f64;

    #[test]
    fn hand_computed_singular_values() {
        // [[2, 0], [0, -3]]: σ = (3, 2).
        let w = from_rows_f64(2, 2, &[2., 0., 0., -3.]).unwrap();
        assert_eq!(singular_values(&w).unwrap(), vec![3.0, 2.0]);
        // [[1, 1], [1, 1]]: rank one, σ = (2, 0).
        let w = from_rows_f64(2, 2, &[1., 1., 1., 1.]).unwrap();
        let s = singular_values(&w).unwrap();
        assert!((s[0] - 2.0).abs() < 1e-14 && s[1].abs() < 1e-14);
        // [[3, 0], [4, 5]]: σ² are the eigenvalues of WᵀW = [[25, 20], [20, 25]], 45 and 5.
        let w = from_rows_f64(2, 2, &[3., 0., 4., 5.]).unwrap();
        let s = singular_values(&w).unwrap();
        assert!((s[0] - 45f64.sqrt()).abs() < 1e-13 && (s[1] - 5f64.sqrt()).abs() < 1e-13);
        // 3×3: [[1, 1, 0], [1, 1, 0], [0, 0, 3]] has σ = (3, 2, 0).
        let w = from_rows_f64(3, 3, &[1., 1., 0., 1., 1., 0., 0., 0., 3.]).unwrap();
        let s = singular_values(&w).unwrap();
        assert!((s[0] - 3.0).abs() < 1e-14 && (s[1] - 2.0).abs() < 1e-14 && s[2].abs() < 1e-14);
        // 2×3 [[1, 0, 0], [0, 2, 0]]: σ = (2, 1), thin U is 2×2, V is 3×2.
        let w = from_rows_f64(2, 3, &[1., 0., 0., 0., 2., 0.]).unwrap();
        let d = thin_svd(&w).unwrap();
        assert_eq!(
            (d.u.nrows(), d.u.ncols(), d.v.nrows(), d.v.ncols()),
            (2, 2, 3, 2)
        );
        assert!((d.s[0] - 2.0).abs() < 1e-14 && (d.s[1] - 1.0).abs() < 1e-14);
        assert!((d.v[(1, 0)].abs() - 1.0).abs() < 1e-14);
        assert!((spectral_norm(&w).unwrap() - 2.0).abs() < 1e-14);
        // Rank-1 truncation keeps the 2 and drops the 1.
        let w1 = d.truncate(1);
        assert!((w1[(1, 1)] - 2.0).abs() < 1e-14 && w1[(0, 0)].abs() < 1e-14);
        assert_eq!(d.truncate(0).norm_l2(), 0.0);
    }

    /// The Gram route equals the largest singular value, for tall, wide, rank-deficient,
    /// huge and tiny matrices, in f64 and f32.
    #[test]
    fn spectral_norm_is_the_largest_singular_value() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for (m, n, scale) in [
            (7, 3, 1.0),
            (3, 7, 1.0),
            (40, 40, 1.0),
            (5, 9, 1e200),
            (9, 5, 1e-200),
        ] {
            let mut w = Mat::<f64>::from_fn(m, n, |_, _| rng.random::<f64>() - 0.5);
            // Rank-deficient: the last column repeats the first.
            for i in 0..m {
                w[(i, n - 1)] = w[(i, 0)];
            }
            // The reference at scale 1 (faer's SVD itself overflows at 1e200).
            let s1 = singular_values(&w).unwrap()[0] * scale;
            let w = Mat::<f64>::from_fn(m, n, |i, j| w[(i, j)] * scale);
            let got = spectral_norm(&w).unwrap();
            assert!(
                got.is_finite() && ((got - s1) / s1).abs() < 1e-12,
                "{m}x{n}: {got} vs {s1}"
            );
            if scale == 1.0 {
                let w32 = crate::matrix::to_f32(&w);
                let s32 = f64::from(singular_values(&w32).unwrap()[0]);
                assert!(((spectral_norm(&w32).unwrap() - s32) / s32).abs() < 1e-5);
            }
        }
    }

    #[test]
    fn empty_and_bad_input() {
        let e = Mat::<f64>::zeros(0, 3);
        assert!(singular_values(&e).unwrap().is_empty());
        assert!(thin_svd(&e).is_err());
        assert_eq!(spectral_norm(&e).unwrap(), 0.0);
        let nan = from_rows_f64(1, 1, &[f64::NAN]).unwrap();
        assert!(matches!(
            singular_values(&nan),
            Err(LinalgError::NonFinite(_))
        ));
        assert!(power_iteration(&nan, 1e-6, 10, 0).is_err());
        let one = from_rows_f64(1, 1, &[2.0]).unwrap();
        assert!(power_iteration(&one, -1.0, 10, 0).is_err());
    }

    #[test]
    fn power_iteration_zero_and_f32() {
        let z = Mat::<f64>::zeros(3, 4);
        let p = power_iteration(&z, 1e-9, 100, 0).unwrap();
        assert_eq!((p.value, p.converged), (0.0, true));
        let w = from_rows_f64(2, 2, &[3., 0., 4., 5.]).unwrap();
        let p = power_iteration(&w, 1e-14, 1000, 3).unwrap();
        assert!(p.converged && (p.value - 45f64.sqrt()).abs() < 1e-10);
        let w32 = crate::matrix::to_f32(&w);
        let p32 = power_iteration(&w32, 1e-6, 1000, 3).unwrap();
        assert!((p32.value - 45f64.sqrt()).abs() < 1e-4);
        let s32 = singular_values(&w32).unwrap();
        assert!((f64::from(s32[0]) - 45f64.sqrt()).abs() < 1e-5);
        // Same seed, same numbers.
        assert_eq!(
            power_iteration(&w, 1e-6, 50, 9).unwrap(),
            power_iteration(&w, 1e-6, 50, 9).unwrap()
        );
        // max_iter reached without convergence is reported as such.
        let p = power_iteration(&w, 0.0, 3, 1).unwrap();
        assert_eq!((p.iterations, p.converged), (3, false));
    }

    #[test]
    fn polar_factor_matches_the_svd() {
        let mut state = 7_u64;
        let mut next = || {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1);
            ((state >> 33) as f64 / f64::from(1u32 << 31)) - 0.5
        };
        for (h, n) in [(3, 5), (5, 3), (4, 4), (1, 6)] {
            let w = Mat::<f64>::from_fn(h, n, |_, _| next());
            let svd = thin_svd(&w).unwrap();
            let want = &svd.u * svd.v.transpose();
            let got = polar_factor(&w).unwrap();
            assert!((&want - &got).norm_max() < 1e-10, "{h}x{n}");
            // <W, U Vᵀ> is the nuclear norm.
            let inner: f64 = (0..h)
                .flat_map(|i| (0..n).map(move |j| (i, j)))
                .map(|(i, j)| w[(i, j)] * got[(i, j)])
                .sum();
            let nuclear: f64 = svd.s.iter().sum();
            assert!((inner - nuclear).abs() < 1e-10);
        }
        // Rank one, W = a bᵀ with ‖a‖ = √5, ‖b‖ = 3: U Vᵀ = W / (3√5), the null direction gets 0.
        let w = from_rows_f64(2, 3, &[1., 2., 2., 2., 4., 4.]).unwrap();
        let p = polar_factor(&w).unwrap();
        let want =
            from_rows_f64(2, 3, &[1., 2., 2., 2., 4., 4.]).unwrap() * (1.0 / (3.0 * 5f64.sqrt()));
        assert!((&p - &want).norm_max() < 1e-12);
        assert!(polar_factor(&Mat::<f64>::zeros(0, 2)).is_err());
        assert!(polar_factor(&from_rows_f64(1, 1, &[f64::NAN]).unwrap()).is_err());
        // The zero matrix: every direction is null.
        assert_eq!(
            polar_factor(&Mat::<f64>::zeros(2, 2)).unwrap().norm_max(),
            0.0
        );
    }
}
