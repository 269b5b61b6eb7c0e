//! AutoPGD (Croce & Hein, ICML 2020, Algorithm 1): APGD-CE and APGD-DLR. SPEC §3, "AutoPGD".
//!
//! Two modes:
//! * [`ApgdMode::Reference`] (default) follows `fra31/auto-attack`, `autopgd_base.py`
//!   (`APGDAttack.attack_single_run` and `perturb`).
//! * [`ApgdMode::Art`] follows the variant in the Adversarial Robustness Toolbox 1.18,
//!   `art/attacks/evasion/auto_projected_gradient_descent.py`, which the paper used.
//!
//! All per-sample bookkeeping (step sizes, best points, counters) is done with tensor masks on
//! the device; the host is read only between restarts.

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{Result, invalid};
use crate::loss::Loss;
use crate::model::{Classifier, correct, probe, probe_with, scatter_rows};
use crate::norm::{
    Norm, ascent_direction, check_eps, per_image, project, project_art, select_images,
};
use crate::restarts::Restarts;
use crate::rng::{Start, purpose, random_start};

/// Which implementation of AutoPGD to reproduce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ApgdMode {
    /// auto-attack's `autopgd_base.py` (SPEC §3 defaults).
    Reference,
    /// ART 1.18's `AutoProjectedGradientDescent`.
    Art,
}

impl ApgdMode {
    /// `reference` or `art`.
    pub fn name(self) -> &'static str {
        match self {
            ApgdMode::Reference => "reference",
            ApgdMode::Art => "art",
        }
    }
}

impl std::str::FromStr for ApgdMode {
    type Err = crate::AttackError;

    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "reference" | "ref" | "autoattack" | "auto-attack" => Ok(ApgdMode::Reference),
            "art" => Ok(ApgdMode::Art),
            other => Err(invalid(
                "mode",
                format!("unknown APGD mode `{other}` (expected `reference` or `art`)"),
            )),
        }
    }
}

/// Configuration of APGD-CE / APGD-DLR.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ApgdConfig {
    /// Threat model.
    pub norm: Norm,
    /// Radius ε.
    pub eps: f32,
    /// Loss: cross-entropy (APGD-CE) or DLR (APGD-DLR, needs ≥ 3 classes).
    pub loss: Loss,
    /// Iterations N per restart (100).
    pub steps: usize,
    /// Restarts: reference 1 (`n_restarts`), ART 5 (`nb_random_init`).
    pub restarts: usize,
    /// Which implementation to follow.
    pub mode: ApgdMode,
    /// Initial step η₀. `None`: 2ε (auto-attack's value; also used for ART, whose own
    /// default `eps_step = 0.1` is an absolute number tuned for MNIST at ε = 0.3).
    pub step_size: Option<f32>,
    /// Fraction ρ of the checkpoint condition (0.75).
    pub rho: f32,
    /// Clip to `[0, 1]`.
    pub clip: bool,
    /// Seed of the random starts.
    pub seed: u64,
    /// Expectation over transformation: gradients averaged over this many forward/backward
    /// passes per step (1; AutoAttack's `rand` version uses 20 for randomised defences).
    /// Reference mode only.
    pub eot_iter: usize,
}

impl ApgdConfig {
    /// The reference configuration: N = 100, one restart, ρ = 0.75, η₀ = 2ε, clipping on.
    pub fn new(norm: Norm, eps: f32, loss: Loss) -> Self {
        Self {
            norm,
            eps,
            loss,
            steps: 100,
            restarts: 1,
            mode: ApgdMode::Reference,
            step_size: None,
            rho: 0.75,
            clip: true,
            seed: 0,
            eot_iter: 1,
        }
    }

    /// ART 1.18's configuration: N = 100, 5 random inits, η₀ = `eps_step` (here 2ε unless
    /// set), clipping on.
    pub fn art(norm: Norm, eps: f32, loss: Loss) -> Self {
        Self {
            restarts: 5,
            mode: ApgdMode::Art,
            ..Self::new(norm, eps, loss)
        }
    }

    /// The initial step size η₀.
    pub fn initial_step(&self) -> f32 {
        self.step_size.unwrap_or(2.0 * self.eps)
    }

