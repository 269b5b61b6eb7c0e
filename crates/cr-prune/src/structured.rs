//! Structured pruning: neurons (rows of a dense layer) and filters (output channels of a
//! conv), chosen by the ℓ2 norm of their row of the `[out, in·kh·kw]` matrix.
//!
//! # Which layers are prunable ([`prunable_layers`])
//!
//! A layer is prunable when removing its output channels can be followed through the network:
//! its rows, bias and the batch norm over its output channels go, and so do the matching input
//! columns of the one layer that reads it. The head is never pruned, nor is the first conv
//! (the stem, as with `Selection::HIDDEN`), nor any layer whose output feeds a residual sum:
//!
//! | architecture | prunable layers (→ the layer whose input shrinks with them) |
//! |---|---|
//! | FCN | every hidden layer `layers.i` (→ `layers.{i+1}` / `head`) |
//! | CNN | `convs.i` for i ≥ 1 (→ next conv / `fc.0` / `head`), `fc.0` (→ `head`) |
//! | ResNet, basic blocks | `layerS.B.conv1` + `bn1` (→ `conv2`) |
//! | ResNet, bottleneck | `conv1` + `bn1` (→ `conv2`), `conv2` + `bn2` (→ `conv3`) |
//! | VGG-BN | `blocks.i.conv` + `blocks.i.bn` for i ≥ 1 (→ next conv / `classifier`) |
//! | WRN | `blockG.B.conv1` + `bn2` (→ `conv2`) |
//! | ViT | `blocks.i.mlp.fc1` (→ `blocks.i.mlp.fc2`) |
//!
//! In residual networks only the inner convs of each block are pruned, so the skip path (the
//! identity or the downsample projection, and every block's output) keeps its width and stays
//! consistent. A low-rank layer (`down`/`up`) is pruned on the rows of its effective matrix
//! `up · down` (its `up` factor's rows); a low-rank consumer loses columns of its `down`.
//!
//! Every architecture cr-models builds supports both forms, masked and physical: the masked
//! model zeroes the pruned rows, their bias and the following batch norm's weight and bias (so
//! the channel outputs exactly 0 in evaluation mode); the physical model is rebuilt from
//! `ModelSpec::pruned` widths with the kept slices of every tensor. The two compute the same
//! logits (up to float summation order).
//!
//! # Row norms and normalisation
//!
//! A row's score is `‖w_row‖₂` of the effective matrix (batch-norm scales are not folded in).
//! `Global` ranks rows across layers by `‖w_row‖₂ / max_row ‖w_row‖₂` of their layer, so that
//! layers of different scale (fan-in) compete on equal terms; every layer's strongest row
//! scores 1.

use std::collections::{BTreeMap, BTreeSet};

use cr_linalg::compress::{eps_curve, top_k_indices};
use cr_models::file::model_tensors;
use cr_models::layout::ParamKind;
use cr_models::params::param_infos;
use cr_models::{Arch, Model, Selection};

use crate::error::{PruneError, Result};
use crate::host::{rebuild, slice_dim0, slice_dim1, zero_dim0};
use crate::{LayerPrune, Method};

/// One prunable layer and everything that changes with its output channels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrunableLayer {
    /// Layer name (the factorised layer's name for a low-rank pair); also its key in
    /// `ModelSpec::pruned`.
    pub name: String,
    /// Output channels (rows).
    pub rows: usize,
    /// Tensors whose dimension 0 runs over the channels: the weight (or `up` factor), the bias,
    /// and the following batch norm's weight, bias and running statistics.
    pub row_keys: Vec<String>,
    /// Tensors whose dimension 1 runs over the channels (the consumer's weight or `down`).
    pub col_keys: Vec<String>,
}

struct Keys(BTreeMap<String, (Vec<usize>, ParamKind)>);

