//! Theorem 3.1 against hand values and against the true norms on random matrices.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Kind, close, random};
use cr_bounds::{BoundsError, KChoice, theorem_3_1_l2, theorem_3_1_linf, theorem_3_1_linf_at};
use cr_linalg::{Mat, matrix::from_rows_f64, norms, svd};
use proptest::prelude::*;

#[test]
fn hand_values_2x2() {
    // W = [[3, −4], [1, 0]]: ν = (7, 1), ‖ν‖₁ = 8, ‖W‖_F = √26, h = n = 2.
    // Rows' ε₂ curves: (3, −4) → (1, 3/5, 0); (1, 0) → (1, 0, 0); max ε_r = (1, 0.6, 0).
    // Row term √(h k_r) + √(h n) ε_r: k_r = 0 → 2; k_r = 1 → √2 + 1.2; k_r = 2 → 2.
    // The least is 2, first reached at k_r = 0.
    let w = from_rows_f64(2, 2, &[3., -4., 1., 0.]).unwrap();
    let fro = 26f64.sqrt();
    // k_ν = 1: ε = 1/8, β = 0 → (7/8)/1 · 2/1 · √26 = 1.75 √26.
    let b = theorem_3_1_linf(&w, KChoice::Fixed(1)).unwrap();
    assert_eq!((b.k, b.k_r, b.h, b.n), (1, 0, 2, 2));
    assert!(close(b.eps, 1.0 / 8.0, 1e-15) && b.beta == 0.0 && b.eps_r == 1.0);
    assert!(close(b.bound, 1.75 * fro, 1e-14));
    assert_eq!(b.true_norm, 7.0);
    // k_ν = 2: ε = 0, β = 1 − 1/7 = 6/7 → 1/(1/7) · 2/2 · √26 = 7 √26.
    let b2 = theorem_3_1_linf(&w, KChoice::Fixed(2)).unwrap();
    assert!(close(b2.bound, 7.0 * fro, 1e-13) && close(b2.beta, 6.0 / 7.0, 1e-15));
    // Minimised over k: k = 1; a target ε of 0.2 also gives k = 1 (ε(1) = 0.125).
    assert_eq!(theorem_3_1_linf(&w, KChoice::Minimise).unwrap().k, 1);
    assert_eq!(theorem_3_1_linf(&w, KChoice::EpsTarget(0.2)).unwrap().k, 1);
    assert_eq!(theorem_3_1_linf(&w, KChoice::EpsTarget(0.1)).unwrap().k, 2);
    assert_eq!(theorem_3_1_linf(&w, KChoice::Fraction(0.5)).unwrap().k, 1);
    // Explicit k_r = 1: ε_r = 0.6 → (7/8) · (√2 + 1.2) · √26.
    let b3 = theorem_3_1_linf_at(&w, KChoice::Fixed(1), 1).unwrap();
    assert!(close(b3.bound, 0.875 * (2f64.sqrt() + 1.2) * fro, 1e-14));
    assert!(close(b3.eps_r, 0.6, 1e-15));

    // Eq. (5): WᵀW = [[10, −12], [−12, 16]], σ² = 13 ± √153, σ₁σ₂ = |det W| = 4, so
    // (σ₁ + σ₂)² = 26 + 8 = 34. k = 1: ε = σ₂/(σ₁+σ₂), β = 0 →
    // σ₁/(σ₁+σ₂) · √2 · √26 = σ₁ √52/√34.
    let s1 = (13.0 + 153f64.sqrt()).sqrt();
    let l2 = theorem_3_1_l2(&w, KChoice::Fixed(1)).unwrap();
    assert!(close(l2.bound, s1 * 52f64.sqrt() / 34f64.sqrt(), 1e-13));
    assert!(close(l2.true_norm, s1, 1e-13) && l2.r == 2 && l2.k == 1);
}

