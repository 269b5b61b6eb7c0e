//! FAB, the Fast Adaptive Boundary attack (Croce & Hein, ICML 2020), targeted (FAB-T, as in
//! AutoAttack's standard ensemble) and untargeted. SPEC §3, AutoAttack.
//!
//! Follows auto-attack `fab_base.py` / `fab_pt.py` (`attack_single_run`, `perturb`) and the
//! projections of `fab_projections.py`, in ℓ∞ and ℓ2. Each iteration linearises the decision
//! boundary between the label `y` and a class `k` at the current point `x₁`
//! (`f_k − f_y ≈ df + ∇(f_k − f_y)·(x − x₁)`), projects both `x₁` and the original `x₀` onto
//! that hyperplane intersected with the box `[0, 1]^d` (minimal ℓp step), and moves to the
//! convex combination `(x₁ + η·d₁)(1 − α) + (x₀ + η·d₂)α`, `α = min(‖d₁‖/(‖d₁‖ + ‖d₂‖), α_max)`,
//! clipped to the box. When the new point is misclassified it is recorded if it is closer to
//! `x₀` than the best so far, and the iterate steps back towards `x₀` by the factor β.
//! A sample counts as broken iff the closest misclassified point found lies within ε.
//!
//! * FAB-T: for each of the `targets` classes with the largest clean logits after the top
//!   one, `k` is that class; runs only on the still-robust samples.
//! * Untargeted: `k` minimises the linearised distance `|df_k|/‖∇df_k‖_dual` over `k ≠ y`
//!   (one backward pass per class).
//! * Restart `r > 0` starts at `x₀ + (ε/2)·t/‖t‖` (`t` uniform in `[−1, 1]^d` for ℓ∞,
//!   Gaussian for ℓ2), clipped, as the reference.
//!
//! Deviations: the projections are solved exactly on the host in f64 (sorting the
//! breakpoints of the piecewise-linear dual function) instead of the reference's batched
//! f32 bisection on the device; the model's forward and backward passes run on the device.
//! Random starts come from per-sample ChaCha8 streams (crate convention). FAB always works in
//! the box `[0, 1]^d` (its projections include the box), so it needs inputs in `[0, 1]`.

use burn::prelude::*;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::apgd_t::ranked_classes;
use crate::error::{Result, invalid};
use crate::model::{Classifier, forward, index_tensor, probe_with, read_f32, read_i64};
use crate::norm::{Norm, check_eps};
use crate::rng::{Start, purpose, random_start};

/// Configuration of FAB / FAB-T.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FabConfig {
    /// Threat model (the norm minimised).
    pub norm: Norm,
    /// Radius ε: a sample is broken iff a misclassified point within ε is found; also the
    /// scale of random restarts.
    pub eps: f32,
    /// Iterations per run (100).
    pub steps: usize,
    /// Runs (per target class for FAB-T): the first from `x`, the others from random
    /// starts (1).
    pub restarts: usize,
    /// FAB-T (targeted, AutoAttack standard) or untargeted FAB.
    pub targeted: bool,
    /// Number of target classes of FAB-T (9; capped at `K − 1`).
    pub targets: usize,
    /// Largest weight α_max of the original point in the step (0.1).
    pub alpha_max: f32,
    /// Overshoot η of the projections (1.05).
    pub eta: f32,
    /// Backward step β towards the original point after a success (0.9).
    pub beta: f32,
    /// Seed of the random restarts.
    pub seed: u64,
}

impl FabConfig {
    /// FAB-T with the reference defaults (AutoAttack standard): 100 iterations, 1 run per
    /// target, 9 targets, α_max 0.1, η 1.05, β 0.9, seed 0.
    pub fn new(norm: Norm, eps: f32) -> Self {
        Self {
            norm,
            eps,
            steps: 100,
            restarts: 1,
            targeted: true,
            targets: 9,
            alpha_max: 0.1,
            eta: 1.05,
            beta: 0.9,
            seed: 0,
        }
    }

