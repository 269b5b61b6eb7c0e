//! cr-bounds against numpy reference values (tests/fixtures/make_fixtures.py → bounds.json).

#![allow(clippy::unwrap_used)]

use cr_bounds::alignment::{EstimatorSpec, PairSpec, alignment};
use cr_bounds::{BoundOptions, Estimator, KChoice, Layer, LocalSearchOptions, Norm, analyze};
use cr_linalg::matrix::from_rows_f64;
use serde_json::Value;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + b.abs())
}

#[test]
fn numpy_fixture() {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bounds.json"),
    )
    .unwrap();
    let fx: Value = serde_json::from_str(&text).unwrap();
    let f = |v: &Value| v.as_f64().unwrap();
    let k = fx["k"].as_u64().unwrap() as usize;
    let layers: Vec<Layer> = fx["layers"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let w: Vec<f64> = c["w"].as_array().unwrap().iter().map(f).collect();
            let (r, n) = (
                c["rows"].as_u64().unwrap() as usize,
                c["cols"].as_u64().unwrap() as usize,
            );
            Layer::new(format!("w{i}"), from_rows_f64(r, n, &w).unwrap())
        })
        .collect();
    let opts = BoundOptions {
        k: KChoice::Fixed(k),
        estimator: Estimator::Exact,
        ..Default::default()
    };
    let report = analyze(&layers, &opts).unwrap();
    for (got, want) in report.layers.iter().zip(fx["layers"].as_array().unwrap()) {
        let checks = [
            (got.norm_inf, "norm_inf"),
            (got.norm_2, "norm_2"),
            (got.norm_fro, "norm_fro"),
            (got.stable_rank, "stable_rank"),
            (got.effective_rank, "effective_rank"),
            (got.nu.eps, "nu_eps"),
            (got.nu.beta, "nu_beta"),
            (got.sigma.eps, "sigma_eps"),
            (got.sigma.beta, "sigma_beta"),
            (got.theorem_3_1_l2.bound, "l2"),
        ];
        for (g, key) in checks {
            assert!(
                close(g, f(&want[key])),
                "{}: {key} {g} vs {}",
                got.name,
                want[key]
            );
        }
        let l = &got.theorem_3_1_linf;
        assert_eq!(l.k_r as u64, want["linf"]["k_r"].as_u64().unwrap());
        assert!(close(l.eps_r, f(&want["linf"]["eps_r"])));
        assert!(close(l.bound, f(&want["linf"]["bound"])), "{}", got.name);
        assert!(got.nu.k == k && got.sigma.k == k);
    }
    for p in fx["pairs"].as_array().unwrap() {
        let i = p["pair"][0].as_u64().unwrap() as usize;
        for (norm, key, net) in [
            (Norm::Linf, "linf", &report.linf),
            (Norm::L2, "l2", &report.l2),
        ] {
            let pair = PairSpec {
                lower: &layers[i],
                upper: &layers[i + 1],
                k_lower: k,
                k_upper: k,
            };
            let spec = EstimatorSpec {
                estimator: Estimator::Exact,
                patterns: &[],
                search: LocalSearchOptions::default(),
                seed: 0,
            };
            let a = alignment(&pair, norm, &spec).unwrap();
            for (g, field) in [
                (a.max_term, "max_term"),
                (a.remainder, "remainder"),
                (a.a_star, "a_star"),
            ] {
                assert!(close(g, f(&p[key][field])), "pair {i} {key} {field}: {g}");
            }
            assert!(close(net.alignment[i].a_star, a.a_star));
        }
    }
    for (net, key) in [(&report.linf, "linf"), (&report.l2, "l2")] {
        let want = &fx["network"][key];
        assert!(close(net.theorem_3_2, f(&want["theorem_3_2"])), "{key}");
        assert!(close(
            net.product_theorem_3_1,
            f(&want["product_theorem_3_1"])
        ));
    }
}
