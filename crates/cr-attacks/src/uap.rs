//! Universal adversarial perturbations: one `v` with `‖v‖ ≤ ξ` that fools the model on most
//! inputs (Moosavi-Dezfooli et al., CVPR 2017). SPEC §3, "Universal adversarial perturbation".
//!
//! * [`universal_perturbation`]: the original algorithm with FGSM as the inner attacker, as
//!   ART 1.18's `UniversalPerturbation(attacker="fgsm")`
//!   (`art/attacks/evasion/universal_perturbation.py`).
//! * [`universal_perturbation_sgd`]: the minibatch variant that ascends the mean
//!   cross-entropy over minibatches by signed (ℓ∞) / normalised (ℓ2) gradient steps on `v`,
//!   projected onto the ξ-ball (as in Shafahi et al. 2020, "Universal adversarial training").
//!
//! **Fooling rate.** `mean_i [argmax f(clip(x_i + v)) ≠ y_i]` against the *true labels*
//! (SPEC §3): a sample misclassified without `v` counts as fooled. ART uses the labels it is
//! given, or the model's predictions when none are given; the rate against the clean
//! predictions is reported too ([`UapResult::flip_rate`]).

use std::time::Instant;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{AttackError, Result, invalid};
use crate::loss::Loss;
use crate::model::{Classifier, forward, index_tensor, prepare, probe, read_bool};
use crate::norm::{Norm, ascent_direction, check_eps, project};
use crate::rng::{permutation, purpose};

/// Configuration of the FGSM-based universal perturbation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct UapConfig {
    /// Norm of the ball `v` lives in (and of the inner FGSM/FGM step).
    pub norm: Norm,
    /// Radius ξ of `v` (ART's `eps`).
    pub xi: f32,
    /// Step of the inner FGSM/FGM attacker (ART's `attacker_params["eps"]`); by default ξ: a
    /// sample moves `v` only if one FGSM step of this size from `x + v` flips its label, so a
    /// step much smaller than ξ rarely changes anything (ART's own FGSM default, 0.3, is
    /// absolute).
    pub step: f32,
    /// Stop once the fooling rate reaches `1 − δ` (0.2).
    pub delta: f64,
    /// Passes over the data at most (20).
    pub max_iter: usize,
    /// Largest speculative minibatch (see [`universal_perturbation`]); 1 is ART's loop.
    pub batch_size: usize,
    /// Batch size of the fooling-rate evaluations.
    pub eval_batch_size: usize,
    /// Clip `x + v` to `[0, 1]`.
    pub clip: bool,
    /// Seed of the data order.
    pub seed: u64,
}

impl UapConfig {
    /// δ = 0.2, 20 passes, FGSM step ξ, minibatches of 32, clipping on, seed 0.
    pub fn new(norm: Norm, xi: f32) -> Self {
        Self {
            norm,
            xi,
            step: xi,
            delta: 0.2,
            max_iter: 20,
            batch_size: 32,
            eval_batch_size: 256,
            clip: true,
            seed: 0,
        }
    }

    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        check_eps("xi", self.xi)?;
        check_eps("step", self.step)?;
        check_common(
            self.delta,
            self.max_iter,
            self.batch_size,
            self.eval_batch_size,
        )
    }
}

fn check_common(delta: f64, max_iter: usize, batch: usize, eval_batch: usize) -> Result<()> {
    if !(0.0..=1.0).contains(&delta) {
        return Err(invalid("delta", format!("must be in [0, 1], got {delta}")));
    }
    if max_iter == 0 {
        return Err(invalid("max_iter", "must be ≥ 1"));
    }
    if batch == 0 {
        return Err(invalid("batch_size", "must be ≥ 1"));
    }
    if eval_batch == 0 {
        return Err(invalid("eval_batch_size", "must be ≥ 1"));
    }
    Ok(())
}

/// Configuration of the minibatch (SGD) universal perturbation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct UapSgdConfig {
    /// Norm of the ball `v` lives in.
    pub norm: Norm,
    /// Radius ξ.
    pub xi: f32,
    /// Step on `v` per minibatch (ℓ∞: per pixel; ℓ2: Euclidean); by default ξ/10.
    pub step: f32,
    /// Stop once the fooling rate reaches `1 − δ` (0.2).
    pub delta: f64,
    /// Epochs at most (20).
    pub max_iter: usize,
    /// Minibatch size (32).
    pub batch_size: usize,
    /// Batch size of the fooling-rate evaluations.
    pub eval_batch_size: usize,
    /// Clip `x + v` to `[0, 1]`.
    pub clip: bool,
    /// Seed of the data order.
    pub seed: u64,
}

