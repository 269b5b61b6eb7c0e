//! Alignment estimators, S_opt and Theorem 3.2 against brute force on small ReLU nets.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Kind, chain, close, random};
use cr_bounds::alignment::{EstimatorSpec, PairSpec, alignment};
use cr_bounds::lipschitz::{jacobian, operator_norm, pattern_max};
use cr_bounds::{
    BoundOptions, BoundsError, Estimator, KChoice, Layer, LocalSearchOptions, Norm, analyze, s_opt,
};
use cr_linalg::{Mat, matrix::from_rows_f64};
use proptest::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random_patterns(h: usize, count: usize, seed: u64) -> Vec<Vec<bool>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..count)
        .map(|_| (0..h).map(|_| rng.random::<bool>()).collect())
        .collect()
}

fn estimate(
    lower: &Layer,
    upper: &Layer,
    k: (usize, usize),
    norm: Norm,
    estimator: Estimator,
    patterns: &[Vec<bool>],
) -> cr_bounds::Alignment {
    let pair = PairSpec {
        lower,
        upper,
        k_lower: k.0,
        k_upper: k.1,
    };
    let spec = EstimatorSpec {
        estimator,
        patterns,
        search: LocalSearchOptions::default(),
        seed: 7,
    };
    alignment(&pair, norm, &spec).unwrap()
}

