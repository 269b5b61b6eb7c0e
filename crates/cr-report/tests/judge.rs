//! The judge on synthetic result sets whose truth is known by construction: a noisy monotone
//! fall, flat noise, an inverted U and a U (a shape beside the trend), the opposite trend,
//! missing data, the binomial term, pairing, exclusions, a measured x that folds back, a
//! size claim and a log-scale claim (SPEC §6, "Judging the paper's claims").

#![allow(clippy::unwrap_used)]

use cr_report::claims::{Direction, Scale};
use cr_report::judge::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A curve with `seeds` seeds per point: `y = f(i) + noise`, the noise a fixed
/// deterministic pattern of amplitude `amp`.
fn curve(n: usize, seeds: usize, amp: f64, f: impl Fn(usize) -> f64) -> Vec<PointObs> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    (0..n)
        .map(|i| PointObs {
            label: format!("{}", i),
            strength: i as f64,
            runs: (0..seeds)
                .map(|s| Obs {
                    seed: Some(s as u64),
                    ..Obs::new(f(i) + amp * (rng.random::<f64>() * 2.0 - 1.0))
                })
                .collect(),
        })
        .collect()
}

fn s() -> Settings {
    Settings::default()
}

#[test]
fn a_noisy_monotone_fall_is_supported() {
    let pts = curve(7, 3, 0.02, |i| 0.8 - 0.08 * i as f64);
    let j = judge_trend(&pts, false, Direction::Decreasing, 0.02, &s());
    assert_eq!(j.verdict, Verdict::Supported, "{j:?}");
    assert!(j.slope.unwrap().hi < 0.0);
    assert!((j.change.unwrap().estimate + 0.48).abs() < 0.03);
    assert!(j.shape.is_none(), "{:?}", j.shape);
    assert_eq!(j.df, Some((2.0, true)));
}

#[test]
fn the_opposite_trend_is_contradicted() {
    let pts = curve(7, 3, 0.02, |i| 0.3 + 0.06 * i as f64);
    let j = judge_trend(&pts, false, Direction::Decreasing, 0.02, &s());
    assert_eq!(j.verdict, Verdict::Contradicted, "{j:?}");
}

#[test]
fn flat_noise_is_inconclusive() {
    let pts = curve(7, 3, 0.05, |_| 0.5);
    for d in [Direction::Decreasing, Direction::Increasing] {
        let j = judge_trend(&pts, false, d, 0.02, &s());
        assert_eq!(j.verdict, Verdict::Inconclusive, "{j:?}");
        let t = j.slope.unwrap();
        assert!(t.lo < 0.0 && t.hi > 0.0, "{t:?}");
        assert!(
            j.power.as_deref().unwrap().contains("seeds"),
            "{:?}",
            j.power
        );
    }
}

#[test]
fn an_inverted_u_is_a_shape_beside_the_trend() {
    // Rises to the point at index 3, then falls below the start: the trend (Δ = −0.25) is
    // still judged, the peak is reported beside it.
    let shape = [0.40, 0.50, 0.58, 0.62, 0.55, 0.40, 0.15];
    let pts = curve(7, 3, 0.02, |i| shape[i]);
    let j = judge_trend(&pts, false, Direction::Decreasing, 0.02, &s());
    let e = j.shape.clone().unwrap();
    assert_eq!((e.kind, e.at.as_str(), e.index), ("peak", "3", 3));
    assert!(e.before.lo > 0.0, "rising before: {:?}", e.before);
    assert!(e.after.lo > 0.0, "falling after: {:?}", e.after);
    assert!(e.describe().contains("up to 3"), "{}", e.describe());
    assert_ne!(j.verdict, Verdict::Contradicted, "{j:?}");
    // A U is a trough.
    let pts = curve(7, 3, 0.02, |i| 1.0 - shape[i]);
    let j = judge_trend(&pts, false, Direction::Increasing, 0.02, &s());
    assert_eq!(j.shape.unwrap().kind, "trough");
}

