//! APGD-T, FAB / FAB-T, Square and the AutoAttack ensemble against independent truth:
//! torchattacks' implementations on a tiny committed model (`fixtures/autoattack.json`, made by
//! `fixtures/make_autoattack.py`), FAB's hyperplane projections against torchattacks', and
//! reproducibility. Random attacks are compared statistically, not bit for bit.
#![allow(clippy::unwrap_used, clippy::needless_range_loop)]

mod common;

use std::sync::OnceLock;

use burn::prelude::*;
use burn::tensor::activation::relu;
use common::*;
use cr_attacks::{
    ApgdTConfig, Attack, AttackOptions, AttackResult, AutoAttackConfig, AutoAttackVersion,
    FabConfig, Norm, SquareConfig, project_hyperplane_box, run_attack,
};
use serde_json::Value;

const DIMS: [usize; 4] = [40, 1, 6, 6];

struct Fixture {
    json: Value,
    w1: Tensor<2>,
    b1: Tensor<2>,
    w2: Tensor<2>,
    b2: Tensor<2>,
    x: Vec<f32>,
    y: Vec<i64>,
}

fn floats(v: &Value) -> Vec<f32> {
    match v {
        Value::Array(a) => a.iter().flat_map(floats).collect(),
        Value::Number(n) => vec![n.as_f64().unwrap() as f32],
        _ => panic!("not a number: {v}"),
    }
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_f64().unwrap())
        .collect()
}

/// `[out, in]` (PyTorch layout) → burn `[in, out]` for `x·W`.
fn weight(v: &Value) -> Tensor<2> {
    let rows = v.as_array().unwrap();
    let (o, i) = (rows.len(), rows[0].as_array().unwrap().len());
    Tensor::<2>::from_data(TensorData::new(floats(v), [o, i]), &cpu()).transpose()
}

fn bias(v: &Value) -> Tensor<2> {
    let b = floats(v);
    let n = b.len();
    Tensor::from_data(TensorData::new(b, [1, n]), &cpu())
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/autoattack.json"
        ))
        .unwrap();
        let json: Value = serde_json::from_str(&text).unwrap();
        let m = &json["model"];
        Fixture {
            w1: weight(&m["l1.weight"]),
            b1: bias(&m["l1.bias"]),
            w2: weight(&m["l2.weight"]),
            b2: bias(&m["l2.bias"]),
            x: floats(&json["x"]),
            y: json["y"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_i64().unwrap())
                .collect(),
            json,
        }
    })
}

impl Fixture {
    fn logits(&self, x: Tensor<4>) -> Tensor<2> {
        let [n, ..] = x.dims();
        let h = relu(x.reshape([n as i64, -1]).matmul(self.w1.clone()) + self.b1.clone());
        h.matmul(self.w2.clone()) + self.b2.clone()
    }

    fn run(&self, attack: Attack) -> AttackResult {
        let model = |x: Tensor<4>| self.logits(x);
        run_attack(
            &model,
            &attack,
            images(self.x.clone(), DIMS),
            labels(&self.y),
            &AttackOptions::default(),
        )
        .unwrap()
    }

    fn eps(&self, norm: Norm) -> f32 {
        self.json["eps"][norm.name()].as_f64().unwrap() as f32
    }

    /// torchattacks' robust counts over seeds for `key` and `norm`.
    fn counts(&self, key: &str, norm: Norm) -> Vec<f64> {
        f64s(&self.json[key][norm.name()]["counts"])
    }
}

fn count(v: &[bool]) -> usize {
    v.iter().filter(|b| **b).count()
}

fn mean_sd(v: &[f64]) -> (f64, f64) {
    let m = v.iter().sum::<f64>() / v.len() as f64;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len().max(2) - 1) as f64;
    (m, var.sqrt())
}

fn distance(a: &[f32], b: &[f32], norm: Norm) -> f64 {
    let it = a.iter().zip(b).map(|(a, b)| (*a - *b) as f64);
    match norm {
        Norm::Linf => it.fold(0.0, |m, v| m.max(v.abs())),
        Norm::L2 => it.map(|v| v * v).sum::<f64>().sqrt(),
    }
}

