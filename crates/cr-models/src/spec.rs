//! Architecture specifications: what a model file stores under `cr.model`, and what a TOML
//! config's `[model]` table holds.
//!
//! A spec alone rebuilds a model (with its weights from a file or a seed). Every size is
//! checked before anything is allocated, so an absurd spec read from an untrusted file is an
//! error, not an out-of-memory abort.

use serde::{Deserialize, Serialize};

use crate::error::{Result, invalid};

/// Upper limits on sizes, so that a spec from an untrusted file cannot ask for absurd
/// allocations. They are far above anything the paper uses (WRN-101-2 has 126 M parameters).
pub mod limits {
    /// Largest width of any layer (units, channels, embedding size).
    pub const MAX_WIDTH: usize = 1 << 16;
    /// Largest number of layers/blocks in any stage.
    pub const MAX_DEPTH: usize = 512;
    /// Largest input side length and channel count.
    pub const MAX_INPUT_SIDE: usize = 4096;
    /// Largest number of classes.
    pub const MAX_CLASSES: usize = 1 << 20;
    /// Largest total parameter count (4 G parameters = 16 GiB of f32).
    pub const MAX_PARAMS: u64 = 1 << 32;
}

/// A model: architecture, input shape and number of classes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// The architecture and its hyper-parameters.
    pub arch: Arch,
    /// Input shape `[channels, height, width]`.
    pub input: [usize; 3],
    /// Number of output classes (logits).
    pub num_classes: usize,
    /// Output widths of layers made narrower by structured pruning, by layer name
    /// (`layers.0`, `layer1.0.conv1`, `blocks.2.conv`, …). Empty for an unpruned model.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub pruned: std::collections::BTreeMap<String, usize>,
    /// Input normalisation, a fixed first layer `x ↦ (x − mean_c)/std_c` per channel (as the
    /// authors' code normalises by the data set's statistics). Inputs, attack budgets and
    /// clipping stay in [0, 1] pixel space; `None`: the network sees the pixels as they are.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalize: Option<Normalize>,
}

/// Per-channel input normalisation (see [`ModelSpec::normalize`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Normalize {
    /// Per-channel mean (one value per input channel).
    pub mean: Vec<f64>,
    /// Per-channel standard deviation (one positive value per input channel).
    pub std: Vec<f64>,
}

impl Normalize {
    /// Checks that there is one finite mean and one finite positive std per channel.
    pub fn validate(&self, channels: usize) -> Result<()> {
        for (v, f) in [(&self.mean, "normalize.mean"), (&self.std, "normalize.std")] {
            if v.len() != channels {
                return Err(invalid(
                    f,
                    format!("{} values for {channels} input channel(s)", v.len()),
                ));
            }
        }
        if let Some(m) = self.mean.iter().find(|m| !m.is_finite()) {
            return Err(invalid("normalize.mean", format!("{m} is not finite")));
        }
        if let Some(s) = self.std.iter().find(|s| !(s.is_finite() && **s > 0.0)) {
            return Err(invalid(
                "normalize.std",
                format!("{s} is not a finite value > 0"),
            ));
        }
        Ok(())
    }
}

/// The stem of a ResNet (see [`Arch::Resnet`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stem {
    /// 3×3 conv, stride 1, no max-pool (the CIFAR form).
    #[default]
    Cifar,
    /// torchvision's ImageNet stem: 7×7 conv stride 2 (padding 3), 3×3 max-pool stride 2
    /// (padding 1); convs initialised kaiming-normal (fan-out, ReLU gain).
    Imagenet,
}

impl Stem {
    /// Whether this is the default CIFAR stem.
    pub fn is_cifar(&self) -> bool {
        *self == Stem::Cifar
    }
}

