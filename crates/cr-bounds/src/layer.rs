//! [`Layer`]: one weight matrix of the chain being bounded (a leaf module: the alignment terms
//! and the network bound both take layers, and neither depends on the other through it).

use cr_linalg::Mat;

/// One layer of the chain: its weight as a `[out, in]` matrix (conv filters matricised as
/// `[out, in·kh·kw]` by the caller), acting as `x ↦ W x`.
#[derive(Debug, Clone, PartialEq)]
pub struct Layer {
    /// The name used in errors and reports.
    pub name: String,
    /// The weight, `[out, in]`.
    pub matrix: Mat<f64>,
}

impl Layer {
    /// A layer from a name and a matrix.
    pub fn new(name: impl Into<String>, matrix: Mat<f64>) -> Self {
        Layer {
            name: name.into(),
            matrix,
        }
    }
}

/// The ReLU activation patterns of `inputs` (`[n, d]`, one row per sample) through the
/// hidden layers of a bias-free chain (every layer but the last): per hidden layer, per
/// sample, whether each unit's pre-activation is positive. What the data-driven alignment
/// estimators take (the ℓ∞ analogue of the patterns the network visits on its data).
pub fn activation_patterns(layers: &[Layer], inputs: &Mat<f64>) -> Vec<Vec<Vec<bool>>> {
    let n = inputs.nrows();
    let mut a = inputs.clone();
    let mut out = Vec::new();
    for layer in &layers[..layers.len().saturating_sub(1)] {
        let z = &a * layer.matrix.transpose();
        out.push(
            (0..n)
                .map(|i| (0..z.ncols()).map(|j| z[(i, j)] > 0.0).collect())
                .collect(),
        );
        a = Mat::from_fn(z.nrows(), z.ncols(), |i, j| z[(i, j)].max(0.0));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// By hand: W¹ = [[1, −1], [−1, 1]] on x = (2, 1) gives z = (1, −1); ReLU (1, 0) through
    /// W² = [[1, 1]] is the last layer, so one hidden layer's pattern (true, false).
    #[test]
    fn patterns_by_hand() {
        let w1 = Mat::from_fn(2, 2, |i, j| if i == j { 1.0 } else { -1.0 });
        let w2 = Mat::from_fn(1, 2, |_, _| 1.0);
        let x = Mat::from_fn(2, 2, |i, j| [[2.0, 1.0], [0.0, 3.0]][i][j]);
        let p = activation_patterns(&[Layer::new("a", w1), Layer::new("b", w2)], &x);
        assert_eq!(p, vec![vec![vec![true, false], vec![false, true]]]);
    }
}
