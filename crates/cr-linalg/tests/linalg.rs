//! cr-linalg against numpy and against identities that hold for every matrix.

#![allow(clippy::unwrap_used)]

use cr_linalg::matrix::{from_rows_f64, to_rows};
use cr_linalg::{Mat, compress, norms, svd};
use proptest::prelude::*;

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + b.abs())
}

#[test]
fn numpy_fixtures() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/numpy.json"),
    )
    .unwrap();
    let fx: serde_json::Value = serde_json::from_str(&text).unwrap();
    let f = |v: &serde_json::Value| v.as_f64().unwrap();
    let list =
        |v: &serde_json::Value| -> Vec<f64> { v.as_array().unwrap().iter().map(f).collect() };
    let cases = fx["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 5);
    for c in cases {
        let (m, n) = (
            c["rows"].as_u64().unwrap() as usize,
            c["cols"].as_u64().unwrap() as usize,
        );
        let w = from_rows_f64(m, n, &list(&c["w"])).unwrap();
        let s = svd::singular_values(&w).unwrap();
        for (a, b) in s.iter().zip(list(&c["sigma"])) {
            assert!(close(*a, b, 1e-10), "σ {a} vs {b}");
        }
        assert!(close(norms::inf_norm(&w), f(&c["inf"]), 1e-12));
        assert!(close(norms::one_norm(&w), f(&c["one"]), 1e-12));
        assert!(close(norms::frobenius(&w), f(&c["fro"]), 1e-12));
        assert!(close(svd::spectral_norm(&w).unwrap(), f(&c["two"]), 1e-10));
        assert!(close(norms::nuclear(&s), f(&c["nuclear"]), 1e-10));
        assert!(close(norms::stable_rank(&s), f(&c["stable_rank"]), 1e-10));
        assert!(close(
            norms::effective_rank(&s),
            f(&c["effective_rank"]),
            1e-10
        ));
        let nu = norms::row_norms(&w, 1.0);
        for (a, b) in nu.iter().zip(list(&c["row_l1"])) {
            assert!(close(*a, b, 1e-12));
        }
        for (a, b) in norms::row_norms(&w, 2.0).iter().zip(list(&c["row_l2"])) {
            assert!(close(*a, b, 1e-12));
        }
        let k = c["k"].as_u64().unwrap() as usize;
        assert!(close(
            compress::eps(&nu, 1.0, k).unwrap(),
            f(&c["eps_nu_1"]),
            1e-10
        ));
        assert!(close(
            compress::eps(&s, 1.0, k).unwrap(),
            f(&c["eps_sigma_1"]),
            1e-10
        ));
        assert!(close(
            compress::eps(&nu, 2.0, k).unwrap(),
            f(&c["eps_nu_2"]),
            1e-10
        ));
        assert_eq!(
            compress::min_k(&nu, 1.0, 0.3).unwrap() as u64,
            c["min_k_nu_0.3"].as_u64().unwrap()
        );
        assert_eq!(
            compress::min_k(&s, 1.0, 0.1).unwrap() as u64,
            c["min_k_sigma_0.1"].as_u64().unwrap()
        );
        assert!(close(
            compress::beta(&nu, k).unwrap(),
            f(&c["beta_nu"]),
            1e-12
        ));
        assert!(close(
            compress::compressibility_at_level(&to_rows(&w), 0.2).unwrap(),
            f(&c["level_0.2"]),
            1e-10
        ));
        // Power iteration agrees with numpy's σ₁.
        let p = svd::power_iteration(&w, 1e-14, 100_000, 11).unwrap();
        assert!(
            close(p.value, f(&c["two"]), 1e-6),
            "{} vs {}",
            p.value,
            f(&c["two"])
        );
    }
    let vectors = fx["vectors"].as_array().unwrap();
    assert_eq!(vectors.len(), 4);
    for v in vectors {
        let theta = list(&v["theta"]);
        for (key, q) in [("1", 1.0), ("2", 2.0), ("3", 3.0), ("inf", f64::INFINITY)] {
            let want = list(&v["eps"][key]);
            let got = compress::eps_curve(&theta, q).unwrap();
            assert_eq!(got.len(), want.len());
            for (k, (a, b)) in got.iter().zip(&want).enumerate() {
                assert!(close(*a, *b, 1e-10), "eps q={key} k={k}: {a} vs {b}");
                assert_eq!(compress::eps(&theta, q, k).unwrap(), *a);
            }
            let targets = [0.0, 0.05, 0.2, 0.5, 0.9, 1.0];
            for (t, want) in targets.iter().zip(v["min_k"][key].as_array().unwrap()) {
                assert_eq!(
                    compress::min_k(&theta, q, *t).unwrap() as u64,
                    want.as_u64().unwrap(),
                    "min_k q={key} target={t}"
                );
            }
        }
        for (k, b) in list(&v["beta"]).iter().enumerate() {
            assert!(close(compress::beta(&theta, k + 1).unwrap(), *b, 1e-12));
        }
        for (key, kappa) in [("0.1", 0.1), ("0.25", 0.25), ("1.0", 1.0)] {
            let want = f(&v["level"][key]);
            assert!(close(
                compress::compressibility_at_level(&theta, kappa).unwrap(),
                want,
                1e-10
            ));
        }
    }
}

