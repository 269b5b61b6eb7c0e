//! Square Attack (Andriushchenko, Croce, Flammarion & Hein, ECCV 2020): a score-based
//! random search that needs no gradients, in ℓ∞ and ℓ2. SPEC §3, AutoAttack.
//!
//! Follows auto-attack `square.py` (`SquareAttack.attack_single_run`, `perturb`, `p_selection`,
//! `eta`) with the margin loss `z_y − max_{i≠y} z_i`, which it minimises:
//! * ℓ∞: start at `x + ε·s` with `s` a ±1 vertical stripe per (channel, column); each query
//!   takes a random `h×h` window (`h = round(√(p·d/c))`, `p` from the schedule) of the current
//!   best point and sets it to `x ± ε` per channel (clipped to `[0, 1]`);
//! * ℓ2: start from a 5×5 grid of `±η(s)` blocks scaled to ‖δ‖₂ = ε; each query moves the
//!   perturbation's mass from a second random window into a first one, with a fresh `±η`
//!   pattern (the reference's update, norms per channel as in it);
//! * a candidate replaces the best point when its margin is lower or it is misclassified; a
//!   sample stops being queried once misclassified;
//! * `p` halves at queries 10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000 (`p_selection`;
//!   AutoAttack uses it unscaled, `resc_schedule=False`; `rescale_schedule` maps the query
//!   index to `⌊i/n_queries·10000⌋` first, the reference's default outside AutoAttack).
//!
//! The search runs on the host (the windows are tiny); the model's forward passes run on
//! the device, one batch of the still-robust samples per query.
//!
//! Deviation: the reference draws one window position, one sign per channel and one
//! transposition of η per query *for the whole batch*; here every sample draws its own from
//! its own ChaCha8 stream (crate convention: a sample's result does not depend on the batch
//! it is in). The distribution of each sample's search is the same.

use burn::prelude::*;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Result, invalid};
use crate::model::{Classifier, forward, read_f32, read_i64};
use crate::norm::{Norm, check_eps};
use crate::rng::{purpose, sample_rng};

/// Configuration of the Square attack.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SquareConfig {
    /// Threat model.
    pub norm: Norm,
    /// Radius ε.
    pub eps: f32,
    /// Queries per run (5,000), besides the one at the starting point.
    pub queries: usize,
    /// Initial fraction of pixels changed per query (0.8).
    pub p_init: f32,
    /// Runs (1); a restart attacks only the samples still robust, from a fresh start.
    pub restarts: usize,
    /// Rescale the `p` schedule to `queries` (false in AutoAttack).
    pub rescale_schedule: bool,
    /// Seed of the search.
    pub seed: u64,
}

impl SquareConfig {
    /// AutoAttack's configuration: 5,000 queries, `p_init` 0.8, 1 run, schedule not
    /// rescaled, seed 0.
    pub fn new(norm: Norm, eps: f32) -> Self {
        Self {
            norm,
            eps,
            queries: 5000,
            p_init: 0.8,
            restarts: 1,
            rescale_schedule: false,
            seed: 0,
        }
    }

    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        check_eps("eps", self.eps)?;
        if self.queries == 0 {
            return Err(invalid("queries", "must be ≥ 1"));
        }
        if self.restarts == 0 {
            return Err(invalid("restarts", "must be ≥ 1"));
        }
        if !(self.p_init > 0.0 && self.p_init <= 1.0) {
            return Err(invalid(
                "p_init",
                format!("must be in (0, 1], got {}", self.p_init),
            ));
        }
        Ok(())
    }

    /// The fraction `p` at query `it` (auto-attack `p_selection`).
    pub fn p_at(&self, it: usize) -> f64 {
        let it = if self.rescale_schedule {
            (it as f64 / self.queries as f64 * 10000.0) as usize
        } else {
            it
        };
        let div = match it {
            0..=10 => 1.0,
            11..=50 => 2.0,
            51..=200 => 4.0,
            201..=500 => 8.0,
            501..=1000 => 16.0,
            1001..=2000 => 32.0,
            2001..=4000 => 64.0,
            4001..=6000 => 128.0,
            6001..=8000 => 256.0,
            _ => 512.0,
        };
        self.p_init as f64 / div
    }
}

