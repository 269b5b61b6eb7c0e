//! The penalty terms, each on a list of `[out, in·kh·kw]` weight tensors (rows are neurons /
//! filters), returning a one-element tensor differentiable with respect to the weights.
//! Strengths (α, γ) are applied by the caller.

use burn::prelude::*;
use cr_linalg::Mat;
use cr_models::{LayerInfo, LayerRole, Model, Selection};

use crate::config::{Layers, RowNorm};

/// Added under square roots so that the gradient of a norm stays finite at an exactly zero
/// row (its value moves by at most 1e-6 per row).
pub const SQRT_EPS: f64 = 1e-12;

/// The layers an intervention acts on, with their differentiable matrices.
pub fn layers_for(model: &Model, layers: Layers) -> Vec<(LayerInfo, Tensor<2>)> {
    match layers {
        Layers::Hidden => model.layer_tensors(Selection::HIDDEN),
        Layers::All => model.layer_tensors(Selection::ALL),
        Layers::First => {
            let all = model.layer_tensors(Selection::ALL);
            let first = all
                .iter()
                .position(|(l, _)| l.role != LayerRole::Head)
                .map(|i| {
                    // A factorised first layer contributes both factors.
                    let parent = all[i].0.factor_of.clone();
                    all.iter()
                        .enumerate()
                        .filter(|(j, (l, _))| {
                            *j == i || (parent.is_some() && l.factor_of == parent)
                        })
                        .map(|(j, _)| j)
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            all.into_iter()
                .enumerate()
                .filter(|(j, _)| first.contains(j))
                .map(|(_, x)| x)
                .collect()
        }
    }
}

fn zero(device: &Device) -> Tensor<1> {
    Tensor::zeros([1], device)
}

fn total(terms: impl Iterator<Item = Tensor<1>>, device: &Device) -> Tensor<1> {
    terms.reduce(|a, b| a + b).unwrap_or_else(|| zero(device))
}

/// Row ℓ2 norms `[rows]` (ε under the root, see [`SQRT_EPS`]).
pub fn row_l2(w: Tensor<2>) -> Tensor<1> {
    let rows = w.dims()[0];
    w.square()
        .sum_dim(1)
        .add_scalar(SQRT_EPS)
        .sqrt()
        .reshape([rows])
}

/// Row ℓ1 norms `[rows]`.
pub fn row_l1(w: Tensor<2>) -> Tensor<1> {
    let rows = w.dims()[0];
    w.abs().sum_dim(1).reshape([rows])
}

/// Group lasso, SPEC §4: `Σ_l Σ_rows ‖w_row‖₂`.
pub fn group_lasso(mats: &[Tensor<2>], device: &Device) -> Tensor<1> {
    total(mats.iter().map(|w| row_l2(w.clone()).sum()), device)
}

/// Scale-invariant group lasso, SPEC §4: `Σ_l ‖ρ_l‖₁ / ‖ρ_l‖₂`, ρ_l the row ℓ2 norms.
pub fn scale_invariant_group_lasso(mats: &[Tensor<2>], device: &Device) -> Tensor<1> {
    total(
        mats.iter().map(|w| {
            let rho = row_l2(w.clone());
            let l1 = rho.clone().sum();
            let l2 = rho.square().sum().add_scalar(SQRT_EPS).sqrt();
            l1 / l2
        }),
        device,
    )
}

/// Nuclear norm through its surrogate, SPEC §4: `Σ_l ⟨W_l, stopgrad(U_l V_lᵀ)⟩`. Its value is
/// `Σ_l ‖σ(W_l)‖₁` and its gradient the subgradient `U_l V_lᵀ`. burn's SVD has no autodiff, so
/// the polar factor is computed on the host (cr-linalg) and `U Vᵀ` comes back as a constant.
pub fn nuclear_norm(mats: &[Tensor<2>], device: &Device) -> Tensor<1> {
    total(
        mats.iter().map(|w| {
            let [rows, cols] = w.dims();
            let host: Vec<f32> = w
                .clone()
                .inner()
                .into_data()
                .try_to_vec::<f32>()
                .unwrap_or_default();
            let uvt = polar_factor(&host, rows, cols);
            let uvt = Tensor::<2>::from_data(TensorData::new(uvt, [rows, cols]), &w.device());
            (w.clone() * uvt).sum()
        }),
        device,
    )
}

/// `U Vᵀ` of the thin SVD of a row-major `rows × cols` matrix (the orthogonal polar factor),
/// by [`cr_linalg::svd::polar_factor`] (directions with `σ_i ≤ 1e-6·σ_1` contribute 0).
pub fn polar_factor(data: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    let m = Mat::from_fn(rows, cols, |i, j| data[i * cols + j] as f64);
    match cr_linalg::svd::polar_factor(&m) {
        Ok(p) => (0..rows)
            .flat_map(|i| (0..cols).map(move |j| (i, j)))
            .map(|(i, j)| p[(i, j)] as f32)
            .collect(),
        // A matrix with NaN/inf entries has no SVD; training has diverged and the trainer
        // reports it from the loss. Contribute nothing.
        Err(_) => vec![0.0; rows * cols],
    }
}

/// Spread control, SPEC §4: `Σ_l Var(top ⌈f·h⌉ row norms of layer l)` (unbiased variance, as
/// `torch.var`; at least two rows are taken).
pub fn spread(mats: &[Tensor<2>], top_fraction: f64, norm: RowNorm, device: &Device) -> Tensor<1> {
    total(
        mats.iter().filter(|w| w.dims()[0] >= 2).map(|w| {
            let h = w.dims()[0];
            let k = ((top_fraction * h as f64).ceil() as usize).clamp(2, h);
            let norms = match norm {
                RowNorm::L1 => row_l1(w.clone()),
                RowNorm::L2 => row_l2(w.clone()),
            };
            norms.topk(k, 0).var(0)
        }),
        device,
    )
}

/// Plain ℓ1: `Σ |θ|` over the matrices.
pub fn l1(mats: &[Tensor<2>], device: &Device) -> Tensor<1> {
    total(mats.iter().map(|w| w.clone().abs().sum()), device)
}
