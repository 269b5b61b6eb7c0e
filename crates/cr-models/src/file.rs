//! Model files: safetensors with PyTorch key names and layouts, the architecture as JSON in
//! the metadata under `cr.model`, so that a file alone rebuilds its model.
//!
//! Trust model: a model file is data. Reading one parses a length-checked header
//! (the `safetensors` crate), validates the spec against [`crate::spec::limits`], builds the
//! network lazily (nothing allocated), and compares every declared tensor's name, dtype and
//! shape with what the spec implies before any weight is materialised — so a file can never
//! make the loader allocate more than its own tensors justify, and nothing in it is executed.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use burn::prelude::*;
use safetensors::{Dtype, SafeTensors, tensor::TensorView};

use crate::error::{ModelError, Result};
use crate::model::Model;
use crate::params::{map_params, param_infos, visit_params};
use crate::spec::ModelSpec;

/// Metadata key holding the architecture JSON.
pub const SPEC_KEY: &str = "cr.model";
/// Metadata key holding the file format tag.
pub const FORMAT_KEY: &str = "cr.format";
/// The format tag written by this version.
pub const FORMAT: &str = "cr-model-1";

/// Keys PyTorch writes that carry no information for cr (batch norm's step counter, an
/// int64): accepted and skipped on load.
const IGNORED_SUFFIXES: [&str; 1] = [".num_batches_tracked"];

/// A named f32 tensor on the host, PyTorch layout.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTensor {
    /// Shape.
    pub shape: Vec<usize>,
    /// Row-major values.
    pub data: Vec<f32>,
}

/// Named host tensors, sorted by name.
pub type TensorMap = BTreeMap<String, HostTensor>;

/// Every parameter of `model` on the host, keyed by PyTorch name.
pub fn model_tensors(model: &Model) -> BTreeMap<String, HostTensor> {
    let mut out = BTreeMap::new();
    visit_params(&model.net, |info, flat| {
        let data = flat
            .inner()
            .into_data()
            .try_to_vec::<f32>()
            .unwrap_or_default();
        out.insert(
            info.key.clone(),
            HostTensor {
                shape: info.shape.clone(),
                data,
            },
        );
    });
    out
}

/// Serialises named tensors and metadata to safetensors bytes.
pub fn to_safetensors_bytes(
    tensors: &BTreeMap<String, HostTensor>,
    metadata: HashMap<String, String>,
) -> std::result::Result<Vec<u8>, String> {
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(k, t)| {
            let b: Vec<u8> = t.data.iter().flat_map(|v| v.to_le_bytes()).collect();
            (k.clone(), t.shape.clone(), b)
        })
        .collect();
    let views = bytes
        .iter()
        .map(|(k, s, b)| {
            TensorView::new(Dtype::F32, s.clone(), b)
                .map(|v| (k.clone(), v))
                .map_err(|e| format!("tensor `{k}`: {e}"))
        })
        .collect::<std::result::Result<Vec<_>, String>>()?;
    let bytes = safetensors::serialize(views, Some(metadata)).map_err(|e| e.to_string())?;
    canonical_header(bytes)
}

/// Rewrites the JSON header of safetensors `bytes` with its keys sorted (metadata included),
/// so that the same tensors and metadata always give the same bytes: `safetensors::serialize`
/// writes the metadata in `HashMap` order, which changes from process to process. Tensor data
/// offsets are relative to the end of the header, so they stay valid; the header is padded
/// with spaces to a multiple of 8 bytes, as the format recommends.
fn canonical_header(bytes: Vec<u8>) -> std::result::Result<Vec<u8>, String> {
    let n = bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes)
        .ok_or("serialised file shorter than its header length")? as usize;
    let header = bytes
        .get(8..8 + n)
        .ok_or("serialised header shorter than its length")?;
    // serde_json's map is a BTreeMap: parsing and printing again sorts every object's keys.
    let v: serde_json::Value = serde_json::from_slice(header).map_err(|e| e.to_string())?;
    let mut h = serde_json::to_vec(&v).map_err(|e| e.to_string())?;
    while h.len() % 8 != 0 {
        h.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + h.len() + bytes.len() - 8 - n);
    out.extend_from_slice(&(h.len() as u64).to_le_bytes());
    out.extend_from_slice(&h);
    out.extend_from_slice(&bytes[8 + n..]);
    Ok(out)
}

/// Parses safetensors bytes into f32 host tensors and metadata. Every tensor must be F32.
pub fn from_safetensors_bytes(
    bytes: &[u8],
) -> std::result::Result<(TensorMap, HashMap<String, String>), String> {
    let st = SafeTensors::deserialize(bytes).map_err(|e| explain(&e, bytes))?;
    let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| explain(&e, bytes))?;
    let metadata = meta.metadata().clone().unwrap_or_default();
    let mut out = BTreeMap::new();
    for (name, view) in st.tensors() {
        if IGNORED_SUFFIXES.iter().any(|s| name.ends_with(s)) {
            continue;
        }
        if view.dtype() != Dtype::F32 {
            return Err(format!(
                "tensor `{name}` has dtype {:?}; cr reads F32 only",
                view.dtype()
            ));
        }
        let data: Vec<f32> = view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        out.insert(
            name,
            HostTensor {
                shape: view.shape().to_vec(),
                data,
            },
        );
    }
    Ok((out, metadata))
}