/// ±1 with equal probability.
fn sign(rng: &mut ChaCha8Rng) -> f64 {
    if rng.random::<bool>() { 1.0 } else { -1.0 }
}

/// `⌊U·n⌋` for `U` uniform in `[0, 1)`: 0 when `n = 0` (the reference's `random_int(0, n)`).
fn below(rng: &mut ChaCha8Rng, n: usize) -> usize {
    if n == 0 {
        0
    } else {
        ((rng.random::<f64>() * n as f64) as usize).min(n - 1)
    }
}

/// Python's `round` (ties to even) of a non-negative number.
fn py_round(v: f64) -> usize {
    v.round_ties_even() as usize
}

/// auto-attack `eta_rectangles(x, y)`: concentric rectangles weighted `1/(k+1)²`, unit
/// Frobenius norm, `[x][y]` row-major.
fn eta_rectangles(x: usize, y: usize) -> Vec<f64> {
    let mut delta = vec![0.0f64; x * y];
    let (xc, yc) = (x / 2 + 1, y / 2 + 1);
    let (mut c0, mut c1) = (xc as i64 - 1, yc as i64 - 1);
    for k in 0..xc.max(yc) {
        let w = 1.0 / ((k + 1) as f64).powi(2);
        let r0 = c0.max(0) as usize;
        let r1 = ((c0 + 2 * k as i64 + 1).min(x as i64)).max(0) as usize;
        let q0 = c1.max(0) as usize;
        let q1 = ((c1 + 2 * k as i64 + 1).min(y as i64)).max(0) as usize;
        for r in r0..r1 {
            for q in q0..q1 {
                delta[r * y + q] += w;
            }
        }
        c0 -= 1;
        c1 -= 1;
    }
    let n = delta.iter().map(|v| v * v).sum::<f64>().sqrt();
    if n > 0.0 {
        delta.iter_mut().for_each(|v| *v /= n);
    }
    delta
}

/// auto-attack `eta(s)` before its random transposition: `s×s`, top half positive rectangles,
/// bottom half negative, unit Frobenius norm.
fn eta(s: usize) -> Vec<f64> {
    let mut delta = vec![0.0f64; s * s];
    let h = s / 2;
    let top = eta_rectangles(h, s);
    let bottom = eta_rectangles(s - h, s);
    delta[..h * s].copy_from_slice(&top);
    for (d, v) in delta[h * s..].iter_mut().zip(&bottom) {
        *d = -v;
    }
    let n = delta.iter().map(|v| v * v).sum::<f64>().sqrt();
    if n > 0.0 {
        delta.iter_mut().for_each(|v| *v /= n);
    }
    delta
}

/// `eta(s)` value at `(r, q)`, transposed when `tr`.
fn eta_at(e: &[f64], s: usize, r: usize, q: usize, tr: bool) -> f64 {
    if tr { e[q * s + r] } else { e[r * s + q] }
}

/// Margin `z_y − max_{i≠y} z_i` per row of host logits.
fn margins(z: &[f32], k: usize, y: &[i64]) -> Vec<f64> {
    y.iter()
        .enumerate()
        .map(|(i, &yi)| {
            let row = &z[i * k..(i + 1) * k];
            let other = row
                .iter()
                .enumerate()
                .filter(|(j, _)| *j as i64 != yi)
                .map(|(_, v)| *v)
                .fold(f32::NEG_INFINITY, f32::max);
            (row[yi as usize] - other) as f64
        })
        .collect()
}

/// Scales `delta` to ℓ2 norm ε (the reference's `normalize(δ)·ε`), adds it to `x`, clips.
fn l2_point(x: &[f32], delta: &[f64], eps: f64, out: &mut [f32]) {
    let n = delta.iter().map(|v| v * v).sum::<f64>().sqrt();
    let s = eps / (n + 1e-12);
    for ((o, x), d) in out.iter_mut().zip(x).zip(delta) {
        *o = (*x as f64 + d * s).clamp(0.0, 1.0) as f32;
    }
}

