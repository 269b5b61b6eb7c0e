//! The seed-paired t simulation behind every interval of the judge.
//!
//! A curve has `K` points; point `k` was run with seeds `S_k` (the same seeds at every point:
//! `grid.rs` gives point k of a sweep the seeds of every other point). For each measured
//! series (a *channel*: the quantity, and a measured `x` when the claim has one) the point
//! means `m_k` and the per-seed residuals `r_{s,k} = y_{s,k} − m_k` describe the sampling
//! distribution of the mean curve. One replicate draws
//!
//! ```text
//! μ*_k = m_k + T · Σ_{s ∈ S_k} g_s r_{s,k} / √(n_k (n_k − 1)) + σ_k · e_k
//! ```
//!
//! with `g_s ~ N(0, 1)` **shared by every point and channel of seed `s`** (the pairing:
//! a seed's effect moves the whole curve together), `T = √(ν / χ²_ν)` one draw per replicate
//! with `ν` the degrees of freedom (the fewest seeds at a point, minus 1), and `σ_k e_k` the
//! test-sample noise of the point (for a proportion measured on `N` samples,
//! `σ_k² = m_k(1 − m_k)/N`; for another mean over test samples, the standard error the run
//! recorded beside it, `<quantity>_se`; zero where the result files carry no per-sample spread).
//!
//! For any linear contrast `c` of the points (Δ = last − first, an OLS slope) the seed part
//! of `c·μ*` is exactly `c·m + t_ν · √(cᵀ S c / n)`: its percentile interval is the paired
//! t interval at `ν` degrees of freedom, at every `n` (no bootstrap of 3 seeds, whose 10
//! distinct resamples make intervals far too narrow). Non-linear statistics (a breakpoint
//! re-chosen per replicate, correlations) get the same joint draw.
//!
//! Two-point curves (two models, e.g. pruning with and without the regulariser) are drawn
//! *unpaired* with Welch–Satterthwaite degrees of freedom: their claims are a Welch test of
//! the difference.
//!
//! The test-sample term is added unscaled by `1/n`: every run of this project evaluates the
//! same balanced test subset, so its sampling noise is shared by the seeds and does not
//! average out; and it is added independently per point although the points share the test
//! images (a positive correlation that would shrink the noise of a difference): both choices
//! make the interval wider, never narrower.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{ChiSquared, Distribution, StandardNormal};

/// One measured series over the points, by seed slot.
#[derive(Debug, Clone, PartialEq)]
pub struct Channel {
    /// `values[k][slot]`: the run of seed slot `slot` at point `k`, if any.
    pub values: Vec<Vec<Option<f64>>>,
    /// Per point: the test-sample standard deviation of its mean (0 when unknown).
    pub test_sd: Vec<f64>,
}

/// The prepared simulation of one curve.
#[derive(Debug, Clone)]
pub struct Sim {
    means: Vec<Vec<f64>>,
    resid: Vec<Vec<Vec<(usize, f64)>>>,
    scale: Vec<Vec<f64>>,
    test_sd: Vec<Vec<f64>>,
    slots: usize,
    points: usize,
    paired: bool,
    /// Degrees of freedom of the t factor.
    pub df: f64,
}

fn mean_var(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = if v.len() > 1 {
        v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0)
    } else {
        0.0
    };
    (m, var)
}

impl Sim {
    /// Prepares the draw of `channels` (every channel with the same points and slots; every
    /// point with at least 2 runs in channel 0). Two-point curves are drawn unpaired with
    /// Welch's degrees of freedom (from channel 0), longer ones paired.
    pub fn new(channels: &[Channel]) -> Self {
        let points = channels.first().map_or(0, |c| c.values.len());
        let slots = channels
            .first()
            .and_then(|c| c.values.first())
            .map_or(0, Vec::len);
        let mut means = Vec::new();
        let mut resid = Vec::new();
        let mut scale = Vec::new();
        let mut vars = Vec::new();
        for c in channels {
            let (mut m, mut r, mut sc, mut vr) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
            for row in &c.values {
                let present: Vec<f64> = row.iter().flatten().copied().collect();
                let (mk, vk) = mean_var(&present);
                let n = present.len() as f64;
                m.push(mk);
                vr.push((vk, n));
                sc.push(if n > 1.0 {
                    1.0 / (n * (n - 1.0)).sqrt()
                } else {
                    0.0
                });
                r.push(
                    row.iter()
                        .enumerate()
                        .filter_map(|(s, v)| v.map(|v| (s, v - mk)))
                        .collect(),
                );
            }
            means.push(m);
            resid.push(r);
            scale.push(sc);
            vars.push(vr);
        }
        let paired = points != 2;
        let min_n = vars
            .first()
            .map(|v| v.iter().map(|(_, n)| *n).fold(f64::INFINITY, f64::min))
            .unwrap_or(2.0);
        let df = if paired {
            (min_n - 1.0).max(1.0)
        } else {
            welch_df(&vars[0])
        };
        Self {
            means,
            resid,
            scale,
            test_sd: channels.iter().map(|c| c.test_sd.clone()).collect(),
            slots,
            points,
            paired,
            df,
        }
    }

    /// The observed point means, per channel.
    pub fn observed(&self) -> &[Vec<f64>] {
        &self.means
    }

    /// Whether the points are drawn with shared seed effects.
    pub fn paired(&self) -> bool {
        self.paired
    }