impl Keys {
    fn has(&self, k: &str) -> bool {
        self.0.contains_key(k)
    }
    fn first(&self, cands: [String; 2]) -> Option<String> {
        cands.into_iter().find(|k| self.has(k))
    }
    fn exists(&self, layer: &str) -> bool {
        self.has(&format!("{layer}.weight")) || self.has(&format!("{layer}.up.weight"))
    }
    fn unit(&self, layer: &str, bn: Option<&str>, next: &str) -> Option<PrunableLayer> {
        let w = self.first([format!("{layer}.weight"), format!("{layer}.up.weight")])?;
        let rows = self.0[&w].0[0];
        let mut row_keys = vec![w];
        if let Some(b) = self.first([format!("{layer}.bias"), format!("{layer}.up.bias")]) {
            row_keys.push(b);
        }
        if let Some(bn) = bn {
            for s in ["weight", "bias", "running_mean", "running_var"] {
                let k = format!("{bn}.{s}");
                if self.has(&k) {
                    row_keys.push(k);
                }
            }
        }
        let c = self.first([format!("{next}.weight"), format!("{next}.down.weight")])?;
        Some(PrunableLayer {
            name: layer.to_string(),
            rows,
            row_keys,
            col_keys: vec![c],
        })
    }
}

/// The prunable layers of `model` in forward order (see the module docs for the rule).
pub fn prunable_layers(model: &Model) -> Vec<PrunableLayer> {
    let keys = Keys(
        param_infos(&model.net)
            .into_iter()
            .map(|p| (p.key, (p.shape, p.kind)))
            .collect(),
    );
    match &model.spec.arch {
        Arch::Fcn { .. } => keys.fcn(),
        Arch::Cnn { .. } => keys.cnn(),
        Arch::Resnet { .. } => keys.resnet(),
        Arch::Vgg { .. } => keys.vgg(),
        Arch::PreactResnet { .. } => keys.preact_resnet(),
        Arch::VggTorchvision { .. } => keys.vgg_torchvision(),
        Arch::Wrn { .. } => keys.wrn(),
        Arch::Vit { .. } => keys.vit(),
    }
}

/// The prunable layers of each architecture, in forward order.
impl Keys {
    /// How many consecutive layers `f(0)`, `f(1)`, … exist.
    fn count(&self, f: &dyn Fn(usize) -> String) -> usize {
        (0..).take_while(|&i| self.exists(&f(i))).count()
    }

    /// The prunable layers of an FCN: every hidden layer.
    fn fcn(&self) -> Vec<PrunableLayer> {
        let mut out = Vec::new();
        let n = self.count(&|i| format!("layers.{i}"));
        for i in 0..n {
            let next = if i + 1 < n {
                format!("layers.{}", i + 1)
            } else {
                "head".into()
            };
            out.extend(self.unit(&format!("layers.{i}"), None, &next));
        }
        out
    }

    /// The prunable layers of a CNN: every conv but the first, and the hidden dense layer.
    fn cnn(&self) -> Vec<PrunableLayer> {
        let mut out = Vec::new();
        let n = self.count(&|i| format!("convs.{i}"));
        let has_fc = self.exists("fc.0");
        for i in 1..n {
            let next = if i + 1 < n {
                format!("convs.{}", i + 1)
            } else if has_fc {
                "fc.0".into()
            } else {
                "head".into()
            };
            out.extend(self.unit(&format!("convs.{i}"), None, &next));
        }
        if has_fc {
            out.extend(self.unit("fc.0", None, "head"));
        }
        out
    }

    /// The prunable layers of a ResNet: the inner convs of every block.
    fn resnet(&self) -> Vec<PrunableLayer> {
        let mut out = Vec::new();
        for s in 1..=4 {
            let n = self.count(&|j| format!("layer{s}.{j}.conv1"));
            for j in 0..n {
                let p = format!("layer{s}.{j}");
                out.extend(self.unit(
                    &format!("{p}.conv1"),
                    Some(&format!("{p}.bn1")),
                    &format!("{p}.conv2"),
                ));
                if self.exists(&format!("{p}.conv3")) {
                    out.extend(self.unit(
                        &format!("{p}.conv2"),
                        Some(&format!("{p}.bn2")),
                        &format!("{p}.conv3"),
                    ));
                }
            }
        }
        out
    }

