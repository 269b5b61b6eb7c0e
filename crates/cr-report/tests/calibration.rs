//! Calibration of the judge: claims simulated from a known truth with the noise our runs
//! show (3 seeds, 7 points, the per-point seed-to-seed spread of a real cpu-scale results
//! folder), judged as the report judges them.
//!
//! - On flat curves the judge may make a finding (`supported`, `contradicted`, or a shape
//!   beside the verdict) in at most the nominal 5% of 1,000 claims, both with the claims'
//!   threshold and with no threshold at all; and Δ's 95% interval may miss the true Δ = 0 in
//!   at most 5% of them (plus two Monte Carlo standard errors, 1.4 points).
//! - On true falls of 1×, 2×, 4× and 8× `min_effect` the power is printed
//!   (`cargo test -p cr-report --test calibration -- --nocapture`); asserted are only bounds
//!   that follow from the rule: a fall of exactly `min_effect` lies on the boundary of "no
//!   effect beyond the threshold", so it is decided at most about 2.5% of the time; power does
//!   not fall as the effect grows; and a fall far above the noise is found.

#![allow(clippy::unwrap_used)]

use cr_report::claims::Direction;
use cr_report::judge::{Obs, PointObs, Settings, Verdict, judge_trend};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// Per-point seed-to-seed standard deviation of robust accuracy along a 7-point α sweep:
/// the mean over the complete 7-point, 3-seed α sweeps (`neuron`) of `adv-training`,
/// `cnn-standard` and `fcn-standard` in a cpu-scale results folder made at main (commit
/// 1577b70, 2026-12-03), computed by a short script over their `result.json` files.
const SD: [f64; 7] = [0.0182, 0.0220, 0.0259, 0.0257, 0.0236, 0.0234, 0.0303];
/// Correlation of one seed's residuals across the points of its sweep (the share of the
/// spread that is a seed effect shared by the whole curve), from the same runs: 0.63.
const SEED_SHARE: f64 = 0.63;
/// The claims' threshold (2 accuracy points, as the cpu configs).
const MIN_EFFECT: f64 = 0.02;
const CLAIMS: usize = 1000;
const SEEDS: usize = 3;

fn settings() -> Settings {
    Settings {
        replicates: 1000,
        ..Settings::default()
    }
}

fn obs(y: f64, seed: usize) -> Obs {
    Obs {
        seed: Some(seed as u64),
        ..Obs::new(y)
    }
}

/// One simulated curve: `mu[k]` plus a seed effect shared across points and independent
/// noise, with the per-point spread `SD`.
fn simulate(mu: &[f64], rng: &mut ChaCha8Rng) -> Vec<PointObs> {
    let std = Normal::new(0.0, 1.0).unwrap();
    let shared: Vec<f64> = (0..SEEDS).map(|_| std.sample(rng)).collect();
    mu.iter()
        .enumerate()
        .map(|(k, m)| PointObs {
            label: k.to_string(),
            strength: k as f64,
            runs: (0..SEEDS)
                .map(|s| {
                    let e =
                        SEED_SHARE.sqrt() * shared[s] + (1.0 - SEED_SHARE).sqrt() * std.sample(rng);
                    obs(m + SD[k] * e, s)
                })
                .collect(),
        })
        .collect()
}

/// Shares over `CLAIMS` curves with a true linear fall of `fall` across the sweep, judged as
/// a `decreasing` claim with threshold `m`: (`supported`, `contradicted`, any finding
/// (a decided verdict or a shape), Δ's interval excluding 0).
fn rates(fall: f64, m: f64, seed: u64) -> (f64, f64, f64, f64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let k = SD.len();
    let mu: Vec<f64> = (0..k)
        .map(|i| 0.5 - fall * i as f64 / (k - 1) as f64)
        .collect();
    let (mut sup, mut con, mut any, mut miss) = (0usize, 0usize, 0usize, 0usize);
    for c in 0..CLAIMS {
        let pts = simulate(&mu, &mut rng);
        let s = Settings {
            seed: c as u64,
            ..settings()
        };
        let j = judge_trend(&pts, false, Direction::Decreasing, m, &s);
        match j.verdict {
            Verdict::Supported => sup += 1,
            Verdict::Contradicted => con += 1,
            _ => {}
        }
        if j.verdict != Verdict::Inconclusive || j.shape.is_some() {
            any += 1;
        }
        if j.change.is_some_and(|c| c.lo > 0.0 || c.hi < 0.0) {
            miss += 1;
        }
    }
    let share = |n: usize| n as f64 / CLAIMS as f64;
    (share(sup), share(con), share(any), share(miss))
}

#[test]
fn flat_curves_are_decided_at_most_five_percent_of_the_time() {
    for (m, seed) in [(MIN_EFFECT, 11), (0.0, 12)] {
        let (s, c, any, _) = rates(0.0, m, seed);
        println!(
            "flat, threshold {m}: supported {s:.3}, contradicted {c:.3}, any finding {any:.3}"
        );
        assert!(
            any <= 0.05,
            "threshold {m}: a finding in {any:.3} > 0.05 of flat claims"
        );
    }
}

#[test]
fn the_change_interval_covers_a_flat_truth() {
    let (_, _, _, miss) = rates(0.0, 0.0, 13);
    println!("flat: Δ's 95% interval excludes the true 0 in {miss:.3}");
    assert!(
        miss <= 0.064,
        "Δ's interval misses 0 in {miss:.3} of flat claims"
    );
}

#[test]
fn power_grows_with_the_effect() {
    let mut last = 0.0;
    for (times, seed) in [(1.0, 21), (2.0, 22), (4.0, 23), (8.0, 24), (16.0, 25)] {
        let (s, c, _, _) = rates(times * MIN_EFFECT, MIN_EFFECT, seed);
        println!(
            "true fall {times}× min_effect ({:.3}): supported {s:.3}, contradicted {c:.3}",
            times * MIN_EFFECT
        );
        assert!(c <= 0.01, "a true fall contradicted {c:.3} of the time");
        if times == 1.0 {
            assert!(s <= 0.05, "a fall of exactly the threshold decided {s:.3}");
        }
        // Monte Carlo slack of about 2 standard errors at 1,000 claims.
        assert!(s + 0.03 >= last, "power fell from {last:.3} to {s:.3}");
        last = s;
    }
    // 16× the threshold (0.32) is about 10 times the spread of a 3-seed Δ.
    assert!(last >= 0.9, "power {last:.3} at 16× min_effect");
}
