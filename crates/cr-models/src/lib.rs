//! # cr-models
//!
//! The networks of the paper and of its experiments — the fully connected network of Eq. (2),
//! its low-rank factorisation, a small CNN, ResNet (CIFAR form; ResNet18, ResNet50,
//! wide ResNet-101-2), VGG-BN, Wide ResNet (WRN-d-k) and a ViT — together with the one
//! interface every other crate uses to look inside them, and their files.
//!
//! * [`Model`]: a [`Network`] plus the [`ModelSpec`] that built it; `forward` gives logits,
//!   `features` the representation Φ(x); every model splits into encoder and linear head.
//! * Introspection ([`introspect`]): the compressible layers in forward order with their
//!   role (hidden, first conv, head), read as `[out, in·kh·kw]` matrices, as host copies or
//!   differentiable tensors, and written back.
//! * Files ([`file`](mod@file)): safetensors with PyTorch key names and layouts; the spec as JSON in the
//!   metadata under `cr.model`. The Python twin of every architecture is in
//!   `python/cr_models.py`.
//! * Layout ([`layout`]): the single place where burn's `[in, out]` `Linear` weight becomes
//!   PyTorch's `[out, in]`.
//!
//! * Convolution ([`conv`]): on the CPU (`flex`) cr's own kernel, forward and both gradients
//!   as im2col/col2im around one matrix product per group of samples (a direct SIMD kernel,
//!   the same bits, for stride 1 and short patches), registered with burn's autodiff; with a
//!   constant weight (attacks, evaluation) the bias, ReLU and 2×2 max-pool that follow fused
//!   into it; burn's kernel on GPU backends.
//! * Batch norm ([`batch_norm`]): on the CPU (`flex`) cr's own kernel, the batch's statistics,
//!   the per-channel map and their gradients in a few passes, one autodiff operation; burn's
//!   layer on GPU backends.
//! * Import ([`import`]): PyTorch state dicts (torchvision's ResNet and VGG-BN,
//!   RobustBench's WideResNet and PreActResNet, cr's FCN) saved as safetensors become models.
//!
//! It does not train (see `cr-train`), regularise, attack or prune; it has no data loading.
//!
//! ```
//! use cr_models::{Model, ModelSpec, Selection, device::cpu};
//! use burn::prelude::*;
//!
//! let spec = ModelSpec::preset("fcn-1x400", [1, 28, 28], 10).unwrap();
//! let device = cpu();
//! let model = Model::new(&spec, &device, 7).unwrap();
//! let logits = model.forward(Tensor::zeros([2, 1, 28, 28], &device));
//! assert_eq!(logits.dims(), [2, 10]);
//! let hidden = model.selected_layers(Selection::HIDDEN);
//! assert_eq!((hidden[0].rows, hidden[0].cols), (400, 784));
//! ```

pub mod arch;
pub mod batch_norm;
mod batch_norm_kernel;
mod buffers;
pub mod conv;
mod conv_direct;
mod conv_flex;
mod conv_kernel;
pub mod device;
pub mod error;
pub mod file;
mod flex;
pub mod flops;
pub mod import;
pub mod init;
pub mod introspect;
pub mod layers;
pub mod layout;
pub mod model;
pub mod params;
mod pool;
pub mod spec;

pub use error::{ModelError, Result};
pub use introspect::{LayerInfo, LayerKind, LayerMatrix, LayerRole, Selection};
pub use model::{Model, Network};
pub use spec::{Arch, ModelSpec, Normalize, Stem};