/// One Square run on the samples `x` (host, `[b·d]`, shape `dims`), labels `y`; `positions`
/// key the random streams. Returns the best points and whether each is misclassified.
#[allow(clippy::too_many_arguments)]
fn square_run<C: Classifier + ?Sized>(
    model: &C,
    x: &[f32],
    dims: [usize; 4],
    y: &[i64],
    positions: &[usize],
    restart: usize,
    cfg: &SquareConfig,
    device: &Device,
) -> Result<(Vec<f32>, Vec<bool>)> {
    let [b, c, h, w] = dims;
    let (chw, d) = ([c, h, w], c * h * w);
    let mut rngs: Vec<ChaCha8Rng> = positions
        .iter()
        .map(|&p| sample_rng(cfg.seed, purpose::SQUARE, restart, p))
        .collect();
    let mut best = starting_points(x, dims, cfg, &mut rngs);
    let mut margin = query_margins(model, &best, chw, y, device)?;
    let mut cand = Vec::with_capacity(b * d);
    let mut scratch = L2Scratch {
        delta: vec![0f64; d],
        eta_cache: vec![None; h.max(w) + 2],
    };
    for it in 0..cfg.queries {
        let live: Vec<usize> = (0..b).filter(|&i| margin[i] > 0.0).collect();
        if live.is_empty() {
            break;
        }
        let p = cfg.p_at(it);
        cand.clear();
        for &i in &live {
            let xi = &x[i * d..(i + 1) * d];
            let bi = &best[i * d..(i + 1) * d];
            propose(xi, bi, chw, cfg, p, &mut rngs[i], &mut scratch, &mut cand);
        }
        let ys: Vec<i64> = live.iter().map(|&i| y[i]).collect();
        let m = query_margins(model, &cand, chw, &ys, device)?;
        keep_improvements(&live, &m, &cand, d, &mut margin, &mut best);
    }
    let fooled = misclassified(model, &best, dims, y, device)?;
    Ok((best, fooled))
}

/// The starting points of a run (host, `[b·d]`), drawn from each sample's stream in `rngs`.
fn starting_points(
    x: &[f32],
    dims: [usize; 4],
    cfg: &SquareConfig,
    rngs: &mut [ChaCha8Rng],
) -> Vec<f32> {
    let [b, c, h, w] = dims;
    let mut best = vec![0f32; b * c * h * w];
    let eps = cfg.eps as f64;
    match cfg.norm {
        Norm::Linf => linf_start(x, dims, eps, rngs, &mut best),
        Norm::L2 => l2_start(x, dims, eps, rngs, &mut best),
    }
    best
}

/// ℓ∞ start: `x + ε·s` with `s` a ±1 vertical stripe per (channel, column), clipped.
#[allow(clippy::needless_range_loop)]
fn linf_start(x: &[f32], dims: [usize; 4], eps: f64, rngs: &mut [ChaCha8Rng], best: &mut [f32]) {
    let [b, c, h, w] = dims;
    let d = c * h * w;
    for i in 0..b {
        let signs: Vec<f64> = (0..c * w).map(|_| sign(&mut rngs[i])).collect();
        for ch in 0..c {
            for r in 0..h {
                for q in 0..w {
                    let j = i * d + (ch * h + r) * w + q;
                    best[j] = (x[j] as f64 + eps * signs[ch * w + q]).clamp(0.0, 1.0) as f32;
                }
            }
        }
    }
}

/// ℓ2 start: a grid of `±η(s)` blocks (`s = max(⌊h/5⌋, 1)`) scaled to ‖δ‖₂ = ε, clipped.
fn l2_start(x: &[f32], dims: [usize; 4], eps: f64, rngs: &mut [ChaCha8Rng], best: &mut [f32]) {
    let [b, c, h, w] = dims;
    let d = c * h * w;
    let s = (h / 5).max(1);
    let sp = (h.saturating_sub(s * 5)) / 2;
    let e = eta(s);
    let mut delta = vec![0f64; d];
    for i in 0..b {
        delta.iter_mut().for_each(|v| *v = 0.0);
        add_start_grid(&mut delta, [c, h, w], s, sp, &e, &mut rngs[i]);
        l2_point(
            &x[i * d..(i + 1) * d],
            &delta,
            eps,
            &mut best[i * d..(i + 1) * d],
        );
    }
}

