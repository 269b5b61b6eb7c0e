//! What is measured on a trained model: clean and robust accuracy, compressibility of every
//! layer, and the analyses the paper's figures need.

use std::collections::BTreeMap;
use std::time::Instant;

use burn::prelude::*;
use serde::{Deserialize, Serialize};

use cr_attacks::{
    AttackOptions, AttackResult, LipschitzConfig, UapConfig, local_lipschitz,
    representation_change, run_attack, singular_alignment, universal_perturbation,
};
use cr_data::Dataset;
use cr_linalg::{matrix::from_rows_f32, svd};
use cr_models::{LayerMatrix, Model, Selection};

use crate::attacking::{
    ATTACK_BATCH, AttackOutcome, accuracy_and_loss, adversarial, attack_of, gap, worst_case_of,
};
use crate::compressibility::{Compressibility, compressibility};
use crate::config::{AttackSpec, EvalConfig, Measure, Norm};
use crate::error::{EvalError, err};

/// Everything measured on one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    /// Test samples used.
    pub test_samples: usize,
    /// Clean test accuracy.
    pub clean_accuracy: f64,
    /// Mean clean test cross-entropy.
    pub clean_loss: f64,
    /// Each attack.
    pub attacks: Vec<AttackOutcome>,
    /// Each cross-check attack (not in the worst case).
    #[serde(default)]
    pub cross_check: Vec<AttackOutcome>,
    /// Per-sample worst case over the attacks (None without attacks).
    pub robust_accuracy: Option<f64>,
    /// Robust over standard accuracy.
    pub ra_over_sa: Option<f64>,
    /// Sanity-check warnings of the attacks.
    pub warnings: Vec<String>,
    /// Layer compressibility.
    pub compressibility: Compressibility,
    /// Parameters.
    pub parameters: usize,
    /// FLOPs per sample.
    pub flops: u64,
    /// The optional analyses, by name.
    pub measures: BTreeMap<String, serde_json::Value>,
    /// Wall seconds of the evaluation.
    pub seconds: f64,
}