    /// The attack's name: `apgd-ce`, `apgd-dlr` or `apgd-margin`.
    pub fn name(&self) -> &'static str {
        match self.loss {
            Loss::Ce => "apgd-ce",
            Loss::Dlr => "apgd-dlr",
            Loss::Margin => "apgd-margin",
        }
    }

    /// Checks the values.
    pub fn validate(&self) -> Result<()> {
        check_eps("eps", self.eps)?;
        if let Some(s) = self.step_size
            && !(s.is_finite() && s > 0.0)
        {
            return Err(invalid(
                "step_size",
                format!("must be finite and > 0, got {s}"),
            ));
        }
        if self.steps == 0 {
            return Err(invalid("steps", "must be ≥ 1"));
        }
        if self.restarts == 0 {
            return Err(invalid("restarts", "must be ≥ 1"));
        }
        if self.eot_iter == 0 {
            return Err(invalid("eot_iter", "must be ≥ 1"));
        }
        if !(self.rho > 0.0 && self.rho <= 1.0) {
            return Err(invalid(
                "rho",
                format!("must be in (0, 1], got {}", self.rho),
            ));
        }
        Ok(())
    }

    /// The same attack at radius `eps`; an explicit step size is scaled by `eps/self.eps`.
    pub fn with_eps(&self, eps: f32) -> Self {
        Self {
            eps,
            step_size: self.step_size.map(|s| s * eps / self.eps),
            ..*self
        }
    }
}

/// The checkpoints of the reference APGD (SPEC §3): the numbers of steps after which the
/// step-size condition is checked, for `n_iter` iterations. The first window is
/// `max(⌊0.22N⌋, 1)` steps, each next window `k ← max(k − max(⌊0.03N⌋, 1), max(⌊0.06N⌋, 1))`,
/// up to `N` (auto-attack: `n_iter_2`, `size_decr`, `n_iter_min`; the products are taken in
/// f64 and truncated, as Python's `int(0.22 * n_iter)`).
///
/// N = 100 gives 22, 41, 57, 70, 80, 87, 93, 99; N = 10 gives 2, 3, …, 10.
pub fn apgd_checkpoints(n_iter: usize) -> Vec<usize> {
    let n = n_iter as f64;
    let first = ((0.22 * n) as usize).max(1);
    let min = ((0.06 * n) as usize).max(1);
    let decr = ((0.03 * n) as usize).max(1);
    let mut out = Vec::new();
    let mut k = first;
    let mut at = k;
    while at <= n_iter {
        out.push(at);
        k = k.saturating_sub(decr).max(min);
        at += k;
    }
    out
}

/// ART 1.18's checkpoint list `var_w` for `max_iter` iterations: `p₀ = 0, p₁ = 0.22,
/// p_{j+1} = p_j + max(p_j − p_{j−1} − 0.03, 0.06)` while `≤ 1`, each mapped to `⌈p·N⌉`
/// (f64 arithmetic, so N = 100 gives 0, 22, 41, 58, 70, 80, 87, 93, 99: `0.57·100` rounds up
/// to 58 in floating point). ART checks after the iteration whose 0-based index is in the
/// list (index 0 excepted), with the window length `index − previous entry`.
pub fn art_checkpoints(max_iter: usize) -> Vec<usize> {
    let mut w = vec![0.0f64, 0.22];
    loop {
        let (a, b) = (w[w.len() - 2], w[w.len() - 1]);
        let next = b + (b - a - 0.03).max(0.06);
        if next > 1.0 {
            break;
        }
        w.push(next);
    }
    w.iter()
        .map(|p| (p * max_iter as f64).ceil() as usize)
        .collect()
}

/// Result of one APGD run on a set of samples.
pub(crate) struct Run {
    /// Per sample: a misclassified iterate if one was found, otherwise the best-loss point
    /// (reference) / the final iterate (ART).
    pub(crate) adv: Tensor<4>,
    /// Best loss seen (reference) / final loss (ART), `[b]`.
    pub(crate) loss: Tensor<1>,
    /// Per sample: some iterate was misclassified (reference) / the final iterate is (ART).
    pub(crate) fooled: Tensor<1, Bool>,
    /// Per sample: the iterate of highest loss (reference; ART: the final iterate).
    pub(crate) best: Tensor<4>,
}

