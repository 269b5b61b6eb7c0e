//! [`Model`]: a network plus the spec that built it.

use burn::module::Module;
use burn::prelude::*;

use crate::arch::{
    cnn::Cnn,
    fcn::Fcn,
    preact::{PreactResNet, PreactShape},
    resnet::{ResNet, ResNetShape},
    vgg::Vgg,
    vgg_tv::VggTv,
    vit::{Vit, VitShape},
    wrn::Wrn,
};
use crate::error::{ModelError, Result};
use crate::init::init_params;
use crate::layers::linear;
use crate::params::param_infos;
use crate::spec::{Arch, ModelSpec, limits};

/// The networks cr builds. A burn module: optimisers and mappers work on it directly.
#[derive(Module, Debug)]
pub enum Network {
    /// Fully connected (paper Eq. 2).
    Fcn(Fcn),
    /// Small CNN.
    Cnn(Cnn),
    /// ResNet (CIFAR form).
    ResNet(ResNet),
    /// VGG-BN.
    Vgg(Vgg),
    /// Wide ResNet.
    Wrn(Wrn),
    /// Vision transformer.
    Vit(Vit),
    /// Pre-activation ResNet (RobustBench's form).
    PreactResNet(PreactResNet),
    /// VGG-BN in torchvision's layout.
    VggTv(VggTv),
}

impl Network {
    /// The encoder Φ: `[B, C, H, W] → [B, h]`.
    pub fn features(&self, x: Tensor<4>) -> Tensor<2> {
        match self {
            Network::Fcn(m) => m.features(x),
            Network::Cnn(m) => m.features(x),
            Network::ResNet(m) => m.features(x),
            Network::Vgg(m) => m.features(x),
            Network::Wrn(m) => m.features(x),
            Network::Vit(m) => m.features(x),
            Network::PreactResNet(m) => m.features(x),
            Network::VggTv(m) => m.features(x),
        }
    }

    /// The linear head C: `[B, h] → [B, classes]`.
    pub fn head(&self, z: Tensor<2>) -> Tensor<2> {
        match self {
            Network::Fcn(m) => m.head.forward(z),
            Network::Cnn(m) => m.head.forward(z),
            Network::ResNet(m) => m.fc.forward(z),
            Network::Vgg(m) => m.classifier.forward(z),
            Network::Wrn(m) => m.fc.forward(z),
            Network::Vit(m) => m.head.forward(z),
            Network::PreactResNet(m) => m.linear.forward(z),
            Network::VggTv(m) => m.head.forward(z),
        }
    }

    /// Logits `C Φ(x)`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        self.head(self.features(x))
    }

    /// The head's key prefix (`head`, `fc`, `classifier` or `linear`).
    pub fn head_name(&self) -> &'static str {
        match self {
            Network::Fcn(_) | Network::Cnn(_) | Network::Vit(_) | Network::VggTv(_) => "head",
            Network::PreactResNet(_) => "linear",
            Network::ResNet(_) | Network::Wrn(_) => "fc",
            Network::Vgg(_) => "classifier",
        }
    }
}

/// A network together with the spec that built it. Cheap to clone; note that batch-norm
/// running statistics are shared between clones (burn's `RunningState`): use
/// [`Model::snapshot`] for an independent copy.
#[derive(Debug, Clone)]
pub struct Model {
    /// What the network is.
    pub spec: ModelSpec,
    /// The network.
    pub net: Network,
}

impl Model {
    /// Builds the model of `spec` on `device` with weights drawn from `seed`
    /// (see [`crate::init`]).
    pub fn new(spec: &ModelSpec, device: &Device, seed: u64) -> Result<Self> {
        let model = Self::build(spec, device)?;
        let tv = matches!(
            spec.arch,
            Arch::Resnet {
                stem: crate::spec::Stem::Imagenet,
                ..
            }
        );
        let net = if tv {
            crate::init::init_params_with(
                model.net,
                seed,
                crate::init::ConvInit::KaimingNormalFanOut,
            )
        } else {
            init_params(model.net, seed)
        };
        Ok(Model {
            net,
            spec: model.spec,
        })
    }

    /// Builds the structure without drawing weights (burn initialises lazily): the
    /// parameter count and shapes can be inspected before anything is allocated. Used by the
    /// file loader, which then fills every tensor from the file.
    pub fn build(spec: &ModelSpec, device: &Device) -> Result<Self> {
        spec.validate()?;
        let net = build_network(spec, device);
        let model = Model {
            spec: spec.clone(),
            net,
        };
        model.check_pruned_layers()?;
        model.check_param_count()?;
        Ok(model)
    }

