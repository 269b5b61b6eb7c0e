//! The hyper-parameters of an architecture read off a state dict's shapes: block counts from
//! the keys present, widths from the anchor tensors' shapes, the class count from the head.
//! Whatever `--arch` fixes (ResNet18's `[2, 2, 2, 2]`, WRN-28-10's depth and width) is
//! checked against what the file holds.

use std::collections::BTreeMap;

use super::ImportArch;
use crate::spec::{Arch, ModelSpec, Stem};

/// Shapes by PyTorch key.
pub type Shapes = BTreeMap<String, Vec<usize>>;

/// A problem with the structure, in words naming the key (the caller adds file and arch).
pub type Problem = String;

fn shape<'a>(shapes: &'a Shapes, key: &str) -> Result<&'a [usize], Problem> {
    shapes
        .get(key)
        .map(Vec::as_slice)
        .ok_or_else(|| format!("it has no `{key}`"))
}

fn dim(shapes: &Shapes, key: &str, axis: usize, rank: usize) -> Result<usize, Problem> {
    let s = shape(shapes, key)?;
    if s.len() != rank {
        return Err(format!("`{key}` has shape {s:?}, not {rank}-D"));
    }
    Ok(s[axis])
}

/// How many `i = 0, 1, …` have `key(i)` in the file.
fn count(shapes: &Shapes, key: impl Fn(usize) -> String) -> usize {
    (0..).take_while(|&i| shapes.contains_key(&key(i))).count()
}

fn stage_blocks(shapes: &Shapes, key: impl Fn(usize, usize) -> String) -> [usize; 4] {
    [1, 2, 3, 4].map(|s| count(shapes, |j| key(s, j)))
}

fn expect_blocks(found: [usize; 4], want: Option<[usize; 4]>) -> Result<(), Problem> {
    match want {
        Some(w) if w != found => Err(format!(
            "its stages hold {found:?} blocks, the architecture has {w:?}"
        )),
        _ => Ok(()),
    }
}

/// The spec of `arch` for this state dict (no normalisation; the caller adds it).
pub fn guess_spec(
    arch: &ImportArch,
    shapes: &Shapes,
    input: [usize; 3],
    classes: Option<usize>,
) -> Result<ModelSpec, Problem> {
    let (arch, head) = match arch {
        ImportArch::CrFcn => (fcn(shapes)?, "head.weight"),
        ImportArch::TorchvisionResnet { blocks, cifar_stem } => {
            (resnet(shapes, *blocks, *cifar_stem)?, "fc.weight")
        }
        ImportArch::TorchvisionVggBn { vgg16 } => (vgg(shapes, *vgg16)?, "classifier.6.weight"),
        ImportArch::RobustbenchWrn { depth_widen } => (wrn(shapes, *depth_widen)?, "fc.weight"),
        ImportArch::RobustbenchPreactResnet { blocks, v2 } => {
            (preact(shapes, *blocks, *v2)?, "linear.weight")
        }
    };
    let k = dim(shapes, head, 0, 2)?;
    if let Some(c) = classes
        && c != k
    {
        return Err(format!(
            "`{head}` has {k} rows (classes), not the {c} asked for"
        ));
    }
    Ok(ModelSpec {
        arch,
        input,
        num_classes: k,
        pruned: Default::default(),
        normalize: None,
    })
}

fn fcn(shapes: &Shapes) -> Result<Arch, Problem> {
    let depth = count(shapes, |i| format!("layers.{i}.weight"));
    if depth == 0 {
        return Err("it has no `layers.0.weight`".into());
    }
    let width = dim(shapes, "layers.0.weight", 0, 2)?;
    for i in 1..depth {
        let key = format!("layers.{i}.weight");
        let w = dim(shapes, &key, 0, 2)?;
        if w != width {
            return Err(format!(
                "`{key}` has {w} rows where `layers.0.weight` has {width}; cr's FCN has one width"
            ));
        }
    }
    Ok(Arch::Fcn {
        width,
        depth,
        bias: shapes.contains_key("head.bias"),
        layer_rank: None,
    })
}