/// What the reference APGD ascends: an untargeted loss, or the targeted DLR loss of APGD-T
/// with one target class per sample.
#[derive(Clone)]
#[allow(clippy::large_enum_variant)]
pub(crate) enum Objective {
    /// [`Loss::per_sample`].
    Loss(Loss),
    /// [`crate::targeted_dlr_loss`] towards these targets `[b]`.
    TargetedDlr(Tensor<1, Int>),
}

impl Objective {
    fn value(&self, z: Tensor<2>, y: Tensor<1, Int>) -> Tensor<1> {
        match self {
            Objective::Loss(l) => l.per_sample(z, y),
            Objective::TargetedDlr(t) => crate::loss::targeted_dlr_loss(z, y, t.clone()),
        }
    }
}

/// [`crate::model::probe_with`] for an objective, with the input gradient averaged over
/// `eot` forward/backward passes (loss and logits of the last pass, as auto-attack).
fn probe_eot<C: Classifier + ?Sized>(
    model: &C,
    x: Tensor<4>,
    y: Tensor<1, Int>,
    obj: &Objective,
    need_grad: bool,
    eot: usize,
) -> crate::model::Probe {
    let passes = if need_grad { eot.max(1) } else { 1 };
    let mut p = probe_with(model, x.clone(), y.clone(), need_grad, |z, y| {
        obj.value(z, y)
    });
    if passes > 1 {
        let mut g = p.grad;
        for _ in 1..passes {
            p = probe_with(model, x.clone(), y.clone(), true, |z, y| obj.value(z, y));
            g = g + p.grad;
        }
        p.grad = g.div_scalar(passes as f32);
    }
    p
}

/// One run of the reference APGD (auto-attack `attack_single_run`) on all samples of `x`.
#[allow(clippy::too_many_arguments)]
pub(crate) fn reference_run<C: Classifier + ?Sized>(
    model: &C,
    x: Tensor<4>,
    y: Tensor<1, Int>,
    positions: &[usize],
    restart: usize,
    cfg: &ApgdConfig,
    obj: &Objective,
    stream: u64,
) -> Run {
    let (eps, norm, clip) = (cfg.eps, cfg.norm, cfg.clip);
    let x_adv = reference_start(&x, positions, restart, cfg, stream);
    let mut s = RefState::new(model, x_adv, &y, obj, cfg);
    let checkpoints = apgd_checkpoints(cfg.steps);
    let mut next_check = 0usize;
    let mut last_check_at = 0usize;
    let project_ref = |v: Tensor<4>| project(v, x.clone(), norm, eps, clip);

    for i in 0..cfg.steps {
        s = s.iterate(model, &y, obj, cfg, i, &project_ref);
        if checkpoints.get(next_check) == Some(&(i + 1)) {
            s = s.check_step_size((i + 1 - last_check_at) as f32, cfg.rho);
            last_check_at = i + 1;
            next_check += 1;
        }
    }
    s.finish()
}

/// The reference's random start: `x` plus noise on the ε-sphere (restart `restart` of
/// stream `stream`), clipped when clipping.
fn reference_start(
    x: &Tensor<4>,
    positions: &[usize],
    restart: usize,
    cfg: &ApgdConfig,
    stream: u64,
) -> Tensor<4> {
    let kind = match cfg.norm {
        Norm::Linf => Start::LinfSphere,
        Norm::L2 => Start::L2Sphere,
    };
    let noise = random_start(
        kind,
        cfg.eps,
        cfg.seed,
        stream,
        restart,
        positions,
        x.dims(),
        &x.device(),
    );
    let start = x.clone() + noise;
    if cfg.clip {
        start.clamp(0.0, 1.0)
    } else {
        start
    }
}