    /// Untargeted FAB with the reference defaults (1 run; AutoAttack `plus` uses 5).
    pub fn untargeted(norm: Norm, eps: f32) -> Self {
        Self {
            targeted: false,
            ..Self::new(norm, eps)
        }
    }

    /// `fab-t` or `fab`.
    pub fn name(&self) -> &'static str {
        if self.targeted { "fab-t" } else { "fab" }
    }

    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        check_eps("eps", self.eps)?;
        if self.steps == 0 {
            return Err(invalid("steps", "must be ≥ 1"));
        }
        if self.restarts == 0 {
            return Err(invalid("restarts", "must be ≥ 1"));
        }
        if self.targeted && self.targets == 0 {
            return Err(invalid("targets", "must be ≥ 1"));
        }
        if !(self.alpha_max.is_finite() && (0.0..=1.0).contains(&self.alpha_max)) {
            return Err(invalid(
                "alpha_max",
                format!("must be in [0, 1], got {}", self.alpha_max),
            ));
        }
        if !(self.eta.is_finite() && self.eta > 0.0) {
            return Err(invalid(
                "eta",
                format!("must be finite and > 0, got {}", self.eta),
            ));
        }
        if !(self.beta.is_finite() && self.beta > 0.0 && self.beta <= 1.0) {
            return Err(invalid(
                "beta",
                format!("must be in (0, 1], got {}", self.beta),
            ));
        }
        Ok(())
    }
}

/// ℓp norm of a host vector (`p` = ∞ or 2).
fn host_norm(v: impl Iterator<Item = f64>, norm: Norm) -> f64 {
    match norm {
        Norm::Linf => v.fold(0.0, |m, a| m.max(a.abs())),
        Norm::L2 => v.map(|a| a * a).sum::<f64>().sqrt(),
    }
}

/// The minimal-`norm` step `d` from `t ∈ [0,1]^d` onto the hyperplane `w·x = b` within the
/// box `[0, 1]^d` (auto-attack `projection_linf` / `projection_l2`). When the hyperplane
/// does not meet the box, the step to the box corner nearest to it. Coordinates with
/// `w_i = 0` (ℓ∞) or `|w_i| < 1e−8` (ℓ2) do not move, as the reference.
pub fn project_hyperplane_box(t: &[f32], w: &[f64], b: f64, norm: Norm) -> Vec<f64> {
    let c: f64 = w.iter().zip(t).map(|(w, t)| w * *t as f64).sum::<f64>() - b;
    let need = c.abs();
    let moves = Moves::against(t, w, c, norm);
    let total: f64 = moves.live.iter().map(|&i| w[i].abs() * moves.room[i]).sum();
    if total <= need {
        return moves.to_faces();
    }
    match norm {
        Norm::Linf => moves.linf_step(w, need),
        Norm::L2 => moves.l2_step(w, need),
    }
}

/// How each coordinate may move against `c = w·t − b`: coordinate `i` moves in direction
/// `dir_i = −sign(c·w_i)` by at most `room_i` (to the box's face), decreasing `|w·x − b|` by
/// `|w_i|` per unit of movement; `live` lists the coordinates that move at all.
struct Moves {
    dir: Vec<f64>,
    room: Vec<f64>,
    live: Vec<usize>,
}

impl Moves {
    /// The directions and room of every coordinate of `t` whose weight is not negligible.
    fn against(t: &[f32], w: &[f64], c: f64, norm: Norm) -> Self {
        let sgn = if c >= 0.0 { 1.0 } else { -1.0 };
        let tiny = match norm {
            Norm::Linf => 0.0,
            Norm::L2 => 1e-8,
        };
        let n = t.len();
        let mut dir = vec![0.0f64; n];
        let mut room = vec![0.0f64; n];
        let mut live = Vec::with_capacity(n);
        for i in 0..n {
            if w[i].abs() <= tiny || w[i] == 0.0 {
                continue;
            }
            dir[i] = -(sgn * w[i]).signum();
            let ti = t[i] as f64;
            room[i] = if dir[i] > 0.0 { 1.0 - ti } else { ti }.max(0.0);
            live.push(i);
        }
        Self { dir, room, live }
    }

