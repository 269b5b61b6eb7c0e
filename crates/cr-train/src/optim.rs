//! Optimisers with PyTorch's update rules, keyed by parameter name so that their state can be
//! checkpointed and restored into a freshly loaded model.
//!
//! burn ships optimisers too, but their state is keyed by run-time parameter ids and their
//! AdamW differs from PyTorch's in ε; cr needs bit-exact resume and the paper's settings, so
//! the two rules it uses are written out here (each a few lines; see [`Optimizer::step`]).

use std::collections::BTreeMap;

use burn::module::{Module, ModuleMapper, Param};
use burn::prelude::*;
use burn::tensor::Gradients;
use serde::{Deserialize, Serialize};

use cr_models::file::HostTensor;
use cr_models::layout::{ParamKind, PathStack};

use crate::adamw::{self, AdamwStep};
use crate::error::{TrainError, invalid};

/// Which optimiser, with its hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum OptimizerConfig {
    /// AdamW (Loshchilov & Hutter), PyTorch's `torch.optim.AdamW` rule. The paper's default:
    /// lr 1e-3, weight decay 0.01.
    Adamw {
        /// Learning rate.
        #[serde(default = "d_lr")]
        lr: f64,
        /// Decoupled weight decay.
        #[serde(default = "d_wd")]
        weight_decay: f64,
        /// β₁.
        #[serde(default = "d_b1")]
        beta1: f64,
        /// β₂.
        #[serde(default = "d_b2")]
        beta2: f64,
        /// ε.
        #[serde(default = "d_eps")]
        eps: f64,
    },
    /// SGD with momentum, PyTorch's `torch.optim.SGD` rule (coupled weight decay).
    Sgd {
        /// Learning rate.
        lr: f64,
        /// Momentum (0 for plain SGD).
        #[serde(default = "d_momentum")]
        momentum: f64,
        /// L2 weight decay added to the gradient.
        #[serde(default)]
        weight_decay: f64,
        /// Nesterov momentum.
        #[serde(default)]
        nesterov: bool,
    },
}

fn d_lr() -> f64 {
    1e-3
}
fn d_wd() -> f64 {
    0.01
}
fn d_b1() -> f64 {
    0.9
}
fn d_b2() -> f64 {
    0.999
}
fn d_eps() -> f64 {
    1e-8
}
fn d_momentum() -> f64 {
    0.9
}

impl Default for OptimizerConfig {
    fn default() -> Self {
        OptimizerConfig::Adamw {
            lr: d_lr(),
            weight_decay: d_wd(),
            beta1: d_b1(),
            beta2: d_b2(),
            eps: d_eps(),
        }
    }
}

impl OptimizerConfig {
    /// The base learning rate.
    pub fn lr(&self) -> f64 {
        match self {
            OptimizerConfig::Adamw { lr, .. } | OptimizerConfig::Sgd { lr, .. } => *lr,
        }
    }

    /// Checks every value (finite, in range), naming the field of a bad one.
    pub fn validate(&self) -> Result<(), TrainError> {
        let finite_pos = |v: f64, f: &str| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(invalid(f, format!("{v} must be a finite number > 0")))
            }
        };
        let unit = |v: f64, f: &str| {
            if (0.0..1.0).contains(&v) {
                Ok(())
            } else {
                Err(invalid(f, format!("{v} must be in [0, 1)")))
            }
        };
        let nonneg = |v: f64, f: &str| {
            if v.is_finite() && v >= 0.0 {
                Ok(())
            } else {
                Err(invalid(f, format!("{v} must be a finite number >= 0")))
            }
        };
        match self {
            OptimizerConfig::Adamw {
                lr,
                weight_decay,
                beta1,
                beta2,
                eps,
            } => {
                finite_pos(*lr, "optimizer.lr")?;
                nonneg(*weight_decay, "optimizer.weight_decay")?;
                unit(*beta1, "optimizer.beta1")?;
                unit(*beta2, "optimizer.beta2")?;
                finite_pos(*eps, "optimizer.eps")
            }
            OptimizerConfig::Sgd {
                lr,
                momentum,
                weight_decay,
                ..
            } => {
                finite_pos(*lr, "optimizer.lr")?;
                unit(*momentum, "optimizer.momentum")?;
                nonneg(*weight_decay, "optimizer.weight_decay")
            }
        }
    }
}