impl UapSgdConfig {
    /// δ = 0.2, 20 epochs, step ξ/10, minibatches of 32, clipping on, seed 0.
    pub fn new(norm: Norm, xi: f32) -> Self {
        Self {
            norm,
            xi,
            step: xi / 10.0,
            delta: 0.2,
            max_iter: 20,
            batch_size: 32,
            eval_batch_size: 256,
            clip: true,
            seed: 0,
        }
    }

    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        check_eps("xi", self.xi)?;
        check_eps("step", self.step)?;
        check_common(
            self.delta,
            self.max_iter,
            self.batch_size,
            self.eval_batch_size,
        )
    }
}

/// A universal perturbation and how well it fools the model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UapResult {
    /// `fgsm` (the ART algorithm) or `sgd` (minibatch ascent).
    pub method: String,
    /// Norm of the ball.
    pub norm: Norm,
    /// Radius ξ.
    pub xi: f32,
    /// Inner FGSM step (`fgsm`) or step on `v` (`sgd`).
    pub step: f32,
    /// Target δ.
    pub delta: f64,
    /// Largest number of passes allowed.
    pub max_iter: usize,
    /// Seed of the data order.
    pub seed: u64,
    /// Whether `x + v` was clipped to `[0, 1]`.
    pub clip: bool,
    /// `v`, row-major, shape [`UapResult::shape`].
    pub perturbation: Vec<f32>,
    /// Shape of `v`: `[1, C, H, W]`.
    pub shape: [usize; 4],
    /// `‖v‖` in [`UapResult::norm`].
    pub perturbation_norm: f32,
    /// `mean [argmax f(clip(x + v)) ≠ y]` (true labels).
    pub fooling_rate: f64,
    /// `mean [argmax f(clip(x + v)) ≠ argmax f(x)]` (clean predictions, ART's rate without
    /// labels).
    pub flip_rate: f64,
    /// Passes over the data done.
    pub iterations: usize,
    /// Whether the fooling rate reached `1 − δ`.
    pub converged: bool,
    /// How many times `v` changed.
    pub updates: usize,
    /// Number of samples.
    pub n: usize,
    /// Wall time in seconds.
    pub seconds: f64,
}

impl UapResult {
    /// `v` as a `[1, C, H, W]` tensor on `device`.
    pub fn perturbation_tensor(&self, device: &Device) -> Tensor<4> {
        Tensor::from_data(
            TensorData::new(self.perturbation.clone(), self.shape),
            device,
        )
    }
}

/// `clip(x + v)` with `v` `[1, C, H, W]` broadcast over the batch.
fn apply(x: Tensor<4>, v: Tensor<4>, clip: bool) -> Tensor<4> {
    let dims = x.dims();
    let out = x + v.expand(dims);
    if clip { out.clamp(0.0, 1.0) } else { out }
}

/// Projection of `v` onto the ξ-ball (no box: `v` itself is not an image).
fn project_v(v: Tensor<4>, norm: Norm, xi: f32) -> Tensor<4> {
    let zero = v.zeros_like();
    project(v, zero, norm, xi, false)
}

/// Fooling rate against labels and against clean predictions, in batches.
fn rates<C: Classifier + ?Sized>(
    model: &C,
    x: &Tensor<4>,
    y: &Tensor<1, Int>,
    v: &Tensor<4>,
    clip: bool,
    batch: usize,
) -> Result<(f64, f64)> {
    let n = x.dims()[0];
    let (mut fooled, mut flipped) = (0usize, 0usize);
    for s in (0..n).step_by(batch) {
        let e = (s + batch).min(n);
        let xb = x.clone().slice([s..e]);
        let yb = y.clone().slice([s..e]);
        let clean = forward(model, xb.clone()).argmax(1).reshape([e - s]);
        let adv = forward(model, apply(xb, v.clone(), clip))
            .argmax(1)
            .reshape([e - s]);
        let f = read_bool(adv.clone().not_equal(yb), "UAP predictions")?;
        let g = read_bool(adv.not_equal(clean), "UAP predictions")?;
        fooled += f.iter().filter(|b| **b).count();
        flipped += g.iter().filter(|b| **b).count();
    }
    Ok((fooled as f64 / n as f64, flipped as f64 / n as f64))
}