/// Every example inside the ε-ball and `[0, 1]`; every sample reported broken really is
/// misclassified at its example (recounted here).
fn check_valid(f: &Fixture, r: &AttackResult, norm: Norm, eps: f32) {
    let adv = host(r.adversarial.clone().unwrap());
    let d = f.x.len() / f.y.len();
    let preds = f
        .logits(images(adv.clone(), DIMS))
        .argmax(1)
        .into_data()
        .try_into_vec_as::<i64>()
        .unwrap();
    for i in 0..f.y.len() {
        let a = &adv[i * d..(i + 1) * d];
        assert!(
            a.iter().all(|v| (0.0..=1.0).contains(v)),
            "sample {i} leaves [0,1]"
        );
        let dist = distance(a, &f.x[i * d..(i + 1) * d], norm);
        assert!(
            dist <= eps as f64 * (1.0 + 1e-5) + 1e-6,
            "{}: sample {i} at {dist} > {eps}",
            r.params.attack
        );
        if r.correct_clean[i] && !r.robust[i] {
            assert_ne!(preds[i], f.y[i], "{}: sample {i}", r.params.attack);
        }
    }
    // The reported summary is the recount's: largest distance, range, no NaN.
    let p = r.perturbation.expect("a perturbation summary");
    let largest = (0..f.y.len())
        .map(|i| distance(&adv[i * d..(i + 1) * d], &f.x[i * d..(i + 1) * d], norm))
        .fold(0.0, f64::max);
    assert!(
        (p.max_norm as f64 - largest).abs() <= 1e-5 * (1.0 + largest),
        "{}: reported max perturbation {} vs recounted {largest}",
        r.params.attack,
        p.max_norm
    );
    let lo = adv.iter().fold(f32::INFINITY, |m, v| m.min(*v));
    let hi = adv.iter().fold(f32::NEG_INFINITY, |m, v| m.max(*v));
    assert_eq!((p.min, p.max, p.nans), (lo, hi, 0), "{}", r.params.attack);
}

#[test]
fn clean_predictions_match_the_fixture() {
    let f = fixture();
    let r = f.run(Attack::Square(SquareConfig {
        queries: 1,
        ..SquareConfig::new(Norm::Linf, 0.01)
    }));
    let want: Vec<bool> = f.json["clean_correct"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_bool().unwrap())
        .collect();
    assert_eq!(r.correct_clean, want);
}

#[test]
fn projections_match_torchattacks() {
    let f = fixture();
    for (k, case) in f.json["projections"].as_array().unwrap().iter().enumerate() {
        let t: Vec<f32> = f64s(&case["t"]).into_iter().map(|v| v as f32).collect();
        let w = f64s(&case["w"]);
        let b = case["b"].as_f64().unwrap();
        for norm in [Norm::Linf, Norm::L2] {
            let want = f64s(&case[norm.name()]);
            let got = project_hyperplane_box(&t, &w, b, norm);
            for (g, e) in got.iter().zip(&want) {
                assert!(
                    (g - e).abs() < 1e-5,
                    "case {k} {norm}: got {got:?}, torchattacks {want:?}"
                );
            }
        }
    }
}