/// max over all D of the unnormalised pair product `‖W'_k D W_k‖` by plain enumeration of every
/// 0/1 diagonal, from explicitly truncated matrices (independent of the crate's Gray code).
fn brute_pair(lower: &Mat<f64>, upper: &Mat<f64>, k: (usize, usize), norm: Norm) -> f64 {
    let h = lower.nrows();
    let (wl, wu) = match norm {
        Norm::Linf => {
            let keep = |w: &Mat<f64>, k: usize| {
                let nu = cr_linalg::norms::row_norms(w, 1.0);
                let idx = cr_linalg::compress::top_k_indices(&nu, k).unwrap();
                Mat::from_fn(w.nrows(), w.ncols(), |i, j| {
                    if idx.contains(&i) { w[(i, j)] } else { 0.0 }
                })
            };
            (keep(lower, k.0), keep(upper, k.1))
        }
        Norm::L2 => {
            // √Σ'_k V'_kᵀ and U_k √Σ_k.
            let d = cr_linalg::thin_svd(lower).unwrap();
            let du = cr_linalg::thin_svd(upper).unwrap();
            let (k0, k1) = (k.0.min(d.s.len()), k.1.min(du.s.len()));
            (
                Mat::from_fn(h, k0, |i, j| d.u[(i, j)] * d.s[j].sqrt()),
                Mat::from_fn(k1, h, |i, j| du.s[i].sqrt() * du.v[(j, i)]),
            )
        }
    };
    let mut best = 0.0f64;
    for code in 0u32..(1 << h) {
        let dwl = Mat::from_fn(wl.nrows(), wl.ncols(), |i, j| {
            if code >> i & 1 == 1 { wl[(i, j)] } else { 0.0 }
        });
        best = best.max(operator_norm(&(&wu * &dwl), norm).unwrap());
    }
    best
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    /// certified ≥ exact ≥ local search ≥ data-driven, exact = brute force, and the main
    /// term ≤ 1 (so A* ≤ 1 + R); A* soundly bounds the uncompressed pair:
    /// max_D ‖W' D W‖ ≤ A*·‖W'‖‖W‖.
    #[test]
    fn estimators_are_ordered(
        n in 1usize..5, h in 1usize..7, h2 in 1usize..5,
        kl in 1usize..7, ku in 1usize..5, seed in 0u64..10_000, l2 in any::<bool>(),
    ) {
        let norm = if l2 { Norm::L2 } else { Norm::Linf };
        let kinds = [Kind::Dense, Kind::SparseRows, Kind::LowRank];
        let lower = Layer::new("a", random(h, n, kinds[seed as usize % 3], seed));
        let upper = Layer::new("b", random(h2, h, kinds[(seed as usize / 3) % 3], seed + 1));
        let k = (kl.min(h), ku.min(h2));
        let pats = random_patterns(h, 3, seed);
        let cert = estimate(&lower, &upper, k, norm, Estimator::CertifiedUpper, &[]);
        let exact = estimate(&lower, &upper, k, norm, Estimator::Exact, &[]);
        let local = estimate(&lower, &upper, k, norm, Estimator::LocalSearch, &pats);
        let local0 = estimate(&lower, &upper, k, norm, Estimator::LocalSearch, &[]);
        let data = estimate(&lower, &upper, k, norm, Estimator::DataDriven, &pats);
        let t = 1e-10;
        prop_assert!(cert.max_term >= exact.max_term - t, "{} < {}", cert.max_term, exact.max_term);
        prop_assert!(exact.max_term >= local.max_term - t);
        prop_assert!(exact.max_term >= local0.max_term - t);
        prop_assert!(local.max_term >= data.max_term - t);
        prop_assert!(exact.max_term <= 1.0 + t);
        prop_assert!(exact.a_star <= 1.0 + exact.remainder + t);
        prop_assert!(close(exact.remainder, cert.remainder, 1e-15));
        prop_assert!(exact.certified && cert.certified && !local.certified && !data.certified);
        // Exact against plain enumeration.
        let (nl, nu) = match norm {
            Norm::Linf => (cr_linalg::norms::inf_norm(&lower.matrix), cr_linalg::norms::inf_norm(&upper.matrix)),
            Norm::L2 => {
                let a = cr_linalg::svd::spectral_norm(&lower.matrix).unwrap();
                let b = cr_linalg::svd::spectral_norm(&upper.matrix).unwrap();
                (a.sqrt(), b.sqrt())
            }
        };
        let want = if nl * nu > 0.0 { brute_pair(&lower.matrix, &upper.matrix, k, norm) / (nl * nu) } else { 0.0 };
        prop_assert!(close(exact.max_term, want, 1e-9), "{} vs {want}", exact.max_term);
        // Soundness on the uncompressed pair.
        let full = brute_pair(&lower.matrix, &upper.matrix, (h, h2), Norm::Linf);
        let full = if l2 {
            let mut best = 0.0f64;
            for code in 0u32..(1 << h) {
                let d = Mat::from_fn(h, n, |i, j| if code >> i & 1 == 1 { lower.matrix[(i, j)] } else { 0.0 });
                best = best.max(operator_norm(&(&upper.matrix * &d), Norm::L2).unwrap());
            }
            best
        } else { full };
        let scale = match norm { Norm::Linf => nl * nu, Norm::L2 => (nl * nu).powi(2) };
        prop_assert!(full <= exact.a_star * scale * (1.0 + 1e-9) + 1e-12, "{full} > {} · {scale}", exact.a_star);
    }

    /// S_opt equals brute force over every set of non-overlapping adjacent pairs.
    #[test]
    fn s_opt_is_optimal(factors in prop::collection::vec(0.05f64..2.0, 0..8)) {
        let (product, pairs) = s_opt(&factors);
        let m = factors.len();
        let mut best = 1.0f64;
        for mask in 0u32..(1 << m) {
            if mask & (mask >> 1) != 0 {
                continue; // pairs (l, l+1) and (l+1, l+2) share a layer
            }
            let p: f64 = (0..m).filter(|l| mask >> l & 1 == 1).map(|l| factors[l]).product();
            best = best.min(p);
        }
        prop_assert!(close(product, best, 1e-12));
        let chosen: f64 = pairs.iter().map(|&(l, r)| { assert_eq!(r, l + 1); factors[l] }).product();
        prop_assert!(close(chosen, product, 1e-12));
        for w in pairs.windows(2) {
            prop_assert!(w[0].1 < w[1].0);
        }
        prop_assert!(pairs.iter().all(|&(l, _)| factors[l] < 1.0));
    }

    /// bound ≥ pattern maximum ≥ the largest sampled gradient norm, for both norms, on nets
    /// with 2–3 hidden layers of width ≤ 6 (≤ 16 hidden units in all).
    #[test]
    fn network_bound_dominates_the_lipschitz_constant(
        depth in 2usize..4, seed in 0u64..10_000, kchoice in 0usize..3,
    ) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut widths = vec![rng.random_range(1..5usize)];
        for _ in 0..depth {
            widths.push(rng.random_range(1..(if depth == 3 { 6 } else { 7 })));
        }
        widths.push(rng.random_range(1..4usize));
        let layers = chain(&widths, seed);
        let k = [KChoice::Minimise, KChoice::Fixed(1), KChoice::Fraction(0.5)][kchoice];
        for estimator in [Estimator::Exact, Estimator::CertifiedUpper] {
            let opts = BoundOptions { k, estimator, ..Default::default() };
            let r = analyze(&layers, &opts).unwrap();
            for (bound, norm) in [(&r.linf, Norm::Linf), (&r.l2, Norm::L2)] {
                let truth = pattern_max(&layers, norm).unwrap();
                let tol = 1e-9 * (1.0 + truth);
                prop_assert!(bound.certified && bound.head_included);
                prop_assert!(bound.theorem_3_2 >= truth - tol, "{norm:?} {estimator:?}: {} < {truth}", bound.theorem_3_2);
                prop_assert!(bound.aligned_true_norms >= truth - tol);
                prop_assert!(bound.product_true_norms >= truth - tol);
                prop_assert!(bound.product_theorem_3_1 >= bound.product_true_norms - tol);
                // ℓ∞ takes a factor only when it is < 1 (S_opt); ℓ2 (Eq. 9) takes every pair's
                // A₂*, which exceeds 1 when truncation leaves a remainder R₂.
                if norm == Norm::Linf || bound.alignment.iter().all(|a| a.a_star <= 1.0) {
                    prop_assert!(bound.theorem_3_2 <= bound.product_theorem_3_1 + tol);
                }
                for _ in 0..20 {
                    let x: Vec<f64> = (0..widths[0]).map(|_| rng.random::<f64>() * 2.0 - 1.0).collect();
                    let g = operator_norm(&jacobian(&layers, &x).unwrap(), norm).unwrap();
                    prop_assert!(g <= truth + tol);
                }
            }
        }
    }
}