/// Per-parameter state: step count and moment buffers (flattened, burn layout).
#[derive(Debug, Clone)]
struct ParamState {
    step: u64,
    m: Tensor<1>,
    v: Option<Tensor<1>>,
}

/// An optimiser and its state.
#[derive(Debug, Clone)]
pub struct Optimizer {
    config: OptimizerConfig,
    state: BTreeMap<String, ParamState>,
}

impl Optimizer {
    /// A fresh optimiser.
    pub fn new(config: OptimizerConfig) -> Self {
        Self {
            config,
            state: BTreeMap::new(),
        }
    }

    /// Its configuration.
    pub fn config(&self) -> &OptimizerConfig {
        &self.config
    }

    /// One update of every parameter that has a gradient in `grads` and for which
    /// `trainable(key)` holds, at learning rate `lr`.
    ///
    /// AdamW: `p ← p(1 − η·λ)`, `m ← β₁m + (1−β₁)g`, `v ← β₂v + (1−β₂)g²`,
    /// `p ← p − (η/(1−β₁ᵗ)) · m / (√v/√(1−β₂ᵗ) + ε)`.
    /// SGD: `g ← g + λp`, `b ← μb + g` (`b = g` at the first step),
    /// `p ← p − η·(g + μb if Nesterov else b)`.
    pub fn step<M: Module>(
        &mut self,
        net: M,
        grads: &Gradients,
        lr: f64,
        trainable: &dyn Fn(&str) -> bool,
    ) -> M {
        let mut mapper = StepMapper {
            path: PathStack::default(),
            grads,
            lr,
            trainable,
            opt: self,
        };
        net.map(&mut mapper)
    }

    /// The state as named host tensors (`m.<key>`, `v.<key>`, burn layout, flattened) and
    /// the per-parameter step counts, for checkpoints.
    pub fn export(&self) -> (BTreeMap<String, HostTensor>, BTreeMap<String, u64>) {
        let mut tensors = BTreeMap::new();
        let mut steps = BTreeMap::new();
        let host = |t: &Tensor<1>| HostTensor {
            shape: vec![t.dims()[0]],
            data: t
                .clone()
                .into_data()
                .try_to_vec::<f32>()
                .unwrap_or_default(),
        };
        for (k, s) in &self.state {
            tensors.insert(format!("m.{k}"), host(&s.m));
            if let Some(v) = &s.v {
                tensors.insert(format!("v.{k}"), host(v));
            }
            steps.insert(k.clone(), s.step);
        }
        (tensors, steps)
    }

    /// Restores state written by [`Optimizer::export`] onto `device`.
    pub fn import(
        &mut self,
        tensors: &BTreeMap<String, HostTensor>,
        steps: &BTreeMap<String, u64>,
        device: &Device,
    ) -> Result<(), TrainError> {
        let mut state = BTreeMap::new();
        let dev = |t: &HostTensor| {
            Tensor::<1>::from_data(TensorData::new(t.data.clone(), [t.data.len()]), device)
        };
        for (k, step) in steps {
            let m = tensors
                .get(&format!("m.{k}"))
                .ok_or_else(|| TrainError::Checkpoint(format!("optimizer state lacks `m.{k}`")))?;
            let v = tensors.get(&format!("v.{k}")).map(dev);
            if matches!(self.config, OptimizerConfig::Adamw { .. }) && v.is_none() {
                return Err(TrainError::Checkpoint(format!(
                    "optimizer state lacks `v.{k}`"
                )));
            }
            state.insert(
                k.clone(),
                ParamState {
                    step: *step,
                    m: dev(m),
                    v,
                },
            );
        }
        self.state = state;
        Ok(())
    }
}