#[test]
fn fab_finds_the_same_boundary_points_as_torchattacks() {
    let f = fixture();
    let d = f.x.len() / f.y.len();
    for norm in [Norm::Linf, Norm::L2] {
        let big = match norm {
            Norm::Linf => 1.0,
            Norm::L2 => 10.0,
        };
        for targeted in [true, false] {
            let cfg = if targeted {
                FabConfig::new(norm, big)
            } else {
                FabConfig::untargeted(norm, big)
            };
            let r = f.run(Attack::Fab(cfg));
            let key = format!("{}-{}", cfg.name(), norm.name());
            let want = f.json["fab"][key.as_str()].as_array().unwrap();
            let adv = host(r.adversarial.clone().unwrap());
            let mut worse = 0;
            for i in 0..f.y.len() {
                let broken = r.correct_clean[i] && !r.robust[i];
                match want[i].as_f64() {
                    None => assert!(!broken, "{key}: sample {i} broken, torchattacks did not"),
                    Some(e) => {
                        assert!(broken, "{key}: sample {i} not broken, torchattacks at {e}");
                        let got =
                            distance(&adv[i * d..(i + 1) * d], &f.x[i * d..(i + 1) * d], norm);
                        // Same deterministic algorithm (no random start in the first run);
                        // f64 host projections vs torch's f32 may drift slightly.
                        assert!(
                            got <= e * 1.02 + 1e-4,
                            "{key}: sample {i} at {got}, torchattacks {e}"
                        );
                        if got > e * 1.001 + 1e-5 {
                            worse += 1;
                        }
                    }
                }
            }
            assert!(
                worse <= 2,
                "{key}: {worse} samples noticeably farther than torchattacks"
            );
        }
    }
}

#[test]
fn apgd_t_matches_torchattacks() {
    let f = fixture();
    for norm in [Norm::Linf, Norm::L2] {
        let eps = f.eps(norm);
        let (m, sd) = mean_sd(&f.counts("apgd_t", norm));
        for seed in 0..2 {
            let r = f.run(Attack::ApgdT(ApgdTConfig {
                seed,
                ..ApgdTConfig::new(norm, eps)
            }));
            check_valid(f, &r, norm, eps);
            let c = count(&r.robust) as f64;
            eprintln!("apgd-t {norm}: cr {c}, torchattacks {m:.2} ± {sd:.2}");
            assert!(
                (c - m).abs() <= (3.0 * sd).max(1.5),
                "apgd-t {norm} seed {seed}: cr robust {c}, torchattacks {m} ± {sd}"
            );
        }
    }
}

#[test]
fn square_matches_torchattacks_statistically() {
    let f = fixture();
    for norm in [Norm::Linf, Norm::L2] {
        let eps = f.eps(norm);
        let ta = f.counts("square", norm);
        let (m_ta, sd_ta) = mean_sd(&ta);
        let ours: Vec<f64> = (0..4)
            .map(|seed| {
                let r = f.run(Attack::Square(SquareConfig {
                    queries: 1000,
                    seed,
                    ..SquareConfig::new(norm, eps)
                }));
                check_valid(f, &r, norm, eps);
                count(&r.robust) as f64
            })
            .collect();
        let (m, sd) = mean_sd(&ours);
        eprintln!(
            "square {norm}: cr {m:.2} ± {sd:.2} {ours:?}, torchattacks {m_ta:.2} ± {sd_ta:.2}"
        );
        // Welch-style bound on the difference of means (with a floor of one sample).
        let se =
            (sd_ta.powi(2) / ta.len() as f64 + sd.max(sd_ta).powi(2) / ours.len() as f64).sqrt();
        assert!(
            (m - m_ta).abs() <= (3.5 * se).max(1.0),
            "square {norm}: cr {m} vs torchattacks {m_ta} (se {se})"
        );
    }
}

#[test]
fn autoattack_is_at_least_as_strong_as_torchattacks() {
    let f = fixture();
    for norm in [Norm::Linf, Norm::L2] {
        let eps = f.eps(norm);
        let r = f.run(Attack::AutoAttack(AutoAttackConfig::new(norm, eps)));
        check_valid(f, &r, norm, eps);
        let c = count(&r.robust);
        let ta = f.counts("autoattack", norm);
        let best = ta.iter().cloned().fold(f64::INFINITY, f64::min);
        eprintln!(
            "autoattack {norm}: cr {c}, torchattacks {ta:?}; stages {:?}",
            r.stages
        );
        // Robust accuracy ≤ torchattacks' + 1 sample in 40 (lower is a stronger attack).
        assert!(
            c as f64 <= best + 1.0,
            "autoattack {norm}: cr {c}, torchattacks {ta:?}"
        );
        // The bookkeeping: every broken sample names its component, robust ones none.
        let by = r.broken_by.as_ref().unwrap();
        for i in 0..f.y.len() {
            let broken = r.correct_clean[i] && !r.robust[i];
            assert_eq!(by[i].is_some(), broken, "sample {i}");
        }
        let names: Vec<&str> = r.stages.iter().map(|s| s.attack.as_str()).collect();
        assert_eq!(names, ["apgd-ce", "apgd-t", "fab-t", "square"]);
        let broken: usize = r.stages.iter().map(|s| s.broken).sum();
        assert_eq!(broken, count(&r.correct_clean) - c);
        assert_eq!(
            r.stages.last().unwrap().robust_accuracy,
            r.robust_accuracy,
            "the last stage's robust accuracy is the ensemble's"
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["broken_by"].as_array().unwrap().len(), f.y.len());
        assert_eq!(json["params"]["version"], "standard");
    }
}