#[test]
fn a_reversal_with_two_points_on_a_side_is_not_a_shape() {
    // The dip is at the 2nd point: one point before it. A breakpoint needs 3 points on each
    // side (itself included), so the dip is not a trough; the rest of the curve is flat.
    let shape = [0.9, 0.2, 0.85, 0.85, 0.85, 0.85, 0.85];
    let pts = curve(7, 3, 0.01, |i| shape[i]);
    let j = judge_trend(&pts, false, Direction::Decreasing, 0.02, &s());
    assert!(j.shape.is_none(), "{:?}", j.shape);
}

#[test]
fn a_levelling_off_is_not_a_reversal() {
    // Falls by 0.6, then rises by 0.02 (3% of the range): below the stated share.
    let shape = [0.8, 0.5, 0.3, 0.2, 0.205, 0.21, 0.22];
    let pts = curve(7, 3, 0.002, |i| shape[i]);
    let j = judge_trend(&pts, false, Direction::Decreasing, 0.02, &s());
    assert_eq!(j.verdict, Verdict::Supported, "{j:?}");
    assert!(j.shape.is_none(), "{:?}", j.shape);
}

#[test]
fn a_bump_within_the_noise_is_not_a_peak() {
    let shape = [0.60, 0.61, 0.58, 0.45, 0.35, 0.25, 0.15];
    let pts = curve(7, 3, 0.03, |i| shape[i]);
    let j = judge_trend(&pts, false, Direction::Decreasing, 0.02, &s());
    assert_eq!(j.verdict, Verdict::Supported, "{j:?}");
}

#[test]
fn missing_data_is_inconclusive_with_the_reason() {
    // One seed per point.
    let pts = curve(7, 1, 0.0, |i| 1.0 - 0.1 * i as f64);
    let j = judge_trend(&pts, false, Direction::Decreasing, 0.02, &s());
    assert_eq!(j.verdict, Verdict::Inconclusive);
    assert!(j.reason.contains("1 seed(s)"), "{}", j.reason);
    // NaN everywhere but one point.
    let mut pts = curve(7, 3, 0.01, |i| 1.0 - 0.1 * i as f64);
    for p in &mut pts[1..] {
        for o in &mut p.runs {
            o.y = f64::NAN;
        }
    }
    let j = judge_trend(&pts, false, Direction::Decreasing, 0.02, &s());
    assert_eq!(j.verdict, Verdict::Inconclusive);
    assert!(j.reason.contains("1 point(s)"), "{}", j.reason);
    assert!(j.reason.contains("no usable value at 1, 2"), "{}", j.reason);
    // Runs missing entirely.
    let j = judge_trend(&[], false, Direction::Decreasing, 0.02, &s());
    assert_eq!(j.verdict, Verdict::Inconclusive);
    assert!(j.reason.contains("no finished run"), "{}", j.reason);
}

#[test]
fn two_points_judge_the_change_alone() {
    let pts = curve(2, 3, 0.01, |i| 0.5 + 0.1 * i as f64);
    let j = judge_trend(&pts, false, Direction::Increasing, 0.02, &s());
    assert_eq!(j.verdict, Verdict::Supported, "{j:?}");
    assert!(j.shape.is_none());
    // Two points are two models: unpaired, Welch's degrees of freedom.
    assert!(!j.df.unwrap().1);
}

#[test]
fn a_measured_x_that_does_not_move_is_inconclusive() {
    let mut pts = curve(6, 3, 0.01, |i| 1.0 - 0.1 * i as f64);
    for p in &mut pts {
        for o in &mut p.runs {
            o.x = Some(0.97);
        }
    }
    let j = judge_trend(&pts, true, Direction::Decreasing, 0.02, &s());
    assert_eq!(j.verdict, Verdict::Inconclusive);
    assert!(j.reason.contains("does not move"), "{}", j.reason);
}