/// The architectures cr builds. Each variant's fields are its hyper-parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Arch {
    /// Fully connected network of the paper's Eq. (2): `depth` hidden layers of `width`
    /// units, ReLU, linear head. No biases by default (as in the paper's analysis).
    Fcn {
        /// Hidden width h.
        width: usize,
        /// Number of hidden layers λ.
        depth: usize,
        /// Biases on every layer (head included).
        #[serde(default)]
        bias: bool,
        /// Factorise every hidden layer as `W = A·B` of this rank (SPEC §4, low rank).
        #[serde(default)]
        layer_rank: Option<usize>,
    },
    /// A small CNN for CPU-scale runs: 3×3 convs (each followed by ReLU and 2×2 max-pool),
    /// an optional hidden dense layer, linear head.
    Cnn {
        /// Output channels of each conv stage.
        channels: Vec<usize>,
        /// Width of the hidden dense layer (0: none).
        #[serde(default)]
        hidden: usize,
        /// Factorise every conv but the first (k×k to r channels, then 1×1) and the hidden
        /// dense layer to this rank.
        #[serde(default)]
        layer_rank: Option<usize>,
    },
    /// ResNet in its CIFAR form (3×3 stem, no max-pool), torchvision key names.
    /// `blocks = [2,2,2,2]`, basic blocks, `width = 64` is ResNet18.
    Resnet {
        /// Blocks in each of the four stages.
        blocks: [usize; 4],
        /// Bottleneck blocks (ResNet50/101 and the wide variants) instead of basic blocks.
        #[serde(default)]
        bottleneck: bool,
        /// Channels of the first stage (64 in torchvision); stages double it.
        #[serde(default = "default_resnet_width")]
        width: usize,
        /// Inner width of bottleneck blocks per 64 planes (64 standard, 128 = "wide ×2").
        #[serde(default = "default_resnet_width")]
        width_per_group: usize,
        /// Factorise the 3×3 convs in blocks to this rank.
        #[serde(default)]
        layer_rank: Option<usize>,
        /// The stem: `cifar` (default; 3×3 stride-1 conv, no max-pool) or `imagenet`
        /// (torchvision's 7×7 stride-2 conv and 3×3 stride-2 max-pool, with torchvision's
        /// kaiming-normal fan-out initialisation of every conv, as advcomp's `resnet18-tv`).
        #[serde(default, skip_serializing_if = "Stem::is_cifar")]
        stem: Stem,
    },
    /// VGG with batch norm (CIFAR form: one linear classifier on the pooled features).
    Vgg {
        /// Conv widths, with 0 standing for a 2×2 max-pool (VGG16 is
        /// 64,64,0,128,128,0,256,256,256,0,512,512,512,0,512,512,512,0).
        config: Vec<usize>,
        /// Factorise every conv but the first to this rank.
        #[serde(default)]
        layer_rank: Option<usize>,
    },
    /// Wide ResNet (Zagoruyko & Komodakis): depth = 6n+4, pre-activation basic blocks,
    /// widths 16k, 32k, 64k.
    Wrn {
        /// Total depth (16, 22, 28, 40, …: 6n+4).
        depth: usize,
        /// Widening factor k.
        widen: usize,
        /// Factorise the 3×3 convs in blocks to this rank.
        #[serde(default)]
        layer_rank: Option<usize>,
    },
    /// Pre-activation ResNet in RobustBench's form (`PreActResNet`, key names `layer1.0.bn1`,
    /// `layer2.0.shortcut.0`, `bn`, `linear`): 3×3 stem, four stages of pre-activation basic
    /// blocks, global average pool, linear head. `blocks = [2,2,2,2]`, `width = 64` is
    /// PreActResNet18. Not factorisable (no `layer_rank`).
    PreactResnet {
        /// Blocks in each of the four stages.
        blocks: [usize; 4],
        /// Channels of the first stage (64 in RobustBench); stages double it.
        #[serde(default = "default_resnet_width")]
        width: usize,
        /// Shortcut projections read the pre-activated input (RobustBench's `PreActBlockV2`)
        /// instead of the block's input (`PreActBlock`).
        #[serde(default)]
        out_shortcut: bool,
        /// A final batch norm and ReLU before the pool (RobustBench's `bn_before_fc`).
        #[serde(default)]
        bn_before_fc: bool,
    },
    /// VGG with batch norm in torchvision's layout (`vgg16_bn`): convs with bias, adaptive
    /// average pool to 7×7, three-layer classifier of width `hidden`. Not factorisable.
    VggTorchvision {
        /// Conv widths, with 0 standing for a 2×2 max-pool (as [`Arch::Vgg`]).
        config: Vec<usize>,
        /// Width of the two hidden classifier layers (4096 in torchvision).
        #[serde(default = "default_vgg_hidden")]
        hidden: usize,
    },
    /// Vision transformer (pre-norm blocks, class token, learned position embedding).
    Vit {
        /// Patch side (4 for 32×32 inputs).
        patch: usize,
        /// Embedding dimension.
        dim: usize,
        /// Number of transformer blocks.
        depth: usize,
        /// Attention heads (must divide `dim`).
        heads: usize,
        /// Hidden width of each block's MLP.
        mlp_dim: usize,
    },
}

