//! Layer introspection: one interface for regularisers, bounds and pruning alike.
//!
//! A *layer* is a `Linear` or `Conv2d` weight, read as the `[out, in·kh·kw]` matrix of
//! SPEC §1 (rows are neurons / filters), in forward order. Each carries its role (hidden,
//! first conv, head) and, for factorised layers, which factor it is, so every caller states
//! explicitly whether the head and the first conv are included ([`Selection`]).

use burn::prelude::*;
use serde::Serialize;

use crate::error::{ModelError, Result};
use crate::layout::ParamKind;
use crate::model::Model;
use crate::params::{map_params, param_infos, visit_params};

/// What kind of layer a weight belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LayerKind {
    /// Dense layer.
    Linear,
    /// Convolution (matricised `[out, in·kh·kw]`).
    Conv,
    /// The `down` factor (`[r, in]`, applied first) of a low-rank layer.
    FactorDown,
    /// The `up` factor (`[out, r]`) of a low-rank layer.
    FactorUp,
}

/// Where a layer sits in the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LayerRole {
    /// Any layer of the encoder but the first conv.
    Hidden,
    /// The first convolution of a CNN (the stem / patch embedding).
    FirstConv,
    /// The linear head C.
    Head,
}

/// One compressible layer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LayerInfo {
    /// Key prefix of the layer (`layers.0`, `layer1.0.conv1.down`, `fc`); its weight is
    /// `<name>.weight`.
    pub name: String,
    /// Linear, conv or a factor of a low-rank layer.
    pub kind: LayerKind,
    /// Hidden, first conv or head.
    pub role: LayerRole,
    /// Weight shape in PyTorch layout (`[out, in]` or `[out, in, kh, kw]`).
    pub shape: Vec<usize>,
    /// Rows of the matricised weight (neurons / filters).
    pub rows: usize,
    /// Columns of the matricised weight.
    pub cols: usize,
    /// For factors: the name of the factorised layer (`layers.0` for `layers.0.down`).
    pub factor_of: Option<String>,
}

/// Which layers a caller wants. The default takes every hidden layer, neither the first conv
/// nor the head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Selection {
    /// Include the linear head.
    pub head: bool,
    /// Include the first convolution.
    pub first_conv: bool,
}

impl Selection {
    /// Every layer, head and first conv included.
    pub const ALL: Selection = Selection {
        head: true,
        first_conv: true,
    };
    /// Hidden layers only (the default).
    pub const HIDDEN: Selection = Selection {
        head: false,
        first_conv: false,
    };

    /// Whether this selection takes `layer`.
    pub fn takes(&self, layer: &LayerInfo) -> bool {
        match layer.role {
            LayerRole::Hidden => true,
            LayerRole::FirstConv => self.first_conv,
            LayerRole::Head => self.head,
        }
    }
}

/// A dense host matrix in row-major order.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerMatrix {
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// `rows·cols` values, row-major.
    pub data: Vec<f32>,
}

impl LayerMatrix {
    /// `self · other` (used to form a factorised layer's effective weight `up · down`).
    pub fn matmul(&self, other: &LayerMatrix) -> LayerMatrix {
        let (n, k, m) = (self.rows, self.cols, other.cols);
        let mut out = vec![0f32; n * m];
        for i in 0..n {
            for p in 0..k {
                let a = self.data[i * k + p];
                if a == 0.0 {
                    continue;
                }
                let row = &other.data[p * m..(p + 1) * m];
                for (o, b) in out[i * m..(i + 1) * m].iter_mut().zip(row) {
                    *o += a * b;
                }
            }
        }
        LayerMatrix {
            rows: n,
            cols: m,
            data: out,
        }
    }
}

impl Model {
    /// Every compressible layer in forward order, with its role.
    pub fn layers(&self) -> Vec<LayerInfo> {
        let head = self.net.head_name();
        let mut first_conv_seen = false;
        param_infos(&self.net)
            .into_iter()
            .filter(|p| matches!(p.kind, ParamKind::LinearWeight | ParamKind::ConvWeight))
            .map(|p| {
                let name = p.key.trim_end_matches(".weight").to_string();
                let (kind, factor_of) = if let Some(parent) = name.strip_suffix(".down") {
                    (LayerKind::FactorDown, Some(parent.to_string()))
                } else if let Some(parent) = name.strip_suffix(".up") {
                    (LayerKind::FactorUp, Some(parent.to_string()))
                } else if p.kind == ParamKind::ConvWeight {
                    (LayerKind::Conv, None)
                } else {
                    (LayerKind::Linear, None)
                };
                let role = if name == head {
                    LayerRole::Head
                } else if p.kind == ParamKind::ConvWeight && !first_conv_seen {
                    first_conv_seen = true;
                    LayerRole::FirstConv
                } else {
                    LayerRole::Hidden
                };
                let rows = p.shape[0];
                let cols = p.numel() / rows.max(1);
                LayerInfo {
                    name,
                    kind,
                    role,
                    shape: p.shape,
                    rows,
                    cols,
                    factor_of,
                }
            })
            .collect()
    }

