//! Singular value decompositions and the spectral norm.

use faer::Mat;
use rand::{Rng, SeedableRng};

use crate::error::{LinalgError, Result};
use crate::matrix::check_finite;

/// A thin SVD `W = U diag(s) Vᵀ`: `U` is `m × r`, `V` is `n × r`, `r = min(m, n)`, and `s` is
/// non-negative and non-increasing.
#[derive(Debug, Clone)]
pub struct Svd {
    /// Left singular vectors (columns).
    pub u: Mat<f64>,
    /// Singular values, largest first.
    pub s: Vec<f64>,
    /// Right singular vectors (columns).
    pub v: Mat<f64>,
}

impl Svd {
    /// The best rank-k approximation `U_k diag(s_k) V_kᵀ` (Eckart–Young).
    pub fn truncate(&self, k: usize) -> Mat<f64> {
        let (a, b) = self.factors(k);
        &a * &b
    }

    /// Factors of the rank-k approximation: `(U_k diag(√s_k), diag(√s_k) V_kᵀ)`, of shapes
    /// `m × k` and `k × n`; their product is [`Svd::truncate`].
    pub fn factors(&self, k: usize) -> (Mat<f64>, Mat<f64>) {
        let k = k.min(self.s.len());
        let (m, n) = (self.u.nrows(), self.v.nrows());
        let a = Mat::from_fn(m, k, |i, j| self.u[(i, j)] * self.s[j].sqrt());
        let b = Mat::from_fn(k, n, |i, j| self.s[i].sqrt() * self.v[(j, i)]);
        (a, b)
    }
}

/// Singular values of `w`, largest first (`min(m, n)` of them; none for an empty matrix).
pub fn singular_values(w: &Mat<f64>) -> Result<Vec<f64>> {
    if w.nrows() == 0 || w.ncols() == 0 {
        return Ok(Vec::new());
    }
    check_finite(w, "matrix passed to the SVD")?;
    w.singular_values().map_err(|_| LinalgError::NoConvergence)
}

/// Singular values of an `f32` matrix, computed in `f32` (benchmarks; prefer the `f64` path).
pub fn singular_values_f32(w: &Mat<f32>) -> Result<Vec<f32>> {
    if w.nrows() == 0 || w.ncols() == 0 {
        return Ok(Vec::new());
    }
    w.singular_values().map_err(|_| LinalgError::NoConvergence)
}

/// The thin SVD of `w`.
pub fn thin_svd(w: &Mat<f64>) -> Result<Svd> {
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
    let s: Vec<f64> = (0..r).map(|i| svd.S()[i]).collect();
    Ok(Svd {
        u: svd.U().to_owned(),
        s,
        v: svd.V().to_owned(),
    })
}

/// The thin SVD of an `f32` matrix, in `f32` (benchmarks).
pub fn thin_svd_f32(w: &Mat<f32>) -> Result<faer::linalg::solvers::Svd<f32>> {
    w.thin_svd().map_err(|_| LinalgError::NoConvergence)
}

/// ‖W‖₂ = σ₁ by SVD.
pub fn spectral_norm(w: &Mat<f64>) -> Result<f64> {
    Ok(singular_values(w)?.first().copied().unwrap_or(0.0))
}

/// The result of [`power_iteration`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PowerIteration {
    /// Estimate of σ₁ (a lower bound that increases to σ₁).
    pub value: f64,
    /// Iterations run.
    pub iterations: usize,
    /// Whether the relative change fell below the tolerance.
    pub converged: bool,
}

/// σ₁ by power iteration on `WᵀW` from a seeded Gaussian start, until the relative change of
/// the estimate is below `tol` or `max_iter` iterations ran. The estimate ‖W v‖ with ‖v‖ = 1
/// never exceeds σ₁.
pub fn power_iteration(
    w: &Mat<f64>,
    tol: f64,
    max_iter: usize,
    seed: u64,
) -> Result<PowerIteration> {
    check_finite(w, "matrix passed to power iteration")?;
    let n = w.ncols();
    if n == 0 || w.nrows() == 0 {
        return Ok(PowerIteration {
            value: 0.0,
            iterations: 0,
            converged: true,
        });
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut v = Mat::from_fn(n, 1, |_, _| rng.random::<f64>() - 0.5);
    let mut value = 0.0;
    for it in 1..=max_iter {
        let nv = v.norm_l2();
        if nv == 0.0 {
            return Ok(PowerIteration {
                value: 0.0,
                iterations: it,
                converged: true,
            });
        }
        v = &v * (1.0 / nv);
        let wv = w * &v;
        let new = wv.norm_l2();
        v = w.transpose() * &wv;
        if (new - value).abs() <= tol * new.max(f64::MIN_POSITIVE) {
            return Ok(PowerIteration {
                value: new,
                iterations: it,
                converged: true,
            });
        }
        value = new;
    }
    Ok(PowerIteration {
        value,
        iterations: max_iter,
        converged: false,
    })
}
