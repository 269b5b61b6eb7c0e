//! PyTorch state dicts in: a `state_dict()` saved with `safetensors.torch.save_file` becomes a
//! cr [`Model`] (and, through [`crate::file::save_model`], a cr model file).
//!
//! The importer reads the file's F32 tensors (integer `num_batches_tracked` buffers are
//! dropped; a `module.` prefix that `DataParallel` puts on every key is stripped), reads the
//! architecture's hyper-parameters off the shapes ([`guess`]), maps every PyTorch key to a cr
//! parameter path ([`names`]), and fills the model, checking that nothing is missing, extra or
//! mis-shaped — each an [`ImportError`] naming the file and the key. Like the model-file
//! loader it treats the file as data: the header is length-checked by the `safetensors`
//! crate, the spec is validated before anything is allocated, and every shape is compared
//! before any weight is copied.
//!
//! ```no_run
//! use cr_models::import::{ImportArch, ImportOptions, import_file};
//! let opts = ImportOptions {
//!     arch: "torchvision-resnet18".parse::<ImportArch>().unwrap(),
//!     input: [3, 224, 224],
//!     classes: Some(1000),
//!     normalize: None,
//! };
//! let model = import_file(std::path::Path::new("resnet18.safetensors"), &opts,
//!     &cr_models::device::cpu()).unwrap();
//! ```

pub mod error;
pub mod guess;
pub mod names;

use std::collections::BTreeMap;
use std::path::Path;
use std::str::FromStr;

use burn::prelude::*;
use safetensors::{Dtype, SafeTensors};

pub use error::ImportError;
use names::Mapped;

use crate::file::{HostTensor, TensorMap, model_with_tensors};
use crate::model::Model;
use crate::params::param_infos;
use crate::spec::{ModelSpec, Normalize};

/// The PyTorch architectures the importer knows, by their `--arch` name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportArch {
    /// torchvision's `ResNet` (`torchvision-resnet18`, `-resnet50`, or `torchvision-resnet` of
    /// any block counts); `cifar_stem`: the common CIFAR modification (3×3 stride-1 `conv1`,
    /// no max-pool; names ending in `-cifar`). Widths are read from the file.
    TorchvisionResnet {
        /// Blocks per stage and whether they are bottlenecks, when the name fixes them.
        blocks: Option<([usize; 4], bool)>,
        /// 3×3 stride-1 stem without max-pool.
        cifar_stem: bool,
    },
    /// torchvision's `VGG` with batch norm (`torchvision-vgg16-bn`, or `torchvision-vgg-bn`
    /// of any configuration); widths and classifier width are read from the file.
    TorchvisionVggBn {
        /// The layer pattern must be VGG16's.
        vgg16: bool,
    },
    /// RobustBench's `WideResNet(depth, widen_factor)` (`robustbench-wrn-D-W`, or
    /// `robustbench-wrn` of any depth and width).
    RobustbenchWrn {
        /// Depth and widening factor, when the name fixes them.
        depth_widen: Option<(usize, usize)>,
    },
    /// RobustBench's `PreActResNet` (`robustbench-preact-resnet18`, `robustbench-preact-resnet`
    /// of any block counts; `-v2` for `PreActBlockV2`).
    RobustbenchPreactResnet {
        /// Blocks per stage, when the name fixes them.
        blocks: Option<[usize; 4]>,
        /// `PreActBlockV2`: shortcut projections read the pre-activated input.
        v2: bool,
    },
    /// cr's own FCN (`cr-fcn`: `layers.i`, `head`, as `python/cr_models.py` writes it).
    CrFcn,
}

/// The `--arch` names [`ImportArch::from_str`] accepts (`D`, `W`: any depth and width).
pub const KNOWN_ARCHS: [&str; 15] = [
    "torchvision-resnet18",
    "torchvision-resnet50",
    "torchvision-resnet",
    "torchvision-resnet18-cifar",
    "torchvision-resnet50-cifar",
    "torchvision-resnet-cifar",
    "torchvision-vgg16-bn",
    "torchvision-vgg-bn",
    "robustbench-wrn-D-W",
    "robustbench-wrn",
    "robustbench-preact-resnet18",
    "robustbench-preact-resnet",
    "robustbench-preact-resnet18-v2",
    "robustbench-preact-resnet-v2",
    "cr-fcn",
];

impl FromStr for ImportArch {
    type Err = ImportError;

