//! `(q, k, ε)`-compressibility (paper Definition 2.1, SPEC §1).
//!
//! For θ ∈ ℝᵈ and 0 ≤ k ≤ d let θ_k keep the k entries of largest magnitude (ties broken by
//! position) and zero the rest. Then `ε_q(k) = ‖θ − θ_k‖_q / ‖θ‖_q`; θ is strictly
//! `(q, k, ε)`-compressible for ε = ε_q(k). Edge cases: `ε_q(0) = 1`, `ε_q(k ≥ d) = 0`, and
//! the zero vector has ε = 0 for every k (nothing is lost by compressing it).

use crate::error::{LinalgError, Result};

/// ‖θ‖_q for q ≥ 1 (`f64::INFINITY`: max norm).
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
    if theta.iter().any(|v| !v.is_finite()) {
        return Err(LinalgError::NonFinite("compressibility input".into()));
    }
    Ok(())
}

/// Magnitudes sorted in decreasing order.
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

/// `ε_q(k) = ‖θ − θ_k‖_q / ‖θ‖_q` (SPEC §1 "eps(θ, q, k)").
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

/// `ε_q(k)` for every k = 0..=d.
pub fn eps_curve(theta: &[f64], q: f64) -> Result<Vec<f64>> {
    check(theta, q)?;
    let sorted = sorted_magnitudes(theta);
    let t = tails(&sorted, q);
    let total = t[0];
    Ok(t.iter()
        .map(|v| if total == 0.0 { 0.0 } else { v / total })
        .collect())
}

/// The least k with `ε_q(k) ≤ eps_target` (SPEC §1 "min_k(θ, q, ε_target)"); ε_q is
/// non-increasing in k, so this is exact. `eps_target` must be in [0, 1].
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

/// The spread of the top k, `β = 1 − |θ_(k)| / |θ_(1)|` (paper Definition 2.1), for
/// 1 ≤ k ≤ d; 0 for the zero vector.
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

/// advcomp's compressibility at level κ ∈ (0, 1]: `1 − ε₂(⌈κ·d⌉)`.
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
    }
}