/// Evaluates `model` (an evaluation snapshot) on `test` as `cfg` asks: clean accuracy and
/// loss, the attacks' per-sample worst case, the cross-check attacks, every layer's
/// compressibility, then each of `cfg.measures`.
pub fn evaluate(
    model: &Model,
    test: &Dataset,
    cfg: &EvalConfig,
    device: &Device,
) -> Result<Evaluation, EvalError> {
    let started = Instant::now();
    let model = model.snapshot();
    let test = match cfg.test_samples {
        Some(n) => test.balanced(n),
        None => test.clone(),
    };
    let (x, y) = test.tensors(device);
    let (clean_accuracy, clean_loss) = accuracy_and_loss(&model, &x, &y);
    let (attacks, robust_accuracy, warnings) = primary_attacks(&model, cfg, &x, &y)?;
    let cross_check = cross_check(&model, cfg, &x, &y)?;
    let compressibility = compressibility(&model, cfg.k_fraction)?;
    let subject = Subject {
        model: &model,
        test: &test,
        cfg,
        device,
        x: &x,
        y: &y,
        clean_loss,
        main_attack: cfg
            .settings
            .attack
            .clone()
            .or_else(|| cfg.attacks.first().cloned()),
    };
    let mut measures = BTreeMap::new();
    for m in &cfg.measures {
        measures.insert(m.name().to_string(), subject.measure(*m)?);
    }
    Ok(Evaluation {
        test_samples: test.len(),
        clean_accuracy,
        clean_loss,
        robust_accuracy,
        ra_over_sa: robust_accuracy.map(|r| {
            if clean_accuracy > 0.0 {
                r / clean_accuracy
            } else {
                0.0
            }
        }),
        attacks,
        cross_check,
        warnings,
        compressibility,
        parameters: model.num_params(),
        flops: model.flops(),
        measures,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The outcome of a finished attack run under its spec.
fn outcome(spec: &AttackSpec, r: &AttackResult) -> AttackOutcome {
    AttackOutcome {
        label: spec.label(),
        spec: spec.clone(),
        robust_accuracy: r.robust_accuracy,
        seconds: r.seconds,
        stages: r.stages.clone(),
        broken_by: r.broken_by.clone(),
    }
}

/// What the primary attacks found: each one's outcome, the per-sample worst case over them
/// (`None` without attacks) and their warnings.
type Primary = (Vec<AttackOutcome>, Option<f64>, Vec<String>);

/// The attacks of the primary threat model.
fn primary_attacks(
    model: &Model,
    cfg: &EvalConfig,
    x: &Tensor<4>,
    y: &Tensor<1, Int>,
) -> Result<Primary, EvalError> {
    if cfg.attacks.is_empty() {
        return Ok((Vec::new(), None, Vec::new()));
    }
    let (wc, warnings) = worst_case_of(model, &cfg.attacks, cfg.seed, x, y)?;
    let outcomes = cfg
        .attacks
        .iter()
        .zip(&wc.attacks)
        .map(|(spec, r)| outcome(spec, r))
        .collect();
    Ok((outcomes, Some(wc.robust_accuracy), warnings))
}

/// The cross-check attacks, each alone (no sanity checks: the primary attacks ran them).
fn cross_check(
    model: &Model,
    cfg: &EvalConfig,
    x: &Tensor<4>,
    y: &Tensor<1, Int>,
) -> Result<Vec<AttackOutcome>, EvalError> {
    let f = |x: Tensor<4>| model.forward(x);
    cfg.cross_check
        .iter()
        .map(|spec| {
            let r = run_attack(
                &f,
                &attack_of(spec, cfg.seed),
                x.clone(),
                y.clone(),
                &AttackOptions {
                    batch_size: Some(ATTACK_BATCH),
                    sanity: false,
                },
            )
            .map_err(|e| err("cross-check attack", e))?;
            Ok(outcome(spec, &r))
        })
        .collect()
}

/// A model under evaluation, with what every measure may need.
struct Subject<'a> {
    model: &'a Model,
    test: &'a Dataset,
    cfg: &'a EvalConfig,
    device: &'a Device,
    x: &'a Tensor<4>,
    y: &'a Tensor<1, Int>,
    clean_loss: f64,
    /// The attack of `representation`, `gap`, `boundary`, `certificate`, `bounds` and
    /// `pruning`: `eval.settings.attack`, else the first of `eval.attacks`.
    main_attack: Option<AttackSpec>,
}

impl Subject<'_> {
    /// The main attack, or an error naming the measure that needs one.
    fn attack(&self, what: &str) -> Result<&AttackSpec, EvalError> {
        self.main_attack
            .as_ref()
            .ok_or_else(|| err(what, "needs an attack"))
    }

    /// Computes one measure.
    fn measure(&self, m: Measure) -> Result<serde_json::Value, EvalError> {
        let (model, x, y, seed) = (self.model, self.x, self.y, self.cfg.seed);
        match m {
            Measure::Lipschitz => lipschitz(model, x, y),
            Measure::RankTruncation => rank_truncation(model, x, y, &self.cfg.settings.ranks),
            Measure::Representation => {
                let (adv, correct) =
                    adversarial(model, self.attack("representation")?, x, y, seed)?;
                let k = self.cfg.settings.alignment_k.unwrap_or(10);
                representation(model, x, &adv, &correct, k)
            }
            Measure::Gap => gap(model, self.attack("gap")?, x, y, seed, self.clean_loss),
            Measure::Uap => uap(self),
            Measure::Certificate => crate::certify::measure(model, self.main_attack.as_ref(), x, y),
            Measure::Boundary => boundary(
                model,
                self.test,
                self.attack("boundary")?,
                seed,
                self.device,
            ),
            Measure::Bounds => crate::analyses::bounds(model, self.main_attack.as_ref(), seed),
            Measure::Pruning => {
                crate::analyses::pruning(model, self.cfg, self.main_attack.as_ref(), x, y)
            }
        }
    }
}

/// Local Lipschitz estimates at the data, ℓ∞ and ℓ2: max, mean and the dual norm used.
fn lipschitz(
    model: &Model,
    x: &Tensor<4>,
    y: &Tensor<1, Int>,
) -> Result<serde_json::Value, EvalError> {
    let f = |x: Tensor<4>| model.forward(x);
    let mut out = BTreeMap::new();
    for n in [Norm::Linf, Norm::L2] {
        let est = local_lipschitz(&f, x.clone(), y.clone(), &LipschitzConfig::at_data(n))
            .map_err(|e| err("lipschitz", e))?;
        out.insert(
            n.to_string(),
            LipschitzRecord {
                max: est.max,
                mean: est.mean,
                dual_norm: est.dual_norm,
            },
        );
    }
    serde_json::to_value(out).map_err(|e| err("lipschitz", e))
}

/// One norm's local Lipschitz estimate, as recorded.
#[derive(Debug, Clone, Serialize)]
struct LipschitzRecord {
    max: f64,
    mean: f64,
    dual_norm: String,
}

/// A universal perturbation fitted on the first `fit_samples` of the evaluation subset
/// (half by default) and its fooling rate there and on the rest, as recorded.
#[derive(Debug, Clone, Serialize)]
struct UapRecord {
    norm: Norm,
    xi: f64,
    fooling_rate: f64,
    held_out_fooling_rate: Option<f64>,
    fit_samples: usize,
    converged: bool,
    iterations: usize,
    perturbation_norm: f32,
}

/// The `uap` measure: budget and norm from `eval.settings.uap`, else the main attack's.
fn uap(s: &Subject<'_>) -> Result<serde_json::Value, EvalError> {
    let u = s.cfg.settings.uap.as_ref();
    let (norm, eps) = match (u, &s.main_attack) {
        (Some(u), _) => (u.norm, u.eps),
        (None, Some(a)) => (a.norm, a.eps),
        (None, None) => return Err(err("uap", "needs eval.settings.uap or an attack")),
    };
    let mut c = UapConfig::new(norm, eps as f32);
    if let Some(step) = u.and_then(|u| u.step) {
        c.step = step as f32;
    }
    if let Some(d) = u.and_then(|u| u.delta) {
        c.delta = d;
    }
    if let Some(m) = u.and_then(|u| u.max_iter) {
        c.max_iter = m;
    }
    c.seed = s.cfg.seed;
    let (x, y) = (s.x, s.y);
    let [n, ..] = x.dims();
    let fit = u.and_then(|u| u.fit_samples).unwrap_or(n / 2).clamp(1, n);
    let f = |x: Tensor<4>| s.model.forward(x);
    let r = universal_perturbation(
        &f,
        x.clone().narrow(0, 0, fit),
        y.clone().narrow(0, 0, fit),
        &c,
    )
    .map_err(|e| err("uap", e))?;
    let held = (fit < n).then(|| {
        let v = Tensor::<4>::from_data(TensorData::new(r.perturbation.clone(), r.shape), s.device);
        let xv = (x.clone().narrow(0, fit, n - fit) + v).clamp(0.0, 1.0);
        let (acc, _) = accuracy_and_loss(s.model, &xv, &y.clone().narrow(0, fit, n - fit));
        1.0 - acc
    });
    let record = UapRecord {
        norm,
        xi: eps,
        fooling_rate: r.fooling_rate,
        held_out_fooling_rate: held,
        fit_samples: fit,
        converged: r.converged,
        iterations: r.iterations,
        perturbation_norm: r.perturbation_norm,
    };
    serde_json::to_value(record).map_err(|e| err("uap", e))
}

/// The first hidden layer (W¹) as a host matrix, with its name.
fn first_layer(model: &Model) -> Result<(String, LayerMatrix), EvalError> {
    model
        .effective_matrices(Selection::ALL)
        .into_iter()
        .next()
        .ok_or_else(|| err("model", "has no layers"))
}

/// Accuracy with W¹ replaced by its best rank-r approximation, for each r (paper Figure 4,
/// centre left). Only for models whose first layer is not factorised.
fn rank_truncation(
    model: &Model,
    x: &Tensor<4>,
    y: &Tensor<1, Int>,
    ranks: &[usize],
) -> Result<serde_json::Value, EvalError> {
    let (name, m) = first_layer(model)?;
    let layer = model.layer(&name).map_err(|_| {
        err(
            "rank-truncation",
            format!("`{name}` is factorised; truncate a full-rank model"),
        )
    })?;
    let w = from_rows_f32(m.rows, m.cols, &m.data).map_err(|e| err("rank-truncation", e))?;
    let d = svd::thin_svd(&w).map_err(|e| err("rank-truncation", e))?;
    let mut points = Vec::new();
    for &r in ranks {
        let wr = d.truncate(r);
        let data = cr_linalg::matrix::to_rows_f32(&wr);
        let truncated = model.clone().set_layer_matrix(
            &layer.name,
            &LayerMatrix {
                rows: m.rows,
                cols: m.cols,
                data,
            },
        )?;
        let (acc, _) = accuracy_and_loss(&truncated, x, y);
        points.push(RankPoint {
            rank: r.min(d.s.len()),
            accuracy: acc,
        });
    }
    let record = RankTruncation {
        layer: name,
        singular_values: d.s,
        points,
    };
    serde_json::to_value(record).map_err(|e| err("rank-truncation", e))
}

/// Accuracy with W¹ truncated to one rank.
#[derive(Debug, Clone, Serialize)]
struct RankPoint {
    rank: usize,
    accuracy: f64,
}

/// The `rank-truncation` measure, as recorded: W¹'s singular values and the accuracy at
/// each rank.
#[derive(Debug, Clone, Serialize)]
struct RankTruncation {
    layer: String,
    singular_values: Vec<f64>,
    points: Vec<RankPoint>,
}

/// The mean of `values[i]` over the samples with `mask[i]` and a finite value (`NaN` when
/// there are none).
pub fn mean_where(values: &[f64], mask: &[bool]) -> f64 {
    let (sum, n) = values
        .iter()
        .zip(mask)
        .filter(|(v, m)| **m && v.is_finite())
        .fold((0.0, 0usize), |(s, n), (v, _)| (s + v, n + 1));
    if n == 0 { f64::NAN } else { sum / n as f64 }
}

/// ‖Φ(x_adv) − Φ(x)‖/‖Φ(x)‖ and the alignment |v_iᵀa| of the perturbation with the right
/// singular vectors of W¹ (paper Figure 4, right), both over the CLEAN-CORRECT samples only
/// (`correct`): a misclassified sample is never perturbed (Δ = 0) and would pull the means
/// towards 0. `change_per_sample` lists every sample (0 for the misclassified ones).
fn representation(
    model: &Model,
    x: &Tensor<4>,
    adv: &Tensor<4>,
    correct: &[bool],
    k: usize,
) -> Result<serde_json::Value, EvalError> {
    let enc = |t: Tensor<4>| model.features(t);
    let rc = representation_change(&enc, x.clone(), adv.clone())
        .map_err(|e| err("representation", e))?;
    let kept: Vec<usize> = (0..correct.len()).filter(|&i| correct[i]).collect();
    let change_mean = mean_where(&rc.per_sample, correct);
    let change_mean_se = crate::attacking::standard_error(kept.iter().map(|&i| rc.per_sample[i]));
    let (name, m) = first_layer(model)?;
    let [_, c, h, wd] = x.dims();
    let alignment = if m.cols == c * h * wd && !kept.is_empty() {
        let w = from_rows_f32(m.rows, m.cols, &m.data).map_err(|e| err("alignment", e))?;
        let d = svd::thin_svd(&w).map_err(|e| err("alignment", e))?;
        let vectors: Vec<Vec<f32>> = (0..d.s.len())
            .map(|i| (0..m.cols).map(|j| d.v[(j, i)] as f32).collect())
            .collect();
        let idx = Tensor::<1, Int>::from_data(
            TensorData::new(
                kept.iter().map(|&i| i as i64).collect::<Vec<_>>(),
                [kept.len()],
            ),
            &x.device(),
        );
        let a = adv.clone().select(0, idx.clone()) - x.clone().select(0, idx);
        let sa = singular_alignment(a, &vectors, k.min(vectors.len()))
            .map_err(|e| err("alignment", e))?;
        Some(AlignmentRecord {
            layer: name,
            k: sa.k,
            top_mean: sa.top_mean,
            tail_mean: sa.tail_mean,
            ratio: sa.top_mean / sa.tail_mean,
            per_vector: sa.per_vector,
        })
    } else {
        None
    };
    let record = RepresentationRecord {
        change_mean,
        change_mean_se,
        change_mean_all_samples: rc.mean,
        averaged_over: "clean-correct samples",
        samples: kept.len(),
        zero_reference: rc.zero_reference,
        change_per_sample: rc.per_sample,
        alignment,
    };
    serde_json::to_value(record).map_err(|e| err("representation", e))
}

/// The alignment of a perturbation with W¹'s right singular vectors, as recorded.
#[derive(Debug, Clone, Serialize)]
struct AlignmentRecord {
    layer: String,
    k: usize,
    top_mean: f64,
    tail_mean: f64,
    /// `top_mean / tail_mean`.
    ratio: f64,
    per_vector: Vec<f64>,
}

/// The `representation` measure, as recorded (`alignment` is `null` where W¹ does not act
/// on the input or no sample is clean-correct).
#[derive(Debug, Clone, Serialize)]
struct RepresentationRecord {
    change_mean: f64,
    change_mean_se: f64,
    change_mean_all_samples: f64,
    averaged_over: &'static str,
    samples: usize,
    zero_reference: usize,
    change_per_sample: Vec<f64>,
    alignment: Option<AlignmentRecord>,
}

/// The data of paper Figure 2: the representations of test samples projected on their first
/// two principal components, the decision regions of the head in that plane, and one sample's
/// clean and adversarial representation (the first test sample the attack breaks).
fn boundary(
    model: &Model,
    test: &Dataset,
    spec: &AttackSpec,
    seed: u64,
    device: &Device,
) -> Result<serde_json::Value, EvalError> {
    let sub = test.balanced(500);
    let (x, y) = sub.tensors(device);
    let (adv, _) = adversarial(model, spec, &x, &y, seed)?;
    let z = features(model, &x)?;
    let za = features(model, &adv)?;
    let n = sub.len();
    let pca = Pca2::of(&z, n)?;
    let hdim = pca.hdim;
    let points: Vec<[f64; 2]> = (0..n)
        .map(|i| pca.project(&z[i * hdim..(i + 1) * hdim]))
        .collect();
    let classes = |t: Tensor<4>| predicted(model.forward(t).argmax(1).reshape([n]));
    let (pc_clean, pc_adv) = (classes(x.clone())?, classes(adv.clone())?);
    // The first sample classified correctly whose attack succeeds.
    let chosen = (0..n)
        .find(|&i| pc_clean[i] == sub.labels[i] as i64 && pc_adv[i] != pc_clean[i])
        .or_else(|| (0..n).find(|&i| pc_clean[i] == sub.labels[i] as i64))
        .unwrap_or(0);
    let clean = pca.project(&z[chosen * hdim..(chosen + 1) * hdim]);
    let adv_p = pca.project(&za[chosen * hdim..(chosen + 1) * hdim]);
    let grid = RegionGrid::around(points.iter().chain([&clean, &adv_p]), 60);
    let regions = grid.classes(model, &pca, device)?;
    let img = |t: &Tensor<4>| -> Vec<f32> {
        t.clone()
            .narrow(0, chosen, 1)
            .into_data()
            .try_to_vec::<f32>()
            .unwrap_or_default()
    };
    let (xi, xa) = (img(&x), img(&adv));
    let perturbation: Vec<f32> = xa.iter().zip(&xi).map(|(a, b)| a - b).collect();
    let g = grid.size;
    let record = BoundaryRecord {
        attack: spec.label(),
        points,
        sample: chosen,
        sample_label: sub.labels[chosen],
        labels: sub.labels,
        clean,
        adversarial: adv_p,
        clean_prediction: pc_clean[chosen],
        adversarial_prediction: pc_adv[chosen],
        grid: GridRecord {
            size: g,
            x: (0..g).map(|t| grid.axis(0, t)).collect(),
            y: (0..g).map(|t| grid.axis(1, t)).collect(),
            class: regions,
        },
        image: xi,
        perturbation,
        image_shape: sub.shape,
        explained_variance: pca
            .variance
            .iter()
            .take(2)
            .map(|s| s * s / n as f64)
            .collect(),
    };
    serde_json::to_value(record).map_err(|e| err("boundary", e))
}

/// The `boundary` measure, as recorded (paper Figure 2).
#[derive(Debug, Clone, Serialize)]
struct BoundaryRecord {
    attack: String,
    /// Each test sample's representation on the two principal components.
    points: Vec<[f64; 2]>,
    labels: Vec<u16>,
    /// The sample drawn with its attack.
    sample: usize,
    sample_label: u16,
    clean: [f64; 2],
    adversarial: [f64; 2],
    clean_prediction: i64,
    adversarial_prediction: i64,
    grid: GridRecord,
    /// The sample's image and its perturbation, `image_shape`.
    image: Vec<f32>,
    perturbation: Vec<f32>,
    image_shape: [usize; 3],
    /// The variance along the two components.
    explained_variance: Vec<f64>,
}

/// The head's class on a grid of the principal plane, row by row.
#[derive(Debug, Clone, Serialize)]
struct GridRecord {
    size: usize,
    x: Vec<f64>,
    y: Vec<f64>,
    class: Vec<i64>,
}

/// The encoder's representation of `x`, row-major on the host.
fn features(model: &Model, x: &Tensor<4>) -> Result<Vec<f32>, EvalError> {
    model
        .features(x.clone())
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|e| err("boundary", format!("{e:?}")))
}

