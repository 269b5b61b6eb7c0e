//! The suite's workloads, one function each, in the order of [`WORKLOADS`].

use burn::prelude::*;
use rand::{Rng, SeedableRng};

use cr_attacks::{
    ApgdConfig, Attack, AttackOptions, AutoAttackConfig, Loss, Norm, PgdConfig, UapConfig,
    run_attack, universal_perturbation,
};
use cr_data::Dataset;
use cr_linalg::{Mat, norms, svd};
use cr_models::{Arch, Model, ModelSpec};
use cr_train::{NoHooks, TrainConfig, TrainOptions};

use crate::measure::measure;
use crate::{BenchError, BenchRow};

/// A workload: measures one thing and says what it measured.
pub(crate) type Workload = fn(&mut Suite<'_>) -> Result<BenchRow, BenchError>;

/// Every workload, by name, in the order they run.
pub(crate) const WORKLOADS: [(&str, Workload); 13] = [
    ("train-fcn", train_fcn),
    ("train-cnn", train_cnn),
    ("resnet18-step", resnet18_step),
    ("resnet18-grad", resnet18_grad),
    ("pgd-10", pgd_10),
    ("apgd-ce-100", apgd_ce_100),
    ("autoattack", autoattack),
    ("autoattack-cnn-linf", autoattack_cnn_linf),
    ("autoattack-cnn-l2", autoattack_cnn_l2),
    ("uap", uap),
    ("svd-512", svd_512),
    ("svd-2048", svd_2048),
    ("norms-2048", norms_2048),
];

fn err(what: &str, e: impl std::fmt::Display) -> BenchError {
    BenchError::Workload {
        what: what.to_string(),
        problem: e.to_string(),
    }
}

/// What the workloads share: the device, the data, and the FCN the attacks run on (trained
/// by `train-fcn`, or untimed by the first attack that needs it).
pub(crate) struct Suite<'a> {
    device: &'a Device,
    quick: bool,
    /// MNIST training samples of the FCN.
    train: Dataset,
    /// MNIST test samples the attacks run on.
    x: Tensor<4>,
    y: Tensor<1, Int>,
    n_attack: usize,
    fcn: Option<Model>,
    /// The small CNN the CNN attack rows run on (trained untimed when first needed).
    cnn: Option<Model>,
}

impl<'a> Suite<'a> {
    pub(crate) fn new(device: &'a Device, quick: bool) -> Result<Self, BenchError> {
        let mnist = cr_data::load("mnist", None).map_err(|e| err("data", e))?;
        let n_train = if quick { 500 } else { mnist.train.len() };
        let n_attack = if quick { 100 } else { 1000 };
        let (x, y) = mnist.test.balanced(n_attack).tensors(device);
        Ok(Self {
            device,
            quick,
            train: mnist.train.balanced(n_train),
            x,
            y,
            n_attack,
            fcn: None,
            cnn: None,
        })
    }

    /// The FCN, trained for one epoch if no workload has trained it yet.
    fn fcn(&mut self) -> Result<&Model, BenchError> {
        if self.fcn.is_none() {
            let (.., model) = train_epoch(&fcn_spec(), &self.train, self.device)?;
            self.fcn = Some(model);
        }
        self.fcn.as_ref().ok_or_else(|| err("training", "no model"))
    }

    /// The small CNN (conv 8, 16; dense 64), trained untimed for one epoch on the FCN's
    /// training samples the first time a workload needs it.
    fn cnn(&mut self) -> Result<&Model, BenchError> {
        if self.cnn.is_none() {
            let (.., model) = train_epoch(&small_cnn_spec(), &self.train, self.device)?;
            self.cnn = Some(model);
        }
        self.cnn.as_ref().ok_or_else(|| err("training", "no model"))
    }
}

/// The cpu-scale CNN of `train-cnn` and the CNN attack rows.
fn small_cnn_spec() -> ModelSpec {
    ModelSpec {
        arch: Arch::Cnn {
            channels: vec![8, 16],
            hidden: 64,
            layer_rank: None,
        },
        input: [1, 28, 28],
        num_classes: 10,
        pruned: Default::default(),
        normalize: None,
    }
}

fn fcn_spec() -> ModelSpec {
    ModelSpec {
        arch: Arch::Fcn {
            width: 400,
            depth: 1,
            bias: false,
            layer_rank: None,
        },
        input: [1, 28, 28],
        num_classes: 10,
        pruned: Default::default(),
        normalize: None,
    }
}

fn row(
    workload: &str,
    what: String,
    value: f64,
    unit: &str,
    seconds: f64,
    peak: Option<u64>,
) -> BenchRow {
    BenchRow {
        workload: workload.into(),
        what,
        value,
        unit: unit.into(),
        seconds,
        peak_rss_bytes: peak,
    }
}