#[test]
fn include_head_false_bounds_the_encoder() {
    let layers = chain(&[3, 4, 4, 2], 5);
    let opts = BoundOptions {
        include_head: false,
        estimator: Estimator::Exact,
        ..Default::default()
    };
    let r = analyze(&layers, &opts).unwrap();
    assert_eq!(r.l2.layers_in_chain, 2);
    assert!(!r.l2.head_included);
    assert_eq!(r.l2.alignment.len(), 1);
    // The encoder's output is φ(W2 φ(W1 x)); ReLU is 1-Lipschitz so the chain W2 D W1 suffices.
    let enc = &layers[..2];
    let mut ext = enc.to_vec();
    ext.push(Layer::new("id", Mat::<f64>::identity(4, 4)));
    for (b, norm) in [(&r.l2, Norm::L2), (&r.linf, Norm::Linf)] {
        let truth = pattern_max(&ext, norm).unwrap();
        assert!(b.theorem_3_2 >= truth * (1.0 - 1e-9));
        let head = &r.layers[2];
        let (hb, ht) = match norm {
            Norm::L2 => (head.theorem_3_1_l2.bound, head.norm_2),
            Norm::Linf => (head.theorem_3_1_linf.bound, head.norm_inf),
        };
        assert_eq!(b.head_theorem_3_1, Some(hb));
        assert_eq!(b.head_true_norm, Some(ht));
        let prod: f64 = r.layers[..2]
            .iter()
            .map(|l| match norm {
                Norm::L2 => l.norm_2,
                Norm::Linf => l.norm_inf,
            })
            .product();
        assert!(close(b.product_true_norms, prod, 1e-14));
    }
}