    /// The layers a selection takes.
    pub fn selected_layers(&self, sel: Selection) -> Vec<LayerInfo> {
        self.layers().into_iter().filter(|l| sel.takes(l)).collect()
    }

    /// The layer called `name`, or an error listing the names there are.
    pub fn layer(&self, name: &str) -> Result<LayerInfo> {
        let layers = self.layers();
        layers
            .iter()
            .find(|l| l.name == name)
            .cloned()
            .ok_or_else(|| ModelError::UnknownLayer {
                name: name.to_string(),
                available: layers
                    .iter()
                    .map(|l| l.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The matricised weights of the selected layers as tensors on the model's device,
    /// `[out, in·kh·kw]`, differentiable with respect to the parameters when the model is on
    /// an autodiff device (regularisers use this).
    pub fn layer_tensors(&self, sel: Selection) -> Vec<(LayerInfo, Tensor<2>)> {
        let layers = self.selected_layers(sel);
        let mut out = Vec::with_capacity(layers.len());
        visit_params(&self.net, |info, flat| {
            if let Some(layer) = layers
                .iter()
                .find(|l| format!("{}.weight", l.name) == info.key)
            {
                out.push((layer.clone(), flat.reshape([layer.rows, layer.cols])));
            }
        });
        out
    }

    /// The matricised weights of the selected layers copied to the host.
    pub fn layer_matrices(&self, sel: Selection) -> Vec<(LayerInfo, LayerMatrix)> {
        self.layer_tensors(sel)
            .into_iter()
            .map(|(info, t)| {
                let data = t
                    .inner()
                    .into_data()
                    .try_to_vec::<f32>()
                    .unwrap_or_default();
                let m = LayerMatrix {
                    rows: info.rows,
                    cols: info.cols,
                    data,
                };
                (info, m)
            })
            .collect()
    }

    /// One layer's matricised weight on the host.
    pub fn layer_matrix(&self, name: &str) -> Result<LayerMatrix> {
        let layer = self.layer(name)?;
        let sel = Selection::ALL;
        Ok(self
            .layer_matrices(sel)
            .into_iter()
            .find(|(l, _)| l.name == layer.name)
            .map(|(_, m)| m)
            .unwrap_or(LayerMatrix {
                rows: layer.rows,
                cols: layer.cols,
                data: vec![0.0; layer.rows * layer.cols],
            }))
    }

    /// The effective weight of every selected layer, with each low-rank pair merged into
    /// its product `up · down` under the factorised layer's name. This is what the bounds
    /// of SPEC §2 see: the linear map the layer computes.
    pub fn effective_matrices(&self, sel: Selection) -> Vec<(String, LayerMatrix)> {
        let mut out: Vec<(String, LayerMatrix)> = Vec::new();
        let mut pending_down: Option<(String, LayerMatrix)> = None;
        for (info, m) in self.layer_matrices(sel) {
            match info.kind {
                LayerKind::FactorDown => {
                    pending_down = Some((info.factor_of.unwrap_or_default(), m));
                }
                LayerKind::FactorUp => {
                    if let Some((name, down)) = pending_down.take() {
                        out.push((name, m.matmul(&down)));
                    }
                }
                _ => out.push((info.name, m)),
            }
        }
        out
    }

    /// Writes `matrix` (`[out, in·kh·kw]`, row-major) into layer `name`. The parameter keeps
    /// its id, device and gradient requirement.
    pub fn set_layer_matrix(self, name: &str, matrix: &LayerMatrix) -> Result<Model> {
        let layer = self.layer(name)?;
        if matrix.rows != layer.rows || matrix.cols != layer.cols {
            return Err(ModelError::MatrixShape {
                name: name.to_string(),
                expected_rows: layer.rows,
                expected_cols: layer.cols,
                rows: matrix.rows,
                cols: matrix.cols,
            });
        }
        let key = format!("{name}.weight");
        let net = map_params(self.net, |info, old| {
            (info.key == key).then(|| {
                Tensor::from_data(
                    TensorData::new(matrix.data.clone(), [matrix.data.len()]),
                    &old.device(),
                )
            })
        });
        Ok(Model {
            spec: self.spec,
            net,
        })
    }

    /// Applies `f` to the matricised weight tensor of every selected layer (on the device,
    /// detached) and writes the results back. Frobenius normalisation and pruning masks use
    /// this; it never leaves the device.
    pub fn map_layers(
        self,
        sel: Selection,
        mut f: impl FnMut(&LayerInfo, Tensor<2>) -> Option<Tensor<2>>,
    ) -> Model {
        let layers = self.selected_layers(sel);
        let net = map_params(self.net, |info, old| {
            let layer = layers.iter().find(|l| {
                info.kind != ParamKind::Bias && format!("{}.weight", l.name) == info.key
            })?;
            let n = old.dims()[0];
            let m = old.reshape([layer.rows, layer.cols]);
            f(layer, m).map(|t| t.reshape([n]))
        });
        Model {
            spec: self.spec,
            net,
        }
    }
}