struct StepMapper<'a> {
    path: PathStack,
    grads: &'a Gradients,
    lr: f64,
    trainable: &'a dyn Fn(&str) -> bool,
    opt: &'a mut Optimizer,
}

impl ModuleMapper for StepMapper<'_> {
    fn enter_module(&mut self, name: &str, ct: &str) {
        self.path.enter(name, ct);
    }

    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.exit();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if self.path.kind() == ParamKind::RunningStat {
            return param;
        }
        let key = self.path.key();
        if !(self.trainable)(&key) {
            return param;
        }
        let (id, tensor, mapper) = param.consume();
        let Some(grad) = tensor.grad(self.grads) else {
            return Param::from_mapped_value(id, tensor, mapper);
        };
        let dims = tensor.dims();
        let n = tensor.shape().num_elements();
        let require_grad = tensor.is_require_grad();
        let was_autodiff = tensor.is_autodiff();
        let p = tensor.inner().reshape([n]);
        let g = grad.reshape([n]);
        let prev = self.opt.state.remove(&key);
        let (p, st) = update_param(&self.opt.config, p, g, prev, self.lr);
        self.opt.state.insert(key, st);
        let mut t = p.reshape(dims);
        if was_autodiff {
            t = t.autodiff();
        }
        if require_grad {
            t = t.require_grad();
        }
        Param::from_mapped_value(id, t, mapper)
    }
}

/// One update of the flattened parameter `p` with gradient `g` by `config`'s rule at
/// learning rate `lr`, from its state `prev`: the new parameter and state.
fn update_param(
    config: &OptimizerConfig,
    p: Tensor<1>,
    g: Tensor<1>,
    prev: Option<ParamState>,
    lr: f64,
) -> (Tensor<1>, ParamState) {
    match *config {
        OptimizerConfig::Adamw {
            weight_decay,
            beta1,
            beta2,
            eps,
            ..
        } => {
            let (step, mv) = match prev {
                Some(ParamState {
                    step,
                    m,
                    v: Some(v),
                }) => (step + 1, Some((m, v))),
                _ => (1, None),
            };
            let s = AdamwStep {
                lr,
                weight_decay,
                beta1,
                beta2,
                eps,
                step,
            };
            let (p, m, v) = adamw::update(p, g, mv, &s);
            (
                p,
                ParamState {
                    step,
                    m,
                    v: Some(v),
                },
            )
        }
        OptimizerConfig::Sgd {
            momentum,
            weight_decay,
            nesterov,
            ..
        } => sgd_update(p, g, prev, lr, momentum, weight_decay, nesterov),
    }
}

/// One SGD update (momentum, coupled weight decay, optionally Nesterov) of the flattened
/// parameter `p` with gradient `g` from its state `prev`: the new parameter and state.
fn sgd_update(
    p: Tensor<1>,
    g: Tensor<1>,
    prev: Option<ParamState>,
    lr: f64,
    momentum: f64,
    weight_decay: f64,
    nesterov: bool,
) -> (Tensor<1>, ParamState) {
    let g = if weight_decay != 0.0 {
        g + p.clone().mul_scalar(weight_decay)
    } else {
        g
    };
    let (step, buf) = match prev {
        Some(ParamState { step, m, .. }) if momentum != 0.0 => {
            (step + 1, m.mul_scalar(momentum) + g.clone())
        }
        Some(ParamState { step, .. }) => (step + 1, g.clone()),
        None => (1, g.clone()),
    };
    let d = if momentum == 0.0 {
        g
    } else if nesterov {
        g + buf.clone().mul_scalar(momentum)
    } else {
        buf.clone()
    };
    let p = p - d.mul_scalar(lr);
    (
        p,
        ParamState {
            step,
            m: buf,
            v: None,
        },
    )
}