    fn from_str(name: &str) -> Result<Self, ImportError> {
        let unknown = || ImportError::UnknownArch {
            name: name.to_string(),
            known: KNOWN_ARCHS.join(", "),
        };
        if let Some(rest) = name.strip_prefix("torchvision-resnet") {
            let (rest, cifar_stem) = match rest.strip_suffix("-cifar") {
                Some(r) => (r, true),
                None => (rest, false),
            };
            let blocks = match rest {
                "" => None,
                "18" => Some(([2, 2, 2, 2], false)),
                "50" => Some(([3, 4, 6, 3], true)),
                _ => return Err(unknown()),
            };
            return Ok(ImportArch::TorchvisionResnet { blocks, cifar_stem });
        }
        if let Some(rest) = name.strip_prefix("robustbench-preact-resnet") {
            let (rest, v2) = match rest.strip_suffix("-v2") {
                Some(r) => (r, true),
                None => (rest, false),
            };
            let blocks = match rest {
                "" => None,
                "18" => Some([2, 2, 2, 2]),
                _ => return Err(unknown()),
            };
            return Ok(ImportArch::RobustbenchPreactResnet { blocks, v2 });
        }
        if name == "robustbench-wrn" {
            return Ok(ImportArch::RobustbenchWrn { depth_widen: None });
        }
        if let Some(rest) = name.strip_prefix("robustbench-wrn-") {
            let (d, w) = rest.split_once('-').ok_or_else(unknown)?;
            let d: usize = d.parse().map_err(|_| unknown())?;
            let w: usize = w.parse().map_err(|_| unknown())?;
            return Ok(ImportArch::RobustbenchWrn {
                depth_widen: Some((d, w)),
            });
        }
        match name {
            "torchvision-vgg16-bn" => Ok(ImportArch::TorchvisionVggBn { vgg16: true }),
            "torchvision-vgg-bn" => Ok(ImportArch::TorchvisionVggBn { vgg16: false }),
            "cr-fcn" => Ok(ImportArch::CrFcn),
            _ => Err(unknown()),
        }
    }
}

/// What the state dict alone does not say.
#[derive(Debug, Clone)]
pub struct ImportOptions {
    /// The architecture.
    pub arch: ImportArch,
    /// Input shape `[channels, height, width]`.
    pub input: [usize; 3],
    /// Number of classes, checked against the head when given.
    pub classes: Option<usize>,
    /// The input normalisation the model expects (pixels stay in [0, 1]; see
    /// [`ModelSpec::normalize`]).
    pub normalize: Option<Normalize>,
}

/// Reads and imports the state dict in `file`.
pub fn import_file(
    file: &Path,
    opts: &ImportOptions,
    device: &Device,
) -> Result<Model, ImportError> {
    let bytes = std::fs::read(file).map_err(|source| ImportError::Io {
        file: file.to_path_buf(),
        source,
    })?;
    import_bytes(&bytes, file, opts, device)
}

/// Imports the state dict in `bytes`; `file` only names it in errors.
pub fn import_bytes(
    bytes: &[u8],
    file: &Path,
    opts: &ImportOptions,
    device: &Device,
) -> Result<Model, ImportError> {
    let tensors = read_state_dict(bytes, file)?;
    let arch = arch_label(&opts.arch);
    let shapes = tensors
        .iter()
        .map(|(k, t)| (k.clone(), t.shape.clone()))
        .collect();
    let mut spec =
        guess::guess_spec(&opts.arch, &shapes, opts.input, opts.classes).map_err(|problem| {
            ImportError::Structure {
                file: file.to_path_buf(),
                arch: arch.clone(),
                problem,
            }
        })?;
    spec.normalize = opts.normalize.clone();
    let (cr_tensors, torch_of) = rename(&opts.arch, tensors, file, &arch)?;
    fill(&spec, cr_tensors, &torch_of, file, &arch, device)
}

/// The F32 tensors of a safetensors state dict, `module.` prefixes stripped, integer
/// `num_batches_tracked` buffers dropped.
pub fn read_state_dict(bytes: &[u8], file: &Path) -> Result<TensorMap, ImportError> {
    let st = SafeTensors::deserialize(bytes).map_err(|e| ImportError::NotSafetensors {
        file: file.to_path_buf(),
        problem: format!("not a safetensors file: {e}"),
    })?;
    let mut out = BTreeMap::new();
    let all_prefixed = st.names().iter().all(|n| n.starts_with("module."));
    for (name, view) in st.tensors() {
        let integer = matches!(
            view.dtype(),
            Dtype::I64 | Dtype::I32 | Dtype::I16 | Dtype::I8 | Dtype::U8
        );
        if integer && name.ends_with(".num_batches_tracked") {
            continue;
        }
        if view.dtype() != Dtype::F32 {
            return Err(ImportError::Dtype {
                file: file.to_path_buf(),
                key: name,
                dtype: format!("{:?}", view.dtype()),
            });
        }
        let data = view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let key = match name.strip_prefix("module.") {
            Some(k) if all_prefixed => k.to_string(),
            _ => name,
        };
        let shape = view.shape().to_vec();
        out.insert(key, HostTensor { shape, data });
    }
    Ok(out)
}

/// The architecture's name for messages.
fn arch_label(arch: &ImportArch) -> String {
    arch.to_string()
}

