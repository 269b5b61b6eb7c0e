//! Reference Lipschitz quantities of small ReLU chains `W_L φ(… φ(W_1 x))`, for checking the
//! bounds: the Jacobian at a point, and the maximum over *all* activation patterns (realisable
//! or not) of `‖W_L D_{L−1} … D_1 W_1‖`, which is an upper bound on the true Lipschitz
//! constant (the Jacobian at any differentiable point is one of these products).

use cr_linalg::{Mat, norms, svd};

use crate::alignment::{EXACT_MAX_BITS, Norm};
use crate::error::{BoundsError, Result, invalid};
use crate::layer::Layer;

/// `‖M‖_∞` or `‖M‖₂` of a matrix.
///
/// # Errors
/// [`BoundsError::Linalg`] for non-finite entries (ℓ2).
pub fn operator_norm(m: &Mat<f64>, norm: Norm) -> Result<f64> {
    Ok(match norm {
        Norm::Linf => norms::inf_norm(m),
        Norm::L2 => svd::spectral_norm(m)?,
    })
}

fn check_chain(layers: &[Layer]) -> Result<()> {
    if layers.is_empty() {
        return Err(BoundsError::Empty);
    }
    for w in layers.windows(2) {
        if w[1].matrix.ncols() != w[0].matrix.nrows() {
            return Err(BoundsError::Shape {
                layer: w[1].name.clone(),
                problem: format!(
                    "has {} inputs but `{}` has {} outputs",
                    w[1].matrix.ncols(),
                    w[0].name,
                    w[0].matrix.nrows()
                ),
            });
        }
    }
    Ok(())
}

/// `W_L D_{L−1} W_{L−1} … D_1 W_1` for patterns `patterns[l]` of layer l's output.
fn product(layers: &[Layer], patterns: &[Vec<bool>]) -> Mat<f64> {
    let mut acc = layers[0].matrix.clone();
    for (l, layer) in layers.iter().enumerate().skip(1) {
        let d = &patterns[l - 1];
        let masked = Mat::from_fn(acc.nrows(), acc.ncols(), |i, j| {
            if d[i] { acc[(i, j)] } else { 0.0 }
        });
        acc = &layer.matrix * &masked;
    }
    acc
}

/// The Jacobian of the chain at `x` (a unit is active when its pre-activation is > 0).
///
/// # Errors
/// [`BoundsError::Empty`], [`BoundsError::Shape`] for a chain that does not chain or an `x`
/// of the wrong length.
pub fn jacobian(layers: &[Layer], x: &[f64]) -> Result<Mat<f64>> {
    check_chain(layers)?;
    if x.len() != layers[0].matrix.ncols() {
        return Err(invalid(
            "x",
            format!(
                "length {} but the first layer has {} inputs",
                x.len(),
                layers[0].matrix.ncols()
            ),
        ));
    }
    let mut a = Mat::from_fn(x.len(), 1, |i, _| x[i]);
    let mut patterns = Vec::new();
    for layer in &layers[..layers.len() - 1] {
        let z = &layer.matrix * &a;
        let p: Vec<bool> = (0..z.nrows()).map(|i| z[(i, 0)] > 0.0).collect();
        a = Mat::from_fn(z.nrows(), 1, |i, _| z[(i, 0)].max(0.0));
        patterns.push(p);
    }
    Ok(product(layers, &patterns))
}

/// `max` over all activation patterns of the hidden layers of `‖W_L D_{L−1} … D_1 W_1‖`: an
/// upper bound on the chain's Lipschitz constant in `norm`, and ≤ every certified Theorem 3.2
/// bound with the head included. Refuses above [`EXACT_MAX_BITS`] hidden units in total.
///
/// # Errors
/// As [`jacobian`], and [`BoundsError::TooLarge`] above the limit.
pub fn pattern_max(layers: &[Layer], norm: Norm) -> Result<f64> {
    check_chain(layers)?;
    let sizes: Vec<usize> = layers[..layers.len() - 1]
        .iter()
        .map(|l| l.matrix.nrows())
        .collect();
    let bits: usize = sizes.iter().sum();
    if bits > EXACT_MAX_BITS {
        return Err(BoundsError::TooLarge {
            lower: layers[0].name.clone(),
            upper: layers[layers.len() - 1].name.clone(),
            bits,
            max: EXACT_MAX_BITS,
        });
    }
    let mut best = 0.0f64;
    for code in 0u64..(1u64 << bits) {
        let mut offset = 0;
        let patterns: Vec<Vec<bool>> = sizes
            .iter()
            .map(|&s| {
                let p = (0..s).map(|i| code >> (offset + i) & 1 == 1).collect();
                offset += s;
                p
            })
            .collect();
        best = best.max(operator_norm(&product(layers, &patterns), norm)?);
    }
    Ok(best)
}