/// Fooling rate `mean [argmax f(clip(x + v)) ≠ y]` of a universal perturbation `v`
/// (`[1, C, H, W]`), in batches of `batch_size`.
pub fn fooling_rate<C: Classifier + ?Sized>(
    model: &C,
    x: Tensor<4>,
    y: Tensor<1, Int>,
    v: Tensor<4>,
    clip: bool,
    batch_size: usize,
) -> Result<f64> {
    if batch_size == 0 {
        return Err(invalid("batch_size", "must be ≥ 1"));
    }
    let batch = prepare(model, x, y, clip)?;
    check_v(&v, batch.dims())?;
    Ok(rates(model, &batch.x, &batch.y, &v.inner(), clip, batch_size)?.0)
}

fn check_v(v: &Tensor<4>, dims: [usize; 4]) -> Result<()> {
    let vd = v.dims();
    if vd != [1, dims[1], dims[2], dims[3]] {
        return Err(AttackError::Shape(format!(
            "the perturbation has shape {vd:?}, expected [1, {}, {}, {}]",
            dims[1], dims[2], dims[3]
        )));
    }
    Ok(())
}

#[allow(clippy::too_many_arguments)]
fn finish(
    method: &str,
    norm: Norm,
    xi: f32,
    step: f32,
    delta: f64,
    max_iter: usize,
    seed: u64,
    clip: bool,
    v: Tensor<4>,
    rates: (f64, f64),
    iterations: usize,
    updates: usize,
    n: usize,
    start: Instant,
) -> Result<UapResult> {
    let shape = v.dims();
    let perturbation_norm: f32 = crate::norm::sample_norms(v.clone(), norm).into_scalar();
    let perturbation = crate::model::read_f32(v, "the universal perturbation")?;
    let result = UapResult {
        method: method.into(),
        norm,
        xi,
        step,
        delta,
        max_iter,
        seed,
        clip,
        perturbation,
        shape,
        perturbation_norm,
        fooling_rate: rates.0,
        flip_rate: rates.1,
        iterations,
        converged: rates.0 >= 1.0 - delta,
        updates,
        n,
        seconds: start.elapsed().as_secs_f64(),
    };
    tracing::info!(
        method,
        fooling_rate = result.fooling_rate,
        iterations,
        converged = result.converged,
        "universal perturbation finished"
    );
    Ok(result)
}

/// The universal perturbation of Moosavi-Dezfooli et al. (2017, Algorithm 1) with FGSM (ℓ∞) /
/// FGM (ℓ2) as the inner attacker, following ART 1.18's `UniversalPerturbation`: while the
/// fooling rate is below `1 − δ` and fewer than `max_iter` passes were made, visit the data
/// in a seeded random order; for a sample still classified correctly under `x + v`, take an
/// FGSM step of size `step` from `x + v`; if the label flips, `v ← Proj_ξ(x_adv − x)`. The
/// fooling rate is measured after each pass.
///
/// Differences from ART's per-sample loop, and why:
/// * **Speculative minibatches.** Samples are processed in minibatches of up to
///   `batch_size` under the current `v`; the first sample (in the shuffled order) whose label
///   flips updates `v`, and processing resumes right after it with the new `v`. This makes
///   exactly ART's sequence of decisions (each sample sees the `v` left by all samples before
///   it) while batching the forward/backward passes; the minibatch halves after an update
///   and doubles (up to `batch_size`) after a minibatch without one. One small mask is read
///   back per minibatch: the algorithm is sequential in `v`.
/// * **Clipping.** The current label and the FGSM step are taken at `clip(x + v)`, the image
///   actually classified; ART feeds the unclipped `x + v` (identical with `clip = false`).
/// * **Convergence** is reported as "the fooling rate reached `1 − δ`"; ART reports
///   `iterations < max_iter`, which calls a run that succeeds in its last pass unconverged.
/// * The data order comes from a seeded ChaCha8 stream, not Python's global `random`.
pub fn universal_perturbation<C: Classifier + ?Sized>(
    model: &C,
    x: Tensor<4>,
    y: Tensor<1, Int>,
    cfg: &UapConfig,
) -> Result<UapResult> {
    cfg.validate()?;
    let start = Instant::now();
    let batch = prepare(model, x, y, cfg.clip)?;
    let (x, y) = (batch.x, batch.y);
    let dims = x.dims();
    let n = dims[0];
    let device = x.device();
    let mut v = Tensor::<4>::zeros([1, dims[1], dims[2], dims[3]], &device);
    let mut fool = (0.0, 0.0);
    let mut iterations = 0;
    let mut updates = 0;
    while fool.0 < 1.0 - cfg.delta && iterations < cfg.max_iter {
        let order = permutation(n, cfg.seed, purpose::UAP, iterations);
        let mut pos = 0;
        let mut chunk = cfg.batch_size;
        while pos < n {
            let end = (pos + chunk).min(n);
            let ids = &order[pos..end];
            let idx = index_tensor(ids, &device);
            let xb = x.clone().select(0, idx.clone());
            let yb = y.clone().select(0, idx);
            let xv = apply(xb.clone(), v.clone(), cfg.clip);
            let p = probe(model, xv.clone(), yb.clone(), Loss::Ce, true);
            let current = p.logits.argmax(1).reshape([end - pos]);
            let step = ascent_direction(p.grad, cfg.norm, 1e-12).mul_scalar(cfg.step);
            let cand = xv + step;
            let cand = if cfg.clip { cand.clamp(0.0, 1.0) } else { cand };
            let new = forward(model, cand.clone()).argmax(1).reshape([end - pos]);
            let flips = current.clone().equal(yb).bool_and(new.not_equal(current));
            let flips = read_bool(flips, "UAP flips")?;
            match flips.iter().position(|f| *f) {
                Some(j) => {
                    let cj = cand.slice([j..j + 1]);
                    let xj = xb.slice([j..j + 1]);
                    v = project_v(cj - xj, cfg.norm, cfg.xi);
                    updates += 1;
                    pos += j + 1;
                    chunk = (chunk / 2).max(1);
                }
                None => {
                    pos = end;
                    chunk = (chunk * 2).min(cfg.batch_size);
                }
            }
        }
        iterations += 1;
        fool = rates(model, &x, &y, &v, cfg.clip, cfg.eval_batch_size)?;
        tracing::debug!(
            pass = iterations,
            fooling_rate = fool.0,
            updates,
            "UAP pass"
        );
    }
    finish(
        "fgsm",
        cfg.norm,
        cfg.xi,
        cfg.step,
        cfg.delta,
        cfg.max_iter,
        cfg.seed,
        cfg.clip,
        v,
        fool,
        iterations,
        updates,
        n,
        start,
    )
}