#[test]
fn a_measured_x_falling_with_the_strength_flips_the_direction() {
    // x falls as the strength rises while y rises: y falls with x.
    let mut pts = curve(6, 3, 0.01, |i| 0.2 + 0.1 * i as f64);
    for (i, p) in pts.iter_mut().enumerate() {
        for (s, o) in p.runs.iter_mut().enumerate() {
            o.x = Some(10.0 - i as f64 + 0.01 * s as f64);
        }
    }
    let j = judge_trend(&pts, true, Direction::Decreasing, 0.02, &s());
    assert_eq!(j.verdict, Verdict::Supported, "{j:?}");
    let c = j.correlations.unwrap();
    assert!(c.pearson.hi < 0.0 && c.spearman.estimate < -0.99, "{c:?}");
}

#[test]
fn a_measured_x_that_folds_back_is_inconclusive() {
    // The effective rank of W1 in the motivating sweep: 301 → 20 at the 4th point, then
    // back to 55; y falls steadily with the strength.
    let x = [301.0, 250.0, 120.0, 20.0, 28.0, 40.0, 55.0];
    let mut pts = curve(7, 3, 0.005, |i| 0.8 - 0.1 * i as f64);
    for (i, p) in pts.iter_mut().enumerate() {
        for (s, o) in p.runs.iter_mut().enumerate() {
            o.x = Some(x[i] + s as f64);
        }
    }
    let j = judge_trend(&pts, true, Direction::Increasing, 0.02, &s());
    assert_eq!(j.verdict, Verdict::Inconclusive, "{j:?}");
    assert!(j.reason.contains("x folds back at 3"), "{}", j.reason);
}

#[test]
fn excluded_runs_leave_the_statistic_and_are_named() {
    // A fall whose last point did not train (and is far below): without it the curve is
    // flat within ±0.02, so a flat claim is supported.
    let mut pts = curve(6, 3, 0.002, |i| if i < 5 { 0.5 } else { 0.1 });
    for o in &mut pts[5].runs {
        o.excluded = true;
    }
    let j = judge_trend(&pts, false, Direction::Flat, 0.02, &s());
    assert_eq!(j.verdict, Verdict::Supported, "{j:?}");
    assert_eq!(j.points, 5);
    assert_eq!(j.excluded, vec!["5 (3 of 3 seeds)".to_string()]);
}

#[test]
fn pairing_removes_a_shared_seed_effect() {
    // Each seed shifts its whole curve by ±0.1; the curve falls by 0.1 per step: the
    // paired interval of Δ is a point, an unpaired one would span the seed effect.
    let shift = [-0.1, 0.0, 0.1];
    let pts: Vec<PointObs> = (0..5)
        .map(|i| PointObs {
            label: i.to_string(),
            strength: i as f64,
            runs: (0..3)
                .map(|s| Obs {
                    seed: Some(s as u64),
                    ..Obs::new(0.9 - 0.1 * i as f64 + shift[s])
                })
                .collect(),
        })
        .collect();
    let j = judge_trend(&pts, false, Direction::Decreasing, 0.02, &s());
    let c = j.change.unwrap();
    assert!((c.hi - c.lo).abs() < 1e-9, "{c:?}");
    assert_eq!(j.verdict, Verdict::Supported);
}