    /// Checks that every layer named in `spec.pruned` exists in the model.
    fn check_pruned_layers(&self) -> Result<()> {
        let names: Vec<String> = self
            .layers()
            .into_iter()
            .flat_map(|l| [l.name.clone(), l.factor_of.unwrap_or(l.name)])
            .collect();
        for name in self.spec.pruned.keys() {
            if !names.contains(name) {
                return Err(ModelError::InvalidSpec {
                    field: format!("pruned.{name}"),
                    problem: "the model has no such layer".into(),
                });
            }
        }
        Ok(())
    }

    /// Checks the parameter count against [`limits::MAX_PARAMS`].
    fn check_param_count(&self) -> Result<()> {
        let n = self.num_params() as u64;
        if n > limits::MAX_PARAMS {
            return Err(ModelError::InvalidSpec {
                field: "arch".into(),
                problem: format!("{n} parameters exceed the limit of {}", limits::MAX_PARAMS),
            });
        }
        Ok(())
    }

    /// Logits `[B, classes]` of NCHW inputs in [0, 1] (normalised first when the spec says
    /// so).
    pub fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        self.net.forward(self.normalize(x))
    }

    /// The representation `z = Φ(x)`, `[B, h]`, of inputs in [0, 1] (normalised first when
    /// the spec says so).
    pub fn features(&self, x: Tensor<4>) -> Tensor<2> {
        self.net.features(self.normalize(x))
    }

    /// The fixed first layer of [`ModelSpec::normalize`]: `(x − mean_c)/std_c` per channel,
    /// or `x` unchanged without it. Differentiable in `x` (gradients flow to the pixels).
    pub fn normalize(&self, x: Tensor<4>) -> Tensor<4> {
        let Some(n) = &self.spec.normalize else {
            return x;
        };
        let [b, c, h, w] = x.dims();
        let device = x.device();
        let column = |v: &[f64]| {
            Tensor::<4>::from_data(
                TensorData::new(
                    v.iter().map(|&f| f as f32).collect::<Vec<_>>(),
                    [1, c, 1, 1],
                ),
                &device,
            )
            .expand([b, c, h, w])
        };
        let inv: Vec<f64> = n.std.iter().map(|s| 1.0 / s).collect();
        (x - column(&n.mean)) * column(&inv)
    }

    /// Total number of scalars in trainable parameters (running statistics excluded).
    pub fn num_params(&self) -> usize {
        param_infos(&self.net)
            .iter()
            .filter(|p| p.trainable())
            .map(|p| p.numel())
            .sum()
    }

    /// The device the parameters live on.
    pub fn device(&self) -> Device {
        self.net.devices().into_iter().next().unwrap_or_default()
    }

    /// An evaluation copy: batch norm uses running statistics, parameters are off autodiff
    /// (input gradients still flow through it), and it shares no state with `self`.
    pub fn snapshot(&self) -> Model {
        Model {
            spec: self.spec.clone(),
            net: self.net.valid(),
        }
    }

    /// Moves the model to `device` (for training, an autodiff device).
    pub fn to_device(self, device: &Device) -> Model {
        Model {
            spec: self.spec,
            net: self.net.to_device(device),
        }
    }

    /// A training copy on `device` (an autodiff device enables gradients): parameters
    /// require gradients and batch norm uses batch statistics.
    pub fn for_training(&self, device: &Device) -> Model {
        Model {
            spec: self.spec.clone(),
            net: self.net.valid().to_device(device).train(),
        }
    }

    /// Replaces the linear head by a fresh one with `num_classes` outputs, drawn from
    /// `seed` (transfer learning: a new head on a pretrained encoder).
    pub fn with_new_head(self, num_classes: usize, seed: u64) -> Result<Model> {
        let mut spec = self.spec.clone();
        spec.num_classes = num_classes;
        spec.validate()?;
        let device = self.device();
        let mut net = self.net;
        let replace = |d_in: usize, bias: bool| {
            crate::init::init_params(linear(d_in, num_classes, bias, &device), seed)
        };
        match &mut net {
            Network::Fcn(m) => {
                let [d_in, _] = m.head.weight.shape().dims();
                m.head = replace(d_in, m.head.bias.is_some());
            }
            Network::Cnn(m) => {
                let [d_in, _] = m.head.weight.shape().dims();
                m.head = replace(d_in, m.head.bias.is_some());
            }
            Network::ResNet(m) => {
                let [d_in, _] = m.fc.weight.shape().dims();
                m.fc = replace(d_in, m.fc.bias.is_some());
            }
            Network::Vgg(m) => {
                let [d_in, _] = m.classifier.weight.shape().dims();
                m.classifier = replace(d_in, m.classifier.bias.is_some());
            }
            Network::Wrn(m) => {
                let [d_in, _] = m.fc.weight.shape().dims();
                m.fc = replace(d_in, m.fc.bias.is_some());
            }
            Network::Vit(m) => {
                let [d_in, _] = m.head.weight.shape().dims();
                m.head = replace(d_in, m.head.bias.is_some());
            }
            Network::PreactResNet(m) => {
                let [d_in, _] = m.linear.weight.shape().dims();
                m.linear = replace(d_in, m.linear.bias.is_some());
            }
            Network::VggTv(m) => {
                let [d_in, _] = m.head.weight.shape().dims();
                m.head = replace(d_in, m.head.bias.is_some());
            }
        }
        Ok(Model { spec, net })
    }
}