/// The minibatch universal perturbation: for each epoch (seeded order) and minibatch `B`,
/// `v ← Proj_ξ(v + step·dir(Σ_{i∈B} ∇ₓ CE(f(clip(x_i + v)), y_i)))` with `dir` = sign (ℓ∞) or
/// ℓ2-normalisation; the sum of input gradients at `x_i + v` is the gradient of the
/// minibatch loss in `v` (the clip's derivative is taken as 1). Stops when the fooling rate,
/// measured after each epoch, reaches `1 − δ`, or after `max_iter` epochs.
pub fn universal_perturbation_sgd<C: Classifier + ?Sized>(
    model: &C,
    x: Tensor<4>,
    y: Tensor<1, Int>,
    cfg: &UapSgdConfig,
) -> Result<UapResult> {
    cfg.validate()?;
    let start = Instant::now();
    let batch = prepare(model, x, y, cfg.clip)?;
    let (x, y) = (batch.x, batch.y);
    let dims = x.dims();
    let n = dims[0];
    let device = x.device();
    let mut v = Tensor::<4>::zeros([1, dims[1], dims[2], dims[3]], &device);
    let mut fool = (0.0, 0.0);
    let mut iterations = 0;
    let mut updates = 0;
    while fool.0 < 1.0 - cfg.delta && iterations < cfg.max_iter {
        let order = permutation(n, cfg.seed, purpose::UAP, iterations);
        for ids in order.chunks(cfg.batch_size) {
            let idx = index_tensor(ids, &device);
            let xb = x.clone().select(0, idx.clone());
            let yb = y.clone().select(0, idx);
            let p = probe(model, apply(xb, v.clone(), cfg.clip), yb, Loss::Ce, true);
            let g = p.grad.sum_dim(0);
            let dir = ascent_direction(g, cfg.norm, 1e-12);
            v = project_v(v + dir.mul_scalar(cfg.step), cfg.norm, cfg.xi);
            updates += 1;
        }
        iterations += 1;
        fool = rates(model, &x, &y, &v, cfg.clip, cfg.eval_batch_size)?;
        tracing::debug!(epoch = iterations, fooling_rate = fool.0, "SGD-UAP epoch");
    }
    finish(
        "sgd",
        cfg.norm,
        cfg.xi,
        cfg.step,
        cfg.delta,
        cfg.max_iter,
        cfg.seed,
        cfg.clip,
        v,
        fool,
        iterations,
        updates,
        n,
        start,
    )
}