/// Predicted classes, read as i64 whatever the backend's int type (i32 on flex and GPUs).
fn predicted(t: Tensor<1, Int>) -> Result<Vec<i64>, EvalError> {
    t.try_into_vec_as::<i64>()
        .map_err(|e| err("boundary", format!("reading predicted classes: {e:?}")))
}

/// The first two principal components of `n` representations of `hdim` values each.
struct Pca2 {
    hdim: usize,
    mean: Vec<f64>,
    /// The right singular vectors of the centred representations (columns 0 and 1 used).
    v: cr_linalg::Mat<f64>,
    /// Their singular values.
    variance: Vec<f64>,
}

impl Pca2 {
    fn of(z: &[f32], n: usize) -> Result<Self, EvalError> {
        let hdim = z.len() / n.max(1);
        let mean: Vec<f64> = (0..hdim)
            .map(|j| (0..n).map(|i| z[i * hdim + j] as f64).sum::<f64>() / n as f64)
            .collect();
        let centered = cr_linalg::Mat::from_fn(n, hdim, |i, j| z[i * hdim + j] as f64 - mean[j]);
        let d = svd::thin_svd(&centered).map_err(|e| err("boundary PCA", e))?;
        Ok(Self {
            hdim,
            mean,
            v: d.v,
            variance: d.s,
        })
    }

