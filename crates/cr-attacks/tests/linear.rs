//! Attacks against a linear classifier, whose exact robustness is known in closed form
//! (no box constraints): a sample of class y is robust at radius ε iff
//! `min_{j≠y} (z_y − z_j)/‖w_y − w_j‖_dual > ε` (dual norm ℓ1 for ℓ∞, ℓ2 for ℓ2).
#![allow(clippy::unwrap_used)]

mod common;

use burn::prelude::*;
use common::*;
use cr_attacks::{
    ApgdConfig, Attack, AttackOptions, FgsmConfig, Loss, Norm, PgdConfig, run_attack, worst_case,
};

const D: [usize; 4] = [1, 4, 4, 0];

struct Case {
    model: LinearModel,
    x: Vec<f32>,
    y: Vec<i64>,
    dims: [usize; 4],
}

fn case(k: usize, n: usize, seed: u64) -> Case {
    let d = D[0] * D[1] * D[2];
    let model = LinearModel::random(k, d, 8.0, seed);
    let (x, y) = linear_data(&model, n, d, seed + 100);
    Case {
        model,
        x,
        y,
        dims: [n, D[0], D[1], D[2]],
    }
}

/// Exact robust mask at `eps`.
fn truth(c: &Case, norm: Norm, eps: f64) -> Vec<bool> {
    let d = c.x.len() / c.y.len();
    (0..c.y.len())
        .map(|i| {
            c.model
                .exact_distance(&c.x[i * d..(i + 1) * d], c.y[i] as usize, norm)
                > eps
        })
        .collect()
}

/// A radius at which about half the correctly classified samples are robust.
fn median_radius(c: &Case, norm: Norm) -> f64 {
    let d = c.x.len() / c.y.len();
    let mut r: Vec<f64> = (0..c.y.len())
        .map(|i| {
            c.model
                .exact_distance(&c.x[i * d..(i + 1) * d], c.y[i] as usize, norm)
        })
        .filter(|r| *r > 0.0)
        .collect();
    r.sort_by(|a, b| a.partial_cmp(b).unwrap());
    // Halfway between two neighbouring distances: no sample sits on the boundary.
    let m = r.len() / 2;
    0.5 * (r[m] + r[m + 1])
}

fn check(c: &Case, attack: Attack, slack: usize) {
    let norm = attack.norm();
    let eps = attack.eps() as f64;
    let exact = truth(c, norm, eps);
    let model = c.model.clone();
    let f = move |x: Tensor<4>| model.logits(x);
    let res = run_attack(
        &f,
        &attack,
        images(c.x.clone(), c.dims),
        labels(&c.y),
        &AttackOptions::default(),
    )
    .unwrap();
    let n_true = exact.iter().filter(|b| **b).count();
    let n_att = res.robust.iter().filter(|b| **b).count();
    // Never below the truth, per sample: whatever the attack broke is truly breakable, and the
    // returned example really is misclassified and inside the ball (recounted on the host).
    let adv = host(res.adversarial.clone().unwrap());
    let d = c.x.len() / c.y.len();
    for i in 0..c.y.len() {
        let a = &adv[i * d..(i + 1) * d];
        let x = &c.x[i * d..(i + 1) * d];
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
            "{}: sample {i} at distance {dist} > {eps}",
            attack.name()
        );
        if !res.robust[i] && res.correct_clean[i] {
            assert!(
                !exact[i],
                "{}: sample {i} reported broken but is provably robust",
                attack.name()
            );
            let z = c.model.host_logits(a);
            assert_ne!(
                argmax(&z) as i64,
                c.y[i],
                "{}: sample {i}'s example is not adversarial",
                attack.name()
            );
        }
    }
    eprintln!(
        "{:>9} {norm:>4} eps {eps:.4}: robust {n_att}, exact {n_true}",
        attack.name()
    );
    assert!(
        n_att >= n_true,
        "{}: {n_att} robust < exact {n_true}",
        attack.name()
    );
    assert!(
        n_att <= n_true + slack,
        "{}: {n_att} robust, exact {n_true} (norm {norm}, eps {eps})",
        attack.name()
    );
}

