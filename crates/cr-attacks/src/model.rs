//! The model interface and the few primitives every attack shares: validated inputs, one
//! forward+backward for input gradients, and reads back to the host.

use burn::prelude::*;

use crate::error::{AttackError, Result};
use crate::loss::Loss;

/// Anything that maps a batch of images `[B, C, H, W]` (f32 in `[0, 1]`) to logits `[B, K]`.
///
/// Pass a model in evaluation mode (burn: `model.valid()`), on a device without autodiff: the
/// attacks make the *input* an autodiff leaf and differentiate through the model with its
/// parameters as constants. Every closure `Fn(Tensor<4>) -> Tensor<2>` is a `Classifier`, so
/// `|x| model.forward(x)` works. The same trait serves encoders `x ↦ Φ(x)` (see
/// [`crate::representation_change`]).
pub trait Classifier {
    /// Logits (or features, for an encoder) of a batch.
    fn logits(&self, x: Tensor<4>) -> Tensor<2>;
}

impl<F> Classifier for F
where
    F: Fn(Tensor<4>) -> Tensor<2>,
{
    fn logits(&self, x: Tensor<4>) -> Tensor<2> {
        self(x)
    }
}

/// Passes through the model, counted per sample (a batch of B images is B passes): the
/// machine-independent cost of an attack (as A3 and MALT report it). Every forward and
/// backward of every attack goes through [`forward`] and [`probe_with`], which count on the
/// calling thread.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PassCount {
    /// Forward passes.
    pub forward: u64,
    /// Backward passes (input gradients).
    pub backward: u64,
}

impl std::ops::Sub for PassCount {
    type Output = PassCount;
    fn sub(self, o: PassCount) -> PassCount {
        PassCount {
            forward: self.forward.saturating_sub(o.forward),
            backward: self.backward.saturating_sub(o.backward),
        }
    }
}

thread_local! {
    static PASSES: std::cell::Cell<PassCount> = const {
        std::cell::Cell::new(PassCount { forward: 0, backward: 0 })
    };
}

/// The passes counted on this thread so far (differences of two readings are what an
/// attack cost).
pub fn passes_on_this_thread() -> PassCount {
    PASSES.with(|c| c.get())
}

fn count_passes(forward: usize, backward: usize) {
    PASSES.with(|c| {
        let p = c.get();
        c.set(PassCount {
            forward: p.forward + forward as u64,
            backward: p.backward + backward as u64,
        });
    });
}

/// Logits of `x` without autodiff.
pub(crate) fn forward<C: Classifier + ?Sized>(model: &C, x: Tensor<4>) -> Tensor<2> {
    count_passes(x.dims()[0], 0);
    model.logits(x).inner()
}

/// `argmax(z) == y` per sample, `[B]`.
pub(crate) fn correct(logits: Tensor<2>, y: Tensor<1, Int>) -> Tensor<1, Bool> {
    let b = logits.dims()[0];
    logits.argmax(1).reshape([b]).equal(y)
}

/// Loss, logits and input gradient at one point (one forward and, if `need_grad`, one
/// backward). Everything returned is off autodiff.
pub(crate) struct Probe {
    /// Per-sample loss `[B]`.
    pub loss: Tensor<1>,
    /// Logits `[B, K]`.
    pub logits: Tensor<2>,
    /// `∇_x loss` per sample (the gradient of the sum), `[B, C, H, W]`; zeros when not
    /// requested or when the output does not depend on the input.
    pub grad: Tensor<4>,
    /// False when the model output was not connected to the input.
    pub tracked: bool,
}

/// Evaluates `objective(model(x), y)` and, if `need_grad`, its input gradient.
pub(crate) fn probe_with<C, O>(
    model: &C,
    x: Tensor<4>,
    y: Tensor<1, Int>,
    need_grad: bool,
    objective: O,
) -> Probe
where
    C: Classifier + ?Sized,
    O: Fn(Tensor<2>, Tensor<1, Int>) -> Tensor<1>,
{
    if !need_grad {
        let logits = forward(model, x.clone());
        let loss = objective(logits.clone(), y);
        return Probe {
            loss,
            logits,
            grad: x.zeros_like(),
            tracked: true,
        };
    }
    count_passes(x.dims()[0], x.dims()[0]);
    let leaf = x.clone().inner().autodiff().require_grad();
    let logits = model.logits(leaf.clone());
    let loss = objective(logits.clone(), y);
    let total = loss.clone().sum();
    let tracked = total.is_tracked();
    let grad = if tracked {
        let grads = total.backward();
        leaf.grad(&grads).unwrap_or_else(|| x.zeros_like())
    } else {
        x.zeros_like()
    };
    Probe {
        loss: loss.inner(),
        logits: logits.inner(),
        grad,
        tracked,
    }
}

/// [`probe_with`] for an attack loss.
pub(crate) fn probe<C: Classifier + ?Sized>(
    model: &C,
    x: Tensor<4>,
    y: Tensor<1, Int>,
    loss: Loss,
    need_grad: bool,
) -> Probe {
    probe_with(model, x, y, need_grad, move |z, y| loss.per_sample(z, y))
}