/// One epoch of training `spec` on `data` (AdamW 1e-3, batch 100, no validation split);
/// returns samples per second, seconds, peak memory and the trained model.
fn train_epoch(
    spec: &ModelSpec,
    data: &Dataset,
    device: &Device,
) -> Result<(f64, f64, Option<u64>, Model), BenchError> {
    train_epoch_in(spec, data, device, 100)
}

/// [`train_epoch`] in batches of `batch_size`.
fn train_epoch_in(
    spec: &ModelSpec,
    data: &Dataset,
    device: &Device,
    batch_size: usize,
) -> Result<(f64, f64, Option<u64>, Model), BenchError> {
    let cfg = TrainConfig {
        epochs: 1,
        batch_size,
        val_fraction: 0.0,
        early_stopping: None,
        ..TrainConfig::default()
    };
    let warm = data.balanced((2 * batch_size).min(data.len()));
    let mut trained = None;
    let (_, secs, peak) = measure(|warmup| {
        let model = Model::new(spec, device, 0).map_err(|e| err("model", e))?;
        let d = if warmup { &warm } else { data };
        let out = cr_train::train(
            model,
            d,
            &cfg,
            &mut NoHooks,
            &TrainOptions::default(),
            device,
        )
        .map_err(|e| err("training", e))?;
        if !warmup {
            trained = Some(out.model);
        }
        Ok(())
    })?;
    let model = trained.ok_or_else(|| err("training", "no model"))?;
    Ok((data.len() as f64 / secs, secs, peak, model))
}

fn train_fcn(s: &mut Suite<'_>) -> Result<BenchRow, BenchError> {
    let (rate, secs, peak, model) = train_epoch(&fcn_spec(), &s.train, s.device)?;
    s.fcn = Some(model);
    Ok(row(
        "train-fcn",
        format!(
            "784-400-10 FCN, 1 epoch of {} MNIST samples, batch 100, AdamW",
            s.train.len()
        ),
        rate,
        "samples/s",
        secs,
        peak,
    ))
}

/// `train-cnn` with the device's convolution algorithm (cr_models::conv::algorithm_for).
fn train_cnn(s: &mut Suite<'_>) -> Result<BenchRow, BenchError> {
    let fashion = cr_data::load("fashion-mnist", None).map_err(|e| err("data", e))?;
    let data = fashion.train.balanced(if s.quick { 200 } else { 2000 });
    let spec = small_cnn_spec();
    let (rate, secs, peak, _) = train_epoch(&spec, &data, s.device)?;
    let conv = conv_words(s.device);
    Ok(row(
        "train-cnn",
        format!(
            "cpu-scale CNN (conv 8, 16; dense 64), 1 epoch of {} Fashion-MNIST samples, batch 100, AdamW, {conv}",
            data.len(),
        ),
        rate,
        "samples/s",
        secs,
        peak,
    ))
}

/// ResNet18 in its CIFAR form (3×3 stem, no max-pool; torchvision's widths).
fn resnet18_spec() -> ModelSpec {
    ModelSpec {
        arch: Arch::Resnet {
            blocks: [2, 2, 2, 2],
            bottleneck: false,
            width: 64,
            width_per_group: 64,
            layer_rank: None,
            stem: cr_models::Stem::Cifar,
        },
        input: [3, 32, 32],
        num_classes: 10,
        pruned: Default::default(),
        normalize: None,
    }
}

/// The device's convolution, in words.
fn conv_words(device: &Device) -> &'static str {
    match cr_models::conv::algorithm_for(device) {
        cr_models::conv::ConvAlgorithm::Flex => "cr's convolution (im2col + faer products)",
        cr_models::conv::ConvAlgorithm::Im2col => "im2col convolution",
        cr_models::conv::ConvAlgorithm::Native => "burn's native convolution",
    }
}

/// `n` CIFAR-shaped images (`3×32×32` in [0, 1], 10 classes): a seeded Gaussian mixture, as
/// CIFAR-10 itself is not embedded (the time of a step does not depend on the pixels).
fn cifar_shaped(n: usize) -> Result<Dataset, BenchError> {
    let params = format!("classes=10,shape=3x32x32,train={n},test=1,unit=true,seed=0");
    let gmm =
        cr_data::synthetic::GaussianMixture::from_params(&params).map_err(|e| err("data", e))?;
    Ok(gmm.generate().map_err(|e| err("data", e))?.train)
}