impl std::fmt::Display for ImportArch {
    /// The `--arch` name this parses from.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ImportArch::TorchvisionResnet { blocks, cifar_stem } => {
                let depth = match blocks {
                    Some(([2, 2, 2, 2], false)) => "18",
                    Some(([3, 4, 6, 3], true)) => "50",
                    _ => "",
                };
                let stem = if *cifar_stem { "-cifar" } else { "" };
                write!(f, "torchvision-resnet{depth}{stem}")
            }
            ImportArch::TorchvisionVggBn { vgg16: true } => write!(f, "torchvision-vgg16-bn"),
            ImportArch::TorchvisionVggBn { vgg16: false } => write!(f, "torchvision-vgg-bn"),
            ImportArch::RobustbenchWrn {
                depth_widen: Some((d, w)),
            } => write!(f, "robustbench-wrn-{d}-{w}"),
            ImportArch::RobustbenchWrn { depth_widen: None } => write!(f, "robustbench-wrn"),
            ImportArch::RobustbenchPreactResnet { blocks, v2 } => {
                let depth = if *blocks == Some([2, 2, 2, 2]) {
                    "18"
                } else {
                    ""
                };
                let v2 = if *v2 { "-v2" } else { "" };
                write!(f, "robustbench-preact-resnet{depth}{v2}")
            }
            ImportArch::CrFcn => write!(f, "cr-fcn"),
        }
    }
}

/// Renames every tensor to its cr path; also returns cr path → PyTorch key for messages.
fn rename(
    arch: &ImportArch,
    tensors: TensorMap,
    file: &Path,
    label: &str,
) -> Result<(TensorMap, BTreeMap<String, String>), ImportError> {
    let keys: Vec<&str> = tensors.keys().map(String::as_str).collect();
    let map = names::key_map(arch, &keys);
    let mut targets = BTreeMap::new();
    for (torch, m) in map {
        match m {
            Mapped::To(cr) => {
                targets.insert(torch, cr);
            }
            Mapped::Unused => {
                tracing::info!(
                    "{}: `{torch}` is unused by the module's forward; dropped",
                    file.display()
                );
            }
            Mapped::Unknown => {
                return Err(ImportError::Unexpected {
                    file: file.to_path_buf(),
                    key: torch,
                    arch: label.to_string(),
                });
            }
        }
    }
    let mut out = BTreeMap::new();
    let mut torch_of = BTreeMap::new();
    for (torch, t) in tensors {
        if let Some(cr) = targets.remove(&torch) {
            torch_of.insert(cr.clone(), torch);
            out.insert(cr, t);
        }
    }
    Ok((out, torch_of))
}

/// Builds the model of `spec` and fills it from `tensors` (cr paths), after checking that
/// every parameter is present with its shape and nothing else is.
fn fill(
    spec: &ModelSpec,
    tensors: TensorMap,
    torch_of: &BTreeMap<String, String>,
    file: &Path,
    arch: &str,
    device: &Device,
) -> Result<Model, ImportError> {
    let model = Model::build(spec, device).map_err(|source| ImportError::Spec {
        file: file.to_path_buf(),
        source,
    })?;
    let torch = |cr: &str| torch_of.get(cr).cloned().unwrap_or_else(|| cr.to_string());
    let infos = param_infos(&model.net);
    for info in &infos {
        match tensors.get(&info.key) {
            None => {
                return Err(ImportError::Missing {
                    file: file.to_path_buf(),
                    key: guess_torch_key(&info.key, torch_of),
                    shape: info.shape.clone(),
                    arch: arch.to_string(),
                });
            }
            Some(t) if t.shape != info.shape => {
                return Err(ImportError::Shape {
                    file: file.to_path_buf(),
                    key: torch(&info.key),
                    found: t.shape.clone(),
                    expected: info.shape.clone(),
                    arch: arch.to_string(),
                });
            }
            Some(_) => {}
        }
    }
    if let Some(extra) = tensors.keys().find(|k| !infos.iter().any(|i| &i.key == *k)) {
        return Err(ImportError::Unexpected {
            file: file.to_path_buf(),
            key: torch(extra),
            arch: arch.to_string(),
        });
    }
    model_with_tensors(model, &tensors).map_err(|problem| ImportError::NotSafetensors {
        file: file.to_path_buf(),
        problem,
    })
}

/// The PyTorch key a missing cr parameter would have had: the key of a sibling parameter of
/// the same layer with the last component replaced, or the cr path itself (the identity map).
fn guess_torch_key(cr: &str, torch_of: &BTreeMap<String, String>) -> String {
    let Some((layer, param)) = cr.rsplit_once('.') else {
        return cr.to_string();
    };
    torch_of
        .iter()
        .find_map(|(c, t)| {
            let (l, _) = c.rsplit_once('.')?;
            let (tl, _) = t.rsplit_once('.')?;
            (l == layer).then(|| format!("{tl}.{param}"))
        })
        .unwrap_or_else(|| cr.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_name_parses_and_prints_back() {
        for name in KNOWN_ARCHS {
            let name = name.replace("D-W", "28-10");
            let arch: ImportArch = name.parse().unwrap();
            assert_eq!(arch.to_string(), name);
        }
        for bad in [
            "resnet18",
            "torchvision-resnet34",
            "robustbench-wrn-28",
            "robustbench-wrn-a-b",
        ] {
            assert!(bad.parse::<ImportArch>().is_err(), "{bad}");
        }
    }
}