    /// The step of every live coordinate all the way to its face (the hyperplane is not
    /// reached within the box: the nearest corner).
    fn to_faces(&self) -> Vec<f64> {
        let mut d = vec![0.0f64; self.dir.len()];
        for &i in &self.live {
            d[i] = self.dir[i] * self.room[i];
        }
        d
    }

    /// The live coordinates with their keys, in increasing key order (`total_cmp`), ties in
    /// increasing index: the order of a stable sort of `live` by key, found by sorting the
    /// (key, index) pairs themselves, so the comparisons read no other memory.
    fn sorted_by(&self, key: impl Fn(usize) -> f64) -> Vec<(f64, usize)> {
        let mut order: Vec<(f64, usize)> = self.live.iter().map(|&i| (key(i), i)).collect();
        order.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        order
    }

    /// ℓ∞: `d_i = dir_i·min(λ, room_i)` with the smallest λ such that
    /// `g(λ) = Σ|w_i|·min(λ, room_i) = need` (breakpoints sorted by room).
    fn linf_step(self, w: &[f64], need: f64) -> Vec<f64> {
        let room = &self.room;
        let order = self.sorted_by(|i| room[i]);
        let mut slope: f64 = order.iter().map(|&(_, i)| w[i].abs()).sum();
        let mut acc = 0.0;
        let mut lambda = 0.0;
        for &(room_i, i) in &order {
            let cand = (need - acc) / slope;
            if cand <= room_i {
                lambda = cand;
                break;
            }
            acc += w[i].abs() * room_i;
            slope -= w[i].abs();
            lambda = room_i;
        }
        let mut d = vec![0.0f64; self.dir.len()];
        for &i in &self.live {
            d[i] = self.dir[i] * lambda.min(room[i]);
        }
        d
    }

    /// ℓ2: `d_i = dir_i·min(α|w_i|, room_i)` with α such that
    /// `h(α) = Σ min(α w_i², |w_i| room_i) = need` (breakpoints `room_i/|w_i|` sorted).
    fn l2_step(self, w: &[f64], need: f64) -> Vec<f64> {
        let room = &self.room;
        let order = self.sorted_by(|i| room[i] / w[i].abs());
        let mut slope: f64 = order.iter().map(|&(_, i)| w[i] * w[i]).sum();
        let mut acc = 0.0;
        let mut alpha = 0.0;
        for &(brk, i) in &order {
            let cand = (need - acc) / slope;
            if cand <= brk {
                alpha = cand;
                break;
            }
            acc += w[i].abs() * room[i];
            slope -= w[i] * w[i];
            alpha = brk;
        }
        let mut d = vec![0.0f64; self.dir.len()];
        for &i in &self.live {
            d[i] = self.dir[i] * (alpha * w[i].abs()).min(room[i]);
        }
        d
    }
}

/// One FAB run (auto-attack `attack_single_run`) on the samples `x0` (host, `[b·d]`) with
/// labels `y`; `target`: FAB-T's class per sample, `None` for untargeted. Returns the
/// closest misclassified point found per sample and its distance (`∞` when none).
#[allow(clippy::too_many_arguments)]
fn fab_run<C: Classifier + ?Sized>(
    model: &C,
    x0: &[f32],
    dims: [usize; 4],
    y: &Tensor<1, Int>,
    y_host: &[i64],
    target: Option<&Tensor<1, Int>>,
    start: Option<Vec<f32>>,
    cfg: &FabConfig,
    device: &Device,
) -> Result<(Vec<f32>, Vec<f64>)> {
    let b = dims[0];
    let d = dims[1] * dims[2] * dims[3];
    let upload = |v: &[f32]| Tensor::<4>::from_data(TensorData::new(v.to_vec(), dims), device);
    let mut x1: Vec<f32> = start.unwrap_or_else(|| x0.to_vec());
    let mut adv = x0.to_vec();
    let mut res = vec![f64::INFINITY; b];
    for _ in 0..cfg.steps {
        let xt = upload(&x1);
        // df (per sample) and its input gradient dg for the class k of each sample.
        let (df, dg) = match target {
            Some(t) => linearise_towards(model, xt, y, t)?,
            None => linearise_nearest(model, xt, y, y_host, d, cfg.norm)?,
        };
        // Each sample's step is its own: in parallel on rayon's pool, the same bits.
        x1.par_chunks_mut(d)
            .zip(x0.par_chunks(d).zip(dg.par_chunks(d)))
            .zip(df.par_iter())
            .for_each(|((x1, (x0, g)), &df)| step_to_boundary(x1, x0, g, df, cfg));
        let pred = read_i64(
            forward(model, upload(&x1)).argmax(1).reshape([b]),
            "FAB predictions",
        )?;
        for i in 0..b {
            if pred[i] == y_host[i] {
                continue;
            }
            let (lo, hi) = (i * d, (i + 1) * d);
            record_and_step_back(
                &mut x1[lo..hi],
                &x0[lo..hi],
                &mut adv[lo..hi],
                &mut res[i],
                cfg,
            );
        }
    }
    Ok((adv, res))
}