/// The network of a validated `spec` on `device`, without drawing weights.
fn build_network(spec: &ModelSpec, device: &Device) -> Network {
    let [c, _, _] = spec.input;
    let k = spec.num_classes;
    let widths = crate::layers::Widths(&spec.pruned);
    match &spec.arch {
        Arch::Fcn {
            width,
            depth,
            bias,
            layer_rank,
        } => fcn_network(spec, *width, *depth, *bias, *layer_rank, device),
        Arch::Cnn {
            channels,
            hidden,
            layer_rank,
        } => Network::Cnn(Cnn::new(
            spec.input,
            channels,
            *hidden,
            k,
            *layer_rank,
            widths,
            device,
        )),
        Arch::Resnet {
            blocks,
            bottleneck,
            width,
            width_per_group,
            layer_rank,
            stem,
        } => {
            let shape = resnet_shape(
                *blocks,
                *bottleneck,
                *width,
                *width_per_group,
                *layer_rank,
                *stem,
            );
            Network::ResNet(ResNet::new(c, shape, k, widths, device))
        }
        Arch::Vgg { config, layer_rank } => {
            Network::Vgg(Vgg::new(c, config, k, *layer_rank, widths, device))
        }
        Arch::Wrn {
            depth,
            widen,
            layer_rank,
        } => Network::Wrn(Wrn::new(c, *depth, *widen, k, *layer_rank, widths, device)),
        Arch::PreactResnet {
            blocks,
            width,
            out_shortcut,
            bn_before_fc,
        } => {
            let shape = preact_shape(*blocks, *width, *out_shortcut, *bn_before_fc);
            Network::PreactResNet(PreactResNet::new(c, shape, k, widths, device))
        }
        Arch::VggTorchvision { config, hidden } => {
            Network::VggTv(VggTv::new(c, config, *hidden, k, widths, device))
        }
        Arch::Vit {
            patch,
            dim,
            depth,
            heads,
            mlp_dim,
        } => {
            let shape = vit_shape(*patch, *dim, *depth, *heads, *mlp_dim);
            Network::Vit(Vit::new(spec.input, shape, k, widths, device))
        }
    }
}

/// The constructor shape of a ResNet spec's hyper-parameters.
fn resnet_shape(
    blocks: [usize; 4],
    bottleneck: bool,
    width: usize,
    width_per_group: usize,
    layer_rank: Option<usize>,
    stem: crate::spec::Stem,
) -> ResNetShape {
    ResNetShape {
        blocks,
        bottleneck,
        width,
        width_per_group,
        rank: layer_rank,
        imagenet_stem: stem == crate::spec::Stem::Imagenet,
    }
}

/// The FCN of `spec`: `depth` hidden layers of `width` units on the flattened input.
fn fcn_network(
    spec: &ModelSpec,
    width: usize,
    depth: usize,
    bias: bool,
    layer_rank: Option<usize>,
    device: &Device,
) -> Network {
    let [c, h, w] = spec.input;
    let k = spec.num_classes;
    let widths = crate::layers::Widths(&spec.pruned);
    Network::Fcn(Fcn::new(
        c * h * w,
        width,
        depth,
        k,
        bias,
        layer_rank,
        widths,
        device,
    ))
}

/// The constructor shape of a PreActResNet spec's hyper-parameters.
fn preact_shape(
    blocks: [usize; 4],
    width: usize,
    out_shortcut: bool,
    bn_before_fc: bool,
) -> PreactShape {
    PreactShape {
        blocks,
        width,
        out_shortcut,
        bn_before_fc,
    }
}

/// The constructor shape of a ViT spec's hyper-parameters.
fn vit_shape(patch: usize, dim: usize, depth: usize, heads: usize, mlp_dim: usize) -> VitShape {
    VitShape {
        patch,
        dim,
        depth,
        heads,
        mlp_dim,
    }
}
