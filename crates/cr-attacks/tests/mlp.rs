//! Attacks on a small MLP (burn `Linear`) trained here on synthetic blobs: ordering of attack
//! strengths, validity of every example, bit-exact reproducibility, ε-sweeps.
#![allow(clippy::unwrap_used)]

mod common;

use std::sync::OnceLock;

use burn::prelude::*;
use common::*;
use cr_attacks::{
    ApgdConfig, Attack, AttackOptions, FgsmConfig, Loss, Norm, PgdConfig, eps_sweep, run_attack,
    worst_case,
};

const DIMS: [usize; 4] = [120, 1, 6, 6];

struct Fixture {
    mlp: Mlp,
    x: Vec<f32>,
    y: Vec<i64>,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let (x, y) = blobs(DIMS[0], 4, [DIMS[1], DIMS[2], DIMS[3]], 5);
        let mlp = train_mlp(&x, &y, DIMS, 32, 4, 150);
        Fixture { mlp, x, y }
    })
}

fn eps_for(norm: Norm) -> f32 {
    match norm {
        Norm::Linf => 0.12,
        Norm::L2 => 0.6,
    }
}

fn attacks(norm: Norm) -> (Attack, Attack, Vec<Attack>) {
    let eps = eps_for(norm);
    let fgsm = Attack::Fgsm(FgsmConfig::new(norm, eps));
    let pgd = Attack::Pgd(PgdConfig {
        steps: 20,
        seed: 3,
        ..PgdConfig::new(norm, eps)
    });
    let all = vec![
        pgd,
        Attack::Apgd(ApgdConfig {
            steps: 30,
            seed: 4,
            ..ApgdConfig::new(norm, eps, Loss::Ce)
        }),
        Attack::Apgd(ApgdConfig {
            steps: 30,
            seed: 5,
            ..ApgdConfig::new(norm, eps, Loss::Dlr)
        }),
    ];
    (fgsm, pgd, all)
}

fn count(v: &[bool]) -> usize {
    v.iter().filter(|b| **b).count()
}

#[test]
fn strength_ordering_and_valid_examples() {
    let f = fixture();
    let model = |x: Tensor<4>| f.mlp.forward(x);
    for norm in [Norm::Linf, Norm::L2] {
        let (fgsm, pgd, all) = attacks(norm);
        let opts = AttackOptions::default();
        let r_fgsm = run_attack(
            &model,
            &fgsm,
            images(f.x.clone(), DIMS),
            labels(&f.y),
            &opts,
        )
        .unwrap();
        let r_pgd =
            run_attack(&model, &pgd, images(f.x.clone(), DIMS), labels(&f.y), &opts).unwrap();
        let wc = worst_case(&model, &all, images(f.x.clone(), DIMS), labels(&f.y), &opts).unwrap();
        eprintln!(
            "{norm}: clean {:.3} fgsm {:.3} pgd {:.3} worst {:.3} (apgd-ce {:.3}, apgd-dlr {:.3})",
            r_fgsm.clean_accuracy,
            r_fgsm.robust_accuracy,
            r_pgd.robust_accuracy,
            wc.robust_accuracy,
            wc.attacks[1].robust_accuracy,
            wc.attacks[2].robust_accuracy
        );
        assert!(r_fgsm.clean_accuracy > 0.9, "the MLP did not train");
        assert!(r_fgsm.robust_accuracy <= r_fgsm.clean_accuracy);
        assert!(r_fgsm.robust_accuracy >= r_pgd.robust_accuracy);
        assert!(r_pgd.robust_accuracy >= wc.robust_accuracy);
        assert!(
            r_pgd.robust_accuracy < r_pgd.clean_accuracy,
            "ε too small to test anything"
        );
        assert!(wc.robust_accuracy > 0.0, "ε too large to test anything");
        assert!(wc.warnings.is_empty(), "{:?}", wc.warnings);

        // Every example: inside the ε-ball and the box; robust flags agree with a recount.
        let eps = eps_for(norm) as f64;
        let d = 36;
        for r in std::iter::once(&r_fgsm)
            .chain(std::iter::once(&r_pgd))
            .chain(wc.attacks.iter())
        {
            let adv = host(r.adversarial.clone().unwrap());
            let preds = model(images(adv.clone(), DIMS))
                .argmax(1)
                .into_data()
                .try_into_vec_as::<i64>()
                .unwrap();
            for i in 0..DIMS[0] {
                let a = &adv[i * d..(i + 1) * d];
                let x = &f.x[i * d..(i + 1) * d];
                assert!(a.iter().all(|v| (0.0..=1.0).contains(v)));
                let dist = match norm {
                    Norm::Linf => a
                        .iter()
                        .zip(x)
                        .map(|(a, b)| (a - b).abs() as f64)
                        .fold(0.0, f64::max),
                    Norm::L2 => a
                        .iter()
                        .zip(x)
                        .map(|(a, b)| ((a - b) as f64).powi(2))
                        .sum::<f64>()
                        .sqrt(),
                };
                assert!(
                    dist <= eps * (1.0 + 1e-5) + 1e-6,
                    "{} sample {i}: {dist} > {eps}",
                    r.params.attack
                );
                if r.correct_clean[i] && !r.robust[i] {
                    assert_ne!(
                        preds[i], f.y[i],
                        "{} sample {i}: broken but its example is classified correctly",
                        r.params.attack
                    );
                }
            }
        }
    }
}