    /// The prunable layers of a VGG-BN: every conv but the first.
    fn vgg(&self) -> Vec<PrunableLayer> {
        let mut out = Vec::new();
        let n = self.count(&|i| format!("blocks.{i}.conv"));
        for i in 1..n {
            let next = if i + 1 < n {
                format!("blocks.{}.conv", i + 1)
            } else {
                "classifier".into()
            };
            out.extend(self.unit(
                &format!("blocks.{i}.conv"),
                Some(&format!("blocks.{i}.bn")),
                &next,
            ));
        }
        out
    }

    /// The prunable layers of a PreActResNet: every block's first conv.
    fn preact_resnet(&self) -> Vec<PrunableLayer> {
        let mut out = Vec::new();
        for s in 1..=4 {
            let n = self.count(&|j| format!("layer{s}.{j}.conv1"));
            for j in 0..n {
                let p = format!("layer{s}.{j}");
                out.extend(self.unit(
                    &format!("{p}.conv1"),
                    Some(&format!("{p}.bn2")),
                    &format!("{p}.conv2"),
                ));
            }
        }
        out
    }

    /// The prunable layers of a torchvision VGG-BN: inner convs and hidden classifier layers.
    fn vgg_torchvision(&self) -> Vec<PrunableLayer> {
        let mut out = Vec::new();
        // Every conv but the first and the last (whose channels fc1 reads as c·7·7
        // columns), and the two hidden classifier layers.
        let n = self.count(&|i| format!("blocks.{i}.conv"));
        for i in 1..n.saturating_sub(1) {
            out.extend(self.unit(
                &format!("blocks.{i}.conv"),
                Some(&format!("blocks.{i}.bn")),
                &format!("blocks.{}.conv", i + 1),
            ));
        }
        out.extend(self.unit("fc1", None, "fc2"));
        out.extend(self.unit("fc2", None, "head"));
        out
    }

    /// The prunable layers of a WRN: every block's first conv.
    fn wrn(&self) -> Vec<PrunableLayer> {
        let mut out = Vec::new();
        for g in 1..=3 {
            let n = self.count(&|j| format!("block{g}.{j}.conv1"));
            for j in 0..n {
                let p = format!("block{g}.{j}");
                out.extend(self.unit(
                    &format!("{p}.conv1"),
                    Some(&format!("{p}.bn2")),
                    &format!("{p}.conv2"),
                ));
            }
        }
        out
    }

    /// The prunable layers of a ViT: every block's first MLP layer.
    fn vit(&self) -> Vec<PrunableLayer> {
        let mut out = Vec::new();
        let n = self.count(&|i| format!("blocks.{i}.mlp.fc1"));
        for i in 0..n {
            let p = format!("blocks.{i}.mlp");
            out.extend(self.unit(&format!("{p}.fc1"), None, &format!("{p}.fc2")));
        }
        out
    }
}

/// The ℓ2 norm of every row of every prunable layer's effective `[out, in·kh·kw]` matrix.
pub fn row_norms(model: &Model, layers: &[PrunableLayer]) -> Vec<Vec<f64>> {
    row_p_norms(model, layers, 2.0)
}

/// The ℓ_p norm (p = 1 or 2) of every row of every prunable layer's effective matrix.
pub fn row_p_norms(model: &Model, layers: &[PrunableLayer], p: f64) -> Vec<Vec<f64>> {
    let mats: BTreeMap<String, cr_models::LayerMatrix> = model
        .effective_matrices(Selection::ALL)
        .into_iter()
        .collect();
    layers
        .iter()
        .map(|l| match mats.get(&l.name) {
            Some(m) => (0..m.rows)
                .map(|i| {
                    let row = m.data[i * m.cols..(i + 1) * m.cols].iter();
                    if p == 1.0 {
                        row.map(|&v| (v as f64).abs()).sum::<f64>()
                    } else {
                        row.map(|&v| (v as f64) * (v as f64)).sum::<f64>().sqrt()
                    }
                })
                .collect(),
            None => vec![0.0; l.rows],
        })
        .collect()
}

