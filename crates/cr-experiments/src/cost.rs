//! Cost estimates for `--dry-run`: floating-point operations of a run from its model's FLOPs,
//! its data sizes, epochs, adversarial training and evaluation attacks.

use cr_attacks::AttackName;

use crate::config::RunConfig;
use crate::error::ExpError;

/// Estimated work of one run.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Cost {
    /// Forward FLOPs per sample.
    pub model_flops: u64,
    /// Training FLOPs (forward + backward ≈ 3× forward, per epoch, all epochs).
    pub train: f64,
    /// Evaluation FLOPs (attacks: 3× forward per step).
    pub eval: f64,
}

impl Cost {
    /// Total FLOPs.
    pub fn total(&self) -> f64 {
        self.train + self.eval
    }
}

/// The cost of `cfg` (building the model lazily: nothing is allocated).
pub fn estimate(cfg: &RunConfig) -> Result<Cost, ExpError> {
    let model = cr_models::Model::build(&cfg.model, &cr_models::device::cpu())?;
    let f = model.flops() as f64;
    cr_data::source::describe(&cfg.data.name).map_err(|e| ExpError::Data(e.to_string()))?;
    let (n_train, n_test) = sizes(&cfg.data.name);
    let n_train = cfg.data.train_subset.map_or(n_train, |s| s.min(n_train)) as f64;
    let n_test = cfg
        .eval
        .test_samples
        .or(cfg.data.test_subset)
        .map_or(n_test, |s| s.min(n_test)) as f64;
    let at = cfg
        .adversarial
        .as_ref()
        .map_or(1.0, |a| 1.0 + a.fraction * a.steps as f64);
    let train = 3.0 * f * n_train * cfg.train.epochs as f64 * at;
    let steps: f64 = cfg
        .eval
        .attacks
        .iter()
        .map(|a| (a.steps_or_default() * a.restarts.unwrap_or(1)) as f64)
        .sum();
    let eval = 3.0 * f * n_test * (1.0 + steps + 20.0 * cfg.eval.measures.len() as f64);
    Ok(Cost {
        model_flops: model.flops(),
        train,
        eval,
    })
}

/// Train and test sizes of the full data sets (embedded subsets for the embedded names).
fn sizes(name: &str) -> (usize, usize) {
    let parts = match name.split_once(':') {
        Some((n, d)) => (n, Some(d)),
        None => (name, None),
    };
    match parts {
        ("mnist" | "fashion-mnist", None) => (8000, 2000),
        ("mnist" | "fashion-mnist", Some(_)) => (60000, 10000),
        ("uci-digits", _) => (1442, 355),
        ("cifar10" | "cifar100" | "cifar100-coarse", _) => (50000, 10000),
        ("svhn", _) => (73257, 26032),
        ("svhn-extra", _) => (604388, 26032),
        _ => (2000, 500),
    }
}

/// Per-step costs of a run's model measured on this machine (`--dry-run --measure`): its
/// architecture at its real size, trained for a few steps at its real batch size with its
/// regularisers and adversarial training, and attacked for a few steps.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct StepCost {
    /// Parameters of the model.
    pub params: usize,
    /// The training batch size the steps ran at (the run's).
    pub batch_size: usize,
    /// Wall seconds of one training step (forward, backward, hooks, optimizer).
    pub train_step_s: f64,
    /// Wall seconds of one attack iteration (a forward and an input gradient) per sample.
    pub attack_step_per_sample_s: f64,
    /// Peak resident memory of the process while training and attacking, bytes (Linux:
    /// `VmHWM` after resetting it; `None` elsewhere).
    pub peak_rss_bytes: Option<u64>,
    /// Resident memory when the measurement began: what the process already held (from the
    /// experiments measured before it, and its allocator's caches). The peak includes it, so
    /// for a small model the peak is an upper bound on its own footprint.
    pub rss_before_bytes: Option<u64>,
}

/// Training steps timed by [`measure_steps`] (after one untimed warm-up step).
pub const TIMED_TRAIN_STEPS: usize = 2;
/// Attack iterations timed by [`measure_steps`] (after an untimed warm-up attack).
pub const TIMED_ATTACK_STEPS: usize = 2;

/// `n` seeded stand-in samples of the run's input shape and classes (what is timed does not
/// depend on the pixel values).
fn stand_in(cfg: &RunConfig, n: usize) -> Result<cr_data::Dataset, ExpError> {
    use rand::{Rng, SeedableRng};
    let shape = cfg.model.input;
    let d: usize = shape.iter().product();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(cfg.init_seed);
    let images = (0..n * d).map(|_| rng.random::<f32>()).collect();
    let labels = (0..n).map(|i| (i % cfg.model.num_classes) as u16).collect();
    cr_data::Dataset::new(
        "stand-in",
        images,
        labels,
        shape,
        cfg.model.num_classes,
        std::path::Path::new("stand-in"),
    )
    .map_err(|e| ExpError::Data(e.to_string()))
}

/// Trains `cfg`'s model on `steps` batches of `data` (one epoch, no validation split, its
/// hooks); returns the wall seconds and the model.
fn timed_training(
    cfg: &RunConfig,
    data: &cr_data::Dataset,
    steps: usize,
    device: &burn::prelude::Device,
) -> Result<(f64, cr_models::Model), ExpError> {
    let spec = crate::execute::model_spec(cfg, data)?;
    let initial = cr_models::Model::new(&spec, device, cfg.init_seed)?;
    let mut hooks = crate::execute::hooks(cfg, &initial)?;
    let train = cr_train::TrainConfig {
        epochs: 1,
        val_fraction: 0.0,
        early_stopping: None,
        max_steps: Some(steps as u64),
        ..cfg.train.clone()
    };
    let start = std::time::Instant::now();
    let out = cr_train::train(
        initial,
        data,
        &train,
        &mut hooks,
        &cr_train::TrainOptions::default(),
        device,
    )?;
    Ok((start.elapsed().as_secs_f64(), out.model))
}