    /// For the contrast `c` of channel `ch`'s point means: (the variance of one seed's
    /// contrast, estimated from the residuals, i.e. `cᵀ S c`; the test-sample variance
    /// `Σ c_k² σ_k²`, which more seeds do not shrink).
    pub fn contrast_var(&self, ch: usize, c: &[f64]) -> (f64, f64) {
        let test: f64 = c
            .iter()
            .zip(&self.test_sd[ch])
            .map(|(w, sd)| (w * sd).powi(2))
            .sum();
        let n = self.df + 1.0;
        let seed = if self.paired {
            let mut per_slot = vec![0.0; self.slots];
            for (k, w) in c.iter().enumerate() {
                for (s, r) in &self.resid[ch][k] {
                    per_slot[*s] += w * r * self.scale[ch][k];
                }
            }
            per_slot.iter().map(|v| v * v).sum::<f64>() * n
        } else {
            c.iter()
                .enumerate()
                .map(|(k, w)| {
                    let sc = self.scale[ch][k];
                    let sum: f64 = self.resid[ch][k]
                        .iter()
                        .map(|(_, r)| (w * r * sc).powi(2))
                        .sum();
                    let nk = self.resid[ch][k].len() as f64;
                    sum * nk
                })
                .sum()
        };
        (seed, test)
    }

    /// One replicate into `out[channel][point]`.
    pub fn draw(&self, rng: &mut ChaCha8Rng, out: &mut [Vec<f64>]) {
        let chi = ChiSquared::new(self.df).map_or(self.df, |c| c.sample(rng).max(1e-12));
        let t = (self.df / chi).sqrt();
        let shared: Vec<f64> = (0..self.slots)
            .map(|_| rng.sample::<f64, _>(StandardNormal))
            .collect();
        let per_point: Vec<Vec<f64>> = if self.paired {
            Vec::new()
        } else {
            (0..self.points)
                .map(|_| {
                    (0..self.slots)
                        .map(|_| rng.sample::<f64, _>(StandardNormal))
                        .collect()
                })
                .collect()
        };
        for (c, o) in out.iter_mut().enumerate() {
            o.clear();
            for k in 0..self.points {
                let g = per_point.get(k).unwrap_or(&shared);
                let seed: f64 = self.resid[c][k].iter().map(|(s, r)| g[*s] * r).sum();
                let sd = self.test_sd[c][k];
                let test = if sd > 0.0 {
                    sd * rng.sample::<f64, _>(StandardNormal)
                } else {
                    0.0
                };
                o.push(self.means[c][k] + t * self.scale[c][k] * seed + test);
            }
        }
    }
}

/// Welch–Satterthwaite degrees of freedom of a difference of two means from `(variance, n)`
/// per group (the smaller `n − 1` when both variances are 0).
fn welch_df(v: &[(f64, f64)]) -> f64 {
    let fallback = v
        .iter()
        .map(|(_, n)| n - 1.0)
        .fold(f64::INFINITY, f64::min)
        .max(1.0);
    let a: Vec<(f64, f64)> = v.iter().map(|(s2, n)| (s2 / n, n - 1.0)).collect();
    let num = a.iter().map(|(q, _)| q).sum::<f64>().powi(2);
    let den: f64 = a.iter().map(|(q, d)| q * q / d).sum();
    if den > 0.0 && num.is_finite() {
        (num / den).max(1.0)
    } else {
        fallback
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::{quantile, t975};
    use rand::SeedableRng;

    #[test]
    fn a_contrast_gets_the_paired_t_interval() {
        // Three seeds, three points; per-seed Δ (last − first) = 0.9, 1.0, 1.4: mean 1.1,
        // sd √0.07, paired t half-width t₀.₉₇₅(2)·sd/√3.
        let ch = Channel {
            values: vec![
                vec![Some(0.0), Some(0.5), Some(-0.2)],
                vec![Some(1.0), Some(2.0), Some(0.0)],
                vec![Some(0.9), Some(1.5), Some(1.2)],
            ],
            test_sd: vec![0.0; 3],
        };
        let sim = Sim::new(&[ch]);
        assert_eq!(sim.df, 2.0);
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut out = vec![Vec::new()];
        let d: Vec<f64> = (0..200_000)
            .map(|_| {
                sim.draw(&mut rng, &mut out);
                out[0][2] - out[0][0]
            })
            .collect();
        let half = t975(2) * 0.07f64.sqrt() / 3f64.sqrt();
        let (lo, hi) = (quantile(&d, 0.025), quantile(&d, 0.975));
        assert!((lo - (1.1 - half)).abs() < 0.02, "{lo} vs {}", 1.1 - half);
        assert!((hi - (1.1 + half)).abs() < 0.02, "{hi} vs {}", 1.1 + half);
    }

    #[test]
    fn two_points_are_welch() {
        // Variances 1 and 4 over 3 runs each: df = (1/3 + 4/3)² / ((1/3)²/2 + (4/3)²/2)
        // = (25/9) / (17/18) = 50/17.
        let v = [(1.0, 3.0), (4.0, 3.0)];
        assert!((welch_df(&v) - 50.0 / 17.0).abs() < 1e-12);
        assert_eq!(welch_df(&[(0.0, 3.0), (0.0, 4.0)]), 2.0);
    }
}