fn default_resnet_width() -> usize {
    64
}

fn default_vgg_hidden() -> usize {
    4096
}

/// The VGG16 layout (0 = max-pool).
pub const VGG16: [usize; 18] = [
    64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0,
];

impl ModelSpec {
    /// A named preset: `fcn-1x400`, `fcn-5x2000` (the authors' CIFAR-10 FCN), `cnn-small`,
    /// `resnet18`, `resnet50`, `wide-resnet101-2`, `vgg16`, `wrn-16-4`, `wrn-28-10`, `vit-tiny`,
    /// `vit-small`.
    pub fn preset(name: &str, input: [usize; 3], num_classes: usize) -> Result<Self> {
        let arch = match name {
            "fcn-1x400" => Arch::Fcn {
                width: 400,
                depth: 1,
                bias: false,
                layer_rank: None,
            },
            "fcn-5x2000" => Arch::Fcn {
                width: 2000,
                depth: 5,
                bias: false,
                layer_rank: None,
            },
            "cnn-small" => Arch::Cnn {
                channels: vec![16, 32],
                hidden: 128,
                layer_rank: None,
            },
            "resnet18" => resnet([2, 2, 2, 2], false, 64),
            "resnet50" => resnet([3, 4, 6, 3], true, 64),
            "wide-resnet101-2" => resnet([3, 4, 23, 3], true, 128),
            "vgg16" => Arch::Vgg {
                config: VGG16.to_vec(),
                layer_rank: None,
            },
            "wrn-16-4" => Arch::Wrn {
                depth: 16,
                widen: 4,
                layer_rank: None,
            },
            "wrn-28-10" => Arch::Wrn {
                depth: 28,
                widen: 10,
                layer_rank: None,
            },
            "vit-tiny" => Arch::Vit {
                patch: 4,
                dim: 64,
                depth: 4,
                heads: 4,
                mlp_dim: 128,
            },
            "vit-small" => Arch::Vit {
                patch: 4,
                dim: 192,
                depth: 6,
                heads: 3,
                mlp_dim: 384,
            },
            other => {
                return Err(invalid(
                    "preset",
                    format!("unknown preset `{other}` (known: {})", PRESETS.join(", ")),
                ));
            }
        };
        let spec = ModelSpec {
            arch,
            input,
            num_classes,
            pruned: Default::default(),
            normalize: None,
        };
        spec.validate()?;
        Ok(spec)
    }