/// Adds to `delta` the ℓ2 start's grid of `s×s` blocks from offset `sp`: per block one random
/// transposition of `e = η(s)`, per block and channel one random sign.
fn add_start_grid(
    delta: &mut [f64],
    chw: [usize; 3],
    s: usize,
    sp: usize,
    e: &[f64],
    rng: &mut ChaCha8Rng,
) {
    let [c, h, w] = chw;
    let mut vh = sp;
    for _ in 0..h / s {
        let mut vw = sp;
        for _ in 0..w / s {
            let tr = rng.random::<f64>() > 0.5;
            for ch in 0..c {
                let sg = sign(rng);
                for r in 0..s.min(h.saturating_sub(vh)) {
                    for q in 0..s.min(w.saturating_sub(vw)) {
                        delta[(ch * h + vh + r) * w + vw + q] += sg * eta_at(e, s, r, q, tr);
                    }
                }
            }
            vw += s;
        }
        vh += s;
    }
}

/// The margins of the points `pts` (host, one per label of `ys`, each `chw`) under the model.
fn query_margins<C: Classifier + ?Sized>(
    model: &C,
    pts: &[f32],
    chw: [usize; 3],
    ys: &[i64],
    device: &Device,
) -> Result<Vec<f64>> {
    let [c, h, w] = chw;
    let m = ys.len();
    let t = Tensor::<4>::from_data(TensorData::new(pts.to_vec(), [m, c, h, w]), device);
    let z = forward(model, t);
    let k = z.dims()[1];
    Ok(margins(&read_f32(z, "Square logits")?, k, ys))
}

/// The ℓ2 queries' reusable buffers: the perturbation of the sample being changed, and
/// `eta(s)` per window side `s`, computed once.
struct L2Scratch {
    delta: Vec<f64>,
    eta_cache: Vec<Option<Vec<f64>>>,
}

/// Appends to `cand` the candidate of one live sample (clean `xi`, best point `bi`) at
/// fraction `p`: a copy of `bi` with one random window changed.
#[allow(clippy::too_many_arguments)]
fn propose(
    xi: &[f32],
    bi: &[f32],
    chw: [usize; 3],
    cfg: &SquareConfig,
    p: f64,
    rng: &mut ChaCha8Rng,
    scratch: &mut L2Scratch,
    cand: &mut Vec<f32>,
) {
    let eps = cfg.eps as f64;
    let d = bi.len();
    let start = cand.len();
    cand.extend_from_slice(bi);
    let out = &mut cand[start..start + d];
    match cfg.norm {
        Norm::Linf => linf_candidate(xi, bi, chw, eps, p, rng, out),
        Norm::L2 => l2_candidate(xi, bi, chw, eps, p, rng, scratch, out),
    }
}

/// The ℓ∞ query: a random `s×s` window of `bi` set to `x ± ε` per channel (clipped to the
/// ε-ball and `[0, 1]`), written into `out` (a copy of `bi`).
fn linf_candidate(
    xi: &[f32],
    bi: &[f32],
    chw: [usize; 3],
    eps: f64,
    p: f64,
    rng: &mut ChaCha8Rng,
    out: &mut [f32],
) {
    let [c, h, w] = chw;
    let d = c * h * w;
    let s = py_round((p * d as f64 / c as f64).sqrt()).clamp(1, h.min(w));
    let vh = below(rng, h - s);
    let vw = below(rng, w - s);
    for ch in 0..c {
        let sg = 2.0 * eps * sign(rng);
        for r in vh..vh + s {
            for q in vw..vw + s {
                let j = (ch * h + r) * w + q;
                let xv = xi[j] as f64;
                let v = (bi[j] as f64 + sg).clamp(xv - eps, xv + eps);
                out[j] = v.clamp(0.0, 1.0) as f32;
            }
        }
    }
}