/// Attacks the first `n` samples of `data` with `cfg`'s first attack (or PGD) for `steps`
/// iterations, one restart; returns the wall seconds.
fn timed_attack(
    cfg: &RunConfig,
    model: &cr_models::Model,
    data: &cr_data::Dataset,
    steps: usize,
    device: &burn::prelude::Device,
) -> Result<f64, ExpError> {
    let mut spec = cfg
        .eval
        .attacks
        .first()
        .cloned()
        .unwrap_or(crate::config::AttackSpec {
            attack: AttackName::Pgd,
            norm: crate::config::Norm::Linf,
            eps: 8.0 / 255.0,
            steps: None,
            restarts: None,
            step_size: None,
            mode: None,
            version: None,
        });
    spec.steps = Some(steps);
    spec.restarts = Some(1);
    let (x, y) = data.tensors(device);
    let start = std::time::Instant::now();
    cr_eval::attacking::adversarial(model, &spec, &x, &y, 0)?;
    Ok(start.elapsed().as_secs_f64())
}

/// Measures one training step of `cfg` at its batch size and one attack iteration per sample,
/// on `device`: an untimed warm-up of each, then [`TIMED_TRAIN_STEPS`] training steps and
/// [`TIMED_ATTACK_STEPS`] attack iterations on a batch, with the memory high-water mark reset
/// before them.
pub fn measure_steps(
    cfg: &RunConfig,
    device: &burn::prelude::Device,
) -> Result<StepCost, ExpError> {
    let b = cfg.train.batch_size.max(2);
    let data = stand_in(cfg, b * TIMED_TRAIN_STEPS)?;
    let (_, model) = timed_training(cfg, &data, 1, device)?;
    let attack_n = b.min(cr_eval::attacking::ATTACK_BATCH);
    let batch = data.first(attack_n);
    timed_attack(cfg, &model, &batch, 1, device)?;
    let reset = cr_bench::reset_peak();
    let before = cr_bench::current_rss();
    let (train_s, model) = timed_training(cfg, &data, TIMED_TRAIN_STEPS, device)?;
    let attack_s = timed_attack(cfg, &model, &batch, TIMED_ATTACK_STEPS, device)?;
    Ok(StepCost {
        params: model.num_params(),
        batch_size: b,
        train_step_s: train_s / TIMED_TRAIN_STEPS as f64,
        attack_step_per_sample_s: attack_s / (TIMED_ATTACK_STEPS * attack_n) as f64,
        peak_rss_bytes: if reset { cr_bench::peak_rss() } else { None },
        rss_before_bytes: if reset { before } else { None },
    })
}

/// How many steps a run takes at its full sizes: what [`StepCost`] is multiplied by.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct StepCounts {
    /// Training steps (all epochs, the validation split held out).
    pub train_steps: f64,
    /// Head-training steps of the transfer stage (each costs about a third of a training
    /// step: a forward pass of the frozen encoder and the head's update).
    pub transfer_steps: f64,
    /// Attack iterations summed over test samples (attacks × restarts × steps × samples, and
    /// the attacks of the measures: pruning's per ratio and method, 20 per other measure).
    pub attack_sample_steps: f64,
}

fn attack_steps(a: &crate::config::AttackSpec) -> f64 {
    let per = if a.attack == AttackName::AutoAttack {
        4
    } else {
        1
    };
    (a.steps_or_default() * a.restarts.unwrap_or(1) * per) as f64
}

/// The step counts of `cfg` at its data sets' full sizes (or its subsets).
pub fn step_counts(cfg: &RunConfig) -> StepCounts {
    let (n_train, n_test) = sizes(&cfg.data.name);
    let n_train = cfg.data.train_subset.map_or(n_train, |s| s.min(n_train)) as f64;
    let n_test = cfg
        .eval
        .test_samples
        .or(cfg.data.test_subset)
        .map_or(n_test, |s| s.min(n_test)) as f64;
    let per_epoch =
        (n_train * (1.0 - cfg.train.val_fraction) / cfg.train.batch_size.max(1) as f64).ceil();
    let transfer_steps = cfg.transfer.as_ref().map_or(0.0, |t| {
        let (n, _) = sizes(&t.data.name);
        let n = t.data.train_subset.map_or(n, |s| s.min(n)) as f64;
        (n * (1.0 - t.train.val_fraction) / t.train.batch_size.max(1) as f64).ceil()
            * t.train.epochs as f64
    });
    let ev = &cfg.eval;
    let mut steps: f64 = ev
        .attacks
        .iter()
        .chain(&ev.cross_check)
        .map(attack_steps)
        .sum::<f64>()
        + 1.0;
    for m in &ev.measures {
        steps += match (m, &ev.settings.pruning) {
            (cr_eval::config::Measure::Pruning, Some(p)) => {
                let a = ev
                    .settings
                    .attack
                    .as_ref()
                    .or(ev.attacks.first())
                    .map_or(10.0, attack_steps);
                (p.ratios.len() * p.methods.len()) as f64 * (a + 1.0)
            }
            _ => 20.0,
        };
    }
    StepCounts {
        train_steps: per_epoch * cfg.train.epochs as f64,
        transfer_steps,
        attack_sample_steps: steps * n_test,
    }
}

/// Wall seconds of a run with `counts` steps at the measured `cost`.
pub fn extrapolate(cost: &StepCost, counts: &StepCounts) -> f64 {
    counts.train_steps * cost.train_step_s
        + counts.transfer_steps * cost.train_step_s / 3.0
        + counts.attack_sample_steps * cost.attack_step_per_sample_s
}
