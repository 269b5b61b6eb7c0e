//! Batch norm's numerics on row-major `[B, C, H·W]` values: the per-channel statistics of a
//! batch, the per-channel affine map the layer applies, and its training gradients. No burn
//! types; [`crate::batch_norm`] routes flex tensors here.
//!
//! Every per-channel sum runs over the planes `(b, c)` in order of `b`, each plane in 16 `f32`
//! lanes summed in a fixed order into an `f64` total, so the result does not depend on the
//! thread count; channels (for the sums) and planes (for the maps) run in parallel on rayon.
//! The statistics are two-pass (the mean, then the centred squares), and the variance is the
//! biased one, as burn's and PyTorch's normalisation use.

use rayon::prelude::*;

/// The shape of a batch-norm input: `b` samples of `c` channels, `hw` values a plane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Planes {
    /// Samples.
    pub b: usize,
    /// Channels.
    pub c: usize,
    /// Values a plane (`H·W`).
    pub hw: usize,
}

impl Planes {
    /// Values a channel (`B·H·W`), the count the statistics divide by.
    fn per_channel(&self) -> f64 {
        (self.b * self.hw) as f64
    }

    /// The planes of channel `ch` in `v`, in order of the sample.
    fn channel<'a>(&self, v: &'a [f32], ch: usize) -> impl Iterator<Item = &'a [f32]> + 'a {
        let (c, hw) = (self.c, self.hw);
        (0..self.b).map(move |i| &v[(i * c + ch) * hw..][..hw])
    }
}

/// One channel's map `y = (x − centre)·scale + shift`. The centre is subtracted first (exactly,
/// for inputs near it) so that a large mean does not cancel digits away.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct ChannelMap {
    /// Subtracted first: the mean.
    pub centre: f32,
    /// `γ / σ`.
    pub scale: f32,
    /// `β`.
    pub shift: f32,
}

/// The map of every channel.
pub(crate) type Affine = Vec<ChannelMap>;

/// The sum of `f(a[i], b[i])` over the two slices (of equal length), in 16 `f32` lanes added in
/// a fixed order into an `f64`.
fn lane_sum(a: &[f32], b: &[f32], f: impl Fn(f32, f32) -> f32) -> f64 {
    const LANES: usize = 16;
    let mut acc = [0f32; LANES];
    let (ca, cb) = (a.chunks_exact(LANES), b.chunks_exact(LANES));
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(&x, &y)| f64::from(f(x, y)))
        .sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..LANES {
            acc[l] += f(x[l], y[l]);
        }
    }
    acc.iter().map(|&a| f64::from(a)).sum::<f64>() + tail
}

/// The batch's mean and biased variance of each channel.
pub(crate) fn statistics(p: Planes, x: &[f32]) -> (Vec<f64>, Vec<f64>) {
    let n = p.per_channel();
    (0..p.c)
        .into_par_iter()
        .map(|ch| {
            let sum: f64 = p.channel(x, ch).map(|v| lane_sum(v, v, |x, _| x)).sum();
            let mean = sum / n;
            let m = mean as f32;
            let squares: f64 = p
                .channel(x, ch)
                .map(|v| lane_sum(v, v, |x, _| (x - m) * (x - m)))
                .sum();
            (mean, squares / n)
        })
        .unzip()
}

/// `1 / sqrt(var + ε)` of each channel.
pub(crate) fn inverse_std(var: &[f64], epsilon: f64) -> Vec<f64> {
    var.iter().map(|v| 1.0 / (v + epsilon).sqrt()).collect()
}

/// The layer's map `y = γ (x − μ) / σ + β` per channel.
pub(crate) fn affine(gamma: &[f64], beta: &[f64], mean: &[f64], inv_std: &[f64]) -> Affine {
    (0..gamma.len())
        .map(|ch| ChannelMap {
            centre: mean[ch] as f32,
            scale: (gamma[ch] * inv_std[ch]) as f32,
            shift: beta[ch] as f32,
        })
        .collect()
}

/// `(x − centre)·scale + shift` per channel, planes in parallel.
pub(crate) fn apply(p: Planes, x: &[f32], map: &Affine) -> Vec<f32> {
    let mut y = crate::buffers::zeros(x.len());
    if p.hw == 0 {
        return y;
    }
    y.par_chunks_mut(p.hw)
        .zip(x.par_chunks(p.hw))
        .enumerate()
        .for_each(|(plane, (y, x))| {
            let ChannelMap {
                centre,
                scale,
                shift,
            } = map[plane % p.c];
            for (y, &x) in y.iter_mut().zip(x) {
                *y = (x - centre) * scale + shift;
            }
        });
    y
}

/// `scale·dy` per channel: the input's gradient of a fixed map (evaluation mode).
pub(crate) fn scale(p: Planes, dy: &[f32], map: &Affine) -> Vec<f32> {
    let scales: Affine = map
        .iter()
        .map(|m| ChannelMap {
            centre: 0.0,
            scale: m.scale,
            shift: 0.0,
        })
        .collect();
    apply(p, dy, &scales)
}