#[test]
fn three_seeds_get_a_t_interval_not_a_percentile_bootstrap() {
    // Per-seed Δ = 0.9, 1.0, 1.4 (two points per curve would be Welch: use three, the
    // middle one flat). Paired t: 1.1 ± 4.303·√0.07/√3 = 1.1 ± 0.657.
    let first = [0.0, 0.5, -0.2];
    let last = [0.9, 1.5, 1.2];
    let pts: Vec<PointObs> = (0..3)
        .map(|i| PointObs {
            label: i.to_string(),
            strength: i as f64,
            runs: (0..3)
                .map(|s| Obs {
                    seed: Some(s as u64),
                    ..Obs::new(match i {
                        0 => first[s],
                        1 => 0.5,
                        _ => last[s],
                    })
                })
                .collect(),
        })
        .collect();
    let j = judge_trend(&pts, false, Direction::Increasing, 0.0, &s());
    let c = j.change.unwrap();
    let half = 4.303 * 0.07f64.sqrt() / 3f64.sqrt();
    // Monte Carlo error of a 2.5% quantile of t₂ over 20,000 replicates: about 0.016 here;
    // a percentile bootstrap of the 3 seeds would give about half this width.
    assert!((c.lo - (1.1 - half)).abs() < 0.06, "{c:?}");
    assert!((c.hi - (1.1 + half)).abs() < 0.06, "{c:?}");
}

#[test]
fn a_size_claim_is_judged_against_the_papers_value() {
    // y = x exactly up to small noise: Pearson near 1 reaches 0.947: supported.
    let mk = |f: &dyn Fn(f64) -> f64| -> Vec<PointObs> {
        let mut pts = curve(8, 3, 0.01, |i| f(i as f64));
        for (i, p) in pts.iter_mut().enumerate() {
            for o in &mut p.runs {
                o.x = Some(i as f64);
            }
        }
        pts
    };
    let rule = |t| Rule {
        target: Some(t),
        ..Rule::new(Direction::Increasing, 0.02)
    };
    let j = judge_claim(&mk(&|i| 0.1 * i), true, &rule(0.947), &s());
    assert_eq!(j.verdict, Verdict::Supported, "{j:?}");
    // A weak, noisy relation: Pearson's interval lies below 0.947: contradicted.
    let j = judge_claim(
        &mk(&|i| [0.0, 0.3, 0.1, 0.0, 0.3, 0.1, 0.2, 0.3][i as usize]),
        true,
        &rule(0.947),
        &s(),
    );
    assert_eq!(j.verdict, Verdict::Contradicted, "{j:?}");
}

#[test]
fn a_log_scale_claim_judges_relative_change() {
    // A rank falling from 300 to 250 (−17%) passes a 10% relative threshold; from 3.0 to
    // 2.9 (−3%) does not, although both would on an absolute 0.05 threshold.
    let log = |m| Rule {
        scale: Scale::Log,
        ..Rule::new(Direction::Decreasing, m)
    };
    let pts = curve(5, 3, 0.5, |i| 300.0 - 12.5 * i as f64);
    assert_eq!(
        judge_claim(&pts, false, &log(0.1), &s()).verdict,
        Verdict::Supported
    );
    let pts = curve(5, 3, 0.001, |i| 3.0 - 0.025 * i as f64);
    let j = judge_claim(&pts, false, &log(0.1), &s());
    assert_eq!(j.verdict, Verdict::Inconclusive, "{j:?}");
    assert!(j.log_scale);
}

/// Five points whose three seeds all observe `obs(i)`: no seed-to-seed spread.
fn identical_seeds(obs: impl Fn(usize) -> Obs) -> Vec<PointObs> {
    (0..5)
        .map(|i| PointObs {
            label: i.to_string(),
            strength: i as f64,
            runs: vec![obs(i); 3],
        })
        .collect()
}

/// With identical seeds the interval of Δ is a point without test-sample noise (`without`);
/// with a per-point test-sample sd of 0.05 (`with`), Δ's sd is √2·0.05 = 0.071 (the noise of a
/// point's mean is not shrunk by the seeds: they share the test set), a 95% width of about
/// 2·1.96·0.071 ≈ 0.28, and the 0.04 effect is no longer decided.
fn assert_test_noise_widens(without: &[PointObs], with: &[PointObs], direction: Direction) {
    let a = judge_trend(without, false, direction, 0.0, &s());
    let b = judge_trend(with, false, direction, 0.0, &s());
    let (ca, cb) = (a.change.unwrap(), b.change.unwrap());
    assert!((ca.hi - ca.lo).abs() < 1e-12);
    let w = cb.hi - cb.lo;
    assert!(w > 0.24 && w < 0.32, "{w}");
    assert_eq!(a.verdict, Verdict::Supported);
    assert_eq!(b.verdict, Verdict::Inconclusive);
}

