//! Extension points of the training loop: a loss term (regularisers), a rewrite after every
//! optimiser step (Frobenius normalisation), and a minibatch transform (adversarial training).
//! Hooks that keep state across steps export it for checkpoints.

use burn::prelude::*;
use cr_models::Model;

/// Hooks called by [`crate::train`].
pub trait Hooks {
    /// A short name for logs and metrics.
    fn name(&self) -> String;

    /// Called once before the first epoch of a run that does not resume from a checkpoint;
    /// returns the model to train (e.g. normalised).
    fn start(&mut self, model: Model) -> Model {
        model
    }

    /// A term added to the data loss, as a one-element tensor on the model's (autodiff)
    /// device; `None` adds nothing.
    fn penalty(&mut self, model: &Model) -> Option<Tensor<1>> {
        let _ = model;
        None
    }

    /// Called after every optimiser step with the updated model; returns the model to
    /// continue with.
    fn after_step(&mut self, model: Model) -> Model {
        model
    }

    /// May replace the minibatch inputs before the step (e.g. by adversarial examples).
    /// `seed` is fixed by the run seed and the global step, so a resumed run draws the same.
    ///
    /// # Errors
    /// A message; training stops with [`crate::TrainError::Hook`] (it never continues on a
    /// batch other than the one asked for).
    fn transform_batch(
        &mut self,
        model: &Model,
        x: Tensor<4>,
        y: Tensor<1, Int>,
        seed: u64,
    ) -> Result<Tensor<4>, String> {
        let _ = (model, y, seed);
        Ok(x)
    }

    /// State to store in checkpoints.
    fn state(&self) -> serde_json::Value {
        serde_json::Value::Null
    }

    /// Restores what [`Hooks::state`] returned.
    fn restore(&mut self, state: &serde_json::Value) -> Result<(), String> {
        let _ = state;
        Ok(())
    }
}

/// No hooks: plain training.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoHooks;

impl Hooks for NoHooks {
    fn name(&self) -> String {
        "none".into()
    }
}

/// Several hooks applied in order: penalties are summed, step rewrites and batch transforms
/// chained.
#[derive(Default)]
pub struct HookList(pub Vec<Box<dyn Hooks>>);

impl Hooks for HookList {
    fn name(&self) -> String {
        self.0
            .iter()
            .map(|h| h.name())
            .collect::<Vec<_>>()
            .join("+")
    }

    fn start(&mut self, model: Model) -> Model {
        self.0.iter_mut().fold(model, |m, h| h.start(m))
    }

    fn penalty(&mut self, model: &Model) -> Option<Tensor<1>> {
        self.0
            .iter_mut()
            .filter_map(|h| h.penalty(model))
            .reduce(|a, b| a + b)
    }

    fn after_step(&mut self, model: Model) -> Model {
        self.0.iter_mut().fold(model, |m, h| h.after_step(m))
    }

    fn transform_batch(
        &mut self,
        model: &Model,
        x: Tensor<4>,
        y: Tensor<1, Int>,
        seed: u64,
    ) -> Result<Tensor<4>, String> {
        self.0.iter_mut().enumerate().try_fold(x, |x, (i, h)| {
            h.transform_batch(model, x, y.clone(), crate::data::mix(seed ^ i as u64))
                .map_err(|e| format!("{}: {e}", h.name()))
        })
    }

    fn state(&self) -> serde_json::Value {
        serde_json::Value::Array(self.0.iter().map(|h| h.state()).collect())
    }

    fn restore(&mut self, state: &serde_json::Value) -> Result<(), String> {
        let items = state
            .as_array()
            .ok_or_else(|| "hook state is not a list".to_string())?;
        if items.len() != self.0.len() {
            return Err(format!(
                "checkpoint has state for {} hooks, this run has {}",
                items.len(),
                self.0.len()
            ));
        }
        for (h, s) in self.0.iter_mut().zip(items) {
            h.restore(s)?;
        }
        Ok(())
    }
}
