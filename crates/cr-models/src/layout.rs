//! The one place where burn's parameter layouts meet PyTorch's.
//!
//! burn's `Linear` stores its weight as `[in, out]`; PyTorch (and this project everywhere
//! outside burn's own structs) uses `[out, in]`. Conv weights are `[out, in, kh, kw]` in both.
//! burn names the batch/layer-norm affine parameters `gamma`/`beta`, PyTorch `weight`/`bias`.
//! Enum variants (`Full`, `LowRank`, `Basic`, …) are a Rust device to choose between
//! structures and never appear in a key.
//!
//! Everything that names or reshapes parameters — model files, introspection, initialisation,
//! the optimisers' state — goes through [`PathStack`] and [`to_torch`]/[`from_torch`].

use burn::prelude::*;

/// What a parameter is, as far as layout is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// A `Linear` weight: burn `[in, out]`, PyTorch `[out, in]`.
    LinearWeight,
    /// A `Conv2d` weight, `[out, in, kh, kw]` in both.
    ConvWeight,
    /// A bias of a `Linear` or `Conv2d`.
    Bias,
    /// A norm layer's scale/shift (`weight`/`bias` in PyTorch).
    NormAffine,
    /// A batch norm running statistic (a buffer, not trained).
    RunningStat,
    /// Any other tensor (class token, position embedding, …).
    Other,
}

/// A parameter as seen from outside burn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamInfo {
    /// PyTorch state-dict key, e.g. `layers.0.weight`, `layer1.0.bn1.running_mean`.
    pub key: String,
    /// Shape in PyTorch layout.
    pub shape: Vec<usize>,
    /// Layout kind.
    pub kind: ParamKind,
    /// burn's container type of the parameter (e.g. `Struct:Linear`).
    pub container: String,
}

impl ParamInfo {
    /// Whether an optimiser trains it (every kind but running statistics).
    pub fn trainable(&self) -> bool {
        self.kind != ParamKind::RunningStat
    }

    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }
}

/// Tracks the module path during a burn visit/map and turns it into PyTorch keys.
#[derive(Debug, Default, Clone)]
pub struct PathStack {
    items: Vec<(String, String)>,
}

impl PathStack {
    /// Call from `enter_module`.
    pub fn enter(&mut self, name: &str, container_type: &str) {
        self.items
            .push((name.to_string(), container_type.to_string()));
    }

    /// Call from `exit_module`.
    pub fn exit(&mut self) {
        self.items.pop();
    }

    /// burn's container type of the innermost field (the parameter's owner).
    pub fn container(&self) -> &str {
        self.items.last().map(|(_, c)| c.as_str()).unwrap_or("")
    }

    /// The innermost field name (`weight`, `gamma`, …).
    pub fn field(&self) -> &str {
        self.items.last().map(|(n, _)| n.as_str()).unwrap_or("")
    }

    /// The PyTorch key of the current parameter.
    pub fn key(&self) -> String {
        let container = self.container();
        let is_norm = container == "Struct:BatchNorm" || container == "Struct:LayerNorm";
        let mut parts: Vec<&str> = Vec::with_capacity(self.items.len());
        for (i, (name, ct)) in self.items.iter().enumerate() {
            if ct.starts_with("Enum:") {
                continue;
            }
            let last = i + 1 == self.items.len();
            let name = match (last && is_norm, name.as_str()) {
                (true, "gamma") => "weight",
                (true, "beta") => "bias",
                (_, n) => n,
            };
            parts.push(name);
        }
        parts.join(".")
    }

    /// The layout kind of the current parameter.
    pub fn kind(&self) -> ParamKind {
        match (self.container(), self.field()) {
            ("Struct:Linear", "weight") => ParamKind::LinearWeight,
            ("Struct:Conv2d", "weight") => ParamKind::ConvWeight,
            ("Struct:Linear" | "Struct:Conv2d", "bias") => ParamKind::Bias,
            ("Struct:BatchNorm", "running_mean" | "running_var") => ParamKind::RunningStat,
            ("Struct:BatchNorm" | "Struct:LayerNorm", _) => ParamKind::NormAffine,
            _ => ParamKind::Other,
        }
    }

    /// The full description of the current parameter, given its burn shape.
    pub fn info(&self, burn_shape: &[usize]) -> ParamInfo {
        let kind = self.kind();
        ParamInfo {
            key: self.key(),
            shape: torch_shape(kind, burn_shape),
            kind,
            container: self.container().to_string(),
        }
    }
}

/// PyTorch shape of a parameter with this burn shape.
pub fn torch_shape(kind: ParamKind, burn_shape: &[usize]) -> Vec<usize> {
    match (kind, burn_shape) {
        (ParamKind::LinearWeight, [i, o]) => vec![*o, *i],
        _ => burn_shape.to_vec(),
    }
}

/// A burn parameter tensor to PyTorch layout, flattened row-major.
pub fn to_torch<const D: usize>(kind: ParamKind, t: Tensor<D>) -> Tensor<1> {
    let n = t.shape().num_elements();
    if kind == ParamKind::LinearWeight && D == 2 {
        let dims = t.dims();
        t.reshape([dims[0], dims[1]]).transpose().reshape([n])
    } else {
        t.reshape([n])
    }
}

/// A flat PyTorch-layout tensor back to a burn parameter of shape `burn_shape`.
pub fn from_torch<const D: usize>(
    kind: ParamKind,
    flat: Tensor<1>,
    burn_shape: [usize; D],
) -> Tensor<D> {
    if kind == ParamKind::LinearWeight && D == 2 {
        let (i, o) = (burn_shape[0], burn_shape[1]);
        flat.reshape([o, i]).transpose().reshape(burn_shape)
    } else {
        flat.reshape(burn_shape)
    }
}

/// A layer weight (`Linear` or `Conv2d`) to the `[out, in·kh·kw]` matrix of SPEC §1, as a
/// tensor (differentiable when the weight is).
pub fn weight_matrix<const D: usize>(kind: ParamKind, t: Tensor<D>) -> Tensor<2> {
    let dims = t.dims();
    match kind {
        ParamKind::LinearWeight => t.reshape([dims[0], dims[1]]).transpose(),
        _ => {
            let out = dims[0];
            let rest = t.shape().num_elements() / out.max(1);
            t.reshape([out, rest])
        }
    }
}