/// Validated inputs of an attack, with the clean evaluation.
pub(crate) struct Batch {
    /// Images `[B, C, H, W]`, off autodiff.
    pub x: Tensor<4>,
    /// Labels `[B]`.
    pub y: Tensor<1, Int>,
    /// Number of logits.
    pub num_classes: usize,
    /// Clean correctness on the device.
    pub correct: Tensor<1, Bool>,
    /// Clean correctness on the host.
    pub correct_host: Vec<bool>,
}

impl Batch {
    /// Number of samples.
    pub fn len(&self) -> usize {
        self.correct_host.len()
    }

    /// Image shape `[B, C, H, W]`.
    pub fn dims(&self) -> [usize; 4] {
        self.x.dims()
    }
}

/// Checks shapes, labels and (if `clip`) the input range, and evaluates the clean batch.
pub(crate) fn prepare<C: Classifier + ?Sized>(
    model: &C,
    x: Tensor<4>,
    y: Tensor<1, Int>,
    clip: bool,
) -> Result<Batch> {
    let x = x.inner();
    let y = y.inner();
    let [b, c, h, w] = x.dims();
    if b == 0 || c * h * w == 0 {
        return Err(AttackError::Shape(format!(
            "the input batch [{b}, {c}, {h}, {w}] is empty"
        )));
    }
    let [nb] = y.dims();
    if nb != b {
        return Err(AttackError::Shape(format!("{b} images but {nb} labels")));
    }
    if clip {
        let min: f32 = x.clone().min().into_scalar();
        let max: f32 = x.clone().max().into_scalar();
        if !(min >= 0.0 && max <= 1.0) {
            return Err(AttackError::InputRange { min, max });
        }
    }
    let logits = forward(model, x.clone());
    let [lb, k] = logits.dims();
    if lb != b {
        return Err(AttackError::Shape(format!(
            "the model returned {lb} rows of logits for {b} images"
        )));
    }
    if k < 2 {
        return Err(AttackError::Shape(format!(
            "the model returned {k} logit(s) per sample; attacks need at least 2 classes"
        )));
    }
    let labels = read_i64(y.clone(), "labels")?;
    if let Some((index, &label)) = labels
        .iter()
        .enumerate()
        .find(|(_, l)| **l < 0 || **l >= k as i64)
    {
        return Err(AttackError::LabelOutOfRange {
            index,
            label,
            num_classes: k,
        });
    }
    let correct = correct(logits, y.clone());
    let correct_host = read_bool(correct.clone(), "clean predictions")?;
    Ok(Batch {
        x,
        y,
        num_classes: k,
        correct,
        correct_host,
    })
}

/// Reads a float tensor to the host.
pub(crate) fn read_f32<const D: usize>(t: Tensor<D>, what: &'static str) -> Result<Vec<f32>> {
    t.try_into_vec_as::<f32>().map_err(|e| AttackError::Read {
        what,
        message: format!("{e:?}"),
    })
}

/// Reads an integer tensor to the host.
pub(crate) fn read_i64<const D: usize>(t: Tensor<D, Int>, what: &'static str) -> Result<Vec<i64>> {
    t.try_into_vec_as::<i64>().map_err(|e| AttackError::Read {
        what,
        message: format!("{e:?}"),
    })
}

/// Reads a boolean tensor to the host.
pub(crate) fn read_bool<const D: usize>(
    t: Tensor<D, Bool>,
    what: &'static str,
) -> Result<Vec<bool>> {
    Ok(read_i64(t.int(), what)?
        .into_iter()
        .map(|v| v != 0)
        .collect())
}

/// An index tensor on `device`.
pub(crate) fn index_tensor(idx: &[usize], device: &Device) -> Tensor<1, Int> {
    let v: Vec<i64> = idx.iter().map(|&i| i as i64).collect();
    Tensor::from_data(TensorData::new(v, [idx.len()]), device)
}

/// A boolean mask tensor on `device`.
pub(crate) fn mask_tensor(mask: &[bool], device: &Device) -> Tensor<1, Bool> {
    Tensor::<1, Bool>::from_data(TensorData::new(mask.to_vec(), [mask.len()]), device)
}

/// Writes `part` (rows for the positions `positions` of a batch of `full.dims()[0]` rows) into
/// `full` where `take` (a host mask over `positions`) holds, by one gather: works on every
/// backend (no scatter-assign needed).
pub(crate) fn scatter_rows<const D: usize>(
    full: Tensor<D>,
    part: Tensor<D>,
    positions: &[usize],
    take: &[bool],
) -> Tensor<D> {
    let n = full.dims()[0];
    let device = full.device();
    let mut map: Vec<usize> = (0..n).collect();
    for (j, (&p, &t)) in positions.iter().zip(take).enumerate() {
        if t {
            map[p] = n + j;
        }
    }
    Tensor::cat(vec![full, part], 0).select(0, index_tensor(&map, &device))
}