/// The ℓ2 query: the perturbation's mass in a second random window moves into a first one,
/// with a fresh `±η` pattern there; the result, scaled to ‖δ‖₂ = ε, is written into `out`.
#[allow(clippy::too_many_arguments)]
fn l2_candidate(
    xi: &[f32],
    bi: &[f32],
    chw: [usize; 3],
    eps: f64,
    p: f64,
    rng: &mut ChaCha8Rng,
    scratch: &mut L2Scratch,
    out: &mut [f32],
) {
    let [c, h, w] = chw;
    let d = c * h * w;
    let s = l2_side(p, d, c, h.min(w));
    let delta = &mut scratch.delta;
    for (dv, (b, x)) in delta.iter_mut().zip(bi.iter().zip(xi)) {
        *dv = (*b - *x) as f64;
    }
    let win = Windows::draw(rng, h, w, s);
    let scale = first_window_norm(delta, c, &win, eps);
    let pattern = Pattern {
        e: scratch.eta_cache[s].get_or_insert_with(|| eta(s)).clone(),
        tr: rng.random::<f64>() > 0.5,
        scale,
    };
    let mut fresh = vec![0f64; s * s];
    for ch in 0..c {
        let sg = sign(rng);
        move_channel(delta, &win, &pattern, ch, sg, &mut fresh);
    }
    l2_point(xi, delta, eps, out);
}

/// The ℓ2 window side at fraction `p`: `round(√(p·d/c))`, at least 3, odd, at most `max`.
fn l2_side(p: f64, d: usize, c: usize, max: usize) -> usize {
    let mut s = py_round((p * d as f64 / c as f64).sqrt()).max(3);
    if s.is_multiple_of(2) {
        s += 1;
    }
    s.min(max)
}

/// One ℓ2 query's two `s×s` windows in an `h×w` image: mass moves from the second
/// (`vh2`, `vw2`) into the first (`vh`, `vw`).
struct Windows {
    h: usize,
    w: usize,
    s: usize,
    vh: usize,
    vw: usize,
    vh2: usize,
    vw2: usize,
}

impl Windows {
    /// Draws the windows' corners: the first's row and column, then the second's.
    fn draw(rng: &mut ChaCha8Rng, h: usize, w: usize, s: usize) -> Self {
        let vh = below(rng, h - s);
        let vw = below(rng, w - s);
        let vh2 = below(rng, h - s);
        let vw2 = below(rng, w - s);
        Self {
            h,
            w,
            s,
            vh,
            vw,
            vh2,
            vw2,
        }
    }

    /// Whether pixel `(r, q)` lies in the first window.
    fn in_first(&self, r: usize, q: usize) -> bool {
        r >= self.vh && r < self.vh + self.s && q >= self.vw && q < self.vw + self.s
    }

    /// Whether pixel `(r, q)` lies in the second window.
    fn in_second(&self, r: usize, q: usize) -> bool {
        r >= self.vh2 && r < self.vh2 + self.s && q >= self.vw2 && q < self.vw2 + self.s
    }

    /// Index in `delta` of element `k` (row-major) of the first window in channel `ch`.
    fn first_at(&self, ch: usize, k: usize) -> usize {
        let s = self.s;
        (ch * self.h + self.vh + k / s) * self.w + self.vw + k % s
    }
}

/// The fresh pattern of one ℓ2 query: `e = η(s)`, transposed when `tr`, and the norm `scale`
/// the first window gets per channel.
struct Pattern {
    e: Vec<f64>,
    tr: bool,
    scale: f64,
}

/// The norm the first window gets per channel: `√((ε² − ‖δ‖²)⁺/c + ‖δ‖² over both windows)`,
/// the mass of both windows plus an equal share of the unused budget (the reference's).
fn first_window_norm(delta: &[f64], c: usize, win: &Windows, eps: f64) -> f64 {
    let (h, w) = (win.h, win.w);
    let norm_image = delta.iter().map(|v| v * v).sum::<f64>().sqrt();
    let mut windows = 0.0;
    for ch in 0..c {
        for r in 0..h {
            for q in 0..w {
                if win.in_first(r, q) || win.in_second(r, q) {
                    windows += delta[(ch * h + r) * w + q].powi(2);
                }
            }
        }
    }
    ((eps * eps - norm_image * norm_image).max(0.0) / c as f64 + windows).sqrt()
}