/// The reference APGD's per-sample state (auto-attack `attack_single_run`'s locals).
struct RefState {
    /// The current iterate and the previous one.
    x_adv: Tensor<4>,
    x_old: Tensor<4>,
    /// The objective's gradient at `x_adv`.
    grad: Tensor<4>,
    /// Every iterate so far classified correctly.
    acc: Tensor<1, Bool>,
    /// The last misclassified iterate (the start until there is one).
    x_best_adv: Tensor<4>,
    /// The iterate of highest loss, its gradient and loss.
    x_best: Tensor<4>,
    grad_best: Tensor<4>,
    loss_best: Tensor<1>,
    /// The loss of the previous iterate.
    loss_prev: Tensor<1>,
    /// Step size η per sample.
    eta: Tensor<1>,
    /// Loss increases since the last checkpoint.
    increases: Tensor<1>,
    /// Whether η was halved at the last checkpoint.
    reduced_last: Tensor<1, Bool>,
    /// `loss_best` at the last checkpoint.
    loss_best_last_check: Tensor<1>,
}

impl RefState {
    /// The state at the start point `x_adv`, after its probe.
    fn new<C: Classifier + ?Sized>(
        model: &C,
        x_adv: Tensor<4>,
        y: &Tensor<1, Int>,
        obj: &Objective,
        cfg: &ApgdConfig,
    ) -> Self {
        let b = x_adv.dims()[0];
        let device = x_adv.device();
        let p = probe_eot(
            model,
            x_adv.clone(),
            y.clone(),
            obj,
            cfg.steps > 0,
            cfg.eot_iter,
        );
        let grad = p.grad;
        let acc = correct(p.logits, y.clone());
        let x_best_adv = x_adv.clone();
        let x_best = x_adv.clone();
        let grad_best = grad.clone();
        let loss_best = p.loss.clone();
        let loss_prev = p.loss;
        let x_old = x_adv.clone();
        let eta = Tensor::<1>::full([b], cfg.initial_step(), &device);
        let increases = Tensor::<1>::zeros([b], &device);
        // "Reduced at the previous check" starts true: condition 2 cannot fire at the first
        // check.
        let reduced_last =
            Tensor::<1, Bool>::from_data(TensorData::new(vec![true; b], [b]), &device);
        let loss_best_last_check = loss_best.clone();
        Self {
            x_adv,
            x_old,
            grad,
            acc,
            x_best_adv,
            x_best,
            grad_best,
            loss_best,
            loss_prev,
            eta,
            increases,
            reduced_last,
            loss_best_last_check,
        }
    }

    /// Iteration `i`: the momentum step, the probe at the new iterate (no gradient after the
    /// last), and the bookkeeping of the best points.
    fn iterate<C: Classifier + ?Sized>(
        mut self,
        model: &C,
        y: &Tensor<1, Int>,
        obj: &Objective,
        cfg: &ApgdConfig,
        i: usize,
        project_ref: &impl Fn(Tensor<4>) -> Tensor<4>,
    ) -> Self {
        let step = per_image(self.eta.clone());
        let dir = ascent_direction(self.grad, cfg.norm, 1e-12);
        let x_adv = self.x_adv;
        let z = project_ref(x_adv.clone() + dir * step);
        let x_new = if i == 0 {
            // α = 1 at the first step: the momentum term vanishes.
            z
        } else {
            let momentum = x_adv.clone() - self.x_old;
            project_ref(
                x_adv.clone() + (z - x_adv.clone()).mul_scalar(0.75) + momentum.mul_scalar(0.25),
            )
        };
        self.x_old = x_adv;
        self.x_adv = x_new;

        let last = i + 1 == cfg.steps;
        let p = probe_eot(
            model,
            self.x_adv.clone(),
            y.clone(),
            obj,
            !last,
            cfg.eot_iter,
        );
        self.grad = p.grad;
        let ok = correct(p.logits, y.clone());
        self.x_best_adv = select_images(ok.clone().bool_not(), self.x_adv.clone(), self.x_best_adv);
        self.acc = self.acc.bool_and(ok);

        self.increases = self.increases + p.loss.clone().greater(self.loss_prev).float();
        self.loss_prev = p.loss.clone();
        let improved = p.loss.clone().greater(self.loss_best.clone());
        self.x_best = select_images(improved.clone(), self.x_adv.clone(), self.x_best);
        self.grad_best = select_images(improved.clone(), self.grad.clone(), self.grad_best);
        self.loss_best = self.loss_best.mask_where(improved, p.loss);
        self
    }