/// The most rows of an `n`-row layer that may go: `⌊max_ratio·n⌋`, and never all of them.
pub fn max_pruned(n: usize, max_ratio: f64) -> usize {
    let cap = (max_ratio * n as f64 + 1e-9).floor() as usize;
    cap.min(n.saturating_sub(1))
}

/// `round(ratio·n)` with a tolerance for representation error.
pub(crate) fn round_count(ratio: f64, n: usize) -> usize {
    ((ratio * n as f64) + 0.5 + 1e-9).floor() as usize
}

/// Rows to keep per layer: the `n − p_l` rows of largest norm (ties: the earlier row is kept,
/// as cr-linalg's `top_k_indices`), ascending.
fn keep_top(norms: &[Vec<f64>], kept_counts: &[usize]) -> Result<Vec<Vec<usize>>> {
    norms
        .iter()
        .zip(kept_counts)
        .map(|(v, &k)| {
            let mut idx = top_k_indices(v, k)?;
            idx.sort_unstable();
            Ok(idx)
        })
        .collect()
}

/// Numbers of rows kept per layer by `Layerwise` at `ratio`: `n − min(round(ratio·n), cap)`.
pub fn layerwise_counts(rows: &[usize], ratio: f64, max_ratio: f64) -> Vec<usize> {
    rows.iter()
        .map(|&n| n - round_count(ratio, n).min(max_pruned(n, max_ratio)))
        .collect()
}

/// Numbers of rows kept per layer by `Global` at `ratio`: `round(ratio·N)` rows of smallest
/// normalised norm go, skipping layers at their cap.
pub fn global_counts(norms: &[Vec<f64>], ratio: f64, max_ratio: f64) -> Vec<usize> {
    let total: usize = norms.iter().map(Vec::len).sum();
    let target = round_count(ratio, total);
    let mut scored: Vec<(f64, usize, usize)> = Vec::with_capacity(total);
    for (l, v) in norms.iter().enumerate() {
        let max = v.iter().copied().fold(0.0, f64::max);
        for (i, &x) in v.iter().enumerate() {
            let s = if max > 0.0 { x / max } else { 0.0 };
            // Later rows first among ties, as `top_k_indices` keeps the earlier one.
            scored.push((s, l, usize::MAX - i));
        }
    }
    scored.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let caps: Vec<usize> = norms
        .iter()
        .map(|v| max_pruned(v.len(), max_ratio))
        .collect();
    let mut pruned = vec![0usize; norms.len()];
    let mut done = 0;
    for (_, l, _) in scored {
        if done == target {
            break;
        }
        if pruned[l] < caps[l] {
            pruned[l] += 1;
            done += 1;
        }
    }
    norms.iter().zip(pruned).map(|(v, p)| v.len() - p).collect()
}

/// Numbers of rows kept per layer by ε-targeted pruning at `eps`: the least k with
/// `ε(k) ≤ eps` on each layer's ε curve (`curves[l][k-1] = ε(k)`, cr-linalg's `eps_curve`),
/// raised to respect the cap.
pub fn eps_counts(curves: &[Vec<f64>], eps: f64, max_ratio: f64) -> Vec<usize> {
    curves
        .iter()
        .map(|c| {
            let n = c.len() - 1;
            let k = c.iter().position(|&e| e <= eps).unwrap_or(n);
            k.max(n - max_pruned(n, max_ratio))
        })
        .collect()
}