#[test]
fn hand_values_3x3_spectral() {
    // W = diag(4, 2, 2): σ = (4, 2, 2), ‖W‖_F = √24, ‖σ‖₁ = 8, r = 3.
    // k = 1: ε = 4/8, β = 0 → (1/2) · √3/1 · √24 = √72/2 = 3√2 ≈ 4.243 ≥ 4.
    // k = 2: ε = 2/8, β = 1/2 → (3/4)/(1/2) · √3/2 · √24 = 0.75 · √72 = 4.5√2.
    let w = from_rows_f64(3, 3, &[4., 0., 0., 0., 2., 0., 0., 0., 2.]).unwrap();
    let b1 = theorem_3_1_l2(&w, KChoice::Fixed(1)).unwrap();
    assert!(close(b1.bound, 3.0 * 2f64.sqrt(), 1e-14));
    let b2 = theorem_3_1_l2(&w, KChoice::Fixed(2)).unwrap();
    assert!(close(b2.bound, 4.5 * 2f64.sqrt(), 1e-14));
    // k = 3: ε = 0, β = 1/2 → 2 · √3/3 · √24 = 2√72/3 = 4√2.
    let b3 = theorem_3_1_l2(&w, KChoice::Fixed(3)).unwrap();
    assert!(close(b3.bound, 4.0 * 2f64.sqrt(), 1e-14));
    let best = theorem_3_1_l2(&w, KChoice::Minimise).unwrap();
    assert_eq!(best.k, 1);
    // Fixed k above h is read as h.
    assert_eq!(theorem_3_1_l2(&w, KChoice::Fixed(9)).unwrap().k, 3);
}

#[test]
fn edge_cases_and_errors() {
    let z = Mat::<f64>::zeros(2, 3);
    assert_eq!(theorem_3_1_linf(&z, KChoice::Minimise).unwrap().bound, 0.0);
    assert_eq!(theorem_3_1_l2(&z, KChoice::Minimise).unwrap().bound, 0.0);
    // One non-zero row: k = 2 has ν_(2) = 0, an infinite (still valid) bound; Minimise
    // avoids it.
    let w = from_rows_f64(2, 2, &[1., 1., 0., 0.]).unwrap();
    assert_eq!(
        theorem_3_1_linf(&w, KChoice::Fixed(2)).unwrap().bound,
        f64::INFINITY
    );
    let b = theorem_3_1_linf(&w, KChoice::Minimise).unwrap();
    assert!(b.k == 1 && b.bound.is_finite() && b.bound >= 2.0);
    assert!(matches!(
        theorem_3_1_linf(&w, KChoice::Fixed(0)),
        Err(BoundsError::Invalid { .. })
    ));
    assert!(theorem_3_1_l2(&w, KChoice::Fraction(0.0)).is_err());
    assert!(theorem_3_1_l2(&w, KChoice::Fraction(f64::NAN)).is_err());
    assert!(theorem_3_1_linf(&w, KChoice::EpsTarget(1.5)).is_err());
    assert!(theorem_3_1_linf_at(&w, KChoice::Fixed(1), 3).is_err());
    assert!(theorem_3_1_linf(&Mat::<f64>::zeros(0, 2), KChoice::Minimise).is_err());
    let nan = from_rows_f64(1, 2, &[1.0, f64::NAN]).unwrap();
    assert!(theorem_3_1_linf(&nan, KChoice::Minimise).is_err());
    assert!(theorem_3_1_l2(&nan, KChoice::Minimise).is_err());
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::Dense),
        Just(Kind::SparseRows),
        Just(Kind::LowRank)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Both bounds hold at every k (and, for (a), every k_r), on dense, sparse-row and
    /// low-rank matrices; Minimise is the least over k.
    #[test]
    fn bounds_hold_for_every_k(h in 1usize..7, n in 1usize..7, kind in kind(), seed in 0u64..10_000) {
        let w = random(h, n, kind, seed);
        let inf = norms::inf_norm(&w);
        let two = svd::spectral_norm(&w).unwrap();
        let tol = 1e-12 * (1.0 + inf.max(two));
        let mut least_inf = f64::INFINITY;
        for k in 1..=h {
            let b = theorem_3_1_linf(&w, KChoice::Fixed(k)).unwrap();
            prop_assert!(b.bound >= inf - tol, "k {k}: {} < {inf}", b.bound);
            least_inf = least_inf.min(b.bound);
            for k_r in 0..=n {
                let b = theorem_3_1_linf_at(&w, KChoice::Fixed(k), k_r).unwrap();
                prop_assert!(b.bound >= inf - tol, "k {k} k_r {k_r}: {} < {inf}", b.bound);
            }
        }
        let mut least_two = f64::INFINITY;
        for k in 1..=h.min(n) {
            let b = theorem_3_1_l2(&w, KChoice::Fixed(k)).unwrap();
            prop_assert!(b.bound >= two - tol, "k {k}: {} < {two}", b.bound);
            least_two = least_two.min(b.bound);
        }
        prop_assert_eq!(theorem_3_1_linf(&w, KChoice::Minimise).unwrap().bound, least_inf);
        prop_assert_eq!(theorem_3_1_l2(&w, KChoice::Minimise).unwrap().bound, least_two);
    }
}