#[test]
fn orthogonal_matrices_have_unit_singular_values() {
    // A rotation and a permutation-with-signs.
    let (c, s) = (0.3f64.cos(), 0.3f64.sin());
    let rot = from_rows_f64(2, 2, &[c, -s, s, c]).unwrap();
    for v in svd::singular_values(&rot).unwrap() {
        assert!((v - 1.0).abs() < 1e-14);
    }
    let p = from_rows_f64(3, 3, &[0., -1., 0., 0., 0., 1., 1., 0., 0.]).unwrap();
    assert_eq!(svd::singular_values(&p).unwrap().len(), 3);
    for v in svd::singular_values(&p).unwrap() {
        assert!((v - 1.0).abs() < 1e-14);
    }
    // Hand values: [[1, 1], [0, 0]] has σ = (√2, 0), ‖·‖_∞ = 2, ‖·‖_1 = 1.
    let w = from_rows_f64(2, 2, &[1., 1., 0., 0.]).unwrap();
    let sv = svd::singular_values(&w).unwrap();
    assert!((sv[0] - 2f64.sqrt()).abs() < 1e-14 && sv[1].abs() < 1e-14);
    assert_eq!((norms::inf_norm(&w), norms::one_norm(&w)), (2.0, 1.0));
}

fn matrix(max: usize) -> impl Strategy<Value = Mat<f64>> {
    (1..max, 1..max).prop_flat_map(|(m, n)| {
        proptest::collection::vec(-3.0f64..3.0, m * n)
            .prop_map(move |v| from_rows_f64(m, n, &v).unwrap())
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn norm_identities(w in matrix(9)) {
        let s = svd::singular_values(&w).unwrap();
        let two = s[0];
        let fro = norms::frobenius(&w);
        let rank = norms::numerical_rank(&s, 1e-10).max(1) as f64;
        prop_assert!(two <= fro * (1.0 + 1e-12));
        prop_assert!(fro <= rank.sqrt() * two * (1.0 + 1e-9) + 1e-12);
        // ‖W‖₂ ≤ √(‖W‖₁ ‖W‖_∞) (Hölder).
        prop_assert!(two <= (norms::one_norm(&w) * norms::inf_norm(&w)).sqrt() * (1.0 + 1e-12) + 1e-12);
        let sq: f64 = s.iter().map(|v| v * v).sum();
        prop_assert!((sq - fro * fro).abs() <= 1e-9 * (1.0 + fro * fro));
        // Power iteration never exceeds σ₁ and converges to it.
        let p = svd::power_iteration(&w, 1e-12, 5000, 1).unwrap();
        prop_assert!(p.value <= two * (1.0 + 1e-9) + 1e-12);
        let er = norms::effective_rank(&s);
        if two > 1e-9 {
            prop_assert!(er >= 1.0 - 1e-9 && er <= s.len() as f64 + 1e-9);
        }
    }

    #[test]
    fn svd_reconstructs_and_truncation_is_eckart_young(w in matrix(8), k in 0usize..8) {
        let d = svd::thin_svd(&w).unwrap();
        let back = d.truncate(d.s.len());
        let err: f64 = (&back - &w).norm_l2();
        prop_assert!(err <= 1e-9 * (1.0 + norms::frobenius(&w)));
        let wk = d.truncate(k);
        let tail: f64 = d.s.iter().skip(k).map(|v| v * v).sum::<f64>().sqrt();
        prop_assert!(((&wk - &w).norm_l2() - tail).abs() <= 1e-9 * (1.0 + tail));
        let (a, b) = d.factors(k);
        prop_assert!((&(&a * &b) - &wk).norm_l2() <= 1e-9 * (1.0 + tail));
    }

    #[test]
    fn low_rank_matrices_have_exactly_r_nonzero_singular_values(r in 1usize..4, m in 4usize..8, n in 4usize..8, seed in 0u64..1000) {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let a = Mat::from_fn(m, r, |_, _| rng.random::<f64>() - 0.5);
        let b = Mat::from_fn(r, n, |_, _| rng.random::<f64>() - 0.5);
        let w = &a * &b;
        let s = svd::singular_values(&w).unwrap();
        prop_assert_eq!(norms::numerical_rank(&s, 1e-10), r);
    }

    #[test]
    fn eps_is_monotone_and_min_k_is_least(theta in proptest::collection::vec(-5.0f64..5.0, 1..30), target in 0.0f64..1.0) {
        let curve = compress::eps_curve(&theta, 1.0).unwrap();
        for w in curve.windows(2) {
            prop_assert!(w[1] <= w[0] + 1e-15);
        }
        let k = compress::min_k(&theta, 1.0, target).unwrap();
        prop_assert!(compress::eps(&theta, 1.0, k).unwrap() <= target);
        if k > 0 {
            prop_assert!(compress::eps(&theta, 1.0, k - 1).unwrap() > target);
        }
        // β in [0, 1] and non-decreasing in k.
        let mut last = 0.0;
        for kk in 1..=theta.len() {
            let b = compress::beta(&theta, kk).unwrap();
            prop_assert!((0.0..=1.0).contains(&b) && b + 1e-15 >= last);
            last = b;
        }
    }
}
