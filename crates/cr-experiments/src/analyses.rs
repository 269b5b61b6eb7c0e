//! The analyses that need `cr-bounds` and `cr-prune`: Lipschitz bounds (paper Theorem 3.2,
//! Figure 3) and pruning curves (paper Figure 8).

use burn::prelude::*;

use cr_data::Dataset;
use cr_models::Model;

use crate::config::EvalConfig;
use crate::error::ExpError;

/// Computes the analysis `name` (`bounds`, `pruning`).
pub fn measure(
    name: &str,
    model: &Model,
    test: &Dataset,
    cfg: &EvalConfig,
    device: &Device,
    x: &Tensor<4>,
    y: &Tensor<1, Int>,
) -> Result<serde_json::Value, ExpError> {
    let _ = (model, test, cfg, device, x, y);
    Err(ExpError::Other(format!(
        "measure `{name}` is not available yet"
    )))
}
