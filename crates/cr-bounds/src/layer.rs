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