#[test]
fn same_seed_same_bits_and_batching_barely_matters() {
    let f = fixture();
    let model = |x: Tensor<4>| f.logits(x);
    for attack in [
        Attack::ApgdT(ApgdTConfig {
            steps: 10,
            targets: 3,
            seed: 7,
            ..ApgdTConfig::new(Norm::L2, 0.2)
        }),
        Attack::Fab(FabConfig {
            steps: 10,
            restarts: 2,
            targets: 2,
            seed: 7,
            ..FabConfig::new(Norm::Linf, 0.04)
        }),
        Attack::Square(SquareConfig {
            queries: 200,
            seed: 7,
            ..SquareConfig::new(Norm::L2, 0.2)
        }),
    ] {
        let go = |bs| {
            let r = run_attack(
                &model,
                &attack,
                images(f.x.clone(), DIMS),
                labels(&f.y),
                &AttackOptions {
                    batch_size: bs,
                    sanity: false,
                },
            )
            .unwrap();
            (r.robust.clone(), host(r.adversarial.unwrap()))
        };
        let a = go(None);
        assert_eq!(
            a,
            go(None),
            "{}: same seed, different result",
            attack.name()
        );
        // Another batch size draws the same random numbers per sample, but the model's
        // matrix products may round differently in the last bit: same outcome up to a sample.
        let b = go(Some(7));
        let (ca, cb) = (count(&a.0) as i64, count(&b.0) as i64);
        assert!(
            (ca - cb).abs() <= 1,
            "{}: batch size changed {ca} to {cb}",
            attack.name()
        );
    }
}

#[test]
fn versions_and_checks() {
    let f = fixture();
    assert_eq!(
        "plus".parse::<AutoAttackVersion>().unwrap(),
        AutoAttackVersion::Plus
    );
    assert!("strong".parse::<AutoAttackVersion>().is_err());
    let names = |v| {
        AutoAttackConfig {
            version: v,
            ..AutoAttackConfig::new(Norm::Linf, 0.1)
        }
        .components()
        .iter()
        .map(|a| a.name())
        .collect::<Vec<_>>()
    };
    assert_eq!(
        names(AutoAttackVersion::Plus),
        ["apgd-ce", "apgd-dlr", "fab", "square", "apgd-t", "fab-t"]
    );
    assert_eq!(names(AutoAttackVersion::Rand), ["apgd-ce", "apgd-dlr"]);
    // A 3-class model: APGD-T is skipped (its loss needs 4 classes) and the check fires.
    let m = LinearModel::random(3, 36, 2.0, 1);
    let (x, y) = linear_data(&m, 12, 36, 2);
    let model = move |t: Tensor<4>| m.logits(t);
    let r = run_attack(
        &model,
        &Attack::AutoAttack(AutoAttackConfig::new(Norm::Linf, 0.05)),
        images(x, [12, 1, 6, 6]),
        labels(&y),
        &AttackOptions::default(),
    )
    .unwrap();
    let _ = f;
    if r.stages.len() > 1 && r.stages[0].robust_accuracy > 0.0 {
        assert!(r.stages[1].skipped.is_some(), "{:?}", r.stages);
    }
    assert!(
        r.warnings.iter().any(|w| matches!(
            w,
            cr_attacks::SanityWarning::TooFewClasses { classes: 3, .. }
        )),
        "{:?}",
        r.warnings
    );
}