    /// A short name of the architecture (`fcn`, `cnn`, `resnet`, `vgg`, `wrn`, `vit`,
    /// `preact-resnet`, `vgg-torchvision`).
    pub fn arch_name(&self) -> &'static str {
        match self.arch {
            Arch::Fcn { .. } => "fcn",
            Arch::Cnn { .. } => "cnn",
            Arch::Resnet { .. } => "resnet",
            Arch::Vgg { .. } => "vgg",
            Arch::Wrn { .. } => "wrn",
            Arch::Vit { .. } => "vit",
            Arch::PreactResnet { .. } => "preact-resnet",
            Arch::VggTorchvision { .. } => "vgg-torchvision",
        }
    }

    /// The layer rank, if the model is factorised.
    pub fn layer_rank(&self) -> Option<usize> {
        match &self.arch {
            Arch::Fcn { layer_rank, .. }
            | Arch::Cnn { layer_rank, .. }
            | Arch::Resnet { layer_rank, .. }
            | Arch::Vgg { layer_rank, .. }
            | Arch::Wrn { layer_rank, .. } => *layer_rank,
            Arch::Vit { .. } | Arch::PreactResnet { .. } | Arch::VggTorchvision { .. } => None,
        }
    }

    /// Checks every size against [`limits`] and the architecture's own constraints (including
    /// whether the input is large enough). Called by every constructor and by the file loader.
    pub fn validate(&self) -> Result<()> {
        self.validate_common()?;
        self.validate_arch()
    }

    /// The checks every architecture shares: input shape, normalisation, pruned widths and
    /// the number of classes.
    fn validate_common(&self) -> Result<()> {
        use limits::*;
        let [c, h, w] = self.input;
        for (v, f) in [(c, "input[0]"), (h, "input[1]"), (w, "input[2]")] {
            if v == 0 || v > MAX_INPUT_SIDE {
                return Err(invalid(f, format!("{v} is outside 1..={MAX_INPUT_SIDE}")));
            }
        }
        if let Some(n) = &self.normalize {
            n.validate(c)?;
        }
        for (name, w) in &self.pruned {
            if *w == 0 || *w > MAX_WIDTH {
                return Err(invalid(
                    &format!("pruned.{name}"),
                    format!("{w} is outside 1..={MAX_WIDTH}"),
                ));
            }
        }
        if self.num_classes < 2 || self.num_classes > MAX_CLASSES {
            return Err(invalid(
                "num_classes",
                format!("{} is outside 2..={MAX_CLASSES}", self.num_classes),
            ));
        }
        Ok(())
    }

    /// The architecture's own checks, one helper per architecture.
    fn validate_arch(&self) -> Result<()> {
        match &self.arch {
            Arch::Fcn {
                width: wd,
                depth: d,
                layer_rank,
                ..
            } => {
                check_width(*wd, "arch.width")?;
                check_depth(*d, "arch.depth", 1)?;
                check_rank(layer_rank)
            }
            Arch::Cnn {
                channels,
                hidden,
                layer_rank,
            } => self.validate_cnn(channels, *hidden, layer_rank),
            Arch::Resnet {
                blocks,
                width: wd,
                width_per_group,
                layer_rank,
                stem,
                ..
            } => self.validate_resnet(blocks, *wd, *width_per_group, layer_rank, *stem),
            Arch::PreactResnet {
                blocks, width: wd, ..
            } => self.validate_preact_resnet(blocks, *wd),
            Arch::VggTorchvision { config, hidden } => {
                check_width(*hidden, "arch.hidden")?;
                self.validate_vgg_config(config)
            }
            Arch::Vgg { config, layer_rank } => self.validate_vgg(config, layer_rank),
            Arch::Wrn {
                depth: d,
                widen,
                layer_rank,
            } => self.validate_wrn(*d, *widen, layer_rank),
            Arch::Vit {
                patch,
                dim,
                depth: d,
                heads,
                mlp_dim,
            } => self.validate_vit(*patch, *dim, *d, *heads, *mlp_dim),
        }
    }

    /// The checks of [`Arch::Cnn`]: stage widths, hidden width, rank, and an input that
    /// survives every max-pool.
    fn validate_cnn(
        &self,
        channels: &[usize],
        hidden: usize,
        layer_rank: &Option<usize>,
    ) -> Result<()> {
        use limits::*;
        let [_, h, w] = self.input;
        check_depth(channels.len(), "arch.channels (length)", 1)?;
        for (i, ch) in channels.iter().enumerate() {
            check_width(*ch, &format!("arch.channels[{i}]"))?;
        }
        if hidden > MAX_WIDTH {
            return Err(invalid(
                "arch.hidden",
                format!("{hidden} exceeds {MAX_WIDTH}"),
            ));
        }
        check_rank(layer_rank)?;
        let side = h.min(w) >> channels.len();
        if side == 0 {
            return Err(self.input_error(format!(
                "{} max-pool stages shrink a {h}x{w} input to nothing",
                channels.len()
            )));
        }
        Ok(())
    }

    /// The checks of [`Arch::Resnet`]: stage depths, widths, rank, and the stem's minimum
    /// input side.
    fn validate_resnet(
        &self,
        blocks: &[usize; 4],
        wd: usize,
        width_per_group: usize,
        layer_rank: &Option<usize>,
        stem: Stem,
    ) -> Result<()> {
        let [_, h, w] = self.input;
        for (i, b) in blocks.iter().enumerate() {
            check_depth(*b, &format!("arch.blocks[{i}]"), 1)?;
        }
        check_width(wd, "arch.width")?;
        check_width(wd.saturating_mul(8), "arch.width (x8 in the last stage)")?;
        check_width(width_per_group, "arch.width_per_group")?;
        check_rank(layer_rank)?;
        // Three stride-2 stages (five with the ImageNet stem): the input must be at least
        // 8 (32) pixels on a side.
        let min = if stem == Stem::Imagenet { 32 } else { 8 };
        if h < min || w < min {
            return Err(self.input_error(format!(
                "ResNet with the {stem:?} stem needs at least {min}x{min} inputs"
            )));
        }
        Ok(())
    }

    /// The checks of [`Arch::PreactResnet`]: stage depths, width, and at least 8x8 inputs.
    fn validate_preact_resnet(&self, blocks: &[usize; 4], wd: usize) -> Result<()> {
        let [_, h, w] = self.input;
        for (i, b) in blocks.iter().enumerate() {
            check_depth(*b, &format!("arch.blocks[{i}]"), 1)?;
        }
        check_width(wd, "arch.width")?;
        check_width(wd.saturating_mul(8), "arch.width (x8 in the last stage)")?;
        if h < 8 || w < 8 {
            return Err(self.input_error("PreActResNet needs at least 8x8 inputs".into()));
        }
        Ok(())
    }

    /// The checks of [`Arch::Vgg`]: the config's length and widths, rank, and an input that
    /// survives every max-pool.
    fn validate_vgg(&self, config: &[usize], layer_rank: &Option<usize>) -> Result<()> {
        use limits::*;
        let [_, h, w] = self.input;
        check_depth(config.len(), "arch.config (length)", 1)?;
        if !config.iter().any(|&c| c > 0) {
            return Err(invalid("arch.config", "has no conv layer"));
        }
        for (i, ch) in config.iter().enumerate() {
            if *ch > MAX_WIDTH {
                return Err(invalid(
                    &format!("arch.config[{i}]"),
                    format!("{ch} exceeds {MAX_WIDTH}"),
                ));
            }
        }
        check_rank(layer_rank)?;
        let pools = config.iter().filter(|&&c| c == 0).count();
        if (h.min(w) >> pools) == 0 {
            return Err(self.input_error(format!(
                "{pools} max-pool stages shrink a {h}x{w} input to nothing"
            )));
        }
        Ok(())
    }

    /// The checks of [`Arch::Wrn`]: a depth of the form 6n+4, widths, rank, and at least
    /// 4x4 inputs.
    fn validate_wrn(&self, d: usize, widen: usize, layer_rank: &Option<usize>) -> Result<()> {
        use limits::*;
        let [_, h, w] = self.input;
        if d < 10 || !(d - 4).is_multiple_of(6) || d > 6 * MAX_DEPTH + 4 {
            return Err(invalid(
                "arch.depth",
                format!("{d} is not of the form 6n+4 with n >= 1"),
            ));
        }
        check_width(widen, "arch.widen")?;
        check_width(
            widen.saturating_mul(64),
            "arch.widen (x64 in the last group)",
        )?;
        check_rank(layer_rank)?;
        if h < 4 || w < 4 {
            return Err(self.input_error("WRN needs at least 4x4 inputs".into()));
        }
        Ok(())
    }

    /// The checks of [`Arch::Vit`]: sizes, heads dividing the dimension, and patches tiling
    /// the input.
    fn validate_vit(
        &self,
        patch: usize,
        dim: usize,
        d: usize,
        heads: usize,
        mlp_dim: usize,
    ) -> Result<()> {
        let [_, h, w] = self.input;
        check_width(patch, "arch.patch")?;
        check_width(dim, "arch.dim")?;
        check_depth(d, "arch.depth", 1)?;
        check_width(heads, "arch.heads")?;
        check_width(mlp_dim, "arch.mlp_dim")?;
        // `heads` >= 1 here (checked above), so this is `dim % heads != 0`.
        if !dim.is_multiple_of(heads) {
            return Err(invalid(
                "arch.heads",
                format!("{heads} does not divide dim = {dim}"),
            ));
        }
        if h % patch != 0 || w % patch != 0 {
            return Err(self.input_error(format!(
                "patch size {patch} does not divide the {h}x{w} input"
            )));
        }
        Ok(())
    }

    /// The checks of a VGG config without a rank (see [`Arch::VggTorchvision`]).
    fn validate_vgg_config(&self, config: &[usize]) -> Result<()> {
        use limits::*;
        if config.is_empty() || config.len() > MAX_DEPTH {
            return Err(invalid(
                "arch.config (length)",
                format!("{} is outside 1..={MAX_DEPTH}", config.len()),
            ));
        }
        if !config.iter().any(|&c| c > 0) {
            return Err(invalid("arch.config", "has no conv layer"));
        }
        if let Some((i, ch)) = config.iter().enumerate().find(|(_, c)| **c > MAX_WIDTH) {
            return Err(invalid(
                &format!("arch.config[{i}]"),
                format!("{ch} exceeds {MAX_WIDTH}"),
            ));
        }
        let [_, h, w] = self.input;
        let pools = config.iter().filter(|&&c| c == 0).count();
        if (h.min(w) >> pools.min(63)) == 0 {
            return Err(self.input_error(format!(
                "{pools} max-pool stages shrink a {h}x{w} input to nothing"
            )));
        }
        Ok(())
    }

    fn input_error(&self, problem: String) -> crate::ModelError {
        crate::ModelError::InputShape {
            arch: self.arch_name().to_string(),
            shape: self.input,
            problem,
        }
    }
}

