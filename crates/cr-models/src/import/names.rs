//! PyTorch state-dict keys → cr parameter paths, per architecture.
//!
//! cr's ResNet already uses torchvision's names, its PreActResNet RobustBench's, and its FCN
//! is cr's own, so for those the map is the identity. RobustBench's `WideResNet` nests each
//! group's blocks in `blockG.layer.I` and calls the shortcut `convShortcut` and the final
//! norm `bn1`; torchvision's VGG numbers every module of `features` and `classifier`
//! (convs, norms, ReLUs, pools, dropouts alike), so its map is built from the conv indices
//! present in the file.

use super::ImportArch;

/// What becomes of one state-dict key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapped {
    /// The cr parameter path it fills.
    To(String),
    /// A key the architecture's PyTorch module has but never uses in `forward` (RobustBench's
    /// `sub_block1`): dropped.
    Unused,
    /// Not a key of this architecture.
    Unknown,
}

/// The map for one state dict: `keys` are all its (F32) keys, used where the numbering of
/// one key depends on the others (torchvision's VGG).
pub fn key_map(arch: &ImportArch, keys: &[&str]) -> Vec<(String, Mapped)> {
    let vgg = match arch {
        ImportArch::TorchvisionVggBn { .. } => Some(vgg_conv_indices(keys)),
        _ => None,
    };
    keys.iter()
        .map(|k| {
            let m = match (arch, &vgg) {
                (ImportArch::RobustbenchWrn { .. }, _) => wrn_key(k),
                (ImportArch::TorchvisionVggBn { .. }, Some(convs)) => vgg_key(k, convs),
                _ => Mapped::To(k.to_string()),
            };
            (k.to_string(), m)
        })
        .collect()
}

/// RobustBench `WideResNet` → cr `Wrn`.
fn wrn_key(k: &str) -> Mapped {
    if k.starts_with("sub_block1.") {
        return Mapped::Unused;
    }
    if let Some(rest) = k.strip_prefix("bn1.") {
        return Mapped::To(format!("bn.{rest}"));
    }
    let parts: Vec<&str> = k.split('.').collect();
    match parts.as_slice() {
        [g, "layer", i, rest @ ..] if g.starts_with("block") && !rest.is_empty() => {
            let rest = match rest {
                ["convShortcut", p] => format!("shortcut.0.{p}"),
                _ => rest.join("."),
            };
            Mapped::To(format!("{g}.{i}.{rest}"))
        }
        [g, ..] if g.starts_with("block") => Mapped::Unknown,
        _ => Mapped::To(k.to_string()),
    }
}

/// The indices `i` of `features.i.weight` keys with 4-D shapes are not known here, so the
/// convs are recognised as the `features.i` that have a `features.(i+1).running_mean`
/// (conv followed by its batch norm), in increasing order.
pub fn vgg_conv_indices(keys: &[&str]) -> Vec<usize> {
    let mut convs: Vec<usize> = keys
        .iter()
        .filter_map(|k| k.strip_prefix("features.")?.strip_suffix(".weight"))
        .filter_map(|i| i.parse::<usize>().ok())
        .filter(|i| keys.contains(&format!("features.{}.running_mean", i + 1).as_str()))
        .collect();
    convs.sort_unstable();
    convs
}

/// torchvision `VGG` (batch-norm form) → cr `VggTv`.
fn vgg_key(k: &str, convs: &[usize]) -> Mapped {
    let parts: Vec<&str> = k.splitn(3, '.').collect();
    let [module, index, param] = parts.as_slice() else {
        return Mapped::Unknown;
    };
    let Ok(i) = index.parse::<usize>() else {
        return Mapped::Unknown;
    };
    match *module {
        "features" => {
            if let Some(j) = convs.iter().position(|&c| c == i) {
                Mapped::To(format!("blocks.{j}.conv.{param}"))
            } else if let Some(j) = convs.iter().position(|&c| c + 1 == i) {
                Mapped::To(format!("blocks.{j}.bn.{param}"))
            } else {
                Mapped::Unknown
            }
        }
        "classifier" => match i {
            0 => Mapped::To(format!("fc1.{param}")),
            3 => Mapped::To(format!("fc2.{param}")),
            6 => Mapped::To(format!("head.{param}")),
            _ => Mapped::Unknown,
        },
        _ => Mapped::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrn_keys_follow_robustbench_names() {
        let cases = [
            ("conv1.weight", "conv1.weight"),
            ("block1.layer.0.bn1.weight", "block1.0.bn1.weight"),
            ("block2.layer.3.conv2.weight", "block2.3.conv2.weight"),
            (
                "block3.layer.0.convShortcut.weight",
                "block3.0.shortcut.0.weight",
            ),
            ("bn1.running_var", "bn.running_var"),
            ("fc.bias", "fc.bias"),
        ];
        for (torch, cr) in cases {
            assert_eq!(wrn_key(torch), Mapped::To(cr.into()), "{torch}");
        }
        assert_eq!(wrn_key("sub_block1.layer.0.bn1.weight"), Mapped::Unused);
        assert_eq!(wrn_key("block1.conv.weight"), Mapped::Unknown);
    }

    #[test]
    fn vgg_keys_number_convs_by_position() {
        // cfg [8, M, 16]: conv 0, bn 1, relu 2, pool 3, conv 4, bn 5, relu 6.
        let keys = [
            "features.0.weight",
            "features.0.bias",
            "features.1.weight",
            "features.1.running_mean",
            "features.4.weight",
            "features.5.running_mean",
            "classifier.0.weight",
            "classifier.3.bias",
            "classifier.6.weight",
        ];
        assert_eq!(vgg_conv_indices(&keys), vec![0, 4]);
        let map = key_map(&ImportArch::TorchvisionVggBn { vgg16: false }, &keys);
        let got: Vec<String> = map
            .into_iter()
            .map(|(_, m)| match m {
                Mapped::To(s) => s,
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(
            got,
            [
                "blocks.0.conv.weight",
                "blocks.0.conv.bias",
                "blocks.0.bn.weight",
                "blocks.0.bn.running_mean",
                "blocks.1.conv.weight",
                "blocks.1.bn.running_mean",
                "fc1.weight",
                "fc2.bias",
                "head.weight",
            ]
        );
        assert_eq!(vgg_key("classifier.2.weight", &[0]), Mapped::Unknown);
    }
}
