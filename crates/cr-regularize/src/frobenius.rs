//! Frobenius-norm normalisation (SPEC §4): after every optimiser step each chosen layer is
//! rescaled to a fixed ‖W‖_F — its norm at initialisation (times a multiplier) or a
//! configured constant. A factorised layer is normalised as the linear map it computes:
//! ‖up·down‖_F is fixed by rescaling `up`.

use std::collections::BTreeMap;

use burn::prelude::*;
use cr_models::{LayerInfo, Model};

use crate::config::{Frobenius, FrobeniusReference};
use crate::penalties::layers_for;

/// The normaliser and its per-layer targets.
#[derive(Debug, Clone, PartialEq)]
pub struct FrobeniusNormalizer {
    config: Frobenius,
    /// Target ‖W‖_F per (effective) layer name.
    pub targets: BTreeMap<String, f64>,
}

/// The effective layers of a selection: each plain layer alone, each factor pair as
/// `(name, [down, up])`.
fn groups(layers: &[(LayerInfo, Tensor<2>)]) -> Vec<(String, Vec<usize>)> {
    let mut out: Vec<(String, Vec<usize>)> = Vec::new();
    for (i, (info, _)) in layers.iter().enumerate() {
        match &info.factor_of {
            Some(parent) => match out.iter_mut().find(|(n, _)| n == parent) {
                Some((_, v)) => v.push(i),
                None => out.push((parent.clone(), vec![i])),
            },
            None => out.push((info.name.clone(), vec![i])),
        }
    }
    out
}

/// ‖W‖_F of an effective layer (the product of its factors, `up · down`), as `[1]`.
fn norm(layers: &[(LayerInfo, Tensor<2>)], idx: &[usize]) -> Tensor<1> {
    let w = match idx {
        [i] => layers[*i].1.clone(),
        [d, u] => layers[*u].1.clone().matmul(layers[*d].1.clone()),
        _ => layers[idx[0]].1.clone(),
    };
    w.square().sum().sqrt()
}

impl FrobeniusNormalizer {
    /// Records the targets from `model` (normally the model at initialisation).
    pub fn new(config: &Frobenius, model: &Model) -> Self {
        let layers: Vec<(LayerInfo, Tensor<2>)> = layers_for(model, config.layers)
            .into_iter()
            .map(|(l, t)| (l, t.inner()))
            .collect();
        let targets = groups(&layers)
            .into_iter()
            .map(|(name, idx)| {
                let target = match (config.norm, config.reference) {
                    (Some(n), _) => n,
                    (None, FrobeniusReference::Initial) => {
                        let v: f32 = norm(&layers, &idx).into_scalar();
                        v as f64 * config.multiplier
                    }
                    (None, FrobeniusReference::Dense) => {
                        // Output rows of the effective layer: the last factor's rows.
                        let rows = layers[*idx.last().unwrap_or(&idx[0])].0.rows;
                        (rows as f64 / 3.0).sqrt() * config.multiplier
                    }
                };
                (name, target)
            })
            .collect();
        Self {
            config: config.clone(),
            targets,
        }
    }

    /// Rescales every chosen layer of `model` to its target norm. Stays on the device.
    pub fn apply(&self, model: Model) -> Model {
        let layers: Vec<(LayerInfo, Tensor<2>)> = layers_for(&model, self.config.layers)
            .into_iter()
            .map(|(l, t)| (l, t.inner()))
            .collect();
        // Scale factor per parameter-layer name: plain layers and the `up` factor of pairs.
        let mut scales: BTreeMap<String, Tensor<1>> = BTreeMap::new();
        for (name, idx) in groups(&layers) {
            let Some(&target) = self.targets.get(&name) else {
                continue;
            };
            let n = norm(&layers, &idx);
            let scale = n.clamp_min(1e-30).recip().mul_scalar(target);
            let scaled = *idx.last().unwrap_or(&idx[0]);
            scales.insert(layers[scaled].0.name.clone(), scale);
        }
        drop(layers);
        let sel = match self.config.layers {
            crate::config::Layers::Hidden => cr_models::Selection::HIDDEN,
            _ => cr_models::Selection::ALL,
        };
        model.map_layers(sel, |info, w| {
            scales
                .get(&info.name)
                .map(|s| w * s.clone().unsqueeze_dim(1))
        })
    }
}