    /// The step-size check after a window of `k` iterations: η halves, and the iterate
    /// returns to the best point, where the loss increased in at most a fraction `rho` of
    /// the window or where the best loss stalled without a halving at the previous check.
    fn check_step_size(mut self, k: f32, rho: f32) -> Self {
        let oscillating = self.increases.clone().lower_equal_elem(rho * k);
        let stalled = self.reduced_last.bool_not().bool_and(
            self.loss_best_last_check
                .greater_equal(self.loss_best.clone()),
        );
        let halve = oscillating.bool_or(stalled);
        self.reduced_last = halve.clone();
        self.loss_best_last_check = self.loss_best.clone();
        self.eta = self
            .eta
            .clone()
            .mask_where(halve.clone(), self.eta.mul_scalar(0.5));
        self.x_adv = select_images(halve.clone(), self.x_best.clone(), self.x_adv);
        self.grad = select_images(halve, self.grad_best.clone(), self.grad);
        self.increases = self.increases.zeros_like();
        self
    }

    /// The run's result: the misclassified iterate where one was found, else the best-loss
    /// point.
    fn finish(self) -> Run {
        let fooled = self.acc.bool_not();
        Run {
            adv: select_images(fooled.clone(), self.x_best_adv, self.x_best.clone()),
            loss: self.loss_best,
            fooled,
            best: self.x_best,
        }
    }
}

/// ART's `tol = 10e-8` of the ascent direction.
const ART_TOL: f32 = 1e-7;

/// One run of ART 1.18's APGD inner loop from `x_start` on all samples of `x` (the centres).
fn art_run<C: Classifier + ?Sized>(
    model: &C,
    x: Tensor<4>,
    y: Tensor<1, Int>,
    x_start: Tensor<4>,
    cfg: &ApgdConfig,
) -> Run {
    let (eps, norm, clip) = (cfg.eps, cfg.norm, cfg.clip);
    let proj = |v: Tensor<4>| project_art(v, x.clone(), norm, eps, clip);
    let checkpoints = art_checkpoints(cfg.steps);

    let mut s = ArtState::first_step(model, &x, &y, x_start, cfg, &proj);
    for k_iter in 1..cfg.steps {
        s = s.iterate(model, &y, cfg, k_iter, &proj);
        if let Some(pos) = checkpoints.iter().position(|&c| c == k_iter)
            && pos > 0
        {
            let window = (k_iter - checkpoints[pos - 1]) as f32;
            s = s.check_step_size(window, cfg.rho);
        }
    }
    let x_k = s.x_k;
    let p = probe(model, x_k.clone(), y.clone(), cfg.loss, false);
    Run {
        fooled: correct(p.logits, y).bool_not(),
        best: x_k.clone(),
        adv: x_k,
        loss: p.loss,
    }
}

/// ART's APGD state per sample (the locals of its inner loop).
struct ArtState {
    /// Step size η per sample.
    eta: Tensor<1>,
    /// The current iterate `x_k`, the previous one, and the gradient at `x_k`.
    x_k: Tensor<4>,
    x_prev: Tensor<4>,
    grad: Tensor<4>,
    /// Loss increases since the last checkpoint.
    count: Tensor<1>,
    /// The iterate of highest loss, its predecessor, gradient and loss.
    x_max: Tensor<4>,
    x_max_prev: Tensor<4>,
    g_max: Tensor<4>,
    f_max: Tensor<1>,
    /// η and `f_max` at the last checkpoint.
    eta_last_check: Tensor<1>,
    f_max_last_check: Tensor<1>,
}