/// FAB-T's linearisation at `xt`: `df = f_t − f_y` per sample towards its target `t`, and
/// its input gradient.
fn linearise_towards<C: Classifier + ?Sized>(
    model: &C,
    xt: Tensor<4>,
    y: &Tensor<1, Int>,
    t: &Tensor<1, Int>,
) -> Result<(Vec<f64>, Vec<f32>)> {
    let p = probe_with(model, xt, y.clone(), true, |z, y| {
        let [n, _] = z.dims();
        (z.clone().gather(1, t.clone().reshape([n, 1])) - z.gather(1, y.reshape([n, 1])))
            .reshape([n])
    });
    let df = read_f32(p.loss, "FAB logit differences")?;
    Ok((
        df.into_iter().map(f64::from).collect(),
        read_f32(p.grad, "FAB gradients")?,
    ))
}

/// Untargeted FAB's linearisation at `xt` (`d` values per sample): per sample the class
/// `k ≠ y` of smallest linearised distance `|df_k|/‖∇df_k‖_dual`, its `df_k = f_k − f_y`
/// and gradient (one backward pass per class).
fn linearise_nearest<C: Classifier + ?Sized>(
    model: &C,
    xt: Tensor<4>,
    y: &Tensor<1, Int>,
    y_host: &[i64],
    d: usize,
    norm: Norm,
) -> Result<(Vec<f64>, Vec<f32>)> {
    let b = y_host.len();
    let k = forward(model, xt.clone()).dims()[1];
    // Per sample: (distance, df, class) of the nearest boundary so far.
    let mut best = vec![(f64::INFINITY, 0.0f64, 0usize); b];
    let mut grads = Vec::with_capacity(k);
    for class in 0..k {
        let p = probe_with(model, xt.clone(), y.clone(), true, |z, y| {
            let [n, _] = z.dims();
            (z.clone().slice([0..n, class..class + 1]) - z.gather(1, y.reshape([n, 1])))
                .reshape([n])
        });
        let df = read_f32(p.loss, "FAB logit differences")?;
        let g = read_f32(p.grad, "FAB gradients")?;
        for i in 0..b {
            if y_host[i] as usize == class {
                continue;
            }
            let dist = linearised_distance(df[i], &g[i * d..(i + 1) * d], norm);
            if dist < best[i].0 {
                best[i] = (dist, df[i] as f64, class);
            }
        }
        grads.push(g);
    }
    let mut dg = vec![0f32; b * d];
    for i in 0..b {
        let c = best[i].2;
        dg[i * d..(i + 1) * d].copy_from_slice(&grads[c][i * d..(i + 1) * d]);
    }
    Ok((best.iter().map(|b| b.1).collect(), dg))
}

/// The linearised distance `|df|/(1e−12 + ‖g‖_dual)` to the boundary of one class.
fn linearised_distance(df: f32, g: &[f32], norm: Norm) -> f64 {
    let gi = g.iter().map(|v| *v as f64);
    let dual = match norm {
        Norm::Linf => gi.map(f64::abs).sum::<f64>(),
        Norm::L2 => gi.map(|v| v * v).sum::<f64>().sqrt(),
    };
    (df as f64).abs() / (1e-12 + dual)
}