/// `resnet18-step`: training steps of ResNet18 (CIFAR stem) on batches of 64 CIFAR-shaped images.
fn resnet18_step(s: &mut Suite<'_>) -> Result<BenchRow, BenchError> {
    let data = cifar_shaped(if s.quick { 128 } else { 640 })?;
    let (rate, secs, peak, _) = train_epoch_in(&resnet18_spec(), &data, s.device, 64)?;
    Ok(row(
        "resnet18-step",
        format!(
            "ResNet18 (CIFAR stem), {} training steps (forward, backward, AdamW) on batches of 64 CIFAR-shaped images, {}; {:.3} s a step",
            data.len() / 64,
            conv_words(s.device),
            64.0 / rate,
        ),
        rate,
        "samples/s",
        secs,
        peak,
    ))
}

/// `resnet18-grad`: an attack's step on ResNet18: the forward pass and the input gradient of
/// the cross-entropy (the weights constants, as in every attack) on a batch of 64
/// CIFAR-shaped images, repeated.
fn resnet18_grad(s: &mut Suite<'_>) -> Result<BenchRow, BenchError> {
    let reps = if s.quick { 1 } else { 5 };
    let (x, y) = cifar_shaped(64)?.tensors(s.device);
    // An evaluation copy, as attacks take: batch norm on its running statistics.
    let model = Model::new(&resnet18_spec(), s.device, 0)
        .map_err(|e| err("model", e))?
        .snapshot();
    let (_, secs, peak) = measure(|_| {
        for _ in 0..reps {
            let x = x.clone().autodiff().require_grad();
            let logp = burn::tensor::activation::log_softmax(model.forward(x.clone()), 1);
            let loss = logp
                .gather(1, y.clone().autodiff().reshape([-1, 1]))
                .mean()
                .neg();
            let grads = loss.backward();
            x.grad(&grads)
                .ok_or_else(|| err("resnet18-grad", "no input gradient"))?;
        }
        Ok::<_, BenchError>(())
    })?;
    Ok(row(
        "resnet18-grad",
        format!(
            "ResNet18 (CIFAR stem), forward and input gradient of the loss (evaluation mode: weights constant, batch norm on running statistics) on a batch of 64 CIFAR-shaped images, {reps} times, {}; {:.3} s each",
            conv_words(s.device),
            secs / reps as f64,
        ),
        (64 * reps) as f64 / secs,
        "samples/s",
        secs,
        peak,
    ))
}

/// Which trained model an attack row runs on.
#[derive(Clone, Copy)]
enum Target {
    Fcn,
    Cnn,
}

/// `attack` on the suite's test samples against the FCN (warmed up on 10 of them).
fn attack_row(
    s: &mut Suite<'_>,
    name: &str,
    attack: Attack,
    what: &str,
) -> Result<BenchRow, BenchError> {
    let n = s.n_attack;
    attack_row_on(s, Target::Fcn, n, name, attack, what)
}

/// `attack` on the first `n` of the suite's test samples against `target`.
fn attack_row_on(
    s: &mut Suite<'_>,
    target: Target,
    n: usize,
    name: &str,
    attack: Attack,
    what: &str,
) -> Result<BenchRow, BenchError> {
    let n = n.min(s.n_attack);
    let (x, y) = (s.x.clone().narrow(0, 0, n), s.y.clone().narrow(0, 0, n));
    let model = match target {
        Target::Fcn => s.fcn()?,
        Target::Cnn => s.cnn()?,
    };
    let f = |x: Tensor<4>| model.forward(x);
    let opts = AttackOptions {
        batch_size: Some(500),
        sanity: false,
    };
    let (robust, secs, peak) = measure(|warmup| {
        let (xs, ys) = if warmup {
            (x.clone().narrow(0, 0, 10), y.clone().narrow(0, 0, 10))
        } else {
            (x.clone(), y.clone())
        };
        run_attack(&f, &attack, xs, ys, &opts)
            .map(|r| r.robust_accuracy)
            .map_err(|e| err(name, e))
    })?;
    Ok(row(
        name,
        format!("{what}, {n} MNIST test samples (robust accuracy {robust:.3})"),
        n as f64 / secs,
        "samples/s",
        secs,
        peak,
    ))
}

fn pgd_10(s: &mut Suite<'_>) -> Result<BenchRow, BenchError> {
    let attack = Attack::Pgd(PgdConfig::new(Norm::Linf, 0.1));
    attack_row(
        s,
        "pgd-10",
        attack,
        "PGD-10, l-inf 0.1, step 2.5·ε/10, batch 500",
    )
}

fn apgd_ce_100(s: &mut Suite<'_>) -> Result<BenchRow, BenchError> {
    let attack = Attack::Apgd(ApgdConfig::new(Norm::Linf, 0.1, Loss::Ce));
    let what = "APGD-CE, 100 iterations, 1 restart, l-inf 0.1, batch 500";
    attack_row(s, "apgd-ce-100", attack, what)
}

