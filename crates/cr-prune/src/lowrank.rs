//! Low-rank truncation: every factorisable layer keeps its top singular triplets
//! (Eckart–Young: the best approximation of that rank in Frobenius and spectral norm).
//!
//! The layers truncated are those the architecture's `layer_rank` option factorises (FCN: every
//! hidden layer; CNN: every conv but the first and the hidden dense layer; ResNet and WRN: the
//! 3×3 convs in blocks; VGG: every conv but the first). ViT has no low-rank option: there every
//! hidden layer (`Selection::HIDDEN`) is truncated, in the masked form only.
//!
//! The masked form writes the rank-k product back into each dense weight (or, for a model that
//! is already factorised, the balanced factors `U√Σ`, `√Σ Vᵀ` zero-padded to its rank). The
//! physical form (one `rank` for all layers) is the model built with `layer_rank = k` whose
//! `down`/`up` factors are `√Σ_k V_kᵀ` and `U_k √Σ_k`; where k exceeds a layer's full rank the
//! factors are padded with zeros.

use std::collections::BTreeMap;

use cr_linalg::{Mat, Svd, thin_svd};
use cr_models::file::{HostTensor, model_tensors};
use cr_models::spec::Arch;
use cr_models::{LayerKind, LayerMatrix, Model, ModelSpec, Selection};

use crate::LayerPrune;
use crate::error::{PruneError, Result};
use crate::host::rebuild;
use crate::structured::{max_pruned, round_count};

/// The rank a layer keeps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RankRule {
    /// The same rank in every layer (capped by each layer's full rank).
    Fixed(usize),
    /// Remove this fraction of each layer's full rank `min(out, in·kh·kw)`.
    Ratio(f64),
}

/// `spec` with its `layer_rank` set to `rank`; `None` for an architecture without one (ViT).
pub fn with_layer_rank(spec: &ModelSpec, rank: usize) -> Option<ModelSpec> {
    let mut s = spec.clone();
    match &mut s.arch {
        Arch::Fcn { layer_rank, .. }
        | Arch::Cnn { layer_rank, .. }
        | Arch::Resnet { layer_rank, .. }
        | Arch::Vgg { layer_rank, .. }
        | Arch::Wrn { layer_rank, .. } => *layer_rank = Some(rank),
        Arch::Vit { .. } | Arch::PreactResnet { .. } | Arch::VggTorchvision { .. } => return None,
    }
    Some(s)
}

/// The names of the layers low-rank truncation acts on (see the module docs).
pub fn truncatable_layers(model: &Model) -> Result<Vec<String>> {
    match with_layer_rank(&model.spec, 1) {
        Some(spec) => {
            let lazy = Model::build(&spec, &cr_models::device::cpu())?;
            let mut names: Vec<String> = Vec::new();
            for l in lazy.layers() {
                if let Some(p) = l.factor_of
                    && !names.contains(&p)
                {
                    names.push(p);
                }
            }
            Ok(names)
        }
        None => Ok(model
            .selected_layers(Selection::HIDDEN)
            .into_iter()
            .map(|l| l.name)
            .collect()),
    }
}

/// One truncated layer.
pub(crate) struct Truncated {
    pub name: String,
    pub svd: Svd<f64>,
    pub full_rank: usize,
    pub keep: usize,
    pub rows: usize,
    pub cols: usize,
    /// Parameters the layer stores now (`m·n`, or `r₀(m+n)` when factorised).
    pub stored: usize,
}

fn to_mat(m: &LayerMatrix) -> Mat<f64> {
    Mat::from_fn(m.rows, m.cols, |i, j| m.data[i * m.cols + j] as f64)
}

fn rows_of(m: &Mat<f64>, rows: usize, cols: usize) -> Vec<f32> {
    let mut v = Vec::with_capacity(rows * cols);
    for i in 0..rows {
        for j in 0..cols {
            v.push(if i < m.nrows() && j < m.ncols() {
                m[(i, j)] as f32
            } else {
                0.0
            });
        }
    }
    v
}