/// One sample's FAB step: projects the iterate `x1` and the original `x0` onto the
/// linearised boundary `df + g·(x − x1) = 0` within the box, and moves `x1` to the convex
/// combination of the two overshot projections (weight α of `x0`), clipped.
fn step_to_boundary(x1: &mut [f32], x0: &[f32], g: &[f32], df: f64, cfg: &FabConfig) {
    let (eta, alpha_max) = (cfg.eta as f64, cfg.alpha_max as f64);
    let w: Vec<f64> = g.iter().map(|v| *v as f64).collect();
    let xi = x1.to_vec();
    let bias = -df + w.iter().zip(&xi).map(|(w, x)| w * *x as f64).sum::<f64>();
    let d1 = project_hyperplane_box(&xi, &w, bias, cfg.norm);
    let d2 = project_hyperplane_box(x0, &w, bias, cfg.norm);
    let a1 = host_norm(d1.iter().copied(), cfg.norm).max(1e-8);
    let a2 = host_norm(d2.iter().copied(), cfg.norm).max(1e-8);
    let alpha = (a1 / (a1 + a2)).clamp(0.0, alpha_max);
    for j in 0..x1.len() {
        let a = (xi[j] as f64 + eta * d1[j]) * (1.0 - alpha);
        let o = (x0[j] as f64 + eta * d2[j]) * alpha;
        x1[j] = (a + o).clamp(0.0, 1.0) as f32;
    }
}

/// One sample's misclassified iterate `x1`: kept in `adv` (distance in `res`) when closer to
/// `x0` than the best so far; then `x1` steps back towards `x0` by the factor β.
fn record_and_step_back(
    x1: &mut [f32],
    x0: &[f32],
    adv: &mut [f32],
    res: &mut f64,
    cfg: &FabConfig,
) {
    let t = host_norm(x1.iter().zip(x0).map(|(a, o)| (*a - *o) as f64), cfg.norm);
    if t < *res {
        adv.copy_from_slice(x1);
        *res = t;
    }
    let beta = cfg.beta as f64;
    for (x1, x0) in x1.iter_mut().zip(x0) {
        *x1 = (*x0 as f64 + (*x1 - *x0) as f64 * beta) as f32;
    }
}

/// The still-robust samples one FAB run attacks: their indices into the batch, inputs and
/// labels on the device and the host, and their shape.
struct Pending {
    sel: Vec<usize>,
    xs: Tensor<4>,
    ys: Tensor<1, Int>,
    x0: Vec<f32>,
    ys_host: Vec<i64>,
    dims: [usize; 4],
}

impl Pending {
    /// The samples marked `active` and not `fooled` yet; `None` when there are none.
    fn select(
        x: &Tensor<4>,
        y: &Tensor<1, Int>,
        x_host: &[f32],
        y_host: &[i64],
        active: &[bool],
        fooled: &[bool],
        device: &Device,
    ) -> Option<Self> {
        let dims = x.dims();
        let d = dims[1] * dims[2] * dims[3];
        let sel: Vec<usize> = (0..active.len())
            .filter(|&i| active[i] && !fooled[i])
            .collect();
        if sel.is_empty() {
            return None;
        }
        let idx = index_tensor(&sel, device);
        let xs = x.clone().select(0, idx.clone());
        let ys = y.clone().select(0, idx);
        let sub_dims = [sel.len(), dims[1], dims[2], dims[3]];
        let x0: Vec<f32> = sel
            .iter()
            .flat_map(|&i| x_host[i * d..(i + 1) * d].iter().copied())
            .collect();
        let ys_host: Vec<i64> = sel.iter().map(|&i| y_host[i]).collect();
        Some(Self {
            sel,
            xs,
            ys,
            x0,
            ys_host,
            dims: sub_dims,
        })
    }
}