#[test]
fn the_binomial_term_widens_the_interval() {
    // 100 trials of an accuracy near 0.5: sd √(0.25/100) = 0.05 per point.
    let mk = |trials| {
        identical_seeds(|i| Obs {
            trials,
            ..Obs::new(0.5 - 0.01 * i as f64)
        })
    };
    assert_test_noise_widens(&mk(None), &mk(Some(100)), Direction::Decreasing);
}

#[test]
fn a_recorded_standard_error_widens_the_interval() {
    // A mean loss gap whose runs record se 0.05.
    let mk = |se| {
        identical_seeds(|i| Obs {
            se,
            ..Obs::new(0.3 + 0.01 * i as f64)
        })
    };
    assert_test_noise_widens(&mk(None), &mk(Some(0.05)), Direction::Increasing);
    // On a log scale the same standard error is relative to the point's mean (delta method).
    let log = Rule {
        scale: Scale::Log,
        ..Rule::new(Direction::Increasing, 0.0)
    };
    let c = judge_claim(&mk(Some(0.05)), false, &log, &s());
    let cc = c.change.unwrap();
    assert!(c.log_scale);
    // In ln units: ln(0.34 / 0.30) = 0.125, each point's sd 0.05 / 0.32 ≈ 0.156 (delta
    // method), Δ's sd √2 · 0.156 = 0.22, a 95% width of about 2 · 1.96 · 0.22 ≈ 0.87.
    assert!((cc.estimate - (0.34f64 / 0.30).ln()).abs() < 1e-9, "{cc:?}");
    let w = cc.hi - cc.lo;
    assert!(w > 0.75 && w < 1.0, "{cc:?}");
}

#[test]
fn flat_claims() {
    let pts = curve(7, 3, 0.005, |_| 0.5);
    let j = judge_trend(&pts, false, Direction::Flat, 0.02, &s());
    assert_eq!(j.verdict, Verdict::Supported, "{j:?}");
    let pts = curve(7, 3, 0.005, |i| 0.5 + 0.05 * i as f64);
    let j = judge_trend(&pts, false, Direction::Flat, 0.02, &s());
    assert_eq!(j.verdict, Verdict::Contradicted, "{j:?}");
}

#[test]
fn differences() {
    let pts = curve(2, 3, 0.01, |_| 0.05);
    let j = judge_difference(&pts, Direction::Higher, 0.02, &s());
    assert_eq!(j.verdict, Verdict::Supported, "{j:?}");
    let j = judge_difference(&pts, Direction::Lower, 0.02, &s());
    assert_eq!(j.verdict, Verdict::Contradicted, "{j:?}");
    let pts = curve(2, 3, 0.05, |_| 0.0);
    let j = judge_difference(&pts, Direction::Higher, 0.02, &s());
    assert_eq!(j.verdict, Verdict::Inconclusive, "{j:?}");
    let pts = curve(2, 1, 0.0, |_| 0.3);
    let j = judge_difference(&pts, Direction::Higher, 0.02, &s());
    assert_eq!(j.verdict, Verdict::Inconclusive, "{j:?}");
}

#[test]
fn the_same_seed_gives_the_same_interval() {
    let pts = curve(7, 3, 0.05, |i| 0.8 - 0.02 * i as f64);
    let a = judge_trend(&pts, false, Direction::Decreasing, 0.01, &s());
    let b = judge_trend(&pts, false, Direction::Decreasing, 0.01, &s());
    assert_eq!(a, b);
}
