//! `(q, k, ε)`-compressibility (paper Definition 2.1, Eq. 3; SPEC §1).
//!
//! For θ ∈ ℝᵈ and 0 ≤ k ≤ d let θ_k keep the k entries of largest magnitude (ties broken by
//! position: the earlier entry is kept) and zero the rest. Then
//! `ε_q(k) = ‖θ − θ_k‖_q / ‖θ‖_q`; θ is strictly `(q, k, ε)`-compressible for ε = ε_q(k).
//! The value of ε_q(k) does not depend on how ties are broken.
//!
//! Edge cases, the same in every function here:
//! * `k = 0` keeps nothing: `ε_q(0) = 1` for a non-zero θ;
//! * `k ≥ d` keeps everything: `ε_q(k) = 0` (k above d is read as d, not an error);
//! * the zero vector (and the empty vector) has `ε = 0` for every k — nothing is lost by
//!   compressing it — so [`min_k`] returns 0 for it, and its spread β is 0;
//! * NaN or infinite entries, `q < 1` or NaN `q` are errors ([`LinalgError`]), never a silent
//!   NaN. `q = f64::INFINITY` is the max norm.

use crate::error::{LinalgError, Result};

/// ‖θ‖_q for q ≥ 1 (`f64::INFINITY`: max norm). Does not check its input (see [`eps`]).
pub fn lq_norm(values: impl Iterator<Item = f64>, q: f64) -> f64 {
    if q.is_infinite() {
        values.fold(0.0, |m, v| m.max(v.abs()))
    } else if q == 1.0 {
        values.map(f64::abs).sum()
    } else if q == 2.0 {
        values.map(|v| v * v).sum::<f64>().sqrt()
    } else {
        values.map(|v| v.abs().powf(q)).sum::<f64>().powf(1.0 / q)
    }
}

fn check(theta: &[f64], q: f64) -> Result<()> {
    if q.is_nan() || q < 1.0 {
        return Err(LinalgError::Invalid {
            name: "q",
            problem: format!("{q} is not >= 1"),
        });
    }
    if let Some(i) = theta.iter().position(|v| !v.is_finite()) {
        return Err(LinalgError::NonFinite(format!(
            "compressibility input (entry {i} is {})",
            theta[i]
        )));
    }
    Ok(())
}

/// Magnitudes |θ_i| sorted in decreasing order (θ_(1) ≥ θ_(2) ≥ …).
pub fn sorted_magnitudes(theta: &[f64]) -> Vec<f64> {
    let mut m: Vec<f64> = theta.iter().map(|v| v.abs()).collect();
    m.sort_by(|a, b| b.total_cmp(a));
    m
}

/// The tail norms `‖θ − θ_k‖_q` for every k = 0..=d, from sorted magnitudes.
fn tails(sorted: &[f64], q: f64) -> Vec<f64> {
    let d = sorted.len();
    let mut out = vec![0.0; d + 1];
    if q.is_infinite() {
        out[..d].copy_from_slice(sorted);
        return out;
    }
    // Accumulate |θ|^q from the smallest upwards for accuracy.
    let mut acc = 0.0;
    for k in (0..d).rev() {
        acc += sorted[k].powf(q);
        out[k] = acc;
    }
    for v in out.iter_mut() {
        *v = if q == 1.0 { *v } else { v.powf(1.0 / q) };
    }
    out
}

/// `ε_q(k) = ‖θ − θ_k‖_q / ‖θ‖_q` (paper Eq. 3, SPEC §1 "eps(θ, q, k)").
///
/// # Errors
/// [`LinalgError::Invalid`] for `q < 1` or NaN; [`LinalgError::NonFinite`] for NaN/∞ in θ.
pub fn eps(theta: &[f64], q: f64, k: usize) -> Result<f64> {
    check(theta, q)?;
    let sorted = sorted_magnitudes(theta);
    let t = tails(&sorted, q);
    let total = t[0];
    if total == 0.0 {
        return Ok(0.0);
    }
    Ok(t[k.min(sorted.len())] / total)
}