/// FAB-T's target per pending sample in round `t`: the class of the `(t + 2)`-th largest
/// clean logit.
fn target_classes<C: Classifier + ?Sized>(
    model: &C,
    sub: &Pending,
    t: usize,
    device: &Device,
) -> Result<Tensor<1, Int>> {
    let tg = ranked_classes(forward(model, sub.xs.clone()), t + 2)?;
    Ok(Tensor::<1, Int>::from_data(
        TensorData::new(tg, [sub.sel.len()]),
        device,
    ))
}

/// The random start of run `run`: `x₀ + (ε/2)·t/‖t‖` per pending sample, clipped.
fn random_restart(
    sub: &Pending,
    positions: &[usize],
    run: usize,
    cfg: &FabConfig,
    device: &Device,
) -> Result<Vec<f32>> {
    let kind = match cfg.norm {
        Norm::Linf => Start::LinfSphere,
        Norm::L2 => Start::L2Sphere,
    };
    let pos: Vec<usize> = sub.sel.iter().map(|&i| positions[i]).collect();
    let noise = random_start(
        kind,
        0.5 * cfg.eps,
        cfg.seed,
        purpose::FAB,
        run,
        &pos,
        sub.dims,
        device,
    );
    read_f32((sub.xs.clone() + noise).clamp(0.0, 1.0), "FAB random start")
}

/// The reference's final check of a run's point `a` against the clean `x`: within ε (the
/// distance in f32 differences, as it).
fn within_eps(a: &[f32], x: &[f32], cfg: &FabConfig) -> bool {
    let dist = host_norm(a.iter().zip(x).map(|(a, o)| (*a - *o) as f64), cfg.norm);
    dist <= cfg.eps as f64
}

/// FAB / FAB-T over the samples marked `active`; returns the adversarial batch (clean input
/// where not broken) and the host mask of samples broken (a misclassified point within ε).
pub(crate) fn fab_attack<C: Classifier + ?Sized>(
    model: &C,
    x: Tensor<4>,
    y: Tensor<1, Int>,
    positions: &[usize],
    active: &[bool],
    cfg: &FabConfig,
    num_classes: usize,
) -> Result<(Tensor<4>, Vec<bool>)> {
    let n = active.len();
    let device = x.device();
    let dims = x.dims();
    let d = dims[1] * dims[2] * dims[3];
    let mut adv = read_f32(x.clone(), "inputs")?;
    let x_host = adv.clone();
    let y_host = read_i64(y.clone(), "labels")?;
    let mut fooled = vec![false; n];
    let rounds = if cfg.targeted {
        cfg.targets.min(num_classes - 1)
    } else {
        1
    };
    for t in 0..rounds {
        for r in 0..cfg.restarts {
            let Some(sub) = Pending::select(&x, &y, &x_host, &y_host, active, &fooled, &device)
            else {
                break;
            };
            let target = cfg
                .targeted
                .then(|| target_classes(model, &sub, t, &device))
                .transpose()?;
            let run = t * cfg.restarts + r;
            let start = (r > 0)
                .then(|| random_restart(&sub, positions, run, cfg, &device))
                .transpose()?;
            let (a, res) = fab_run(
                model,
                &sub.x0,
                sub.dims,
                &sub.ys,
                &sub.ys_host,
                target.as_ref(),
                start,
                cfg,
                &device,
            )?;
            for (j, &i) in sub.sel.iter().enumerate() {
                let (aj, xi) = (&a[j * d..(j + 1) * d], &x_host[i * d..(i + 1) * d]);
                if res[j].is_finite() && within_eps(aj, xi, cfg) {
                    fooled[i] = true;
                    adv[i * d..(i + 1) * d].copy_from_slice(aj);
                }
            }
            tracing::debug!(
                target = t + 2,
                restart = r,
                attacked = sub.sel.len(),
                fooled = fooled.iter().filter(|f| **f).count(),
                attack = cfg.name(),
                "FAB run"
            );
        }
    }
    Ok((
        Tensor::from_data(TensorData::new(adv, dims), &device),
        fooled,
    ))
}
