//! [`Regularizer`]: every configured intervention as one training hook.

use std::collections::BTreeMap;

use burn::prelude::*;
use cr_models::Model;
use cr_train::Hooks;

use crate::config::RegularizeConfig;
use crate::error::RegularizeError;
use crate::frobenius::FrobeniusNormalizer;
use crate::penalties::{
    group_lasso, l1, layers_for, nuclear_norm, scale_invariant_group_lasso, spread,
};

/// The interventions of a [`RegularizeConfig`], applied by the training loop: the penalties
/// are summed into the loss, Frobenius normalisation runs at the start and after every step.
#[derive(Debug, Clone)]
pub struct Regularizer {
    config: RegularizeConfig,
    frobenius: Option<FrobeniusNormalizer>,
}

impl Regularizer {
    /// Builds the interventions; Frobenius targets are read from `initial` (the model at
    /// initialisation) unless an absolute norm is configured.
    pub fn new(config: &RegularizeConfig, initial: &Model) -> Result<Self, RegularizeError> {
        config.validate()?;
        Ok(Self {
            config: config.clone(),
            frobenius: config
                .frobenius
                .as_ref()
                .map(|f| FrobeniusNormalizer::new(f, initial)),
        })
    }

    /// The penalty `Σ strength · term` on `model`, or `None` when no penalty is configured.
    pub fn total_penalty(&self, model: &Model) -> Option<Tensor<1>> {
        let c = &self.config;
        let device = model.device();
        let mut terms: Vec<Tensor<1>> = Vec::new();
        let mats = |layers| -> Vec<Tensor<2>> {
            layers_for(model, layers)
                .into_iter()
                .map(|(_, t)| t)
                .collect()
        };
        if let Some(g) = c.group_lasso.as_ref().filter(|g| g.alpha > 0.0) {
            terms.push(group_lasso(&mats(g.layers), &device).mul_scalar(g.alpha));
        }
        if let Some(g) = c
            .scale_invariant_group_lasso
            .as_ref()
            .filter(|g| g.alpha > 0.0)
        {
            terms.push(scale_invariant_group_lasso(&mats(g.layers), &device).mul_scalar(g.alpha));
        }
        if let Some(g) = c.nuclear_norm.as_ref().filter(|g| g.alpha > 0.0) {
            terms.push(nuclear_norm(&mats(g.layers), &device).mul_scalar(g.alpha));
        }
        if let Some(s) = c.spread.as_ref().filter(|s| s.gamma > 0.0) {
            terms
                .push(spread(&mats(s.layers), s.top_fraction, s.norm, &device).mul_scalar(s.gamma));
        }
        if let Some(g) = c.l1.as_ref().filter(|g| g.alpha > 0.0) {
            terms.push(l1(&mats(g.layers), &device).mul_scalar(g.alpha));
        }
        terms.into_iter().reduce(|a, b| a + b)
    }

    /// Frobenius normalisation of `model` (identity when not configured).
    pub fn normalize(&self, model: Model) -> Model {
        match &self.frobenius {
            Some(f) => f.apply(model),
            None => model,
        }
    }
}

impl Hooks for Regularizer {
    fn name(&self) -> String {
        let c = &self.config;
        let mut parts = Vec::new();
        if let Some(g) = &c.group_lasso {
            parts.push(format!("group_lasso({})", g.alpha));
        }
        if let Some(g) = &c.scale_invariant_group_lasso {
            parts.push(format!("si_group_lasso({})", g.alpha));
        }
        if let Some(g) = &c.nuclear_norm {
            parts.push(format!("nuclear({})", g.alpha));
        }
        if let Some(s) = &c.spread {
            parts.push(format!("spread({})", s.gamma));
        }
        if let Some(g) = &c.l1 {
            parts.push(format!("l1({})", g.alpha));
        }
        if c.frobenius.is_some() {
            parts.push("frobenius".into());
        }
        if parts.is_empty() {
            "none".into()
        } else {
            parts.join("+")
        }
    }

    fn start(&mut self, model: Model) -> Model {
        self.normalize(model)
    }

    fn penalty(&mut self, model: &Model) -> Option<Tensor<1>> {
        self.total_penalty(model)
    }

    fn after_step(&mut self, model: Model) -> Model {
        self.normalize(model)
    }

    fn state(&self) -> serde_json::Value {
        match &self.frobenius {
            Some(f) => serde_json::to_value(&f.targets).unwrap_or(serde_json::Value::Null),
            None => serde_json::Value::Null,
        }
    }

    fn restore(&mut self, state: &serde_json::Value) -> Result<(), String> {
        if let Some(f) = &mut self.frobenius {
            let t: BTreeMap<String, f64> = serde_json::from_value(state.clone())
                .map_err(|e| format!("Frobenius targets: {e}"))?;
            f.targets = t;
        }
        Ok(())
    }
}