fn autoattack(s: &mut Suite<'_>) -> Result<BenchRow, BenchError> {
    let attack = Attack::AutoAttack(AutoAttackConfig::new(Norm::Linf, 0.1));
    let what = "AutoAttack standard (APGD-CE, APGD-T, FAB-T, Square 5000), l-inf 0.1, batch 500";
    attack_row(s, "autoattack", attack, what)
}

/// AutoAttack standard on the small CNN, `n` MNIST test samples (200; 20 with `--quick`).
fn autoattack_cnn(
    s: &mut Suite<'_>,
    name: &str,
    norm: Norm,
    eps: f32,
) -> Result<BenchRow, BenchError> {
    let attack = Attack::AutoAttack(AutoAttackConfig::new(norm, eps));
    let n = if s.quick { 20 } else { 200 };
    let what = format!(
        "AutoAttack standard, {norm:?} {eps}, small CNN (conv 8, 16; dense 64; one epoch on MNIST), {}",
        conv_words(s.device)
    );
    attack_row_on(s, Target::Cnn, n, name, attack, &what)
}

fn autoattack_cnn_linf(s: &mut Suite<'_>) -> Result<BenchRow, BenchError> {
    autoattack_cnn(s, "autoattack-cnn-linf", Norm::Linf, 0.1)
}

fn autoattack_cnn_l2(s: &mut Suite<'_>) -> Result<BenchRow, BenchError> {
    autoattack_cnn(s, "autoattack-cnn-l2", Norm::L2, 1.5)
}

fn uap(s: &mut Suite<'_>) -> Result<BenchRow, BenchError> {
    let mut c = UapConfig::new(Norm::Linf, 0.15);
    c.max_iter = if s.quick { 1 } else { 5 };
    let n = if s.quick { 50 } else { 500 };
    let (x, y) = (s.x.clone(), s.y.clone());
    let model = s.fcn()?;
    let f = |x: Tensor<4>| model.forward(x);
    let (rate, secs, peak) = measure(|warmup| {
        let k = if warmup { 10 } else { n };
        universal_perturbation(&f, x.clone().narrow(0, 0, k), y.clone().narrow(0, 0, k), &c)
            .map(|r| r.fooling_rate)
            .map_err(|e| err("uap", e))
    })?;
    Ok(row(
        "uap",
        format!(
            "universal perturbation (FGSM inner attack), l-inf 0.15, {} passes at most over {n} samples (fooling rate {rate:.3})",
            c.max_iter
        ),
        secs,
        "s",
        secs,
        peak,
    ))
}

fn random_matrix(n: usize, seed: u64) -> Mat<f64> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    Mat::from_fn(n, n, |_, _| rng.random::<f64>() - 0.5)
}

/// Runs `f` with faer on every core (the CLI otherwise runs it on one thread so that numbers
/// do not depend on the core count; the results are the same up to rounding), then restores
/// the one thread.
fn on_all_cores<T>(f: impl FnOnce() -> T) -> T {
    cr_linalg::parallel();
    let out = f();
    cr_linalg::sequential();
    out
}

fn svd_of_size(s: &Suite<'_>, name: &str, n: usize) -> Result<BenchRow, BenchError> {
    let n = if s.quick { n / 8 } else { n };
    let w = random_matrix(n, 1);
    let (_, secs, peak) =
        on_all_cores(|| measure(|_| svd::thin_svd(&w).map_err(|e| err(name, e))))?;
    Ok(row(
        name,
        format!("thin SVD (U, σ, V) of a {n}x{n} f64 matrix, faer, all cores"),
        secs,
        "s",
        secs,
        peak,
    ))
}

fn svd_512(s: &mut Suite<'_>) -> Result<BenchRow, BenchError> {
    svd_of_size(s, "svd-512", 512)
}

fn svd_2048(s: &mut Suite<'_>) -> Result<BenchRow, BenchError> {
    svd_of_size(s, "svd-2048", 2048)
}

fn norms_2048(s: &mut Suite<'_>) -> Result<BenchRow, BenchError> {
    let n = if s.quick { 256 } else { 2048 };
    let w = random_matrix(n, 2);
    let (_, secs, peak) = on_all_cores(|| {
        measure(|_| {
            let a = norms::inf_norm(&w);
            let b = norms::one_norm(&w);
            let c = norms::frobenius(&w);
            let d = svd::spectral_norm(&w).map_err(|e| err("norms", e))?;
            Ok(a + b + c + d)
        })
    })?;
    Ok(row(
        "norms-2048",
        format!(
            "‖W‖∞, ‖W‖₁, ‖W‖_F and ‖W‖₂ (σ₁ from the Gram matrix's eigenvalues) of a {n}x{n} f64 matrix"
        ),
        secs,
        "s",
        secs,
        peak,
    ))
}