impl ArtState {
    /// Iteration k = 0 from `x_0 = x_start`: a plain step, then the bookkeeping against
    /// `f(x_0)` with ≥.
    fn first_step<C: Classifier + ?Sized>(
        model: &C,
        x: &Tensor<4>,
        y: &Tensor<1, Int>,
        x_start: Tensor<4>,
        cfg: &ApgdConfig,
        proj: &impl Fn(Tensor<4>) -> Tensor<4>,
    ) -> Self {
        let b = x.dims()[0];
        let device = x.device();
        let eta = Tensor::<1>::full([b], cfg.initial_step(), &device);
        let x_k = x_start;
        let p0 = probe(model, x_k.clone(), y.clone(), cfg.loss, true);
        let grad = p0.grad;
        let f0 = p0.loss;

        let z = proj(
            x_k.clone()
                + ascent_direction(grad.clone(), cfg.norm, ART_TOL) * per_image(eta.clone()),
        );
        let x_1 = z;
        let p1 = probe(model, x_1.clone(), y.clone(), cfg.loss, cfg.steps > 1);
        let ge = p1.loss.clone().greater_equal(f0.clone());
        let count = ge.clone().float();
        let f_max = f0.clone().mask_where(ge.clone(), p1.loss.clone());
        let x_max = select_images(ge.clone(), x_1.clone(), x_k.clone());
        let g_max = select_images(ge, p1.grad.clone(), grad);
        let x_max_prev = x.clone();
        let eta_last_check = eta.clone();
        let f_max_last_check = f0;
        Self {
            eta,
            x_prev: x_k,
            x_k: x_1,
            grad: p1.grad,
            count,
            x_max,
            x_max_prev,
            g_max,
            f_max,
            eta_last_check,
            f_max_last_check,
        }
    }

    /// Iteration `k_iter ≥ 1`: the momentum step, the probe at the new iterate (no gradient
    /// after the last), and the bookkeeping of the best point with >.
    fn iterate<C: Classifier + ?Sized>(
        mut self,
        model: &C,
        y: &Tensor<1, Int>,
        cfg: &ApgdConfig,
        k_iter: usize,
        proj: &impl Fn(Tensor<4>) -> Tensor<4>,
    ) -> Self {
        let x_k = self.x_k;
        let z = proj(
            x_k.clone()
                + ascent_direction(self.grad, cfg.norm, ART_TOL) * per_image(self.eta.clone()),
        );
        let moved = x_k.clone()
            + (z - x_k.clone()).mul_scalar(0.75)
            + (x_k.clone() - self.x_prev).mul_scalar(0.25);
        let x_new = proj(moved);
        let need_grad = k_iter + 1 < cfg.steps;
        let p = probe(model, x_new.clone(), y.clone(), cfg.loss, need_grad);
        let gt = p.loss.clone().greater(self.f_max.clone());
        self.count = self.count + gt.clone().float();
        self.x_max = select_images(gt.clone(), x_new.clone(), self.x_max);
        self.x_max_prev = select_images(gt.clone(), x_k.clone(), self.x_max_prev);
        self.g_max = select_images(gt.clone(), p.grad.clone(), self.g_max);
        self.f_max = self.f_max.mask_where(gt, p.loss);
        self.x_prev = x_k;
        self.x_k = x_new;
        self.grad = p.grad;
        self
    }

    /// ART's step-size check after a window of `window` iterations: η halves, and the
    /// iterate returns to the best point, where the loss increased in fewer than a fraction
    /// `rho` of the window or where neither η nor the best loss changed since the last check.
    fn check_step_size(mut self, window: f32, rho: f32) -> Self {
        let c1 = self.count.clone().lower_elem(rho * window);
        let c2 = self
            .eta_last_check
            .clone()
            .equal(self.eta.clone())
            .bool_and(self.f_max_last_check.clone().equal(self.f_max.clone()));
        let cond = c1.bool_or(c2);
        self.eta = self
            .eta
            .clone()
            .mask_where(cond.clone(), self.eta.mul_scalar(0.5));
        self.x_k = select_images(cond.clone(), self.x_max.clone(), self.x_k);
        self.x_prev = select_images(cond.clone(), self.x_max_prev.clone(), self.x_prev);
        self.grad = select_images(cond, self.g_max.clone(), self.grad);
        self.count = self.count.zeros_like();
        self.eta_last_check = self.eta.clone();
        self.f_max_last_check = self.f_max.clone();
        self
    }
}