#[test]
fn data_driven_and_local_search_through_analyze() {
    let layers = chain(&[3, 5, 4, 2], 11);
    let patterns = vec![random_patterns(5, 4, 1), random_patterns(4, 4, 2)];
    let run = |estimator| {
        analyze(
            &layers,
            &BoundOptions {
                estimator,
                patterns: Some(patterns.clone()),
                seed: 3,
                ..Default::default()
            },
        )
        .unwrap()
    };
    let (ex, ls, dd) = (
        run(Estimator::Exact),
        run(Estimator::LocalSearch),
        run(Estimator::DataDriven),
    );
    for i in 0..2 {
        for (e, l, d) in [(&ex.l2, &ls.l2, &dd.l2), (&ex.linf, &ls.linf, &dd.linf)] {
            assert!(e.alignment[i].a_star >= l.alignment[i].a_star - 1e-12);
            assert!(l.alignment[i].a_star >= d.alignment[i].a_star - 1e-12);
            assert_eq!(l.alignment[i].estimator, Estimator::LocalSearch);
            assert_eq!(l.alignment[i].pair, (i, i + 1));
        }
    }
    assert!(!ls.l2.certified && !dd.linf.certified);
    // Same seed, same result.
    assert_eq!(run(Estimator::LocalSearch), ls);
    // JSON keeps the field names the report reads.
    let json = serde_json::to_value(&ex).unwrap();
    assert!(json["l2"]["theorem_3_2"].is_number());
    assert!(json["linf"]["theorem_3_2"].is_number());
    assert_eq!(json["linf"]["estimator"], "exact");
    assert_eq!(json["l2"]["alignment"][0]["estimator"], "exact");
}

#[test]
fn errors_name_the_layer() {
    let ok = chain(&[3, 4, 2], 1);
    assert_eq!(
        analyze(&[], &BoundOptions::default()),
        Err(BoundsError::Empty)
    );
    let mut bad = ok.clone();
    bad[1].matrix[(0, 1)] = f64::NAN;
    match analyze(&bad, &BoundOptions::default()) {
        Err(BoundsError::NonFinite { layer, .. }) => assert_eq!(layer, "fc2"),
        other => panic!("{other:?}"),
    }
    let mut mism = ok.clone();
    mism[1] = Layer::new("head", Mat::zeros(2, 3));
    let e = analyze(&mism, &BoundOptions::default()).unwrap_err();
    assert!(
        matches!(&e, BoundsError::Shape { layer, .. } if layer == "head"),
        "{e}"
    );
    // Non-strict: the pair is not applicable, factor 1.
    let loose = BoundOptions {
        strict_shapes: false,
        ..Default::default()
    };
    let r = analyze(&mism, &loose).unwrap();
    assert!(!r.l2.alignment[0].applicable && r.l2.alignment[0].a_star == 1.0);
    assert!(r.l2.s_opt.is_empty() && !r.l2.certified);
    assert!(close(r.l2.theorem_3_2, r.l2.product_theorem_3_1, 1e-15));
    // Empty matrix.
    let mut empty = ok.clone();
    empty[0] = Layer::new("fc1", Mat::zeros(0, 3));
    assert!(matches!(
        analyze(&empty, &BoundOptions::default()),
        Err(BoundsError::Shape { .. })
    ));
    // Data-driven without patterns, patterns of the wrong length, too many pattern sets.
    let dd = BoundOptions {
        estimator: Estimator::DataDriven,
        ..Default::default()
    };
    assert!(matches!(
        analyze(&ok, &dd),
        Err(BoundsError::Invalid { .. })
    ));
    let wrong = BoundOptions {
        patterns: Some(vec![vec![vec![true; 3]]]),
        ..dd.clone()
    };
    let e = analyze(&ok, &wrong).unwrap_err();
    assert!(e.to_string().contains("fc1"), "{e}");
    let many = BoundOptions {
        patterns: Some(vec![vec![]; 3]),
        ..dd
    };
    assert!(analyze(&ok, &many).is_err());
    // Exact above the limit is refused with a clear error.
    let wide = vec![
        Layer::new("wide", random(24, 3, Kind::Dense, 1)),
        Layer::new("head", random(2, 24, Kind::Dense, 2)),
    ];
    let exact = BoundOptions {
        estimator: Estimator::Exact,
        k: KChoice::Fixed(24),
        ..Default::default()
    };
    let e = analyze(&wide, &exact).unwrap_err();
    assert!(matches!(e, BoundsError::TooLarge { bits: 24, .. }), "{e}");
    assert!(e.to_string().contains("certified_upper"));
    // Bad k.
    let k0 = BoundOptions {
        k: KChoice::Fixed(0),
        ..Default::default()
    };
    let e = analyze(&ok, &k0).unwrap_err();
    assert!(e.to_string().contains("fc1"), "{e}");
}