    /// Component `comp` of the representation axis `j`.
    fn pc(&self, j: usize, comp: usize) -> f64 {
        self.v[(j, comp)]
    }

    /// A representation's coordinates on the two components.
    fn project(&self, v: &[f32]) -> [f64; 2] {
        let mut p = [0.0; 2];
        for (c, pj) in p.iter_mut().enumerate() {
            *pj = (0..self.hdim)
                .map(|j| (v[j] as f64 - self.mean[j]) * self.pc(j, c))
                .sum();
        }
        p
    }
}

/// A `size`×`size` grid over the plane of the two components, 10% wider than the points.
struct RegionGrid {
    size: usize,
    lo: [f64; 2],
    hi: [f64; 2],
}

impl RegionGrid {
    fn around<'p>(points: impl Iterator<Item = &'p [f64; 2]>, size: usize) -> Self {
        let (mut lo, mut hi) = ([f64::MAX; 2], [f64::MIN; 2]);
        for p in points {
            for c in 0..2 {
                lo[c] = lo[c].min(p[c]);
                hi[c] = hi[c].max(p[c]);
            }
        }
        Self { size, lo, hi }
    }

    fn pad(&self, c: usize) -> f64 {
        0.1 * (self.hi[c] - self.lo[c]).max(1e-6)
    }

    /// Coordinate `t` of axis `c`.
    fn axis(&self, c: usize, t: usize) -> f64 {
        let (lo, hi, pad) = (self.lo[c], self.hi[c], self.pad(c));
        lo - pad + (hi - lo + 2.0 * pad) * t as f64 / (self.size - 1) as f64
    }

    /// Decision regions: the head's class at `mean + a·pc1 + b·pc2` for every grid point,
    /// row by row.
    fn classes(&self, model: &Model, pca: &Pca2, device: &Device) -> Result<Vec<i64>, EvalError> {
        let (g, hdim) = (self.size, pca.hdim);
        let mut grid = Vec::with_capacity(g * g * hdim);
        for bi in 0..g {
            for ai in 0..g {
                let (a, b) = (self.axis(0, ai), self.axis(1, bi));
                grid.extend(
                    (0..hdim).map(|j| (pca.mean[j] + a * pca.pc(j, 0) + b * pca.pc(j, 1)) as f32),
                );
            }
        }
        let zg = Tensor::<2>::from_data(TensorData::new(grid, [g * g, hdim]), device);
        predicted(model.net.head(zg).argmax(1).reshape([g * g]))
    }
}

#[cfg(test)]
mod tests {
    use super::mean_where;

    /// ‖z_adv − z‖/‖z‖ is averaged over the clean-correct samples: a misclassified sample
    /// (never perturbed, 0) and a zero reference (NaN) are left out.
    #[test]
    fn representation_change_averages_clean_correct_samples() {
        let v = [0.5, 0.0, f64::NAN, 0.3, 0.0];
        let m = [true, false, true, true, false];
        assert!((mean_where(&v, &m) - 0.4).abs() < 1e-15);
        assert!(mean_where(&v, &[false; 5]).is_nan());
    }
}