/// The loss-maximising point of EVERY sample (clean-misclassified ones too), as auto-attack's
/// `perturb(best_loss=True)`: each restart runs the reference inner loop
/// (`attack_single_run`) on all samples, and a sample keeps the iterate of highest loss over
/// all iterates and restarts — not the first misclassified one. The ART mode's restarts are
/// run with the reference inner loop here (ART has no best-loss output). Returns the points
/// and their losses (the attack's loss, `[n]`).
pub(crate) fn apgd_max_loss<C: Classifier + ?Sized>(
    model: &C,
    x: Tensor<4>,
    y: Tensor<1, Int>,
    positions: &[usize],
    cfg: &ApgdConfig,
) -> (Tensor<4>, Tensor<1>) {
    let n = x.dims()[0];
    let mut best = x.clone();
    let mut best_loss = Tensor::<1>::full([n], f32::NEG_INFINITY, &x.device());
    for r in 0..cfg.restarts.max(1) {
        let obj = Objective::Loss(cfg.loss);
        let run = reference_run(
            model,
            x.clone(),
            y.clone(),
            positions,
            r,
            cfg,
            &obj,
            purpose::APGD,
        );
        let better = run.loss.clone().greater(best_loss.clone());
        best = select_images(better.clone(), run.best, best);
        best_loss = best_loss.mask_where(better, run.loss);
    }
    (best, best_loss)
}

/// APGD over the samples marked `active` (the clean-correct ones); returns the adversarial
/// batch and the host mask of samples fooled.
///
/// Reference mode: restart `r` attacks only the samples not yet fooled; a fooled sample keeps
/// the misclassified iterate of the first restart that fooled it, a robust one the point of
/// highest loss over all restarts. ART mode: restart `r` starts from the current
/// adversarial point plus fresh uniform noise (clip, project), keeps the final iterate where
/// it is misclassified and the random start elsewhere (ART 1.18 `generate`).
pub(crate) fn apgd_restarts<C: Classifier + ?Sized>(
    model: &C,
    x: Tensor<4>,
    y: Tensor<1, Int>,
    positions: &[usize],
    active: &[bool],
    cfg: &ApgdConfig,
) -> Result<(Tensor<4>, Vec<bool>)> {
    let device = x.device();
    let dims = x.dims();
    let mut state = Restarts::new(&x);
    for r in 0..cfg.restarts {
        let Some(sub) = state.pending(&x, &y, positions, active) else {
            break;
        };
        match cfg.mode {
            ApgdMode::Reference => {
                let obj = Objective::Loss(cfg.loss);
                let run = reference_run(
                    model,
                    sub.x.clone(),
                    sub.y.clone(),
                    &sub.positions,
                    r,
                    cfg,
                    &obj,
                    purpose::APGD,
                );
                state.merge_best(&sub, run.adv, run.loss, run.fooled, "APGD predictions")?;
            }
            ApgdMode::Art => {
                let kind = match cfg.norm {
                    Norm::Linf => Start::UniformLinfBall,
                    Norm::L2 => Start::UniformL2Ball,
                };
                let sub_dims = [sub.sel.len(), dims[1], dims[2], dims[3]];
                let noise = random_start(
                    kind,
                    cfg.eps,
                    cfg.seed,
                    purpose::APGD_ART,
                    r,
                    &sub.positions,
                    sub_dims,
                    &device,
                );
                let current = state.adv.clone().select(0, sub.idx.clone());
                let start =
                    project_art(current + noise, sub.x.clone(), cfg.norm, cfg.eps, cfg.clip);
                let run = art_run(model, sub.x.clone(), sub.y.clone(), start.clone(), cfg);
                let kept = select_images(run.fooled, run.adv, start);
                // ART decides robustness at the next restart by predicting on the kept
                // point (the random start can itself be misclassified).
                let fooled_kept =
                    correct(crate::model::forward(model, kept.clone()), sub.y.clone()).bool_not();
                let all = vec![true; sub.sel.len()];
                state.adv = scatter_rows(state.adv.clone(), kept, &sub.sel, &all);
                state.set_fooled(&sub, fooled_kept, "APGD predictions")?;
            }
        }
        tracing::debug!(
            restart = r,
            attacked = sub.sel.len(),
            fooled = state.n_fooled(),
            mode = cfg.mode.name(),
            "APGD restart"
        );
    }
    Ok(state.finish())
}