/// `ε_q(k)` for every k = 0..=d (length d + 1; non-increasing, from 1 to 0 for a non-zero θ).
///
/// # Errors
/// As [`eps`].
pub fn eps_curve(theta: &[f64], q: f64) -> Result<Vec<f64>> {
    check(theta, q)?;
    let sorted = sorted_magnitudes(theta);
    let t = tails(&sorted, q);
    let total = t[0];
    Ok(t.iter()
        .map(|v| if total == 0.0 { 0.0 } else { v / total })
        .collect())
}

/// The least k with `ε_q(k) ≤ eps_target` (SPEC §1 "min_k(θ, q, ε_target)"), by a linear
/// scan of the exact curve. `eps_target` must be in [0, 1]; target 0 gives the number of
/// non-zero entries, target 1 gives 0.
///
/// # Errors
/// As [`eps`], and [`LinalgError::Invalid`] for a target outside [0, 1] or NaN.
pub fn min_k(theta: &[f64], q: f64, eps_target: f64) -> Result<usize> {
    if !(0.0..=1.0).contains(&eps_target) {
        return Err(LinalgError::Invalid {
            name: "eps_target",
            problem: format!("{eps_target} is outside [0, 1]"),
        });
    }
    let curve = eps_curve(theta, q)?;
    Ok(curve
        .iter()
        .position(|e| *e <= eps_target)
        .unwrap_or(theta.len()))
}

/// The spread of the top k, `β = 1 − |θ_(k)| / |θ_(1)|` (paper Definition 2.1, SPEC §1), for
/// 1 ≤ k ≤ d; in [0, 1], non-decreasing in k; 0 for the zero vector.
///
/// # Errors
/// [`LinalgError::Invalid`] for k = 0 or k > d (β is undefined there);
/// [`LinalgError::NonFinite`].
pub fn beta(theta: &[f64], k: usize) -> Result<f64> {
    check(theta, 1.0)?;
    if k == 0 || k > theta.len() {
        return Err(LinalgError::Invalid {
            name: "k",
            problem: format!("{k} is outside 1..={}", theta.len()),
        });
    }
    let sorted = sorted_magnitudes(theta);
    if sorted[0] == 0.0 {
        return Ok(0.0);
    }
    Ok(1.0 - sorted[k - 1] / sorted[0])
}

/// advcomp's compressibility at level κ ∈ (0, 1]: `1 − ε₂(⌈κ·d⌉)` (SPEC §1); 1 for the zero
/// or empty vector.
///
/// # Errors
/// As [`eps`], and [`LinalgError::Invalid`] for κ outside (0, 1].
pub fn compressibility_at_level(theta: &[f64], kappa: f64) -> Result<f64> {
    if !(kappa > 0.0 && kappa <= 1.0) {
        return Err(LinalgError::Invalid {
            name: "kappa",
            problem: format!("{kappa} is outside (0, 1]"),
        });
    }
    let k = (kappa * theta.len() as f64).ceil() as usize;
    Ok(1.0 - eps(theta, 2.0, k)?)
}

/// Indices of the k entries of largest magnitude, largest first, ties broken by position (the
/// support of θ_k). `k > d` is read as d.
///
/// # Errors
/// [`LinalgError::NonFinite`] for NaN/∞ in θ.
pub fn top_k_indices(theta: &[f64], k: usize) -> Result<Vec<usize>> {
    check(theta, 1.0)?;
    let mut idx: Vec<usize> = (0..theta.len()).collect();
    // A stable sort keeps equal magnitudes in index order.
    idx.sort_by(|&a, &b| theta[b].abs().total_cmp(&theta[a].abs()));
    idx.truncate(k.min(theta.len()));
    Ok(idx)
}