/// Checks that the width `v` of field `f` is in `1..=MAX_WIDTH`.
fn check_width(v: usize, f: &str) -> Result<()> {
    use limits::MAX_WIDTH;
    if v == 0 || v > MAX_WIDTH {
        Err(invalid(f, format!("{v} is outside 1..={MAX_WIDTH}")))
    } else {
        Ok(())
    }
}

/// Checks that the depth `v` of field `f` is in `min..=MAX_DEPTH`.
fn check_depth(v: usize, f: &str, min: usize) -> Result<()> {
    use limits::MAX_DEPTH;
    if v < min || v > MAX_DEPTH {
        Err(invalid(f, format!("{v} is outside {min}..={MAX_DEPTH}")))
    } else {
        Ok(())
    }
}

/// Checks that a layer rank, if given, is in `1..=MAX_WIDTH`.
fn check_rank(r: &Option<usize>) -> Result<()> {
    use limits::MAX_WIDTH;
    match r {
        Some(0) => Err(invalid("layer_rank", "must be at least 1")),
        Some(v) if *v > MAX_WIDTH => Err(invalid("layer_rank", format!("{v} exceeds {MAX_WIDTH}"))),
        _ => Ok(()),
    }
}

fn resnet(blocks: [usize; 4], bottleneck: bool, width_per_group: usize) -> Arch {
    Arch::Resnet {
        blocks,
        bottleneck,
        width: 64,
        width_per_group,
        layer_rank: None,
        stem: Stem::Cifar,
    }
}

/// Names accepted by [`ModelSpec::preset`].
pub const PRESETS: [&str; 11] = [
    "fcn-1x400",
    "fcn-5x2000",
    "cnn-small",
    "resnet18",
    "resnet50",
    "wide-resnet101-2",
    "vgg16",
    "wrn-16-4",
    "wrn-28-10",
    "vit-tiny",
    "vit-small",
];