fn pgd_cfg(norm: Norm, eps: f32, restarts: usize) -> PgdConfig {
    PgdConfig {
        steps: 50,
        step_size: eps / 10.0,
        restarts,
        clip: false,
        ..PgdConfig::new(norm, eps)
    }
}

fn apgd_cfg(norm: Norm, eps: f32, loss: Loss, restarts: usize) -> ApgdConfig {
    ApgdConfig {
        clip: false,
        restarts,
        ..ApgdConfig::new(norm, eps, loss)
    }
}

#[test]
fn binary_linear_linf_and_l2() {
    let c = case(2, 200, 1);
    for norm in [Norm::Linf, Norm::L2] {
        let eps = median_radius(&c, norm) as f32;
        check(&c, Attack::Pgd(pgd_cfg(norm, eps, 5)), 2);
        check(&c, Attack::Apgd(apgd_cfg(norm, eps, Loss::Ce, 5)), 2);
        let art = ApgdConfig {
            clip: false,
            ..ApgdConfig::art(norm, eps, Loss::Ce)
        };
        check(&c, Attack::Apgd(art), 2);
        // One signed step is exactly optimal for a binary linear model under ℓ∞ (and the
        // normalised step under ℓ2): FGSM must match the truth too.
        check(
            &c,
            Attack::Fgsm(FgsmConfig {
                clip: false,
                ..FgsmConfig::new(norm, eps)
            }),
            2,
        );
    }
}

/// With more than two classes the CE and DLR landscapes of a linear model have local maxima
/// (CE is convex in x, maximised over a ball), so the attacks use restarts, as in practice.
#[test]
fn multiclass_linear_linf_and_l2() {
    let c = case(4, 200, 2);
    for norm in [Norm::Linf, Norm::L2] {
        let eps = median_radius(&c, norm) as f32;
        check(&c, Attack::Pgd(pgd_cfg(norm, eps, 5)), 2);
        check(&c, Attack::Apgd(apgd_cfg(norm, eps, Loss::Ce, 5)), 2);
        check(&c, Attack::Apgd(apgd_cfg(norm, eps, Loss::Dlr, 5)), 2);
        let art = ApgdConfig {
            clip: false,
            ..ApgdConfig::art(norm, eps, Loss::Dlr)
        };
        check(&c, Attack::Apgd(art), 2);
        // FGSM may fall short on multiclass models, but never below the truth.
        check(
            &c,
            Attack::Fgsm(FgsmConfig {
                clip: false,
                ..FgsmConfig::new(norm, eps)
            }),
            200,
        );

        // The per-sample worst case of single-restart attacks, too.
        let attacks = [
            Attack::Pgd(pgd_cfg(norm, eps, 1)),
            Attack::Apgd(apgd_cfg(norm, eps, Loss::Ce, 1)),
            Attack::Apgd(apgd_cfg(norm, eps, Loss::Dlr, 1)),
        ];
        let model = c.model.clone();
        let f = move |x: Tensor<4>| model.logits(x);
        let wc = worst_case(
            &f,
            &attacks,
            images(c.x.clone(), c.dims),
            labels(&c.y),
            &AttackOptions::default(),
        )
        .unwrap();
        let exact = truth(&c, norm, eps as f64);
        let n_true = exact.iter().filter(|b| **b).count();
        let n_wc = wc.robust.iter().filter(|b| **b).count();
        assert!(
            n_wc >= n_true && n_wc <= n_true + 2,
            "worst case {n_wc}, exact {n_true}"
        );
        for (i, &provable) in exact.iter().enumerate() {
            assert!(
                !provable || wc.robust[i],
                "worst case broke provably robust sample {i}"
            );
            // Per sample: robust in the worst case iff robust against every attack.
            assert_eq!(wc.robust[i], wc.attacks.iter().all(|r| r.robust[i]));
        }
    }
}