/// θ_k: θ with all but its k largest-magnitude entries set to 0 (paper Definition 2.1).
///
/// # Errors
/// As [`top_k_indices`].
pub fn keep_top_k(theta: &[f64], k: usize) -> Result<Vec<f64>> {
    let mut out = vec![0.0; theta.len()];
    for i in top_k_indices(theta, k)? {
        out[i] = theta[i];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_values() {
        let t = [3.0, -1.0, 0.0, 2.0];
        // ℓ1: total 6; keep 3 → tail 3 → 0.5; keep 3,2 → 1/6.
        assert_eq!(eps(&t, 1.0, 0).unwrap(), 1.0);
        assert!((eps(&t, 1.0, 1).unwrap() - 0.5).abs() < 1e-15);
        assert!((eps(&t, 1.0, 2).unwrap() - 1.0 / 6.0).abs() < 1e-15);
        assert_eq!(eps(&t, 1.0, 3).unwrap(), 0.0);
        assert_eq!(eps(&t, 1.0, 9).unwrap(), 0.0);
        // ℓ2: total √14; keep 3 → tail √5.
        assert!((eps(&t, 2.0, 1).unwrap() - (5.0f64 / 14.0).sqrt()).abs() < 1e-15);
        // ℓ∞: keep 3 → tail max 2 → 2/3.
        assert!((eps(&t, f64::INFINITY, 1).unwrap() - 2.0 / 3.0).abs() < 1e-15);
        assert_eq!(min_k(&t, 1.0, 0.5).unwrap(), 1);
        assert_eq!(min_k(&t, 1.0, 0.49).unwrap(), 2);
        assert_eq!(min_k(&t, 1.0, 0.0).unwrap(), 3);
        assert_eq!(min_k(&t, 1.0, 1.0).unwrap(), 0);
        assert!((beta(&t, 2).unwrap() - (1.0 - 2.0 / 3.0)).abs() < 1e-15);
        assert_eq!(beta(&t, 1).unwrap(), 0.0);
        assert!(
            (compressibility_at_level(&t, 0.25).unwrap() - (1.0 - (5.0f64 / 14.0).sqrt())).abs()
                < 1e-15
        );
    }

    #[test]
    fn edge_cases_and_errors() {
        assert_eq!(eps(&[0.0, 0.0], 2.0, 1).unwrap(), 0.0);
        assert_eq!(beta(&[0.0, 0.0], 2).unwrap(), 0.0);
        assert_eq!(min_k(&[], 1.0, 0.1).unwrap(), 0);
        assert!(eps(&[1.0, f64::NAN], 1.0, 1).is_err());
        assert!(eps(&[1.0], 0.5, 1).is_err());
        assert!(min_k(&[1.0], 1.0, -0.1).is_err());
        assert!(beta(&[1.0], 0).is_err());
        assert!(beta(&[1.0], 2).is_err());
        assert!(compressibility_at_level(&[1.0], 0.0).is_err());
        assert!(compressibility_at_level(&[1.0], f64::NAN).is_err());
        assert!(min_k(&[1.0], 1.0, f64::NAN).is_err());
        assert!(eps(&[1.0], f64::NAN, 1).is_err());
        assert!(beta(&[f64::INFINITY], 1).is_err());
        assert!(top_k_indices(&[f64::NAN], 1).is_err());
        // Zero vector: min_k is 0 for every target, compressibility 1.
        assert_eq!(min_k(&[0.0, 0.0], 2.0, 0.0).unwrap(), 0);
        assert_eq!(compressibility_at_level(&[0.0, 0.0], 0.5).unwrap(), 1.0);
        assert_eq!(eps(&[], 1.0, 0).unwrap(), 0.0);
    }

    #[test]
    fn top_k_support_and_ties() {
        let t = [1.0, -3.0, 3.0, 0.5];
        assert_eq!(top_k_indices(&t, 2).unwrap(), vec![1, 2]);
        assert_eq!(top_k_indices(&t, 1).unwrap(), vec![1]);
        assert_eq!(top_k_indices(&t, 9).unwrap(), vec![1, 2, 0, 3]);
        assert_eq!(keep_top_k(&t, 3).unwrap(), vec![1.0, -3.0, 3.0, 0.0]);
        // ε does not depend on the tie break: keeping either 3 leaves the same tail.
        let kept = keep_top_k(&t, 1).unwrap();
        let tail: Vec<f64> = t.iter().zip(&kept).map(|(a, b)| a - b).collect();
        let direct = lq_norm(tail.iter().copied(), 2.0) / lq_norm(t.iter().copied(), 2.0);
        assert!((eps(&t, 2.0, 1).unwrap() - direct).abs() < 1e-15);
        // q = 3 by hand: tail after keeping 3 and 3 is (1, 0.5).
        let want = ((1.0f64 + 0.125) / (1.0 + 27.0 + 27.0 + 0.125)).powf(1.0 / 3.0);
        assert!((eps(&t, 3.0, 2).unwrap() - want).abs() < 1e-15);
    }
}
