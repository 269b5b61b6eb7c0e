//! Unstructured magnitude pruning: the smallest |w| of the hidden layers' weights (head and
//! first conv excluded, as `Selection::HIDDEN`; each factor of a low-rank layer is a layer of
//! its own) set to zero. Exactly `round(ratio·N)` weights are zeroed (ties in |w| broken by
//! layer order, then position), except where a layer's cap binds.

use cr_models::{Model, Selection};

use crate::LayerPrune;
use crate::error::{PruneError, Result};
use crate::structured::{max_pruned, round_count};

/// Whether one magnitude threshold spans all layers or each layer loses the same fraction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Scope {
    /// One ranking of |w| across all hidden layers (what [`crate::prune`] uses).
    #[default]
    Global,
    /// The same fraction of each layer.
    Layerwise,
}

/// Zeroes the smallest weights: the masked model and one [`LayerPrune`] per layer (`rows`
/// counts weights here).
pub fn magnitude_prune(
    model: &Model,
    ratio: f64,
    scope: Scope,
    max_ratio: f64,
) -> Result<(Model, Vec<LayerPrune>)> {
    let mats = model.layer_matrices(Selection::HIDDEN);
    if mats.is_empty() {
        return Err(PruneError::NothingToPrune(format!(
            "the {} model has no hidden layer",
            model.spec.arch_name()
        )));
    }
    let caps: Vec<usize> = mats
        .iter()
        .map(|(_, m)| max_pruned(m.data.len(), max_ratio))
        .collect();
    let mut zeroed: Vec<Vec<usize>> = vec![Vec::new(); mats.len()];
    match scope {
        Scope::Layerwise => {
            for (l, (_, m)) in mats.iter().enumerate() {
                let p = round_count(ratio, m.data.len()).min(caps[l]);
                let mut idx: Vec<usize> = (0..m.data.len()).collect();
                idx.sort_by(|&a, &b| m.data[a].abs().total_cmp(&m.data[b].abs()).then(a.cmp(&b)));
                idx.truncate(p);
                zeroed[l] = idx;
            }
        }
        Scope::Global => {
            let total: usize = mats.iter().map(|(_, m)| m.data.len()).sum();
            let target = round_count(ratio, total);
            let mut all: Vec<(f32, usize, usize)> = Vec::with_capacity(total);
            for (l, (_, m)) in mats.iter().enumerate() {
                all.extend(m.data.iter().enumerate().map(|(i, v)| (v.abs(), l, i)));
            }
            all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
            let mut done = 0;
            for (_, l, i) in all {
                if done == target {
                    break;
                }
                if zeroed[l].len() < caps[l] {
                    zeroed[l].push(i);
                    done += 1;
                }
            }
        }
    }
    let mut out = model.snapshot();
    let mut reports = Vec::with_capacity(mats.len());
    for ((info, mut m), z) in mats.into_iter().zip(zeroed) {
        let n = m.data.len();
        for &i in &z {
            m.data[i] = 0.0;
        }
        reports.push(LayerPrune {
            name: info.name.clone(),
            rows: n,
            kept: n - z.len(),
            ratio: z.len() as f64 / n.max(1) as f64,
        });
        out = out.set_layer_matrix(&info.name, &m)?;
    }
    Ok((out, reports))
}