/// The loss-maximising point (the robustness gap's point, SPEC §2) on a two-class linear
/// model, where it is closed-form: CE = softplus(−m), m = (w_y − w_o)·x + b_y − b_o, so the
/// maximum over ‖δ‖ ≤ ε (no box) is at m − ε‖w_y − w_o‖_dual (ℓ1 for ℓ∞, ℓ2 for ℓ2). Every
/// sample reaches it — the misclassified ones and the broken ones too, where `run_attack`
/// returns the clean input and the first misclassified iterate.
#[test]
fn max_loss_points_reach_the_closed_form_maximum() {
    use cr_attacks::max_loss_points;
    for (norm, seed) in [(Norm::Linf, 1u64), (Norm::L2, 2), (Norm::L2, 3)] {
        let c = case(2, 40, seed);
        let d = c.x.len() / c.y.len();
        let eps = match norm {
            Norm::Linf => 0.5 * median_radius(&c, norm) as f32,
            Norm::L2 => 2.0 * median_radius(&c, norm) as f32,
        };
        let cfg = ApgdConfig {
            clip: false,
            ..ApgdConfig::new(norm, eps, Loss::Ce)
        };
        let x = images(c.x.clone(), c.dims);
        let y = labels(&c.y);
        let opts = AttackOptions {
            batch_size: Some(16),
            sanity: false,
        };
        let r = max_loss_points(
            &|x| c.model.logits(x),
            &Attack::Apgd(cfg),
            x.clone(),
            y.clone(),
            &opts,
        )
        .unwrap();
        let pts = host(r.points);
        let softplus = |v: f64| if v > 30.0 { v } else { v.exp().ln_1p() };
        let mut misclassified = 0;
        let mut checked = 0;
        for i in 0..c.y.len() {
            let (yi, o) = (c.y[i] as usize, 1 - c.y[i] as usize);
            let w: Vec<f64> = (0..d).map(|j| c.model.w[yi][j] - c.model.w[o][j]).collect();
            let margin = |p: &[f32]| {
                w.iter().zip(p).map(|(a, b)| a * *b as f64).sum::<f64>() + c.model.b[yi]
                    - c.model.b[o]
            };
            let m = margin(&c.x[i * d..(i + 1) * d]);
            misclassified += usize::from(m < 0.0);
            let dual = match norm {
                Norm::Linf => w.iter().map(|v| v.abs()).sum::<f64>(),
                Norm::L2 => w.iter().map(|v| v * v).sum::<f64>().sqrt(),
            };
            let want = softplus(-(m - eps as f64 * dual));
            let p = &pts[i * d..(i + 1) * d];
            let got = softplus(-margin(p));
            // In f32 the cross-entropy of a sample with margin above ~16 is exactly 0 (1 + e^−m
            // rounds to 1) and so is its gradient: no f32 gradient method (auto-attack's
            // included) can climb from there, so the closed form is checked where the loss
            // is informative, and every sample for the ball below.
            if m < 15.0 {
                assert!(
                    (got - want).abs() <= 2e-3 * (1.0 + want),
                    "{norm:?} sample {i}: {got} vs {want} (clean margin {m})"
                );
                assert!((r.loss[i] as f64 - got).abs() <= 1e-3 * (1.0 + got));
                checked += 1;
            }
            // Inside the ball.
            let delta: Vec<f64> = p
                .iter()
                .zip(&c.x[i * d..(i + 1) * d])
                .map(|(a, b)| (*a - *b) as f64)
                .collect();
            let size = match norm {
                Norm::Linf => delta.iter().fold(0.0f64, |a, b| a.max(b.abs())),
                Norm::L2 => delta.iter().map(|v| v * v).sum::<f64>().sqrt(),
            };
            assert!(size <= eps as f64 * (1.0 + 1e-5));
        }
        assert!(
            misclassified > 0 && checked >= c.y.len() / 2,
            "the case should contain misclassified samples ({misclassified}) and mostly informative ones ({checked})"
        );
    }
    // Not an APGD attack: a clear error.
    let c = case(2, 4, 1);
    let e = max_loss_points(
        &|x| c.model.logits(x),
        &Attack::Fgsm(FgsmConfig::new(Norm::Linf, 0.1)),
        images(c.x.clone(), c.dims),
        labels(&c.y),
        &AttackOptions::default(),
    )
    .unwrap_err();
    assert!(e.to_string().contains("APGD"), "{e}");
}