fn resnet(shapes: &Shapes, want: Option<([usize; 4], bool)>, cifar: bool) -> Result<Arch, Problem> {
    let blocks = stage_blocks(shapes, |s, j| format!("layer{s}.{j}.conv1.weight"));
    let bottleneck = shapes.contains_key("layer1.0.conv3.weight");
    if let Some((b, bn)) = want {
        expect_blocks(blocks, Some(b))?;
        if bn != bottleneck {
            let kind = |b: bool| if b { "bottleneck" } else { "basic" };
            return Err(format!(
                "its blocks are {} blocks (`layer1.0.conv3.weight` {}), the architecture has {} blocks",
                kind(bottleneck),
                if bottleneck { "present" } else { "absent" },
                kind(bn)
            ));
        }
    }
    let width = dim(shapes, "conv1.weight", 0, 4)?;
    let kernel = dim(shapes, "conv1.weight", 2, 4)?;
    let (stem, k) = if cifar {
        (Stem::Cifar, 3)
    } else {
        (Stem::Imagenet, 7)
    };
    if kernel != k {
        return Err(format!(
            "`conv1.weight` is a {kernel}x{kernel} conv; the {stem:?} stem is {k}x{k}"
        ));
    }
    let width_per_group = if bottleneck {
        dim(shapes, "layer1.0.conv1.weight", 0, 4)? * 64 / width
    } else {
        64
    };
    Ok(Arch::Resnet {
        blocks,
        bottleneck,
        width,
        width_per_group,
        layer_rank: None,
        stem,
    })
}

fn wrn(shapes: &Shapes, want: Option<(usize, usize)>) -> Result<Arch, Problem> {
    let groups = [1, 2, 3].map(|g| count(shapes, |i| format!("block{g}.layer.{i}.conv1.weight")));
    let n = groups[0];
    if n == 0 || groups.iter().any(|&g| g != n) {
        return Err(format!(
            "its three groups hold {groups:?} blocks (`blockG.layer.I.conv1.weight`); a WRN has the same number n >= 1 in each"
        ));
    }
    let depth = 6 * n + 4;
    let w16 = dim(shapes, "block1.layer.0.conv1.weight", 0, 4)?;
    if w16 % 16 != 0 {
        return Err(format!(
            "`block1.layer.0.conv1.weight` has {w16} output channels, not a multiple of 16"
        ));
    }
    let widen = w16 / 16;
    if let Some((d, w)) = want
        && (d, w) != (depth, widen)
    {
        return Err(format!(
            "it is a WRN-{depth}-{widen} ({n} blocks per group, {w16} channels in group 1), not WRN-{d}-{w}"
        ));
    }
    Ok(Arch::Wrn {
        depth,
        widen,
        layer_rank: None,
    })
}

fn preact(shapes: &Shapes, want: Option<[usize; 4]>, v2: bool) -> Result<Arch, Problem> {
    let blocks = stage_blocks(shapes, |s, j| format!("layer{s}.{j}.conv1.weight"));
    expect_blocks(blocks, want)?;
    Ok(Arch::PreactResnet {
        blocks,
        width: dim(shapes, "conv1.weight", 0, 4)?,
        out_shortcut: v2,
        bn_before_fc: shapes.contains_key("bn.weight"),
    })
}

fn vgg(shapes: &Shapes, vgg16: bool) -> Result<Arch, Problem> {
    let keys: Vec<&str> = shapes.keys().map(String::as_str).collect();
    let convs = super::names::vgg_conv_indices(&keys);
    if convs.is_empty() {
        return Err("it has no conv followed by a batch norm (`features.0.weight`, `features.1.running_mean`)".into());
    }
    // conv i, bn i+1, relu i+2, then either the next conv (i+3) or a max-pool (i+3) and the
    // next conv (i+4). torchvision's configurations all end with a max-pool.
    let mut config = Vec::new();
    for (j, &i) in convs.iter().enumerate() {
        config.push(dim(shapes, &format!("features.{i}.weight"), 0, 4)?);
        match convs.get(j + 1).map(|&n| n - i) {
            Some(3) => {}
            Some(4) | None => config.push(0),
            Some(gap) => {
                return Err(format!(
                    "`features.{}` follows `features.{i}` at a gap of {gap}; torchvision's VGG-BN has conv, bn, relu and at most one max-pool between convs",
                    i + gap
                ));
            }
        }
    }
    if vgg16 {
        let pattern = |c: &[usize]| c.iter().map(|&v| v == 0).collect::<Vec<bool>>();
        if pattern(&config) != pattern(&crate::spec::VGG16) {
            return Err(format!(
                "its layer pattern {config:?} (0 = max-pool) is not VGG16's"
            ));
        }
    }
    Ok(Arch::VggTorchvision {
        config,
        hidden: dim(shapes, "classifier.0.weight", 0, 2)?,
    })
}