/// The ε whose per-layer counts give the global pruning ratio closest to `ratio` (ties: the
/// smaller ε), scanning every breakpoint of the layers' ε curves, where the ratio changes.
pub fn scan_eps(curves: &[Vec<f64>], ratio: f64, max_ratio: f64) -> f64 {
    let total: usize = curves.iter().map(|c| c.len() - 1).sum();
    let achieved = |eps: f64| -> f64 {
        let kept: usize = eps_counts(curves, eps, max_ratio).iter().sum();
        1.0 - kept as f64 / total.max(1) as f64
    };
    let mut cands: Vec<f64> = curves.iter().flatten().copied().collect();
    cands.push(0.0);
    cands.push(1.0);
    cands.retain(|e| (0.0..=1.0).contains(e));
    cands.sort_by(f64::total_cmp);
    cands.dedup();
    // achieved(ε) is non-decreasing: find the first candidate reaching the ratio.
    let i = cands.partition_point(|&e| achieved(e) < ratio);
    let mut best = cands[i.min(cands.len() - 1)];
    if i > 0 {
        let prev = cands[i - 1];
        if (achieved(prev) - ratio).abs() <= (achieved(best) - ratio).abs() {
            best = prev;
        }
    }
    best
}

/// Which rows each prunable layer keeps.
#[derive(Debug, Clone, PartialEq)]
pub struct RowPlan {
    /// The prunable layers.
    pub layers: Vec<PrunableLayer>,
    /// Kept rows of each layer, ascending.
    pub keep: Vec<Vec<usize>>,
    /// The ε used (ε-targeted pruning only).
    pub eps: Option<f64>,
}

impl RowPlan {
    /// Fraction of prunable rows removed.
    pub fn achieved(&self) -> f64 {
        let total: usize = self.layers.iter().map(|l| l.rows).sum();
        let kept: usize = self.keep.iter().map(Vec::len).sum();
        if total == 0 {
            0.0
        } else {
            1.0 - kept as f64 / total as f64
        }
    }

    /// One [`LayerPrune`] per layer.
    pub fn layer_reports(&self) -> Vec<LayerPrune> {
        self.layers
            .iter()
            .zip(&self.keep)
            .map(|(l, k)| LayerPrune {
                name: l.name.clone(),
                rows: l.rows,
                kept: k.len(),
                ratio: 1.0 - k.len() as f64 / l.rows.max(1) as f64,
            })
            .collect()
    }
}

/// The rows a structured `method` keeps. `ratio` is used by `Layerwise`, `Global` and by
/// `EpsTarget` without `eps_target`; `eps_vector` says what `EpsTarget` measures ε on (and
/// ranks rows by); layerwise and global pruning rank rows by their ℓ2 norm.
pub fn plan(
    model: &Model,
    method: Method,
    ratio: Option<f64>,
    eps_target: Option<f64>,
    eps_vector: crate::EpsVector,
    max_ratio: f64,
) -> Result<RowPlan> {
    let layers = prunable_layers(model);
    if layers.is_empty() {
        return Err(PruneError::NothingToPrune(format!(
            "the {} model has no prunable layer",
            model.spec.arch_name()
        )));
    }
    let mut norms = row_norms(model, &layers);
    let rows: Vec<usize> = layers.iter().map(|l| l.rows).collect();
    let mut eps = None;
    let counts = match method {
        Method::Layerwise => layerwise_counts(&rows, ratio.unwrap_or(0.0), max_ratio),
        Method::Global => global_counts(&norms, ratio.unwrap_or(0.0), max_ratio),
        Method::EpsTarget => {
            let (p, q) = eps_vector.norms();
            norms = row_p_norms(model, &layers, p);
            let curves = norms
                .iter()
                .map(|v| eps_curve(v, q))
                .collect::<std::result::Result<Vec<_>, _>>()?;
            let e = match eps_target {
                Some(e) => e,
                None => scan_eps(&curves, ratio.unwrap_or(0.0), max_ratio),
            };
            eps = Some(e);
            eps_counts(&curves, e, max_ratio)
        }
        Method::Unstructured | Method::LowRank => {
            return Err(PruneError::InvalidConfig {
                field: "method".into(),
                problem: format!("`{method}` is not a structured method"),
            });
        }
    };
    let keep = keep_top(&norms, &counts)?;
    Ok(RowPlan { layers, keep, eps })
}