/// Channel `ch` of an ℓ2 query: the first window becomes its normalised content plus
/// `sg·η`, renormalised to `pattern.scale`; the second window is emptied before the first is
/// written (where they overlap, the new content stays). `fresh`: scratch of `s²`.
fn move_channel(
    delta: &mut [f64],
    win: &Windows,
    pattern: &Pattern,
    ch: usize,
    sg: f64,
    fresh: &mut [f64],
) {
    let (h, w, s) = (win.h, win.w, win.s);
    let w1: f64 = (0..s * s)
        .map(|k| delta[win.first_at(ch, k)].powi(2))
        .sum::<f64>()
        .sqrt();
    for (k, f) in fresh.iter_mut().enumerate() {
        let old = delta[win.first_at(ch, k)] / (1e-12 + w1);
        *f = eta_at(&pattern.e, s, k / s, k % s, pattern.tr) * sg + old;
    }
    let nf = fresh.iter().map(|v| v * v).sum::<f64>().sqrt();
    for r in win.vh2..win.vh2 + s {
        for q in win.vw2..win.vw2 + s {
            delta[(ch * h + r) * w + q] = 0.0;
        }
    }
    for (k, f) in fresh.iter().enumerate() {
        delta[win.first_at(ch, k)] = f / (1e-12 + nf) * pattern.scale;
    }
}

/// Keeps the candidate of each live sample (candidate `j` of `cand`, margin `m[j]`) whose
/// margin is lower than its best's or that is misclassified.
fn keep_improvements(
    live: &[usize],
    m: &[f64],
    cand: &[f32],
    d: usize,
    margin: &mut [f64],
    best: &mut [f32],
) {
    for (j, &i) in live.iter().enumerate() {
        if m[j] < margin[i] || m[j] <= 0.0 {
            margin[i] = m[j];
            best[i * d..(i + 1) * d].copy_from_slice(&cand[j * d..(j + 1) * d]);
        }
    }
}

/// Success as the reference's `perturb`: the best point's prediction differs from `y`.
fn misclassified<C: Classifier + ?Sized>(
    model: &C,
    best: &[f32],
    dims: [usize; 4],
    y: &[i64],
    device: &Device,
) -> Result<Vec<bool>> {
    let t = Tensor::<4>::from_data(TensorData::new(best.to_vec(), dims), device);
    let pred = read_i64(
        forward(model, t).argmax(1).reshape([dims[0]]),
        "Square predictions",
    )?;
    Ok(pred.iter().zip(y).map(|(p, y)| p != y).collect())
}

/// Square over the samples marked `active`; returns the adversarial batch (clean input where
/// not broken) and the host mask of samples broken.
pub(crate) fn square_attack<C: Classifier + ?Sized>(
    model: &C,
    x: Tensor<4>,
    y: Tensor<1, Int>,
    positions: &[usize],
    active: &[bool],
    cfg: &SquareConfig,
) -> Result<(Tensor<4>, Vec<bool>)> {
    let n = active.len();
    let device = x.device();
    let dims = x.dims();
    let d = dims[1] * dims[2] * dims[3];
    let x_host = read_f32(x, "inputs")?;
    let y_host = read_i64(y, "labels")?;
    let mut adv = x_host.clone();
    let mut fooled = vec![false; n];
    for r in 0..cfg.restarts {
        let sel: Vec<usize> = (0..n).filter(|&i| active[i] && !fooled[i]).collect();
        if sel.is_empty() {
            break;
        }
        let xs: Vec<f32> = sel
            .iter()
            .flat_map(|&i| x_host[i * d..(i + 1) * d].iter().copied())
            .collect();
        let ys: Vec<i64> = sel.iter().map(|&i| y_host[i]).collect();
        let pos: Vec<usize> = sel.iter().map(|&i| positions[i]).collect();
        let sub = [sel.len(), dims[1], dims[2], dims[3]];
        let (best, f) = square_run(model, &xs, sub, &ys, &pos, r, cfg, &device)?;
        for (j, &i) in sel.iter().enumerate() {
            if f[j] {
                fooled[i] = true;
                adv[i * d..(i + 1) * d].copy_from_slice(&best[j * d..(j + 1) * d]);
            }
        }
        tracing::debug!(
            restart = r,
            attacked = sel.len(),
            fooled = fooled.iter().filter(|f| **f).count(),
            "Square run"
        );
    }
    Ok((
        Tensor::from_data(TensorData::new(adv, dims), &device),
        fooled,
    ))
}