pub(crate) fn plan(model: &Model, rule: RankRule, max_ratio: f64) -> Result<Vec<Truncated>> {
    let names = truncatable_layers(model)?;
    let layers = model.layers();
    let eff: BTreeMap<String, LayerMatrix> = model
        .effective_matrices(Selection::ALL)
        .into_iter()
        .collect();
    let mut out = Vec::new();
    for name in names {
        let Some(m) = eff.get(&name) else { continue };
        let r = m.rows.min(m.cols);
        let keep = match rule {
            RankRule::Fixed(k) => k.min(r),
            RankRule::Ratio(p) => r - round_count(p, r).min(max_pruned(r, max_ratio)),
        };
        let stored = layers
            .iter()
            .filter(|l| l.name == name || l.factor_of.as_deref() == Some(name.as_str()))
            .map(|l| l.rows * l.cols)
            .sum();
        out.push(Truncated {
            svd: thin_svd(&to_mat(m))?,
            name,
            full_rank: r,
            keep,
            rows: m.rows,
            cols: m.cols,
            stored,
        });
    }
    if out.is_empty() {
        return Err(PruneError::NothingToPrune(format!(
            "the {} model has no layer to truncate",
            model.spec.arch_name()
        )));
    }
    Ok(out)
}

pub(crate) fn reports(plan: &[Truncated]) -> Vec<LayerPrune> {
    plan.iter()
        .map(|t| LayerPrune {
            name: t.name.clone(),
            rows: t.full_rank,
            kept: t.keep,
            ratio: 1.0 - t.keep as f64 / t.full_rank.max(1) as f64,
        })
        .collect()
}

/// The masked form: every truncated layer holds its rank-k approximation.
pub(crate) fn apply_masked(model: &Model, plan: &[Truncated]) -> Result<Model> {
    let layers = model.layers();
    let mut out = model.snapshot();
    for t in plan {
        let down = layers
            .iter()
            .find(|l| l.kind == LayerKind::FactorDown && l.factor_of.as_deref() == Some(&t.name));
        match down {
            None => {
                let w = t.svd.truncate(t.keep);
                let m = LayerMatrix {
                    rows: t.rows,
                    cols: t.cols,
                    data: rows_of(&w, t.rows, t.cols),
                };
                out = out.set_layer_matrix(&t.name, &m)?;
            }
            Some(d) => {
                let r0 = d.rows;
                let (a, b) = t.svd.factors(t.keep.min(r0));
                let up = LayerMatrix {
                    rows: t.rows,
                    cols: r0,
                    data: rows_of(&a, t.rows, r0),
                };
                let down = LayerMatrix {
                    rows: r0,
                    cols: t.cols,
                    data: rows_of(&b, r0, t.cols),
                };
                out = out.set_layer_matrix(&format!("{}.up", t.name), &up)?;
                out = out.set_layer_matrix(&format!("{}.down", t.name), &down)?;
            }
        }
    }
    Ok(out)
}

/// The physical form: the model built with `layer_rank = rank`, factors from the SVDs.
pub(crate) fn apply_physical(model: &Model, plan: &[Truncated], rank: usize) -> Result<Model> {
    let spec =
        with_layer_rank(&model.spec, rank).ok_or_else(|| PruneError::PhysicalUnsupported {
            what: format!("lowrank on {}", model.spec.arch_name()),
            reason: "the architecture has no low-rank layers (no layer_rank option)".into(),
        })?;
    let lazy = Model::build(&spec, &model.device())?;
    let shapes: BTreeMap<String, Vec<usize>> = cr_models::params::param_infos(&lazy.net)
        .into_iter()
        .map(|p| (p.key, p.shape))
        .collect();
    let mut tensors = model_tensors(model);
    for t in plan {
        let n = &t.name;
        for k in [
            format!("{n}.weight"),
            format!("{n}.down.weight"),
            format!("{n}.up.weight"),
        ] {
            tensors.remove(&k);
        }
        if let Some(b) = tensors.remove(&format!("{n}.bias")) {
            tensors.insert(format!("{n}.up.bias"), b);
        }
        let (a, b) = t.svd.factors(t.keep);
        for (key, mat, rows, cols) in [
            (format!("{n}.down.weight"), &b, rank, t.cols),
            (format!("{n}.up.weight"), &a, t.rows, rank),
        ] {
            let shape = shapes.get(&key).cloned().ok_or_else(|| {
                PruneError::Rebuild(format!("the low-rank model has no tensor `{key}`"))
            })?;
            tensors.insert(
                key,
                HostTensor {
                    shape,
                    data: rows_of(mat, rows, cols),
                },
            );
        }
    }
    rebuild(&spec, &tensors, &model.device())
}