/// The masked model: same shapes, the pruned rows of every prunable layer, their bias and the
/// following batch norm's weight and bias set to zero.
pub fn apply_masked(model: &Model, plan: &RowPlan) -> Result<Model> {
    let kinds: BTreeMap<String, ParamKind> = param_infos(&model.net)
        .into_iter()
        .map(|p| (p.key, p.kind))
        .collect();
    let mut tensors = model_tensors(model);
    for (layer, keep) in plan.layers.iter().zip(&plan.keep) {
        let kept: BTreeSet<usize> = keep.iter().copied().collect();
        let pruned: Vec<usize> = (0..layer.rows).filter(|i| !kept.contains(i)).collect();
        for key in &layer.row_keys {
            if kinds.get(key) == Some(&ParamKind::RunningStat) {
                continue;
            }
            if let Some(t) = tensors.get_mut(key) {
                zero_dim0(t, &pruned);
            }
        }
    }
    rebuild(&model.spec, &tensors, &model.device())
}

/// The spec of the physically pruned model: `ModelSpec::pruned` widths for every layer.
pub fn pruned_spec(model: &Model, plan: &RowPlan) -> cr_models::ModelSpec {
    let mut spec = model.spec.clone();
    for (layer, keep) in plan.layers.iter().zip(&plan.keep) {
        spec.pruned.insert(layer.name.clone(), keep.len());
    }
    spec
}

/// The physically smaller model: rebuilt from [`pruned_spec`] with the kept rows of every
/// pruned layer, bias and batch norm, and the kept input columns of every consumer.
pub fn apply_physical(model: &Model, plan: &RowPlan) -> Result<Model> {
    let mut tensors = model_tensors(model);
    for (layer, keep) in plan.layers.iter().zip(&plan.keep) {
        for key in &layer.row_keys {
            if let Some(t) = tensors.get_mut(key) {
                *t = slice_dim0(t, keep);
            }
        }
        for key in &layer.col_keys {
            if let Some(t) = tensors.get_mut(key) {
                let d1 = t.shape.get(1).copied().unwrap_or(0);
                if layer.rows == 0 || d1 % layer.rows != 0 {
                    return Err(PruneError::Rebuild(format!(
                        "`{key}` has {d1} input columns, not a multiple of the {} channels of `{}`",
                        layer.rows, layer.name
                    )));
                }
                *t = slice_dim1(t, keep, d1 / layer.rows);
            }
        }
    }
    rebuild(&pruned_spec(model, plan), &tensors, &model.device())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_keep_one_row() {
        assert_eq!(max_pruned(10, 0.9), 9);
        assert_eq!(max_pruned(10, 1.0), 9);
        assert_eq!(max_pruned(1, 0.9), 0);
        assert_eq!(max_pruned(100, 0.29), 29);
        assert_eq!(layerwise_counts(&[10, 3], 0.5, 0.9), vec![5, 1]);
    }

    #[test]
    fn global_ranks_normalised_norms() {
        // Layer 0 is 100× larger; normalised, its rows compete equally with layer 1's.
        let norms = vec![vec![100.0, 50.0, 10.0], vec![1.0, 0.5, 0.1]];
        let kept = global_counts(&norms, 2.0 / 6.0, 0.9);
        assert_eq!(kept, vec![2, 2]);
    }

    #[test]
    fn eps_scan_hits_breakpoints() {
        let curves = vec![eps_curve(&[4.0, 3.0, 0.0, 0.0], 2.0).unwrap()];
        // ε = 0 keeps the two non-zero rows: ratio 0.5 exactly.
        let e = scan_eps(&curves, 0.5, 0.9);
        assert_eq!(eps_counts(&curves, e, 0.9), vec![2]);
    }
}