/// The message for a safetensors error, with the lengths involved when a file is cut short.
fn explain(e: &safetensors::SafeTensorError, bytes: &[u8]) -> String {
    use safetensors::SafeTensorError as E;
    let header = bytes
        .get(..8)
        .and_then(|b| b.try_into().ok())
        .map(u64::from_le_bytes);
    match (e, header) {
        (E::InvalidHeaderLength, Some(n)) => format!(
            "not a safetensors file: its header claims {n} bytes, the file has {} after the length (truncated, or not safetensors)",
            bytes.len() - 8
        ),
        (E::MetadataIncompleteBuffer, Some(n)) => format!(
            "not a safetensors file: the tensors its header declares do not exactly cover the {} data bytes after it (truncated, or bytes appended)",
            (bytes.len() as u64 - 8).saturating_sub(n)
        ),
        _ => format!("not a safetensors file: {e}"),
    }
}

pub use cr_io::write_atomic;

/// Saves `model` to `path` (atomically), with `extra` metadata entries beside `cr.model`.
pub fn save_model(model: &Model, path: &Path, extra: &BTreeMap<String, String>) -> Result<()> {
    let bytes = model_to_bytes(model, extra).map_err(|problem| ModelError::File {
        path: path.to_path_buf(),
        problem,
    })?;
    write_atomic(path, &bytes).map_err(|source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// The bytes of a model file.
pub fn model_to_bytes(
    model: &Model,
    extra: &BTreeMap<String, String>,
) -> std::result::Result<Vec<u8>, String> {
    let mut meta: HashMap<String, String> =
        extra.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    meta.insert(
        SPEC_KEY.into(),
        serde_json::to_string(&model.spec).map_err(|e| e.to_string())?,
    );
    meta.insert(FORMAT_KEY.into(), FORMAT.into());
    to_safetensors_bytes(&model_tensors(model), meta)
}

/// Loads a model file onto `device`.
pub fn load_model(path: &Path, device: &Device) -> Result<Model> {
    let bytes = std::fs::read(path).map_err(|source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    model_from_bytes(&bytes, device)
        .map(|(m, _)| m)
        .map_err(|problem| ModelError::File {
            path: path.to_path_buf(),
            problem,
        })
}

/// Loads a model from the bytes of a model file; also returns the file's metadata.
pub fn model_from_bytes(
    bytes: &[u8],
    device: &Device,
) -> std::result::Result<(Model, HashMap<String, String>), String> {
    let (tensors, metadata) = from_safetensors_bytes(bytes)?;
    let spec_json = metadata.get(SPEC_KEY).ok_or_else(|| {
        format!("no `{SPEC_KEY}` entry in the safetensors metadata: not a cr model file")
    })?;
    let spec: ModelSpec = serde_json::from_str(spec_json)
        .map_err(|e| format!("metadata `{SPEC_KEY}` is not a valid model spec: {e}"))?;
    let model = Model::build(&spec, device).map_err(|e| format!("metadata `{SPEC_KEY}`: {e}"))?;
    model_with_tensors(model, &tensors).map(|m| (m, metadata))
}

/// Fills every parameter of a (freshly built) `model` from `tensors`, checking that the
/// names and shapes match exactly: a missing, extra or mis-shaped tensor is an error naming
/// the key and both shapes.
pub fn model_with_tensors(
    model: Model,
    tensors: &BTreeMap<String, HostTensor>,
) -> std::result::Result<Model, String> {
    let infos = param_infos(&model.net);
    for info in &infos {
        match tensors.get(&info.key) {
            None => {
                return Err(format!(
                    "missing tensor `{}` (shape {:?})",
                    info.key, info.shape
                ));
            }
            Some(t) if t.shape != info.shape => {
                return Err(format!(
                    "tensor `{}` has shape {:?}, the model expects {:?}",
                    info.key, t.shape, info.shape
                ));
            }
            Some(_) => {}
        }
    }
    let extra: Vec<&String> = tensors
        .keys()
        .filter(|k| !infos.iter().any(|i| &i.key == *k))
        .filter(|k| !IGNORED_SUFFIXES.iter().any(|s| k.ends_with(s)))
        .collect();
    if !extra.is_empty() {
        return Err(format!(
            "unexpected tensor(s) not in the model: {}",
            extra
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let net = map_params(model.net, |info, old| {
        tensors.get(&info.key).map(|t| {
            Tensor::from_data(
                TensorData::new(t.data.clone(), [t.data.len()]),
                &old.device(),
            )
        })
    });
    Ok(Model {
        spec: model.spec,
        net,
    })
}