#[test]
fn fixed_seed_reproduces_bit_identical_results() {
    let f = fixture();
    let model = |x: Tensor<4>| f.mlp.forward(x);
    let (_, _, mut all) = attacks(Norm::Linf);
    all.push(Attack::Apgd(ApgdConfig {
        steps: 20,
        restarts: 2,
        ..ApgdConfig::art(Norm::L2, 0.5, Loss::Ce)
    }));
    let run = || {
        worst_case(
            &model,
            &all,
            images(f.x.clone(), DIMS),
            labels(&f.y),
            &AttackOptions::default(),
        )
        .unwrap()
    };
    let (a, b) = (run(), run());
    assert_eq!(a.robust, b.robust);
    for (ra, rb) in a.attacks.iter().zip(&b.attacks) {
        assert_eq!(ra.robust, rb.robust);
        let (va, vb) = (
            host(ra.adversarial.clone().unwrap()),
            host(rb.adversarial.clone().unwrap()),
        );
        assert!(
            va.iter().zip(&vb).all(|(p, q)| p.to_bits() == q.to_bits()),
            "{} differs",
            ra.params.attack
        );
    }
    // A different seed changes the random starts (and so, here, the examples).
    let mut other = all.clone();
    other[0] = Attack::Pgd(PgdConfig {
        steps: 20,
        seed: 99,
        ..PgdConfig::new(Norm::Linf, 0.12)
    });
    let c = worst_case(
        &model,
        &other[..1],
        images(f.x.clone(), DIMS),
        labels(&f.y),
        &AttackOptions::default(),
    )
    .unwrap();
    assert_ne!(
        host(c.attacks[0].adversarial.clone().unwrap()),
        host(a.attacks[0].adversarial.clone().unwrap())
    );
}

#[test]
fn results_serialise_with_their_parameters() {
    let f = fixture();
    let model = |x: Tensor<4>| f.mlp.forward(x);
    let attack = Attack::Apgd(ApgdConfig {
        steps: 10,
        seed: 7,
        ..ApgdConfig::art(Norm::Linf, 0.05, Loss::Dlr)
    });
    let r = run_attack(
        &model,
        &attack,
        images(f.x.clone(), DIMS),
        labels(&f.y),
        &AttackOptions {
            batch_size: Some(50),
            sanity: false,
        },
    )
    .unwrap();
    assert_eq!(r.robust.len(), DIMS[0]);
    assert_eq!(r.adversarial.as_ref().unwrap().dims(), DIMS);
    let json = serde_json::to_value(&r).unwrap();
    let p = &json["params"];
    assert_eq!(p["attack"], "apgd-dlr");
    assert_eq!(p["norm"], "linf");
    assert_eq!(p["mode"], "art");
    assert_eq!(p["steps"], 10);
    assert_eq!(p["restarts"], 5);
    assert_eq!(p["seed"], 7);
    assert!((p["eps"].as_f64().unwrap() - 0.05).abs() < 1e-6);
    assert!((p["step_size"].as_f64().unwrap() - 0.1).abs() < 1e-6);
    assert!(json["seconds"].as_f64().unwrap() >= 0.0);
    assert!(json.get("adversarial").is_none());
    // The attack configuration itself round-trips.
    let a: Attack = serde_json::from_str(&serde_json::to_string(&attack).unwrap()).unwrap();
    assert_eq!(a, attack);
}

#[test]
fn eps_sweep_gives_a_curve() {
    let f = fixture();
    let model = |x: Tensor<4>| f.mlp.forward(x);
    let pgd = Attack::Pgd(PgdConfig {
        steps: 10,
        ..PgdConfig::new(Norm::Linf, 0.1)
    });
    let eps = [0.0001, 0.05, 0.3];
    let s = eps_sweep(
        &model,
        &[pgd],
        &eps,
        images(f.x.clone(), DIMS),
        labels(&f.y),
        &AttackOptions::default(),
    )
    .unwrap();
    let curve = s.curve();
    assert_eq!(curve.iter().map(|p| p.0).collect::<Vec<_>>(), eps);
    assert!(
        (curve[0].1 - s.clean_accuracy).abs() < 1e-9,
        "a tiny ε changes nothing here"
    );
    assert!(
        curve[0].1 >= curve[1].1 && curve[1].1 >= curve[2].1,
        "{curve:?}"
    );
    assert!(
        curve[2].1 < 0.2,
        "ε = 0.3 should break almost everything: {curve:?}"
    );
    assert_eq!(s.points[1].per_attack.len(), 1);
    assert_eq!(
        count(&s.points[1].robust) as f64 / DIMS[0] as f64,
        s.points[1].robust_accuracy
    );
}