#[test]
fn one_layer_and_hand_alignment() {
    // W = diag(2, 1), W' = [[1, 1]]: ℓ∞ at k = (2, 1): max_D ‖W' D W‖_∞ = 3 (D = I),
    // ‖W'‖_∞‖W‖_∞ = 2·2 = 4 → 3/4; R = 0 (all rows kept).
    let w = from_rows_f64(2, 2, &[2., 0., 0., 1.]).unwrap();
    let c = from_rows_f64(1, 2, &[1., 1.]).unwrap();
    let (lo, up) = (Layer::new("w", w), Layer::new("c", c));
    let a = estimate(&lo, &up, (2, 1), Norm::Linf, Estimator::Exact, &[]);
    assert!(close(a.a_star, 0.75, 1e-15) && a.remainder == 0.0);
    assert_eq!(a.patterns_evaluated, 4);
    // k = 1 for W: only row 0 (ν = 2) kept → max = 2, 2/4 = 1/2; R_∞ = ν_2/ν_1 = 1/2.
    let a = estimate(&lo, &up, (1, 1), Norm::Linf, Estimator::Exact, &[]);
    assert!(close(a.max_term, 0.5, 1e-15) && close(a.remainder, 0.5, 1e-15));
    // A one-layer chain: Theorem 3.2 is Theorem 3.1.
    let r = analyze(std::slice::from_ref(&lo), &BoundOptions::default()).unwrap();
    assert_eq!(r.l2.theorem_3_2, r.layers[0].theorem_3_1_l2.bound);
    assert!(r.l2.alignment.is_empty() && r.l2.head_theorem_3_1.is_none());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]

    /// Eq. (9): the ℓ2 encoder bound multiplies A_2* over ALL consecutive pairs. On random
    /// encoders of 3–4 hidden layers (≤ 4 units each), with every singular value kept (k = h,
    /// so R_2 = 0 and each A_2* ≤ 1): the bound is ≥ the maximum over every ReLU pattern of
    /// ‖W_λ D … D W_1‖₂ (brute force), and ≤ the same product taken over S_opt only (the
    /// version cr computed before; S_opt is Eq. 8's, for ℓ∞).
    #[test]
    fn l2_bound_uses_every_pair(depth in 3usize..5, seed in 0u64..10_000) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut widths = vec![rng.random_range(1..5usize)];
        for _ in 0..depth {
            widths.push(rng.random_range(2..(if depth == 4 { 4 } else { 5 })));
        }
        widths.push(rng.random_range(1..4usize));
        let layers = chain(&widths, seed);
        let opts = BoundOptions {
            k: KChoice::Fraction(1.0),
            estimator: Estimator::Exact,
            include_head: false,
            ..Default::default()
        };
        let r = analyze(&layers, &opts).unwrap();
        let b = &r.l2;
        let pairs: Vec<(usize, usize)> = (0..depth - 1).map(|l| (l, l + 1)).collect();
        prop_assert_eq!(&b.s_opt, &pairs);
        let all: f64 = b.alignment.iter().map(|a| a.a_star).product();
        prop_assert!(close(b.alignment_product, all, 1e-12));
        // The encoder φ(W_λ … φ(W_1 x)): the chain W_λ D … D W_1 (the last ReLU is 1-Lipschitz),
        // brute-forced by pattern_max with an identity head.
        let mut enc = layers[..depth].to_vec();
        let h = widths[depth];
        enc.push(Layer::new("id", Mat::<f64>::identity(h, h)));
        let truth = pattern_max(&enc, Norm::L2).unwrap();
        let tol = 1e-9 * (1.0 + truth);
        prop_assert!(b.aligned_true_norms >= truth - tol, "{} < {truth}", b.aligned_true_norms);
        prop_assert!(b.theorem_3_2 >= truth - tol);
        let factors: Vec<f64> = b.alignment.iter().map(|a| a.a_star).collect();
        let (s_opt_product, _) = s_opt(&factors);
        prop_assert!(b.alignment.iter().all(|a| a.a_star <= 1.0 + 1e-12));
        prop_assert!(b.theorem_3_2 <= b.product_theorem_3_1 * s_opt_product + tol);
        prop_assert!(b.aligned_true_norms <= b.product_true_norms * s_opt_product + tol);
        // ℓ∞ keeps S_opt (Eq. 8).
        let finf: Vec<f64> = r.linf.alignment.iter().map(|a| a.a_star).collect();
        prop_assert_eq!(&r.linf.s_opt, &s_opt(&finf).1);
    }
}