/// The gradients of batch norm in training mode, where the statistics are the batch's own.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TrainGradients {
    /// The input's gradient, `[B, C, H·W]`.
    pub x: Vec<f32>,
    /// γ's gradient: `Σ dy · x̂` per channel.
    pub gamma: Vec<f32>,
    /// β's gradient: `Σ dy` per channel.
    pub beta: Vec<f32>,
}

/// What the training backward pass needs from the forward pass.
#[derive(Debug, Clone)]
pub(crate) struct TrainState {
    /// The shape.
    pub planes: Planes,
    /// The batch's mean per channel.
    pub mean: Vec<f64>,
    /// `1 / sqrt(var + ε)` per channel.
    pub inv_std: Vec<f64>,
    /// γ per channel.
    pub gamma: Vec<f64>,
}

/// The gradients for the output's gradient `dy` at input `x`:
/// `dx = γ σ⁻¹ (dy − mean(dy) − x̂ · mean(dy · x̂))` with `x̂ = (x − μ) σ⁻¹`, written as
/// `a·dy + b·(x − μ) + c` per channel (the mean subtracted first, as in the forward pass);
/// `dγ = Σ dy · x̂`, `dβ = Σ dy`.
pub(crate) fn train_gradients(s: &TrainState, x: &[f32], dy: &[f32]) -> TrainGradients {
    let p = s.planes;
    let n = p.per_channel();
    let sums: Vec<(f64, f64)> = (0..p.c)
        .into_par_iter()
        .map(|ch| {
            let m = s.mean[ch] as f32;
            let pairs = p.channel(x, ch).zip(p.channel(dy, ch));
            pairs.fold((0.0, 0.0), |(sdy, sdyx), (x, dy)| {
                (
                    sdy + lane_sum(dy, dy, |d, _| d),
                    sdyx + lane_sum(dy, x, |d, x| d * (x - m)),
                )
            })
        })
        .collect();
    let coefficients: Vec<[f32; 4]> = (0..p.c)
        .map(|ch| {
            let (g, is) = (s.gamma[ch], s.inv_std[ch]);
            let (mean_dy, mean_dy_xhat) = (sums[ch].0 / n, sums[ch].1 * is / n);
            let a = g * is;
            let b = -a * is * mean_dy_xhat;
            [a as f32, b as f32, (-a * mean_dy) as f32, s.mean[ch] as f32]
        })
        .collect();
    let mut dx = crate::buffers::zeros(x.len());
    if p.hw > 0 {
        dx.par_chunks_mut(p.hw)
            .zip(x.par_chunks(p.hw).zip(dy.par_chunks(p.hw)))
            .enumerate()
            .for_each(|(plane, (dx, (x, dy)))| {
                let [a, b, c, m] = coefficients[plane % p.c];
                for ((dx, &x), &dy) in dx.iter_mut().zip(x).zip(dy) {
                    *dx = a * dy + b * (x - m) + c;
                }
            });
    }
    TrainGradients {
        x: dx,
        gamma: (0..p.c)
            .map(|ch| (sums[ch].1 * s.inv_std[ch]) as f32)
            .collect(),
        beta: sums.iter().map(|&(sdy, _)| sdy as f32).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values of a batch with a large common offset (where a one-pass variance loses digits).
    fn batch(p: Planes) -> Vec<f32> {
        (0..p.b * p.c * p.hw)
            .map(|i| 1000.0 + ((i * 37 % 101) as f32) / 17.0 - (i % 7) as f32)
            .collect()
    }

    /// The definition in f64, channel by channel.
    fn reference(p: Planes, x: &[f32]) -> (Vec<f64>, Vec<f64>) {
        (0..p.c)
            .map(|ch| {
                let v: Vec<f64> = p.channel(x, ch).flatten().map(|&v| f64::from(v)).collect();
                let mean = v.iter().sum::<f64>() / v.len() as f64;
                let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64;
                (mean, var)
            })
            .unzip()
    }

    #[test]
    fn statistics_match_the_definition() {
        for p in [
            Planes { b: 3, c: 2, hw: 37 },
            Planes { b: 1, c: 4, hw: 16 },
            Planes { b: 5, c: 3, hw: 1 },
        ] {
            let x = batch(p);
            let (mean, var) = statistics(p, &x);
            let (m0, v0) = reference(p, &x);
            for ch in 0..p.c {
                assert!(
                    (mean[ch] - m0[ch]).abs() < 1e-6 * m0[ch].abs(),
                    "{p:?} mean"
                );
                assert!((var[ch] - v0[ch]).abs() < 1e-5 * v0[ch], "{p:?} var");
            }
        }
    }

    /// A hand-computed case: one channel holding 1, 2, 3, 4 normalises to ±1.342, ±0.447.
    #[test]
    fn a_hand_computed_case() {
        let p = Planes { b: 2, c: 1, hw: 2 };
        let x = [1.0, 2.0, 3.0, 4.0];
        let (mean, var) = statistics(p, &x);
        assert_eq!((mean[0], var[0]), (2.5, 1.25));
        let map = affine(&[2.0], &[1.0], &mean, &inverse_std(&var, 0.0));
        let y = apply(p, &x, &map);
        let z = 1.5 / 1.25f64.sqrt();
        let expect = [
            1.0 - 2.0 * z,
            1.0 - 2.0 * z / 3.0,
            1.0 + 2.0 * z / 3.0,
            1.0 + 2.0 * z,
        ];
        for (y, e) in y.iter().zip(expect) {
            assert!((f64::from(*y) - e).abs() < 1e-6, "{y} vs {e}");
        }
    }

    /// A large mean beside a small spread loses no digits: the output against the definition
    /// in f64.
    #[test]
    fn a_large_mean_does_not_cancel_digits() {
        let p = Planes { b: 2, c: 1, hw: 64 };
        let x: Vec<f32> = (0..128).map(|i| 4096.0 + (i % 9) as f32 * 0.125).collect();
        let (mean, var) = statistics(p, &x);
        let inv_std = inverse_std(&var, 1e-5);
        let y = apply(p, &x, &affine(&[1.0], &[0.0], &mean, &inv_std));
        let (m0, v0) = reference(p, &x);
        for (y, x) in y.iter().zip(&x) {
            let want = (f64::from(*x) - m0[0]) / (v0[0] + 1e-5).sqrt();
            assert!((f64::from(*y) - want).abs() < 1e-4, "{y} vs {want}");
        }
    }

    /// The training gradients against central differences of the loss `Σ w · y` in f64.
    #[test]
    fn training_gradients_match_finite_differences() {
        let p = Planes { b: 2, c: 2, hw: 3 };
        let x: Vec<f32> = (0..12).map(|i| ((i * 5 % 7) as f32) * 0.3 - 0.8).collect();
        let w: Vec<f32> = (0..12).map(|i| ((i * 3 % 5) as f32) * 0.25 - 0.4).collect();
        let (gamma, beta) = ([1.3, -0.7], [0.2, 0.5]);
        let loss = |x: &[f64], gamma: &[f64], beta: &[f64]| -> f64 {
            let mut total = 0.0;
            for ch in 0..p.c {
                let idx: Vec<usize> = (0..p.b)
                    .flat_map(|i| (0..p.hw).map(move |j| (i * p.c + ch) * p.hw + j))
                    .collect();
                let mean = idx.iter().map(|&i| x[i]).sum::<f64>() / idx.len() as f64;
                let var =
                    idx.iter().map(|&i| (x[i] - mean).powi(2)).sum::<f64>() / idx.len() as f64;
                for &i in &idx {
                    let y = gamma[ch] * (x[i] - mean) / (var + 1e-5).sqrt() + beta[ch];
                    total += f64::from(w[i]) * y;
                }
            }
            total
        };
        let (mean, var) = statistics(p, &x);
        let state = TrainState {
            planes: p,
            inv_std: inverse_std(&var, 1e-5),
            mean,
            gamma: gamma.to_vec(),
        };
        let g = train_gradients(&state, &x, &w);
        let x64: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
        let h = 1e-6;
        let diff = |f: &dyn Fn(f64) -> f64| (f(h) - f(-h)) / (2.0 * h);
        for i in 0..x.len() {
            let d = diff(&|e| {
                let mut x = x64.clone();
                x[i] += e;
                loss(&x, &gamma, &beta)
            });
            assert!(
                (f64::from(g.x[i]) - d).abs() < 1e-4,
                "dx[{i}] {} vs {d}",
                g.x[i]
            );
        }
        for ch in 0..p.c {
            let dg = diff(&|e| {
                let mut gm = gamma;
                gm[ch] += e;
                loss(&x64, &gm, &beta)
            });
            let db = diff(&|e| {
                let mut bt = beta;
                bt[ch] += e;
                loss(&x64, &gamma, &bt)
            });
            assert!((f64::from(g.gamma[ch]) - dg).abs() < 1e-4, "dgamma[{ch}]");
            assert!((f64::from(g.beta[ch]) - db).abs() < 1e-4, "dbeta[{ch}]");
        }
    }

    /// The same bits on one thread and on many.
    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        let p = Planes { b: 4, c: 3, hw: 50 };
        let x = batch(p);
        let dy: Vec<f32> = x.iter().map(|v| (v * 0.37).sin()).collect();
        let run = || {
            let (mean, var) = statistics(p, &x);
            let inv_std = inverse_std(&var, 1e-5);
            let gamma = vec![0.5, 1.0, 2.0];
            let map = affine(&gamma, &[0.0, 0.1, 0.2], &mean, &inv_std);
            let y = apply(p, &x, &map);
            let state = TrainState {
                planes: p,
                mean,
                inv_std,
                gamma,
            };
            (y, train_gradients(&state, &x, &dy))
        };
        let one = rayon::ThreadPoolBuilder::new().num_threads(1).build();
        let many = rayon::ThreadPoolBuilder::new().num_threads(5).build();
        let (Ok(one), Ok(many)) = (one, many) else {
            panic!("thread pools")
        };
        assert_eq!(one.install(run), many.install(run));
    }
}
