//! Every architecture builds, runs forward and backward on tiny inputs, and has the shapes
//! its spec implies.

#![allow(clippy::unwrap_used)] // tests and examples may panic on their own fixtures

use burn::prelude::*;
use burn::tensor::activation::log_softmax;
use cr_models::device::cpu;
use cr_models::{Arch, LayerKind, LayerRole, Model, ModelSpec, Selection};

fn spec(arch: Arch, input: [usize; 3]) -> ModelSpec {
    ModelSpec {
        arch,
        input,
        num_classes: 3,
        pruned: Default::default(),
        normalize: None,
    }
}

fn tiny_specs() -> Vec<ModelSpec> {
    vec![
        spec(
            Arch::Fcn {
                width: 8,
                depth: 2,
                bias: false,
                layer_rank: None,
            },
            [1, 4, 4],
        ),
        spec(
            Arch::Fcn {
                width: 8,
                depth: 2,
                bias: true,
                layer_rank: Some(2),
            },
            [1, 4, 4],
        ),
        spec(
            Arch::Cnn {
                channels: vec![4, 6],
                hidden: 8,
                layer_rank: Some(2),
            },
            [1, 8, 8],
        ),
        spec(
            Arch::Resnet {
                blocks: [1, 1, 1, 1],
                bottleneck: false,
                width: 4,
                width_per_group: 64,
                layer_rank: None,
                stem: Default::default(),
            },
            [3, 8, 8],
        ),
        spec(
            Arch::Resnet {
                blocks: [1, 1, 1, 1],
                bottleneck: true,
                width: 4,
                width_per_group: 128,
                layer_rank: Some(2),
                stem: Default::default(),
            },
            [3, 8, 8],
        ),
        spec(
            Arch::Vgg {
                config: vec![4, 0, 8, 8, 0],
                layer_rank: None,
            },
            [1, 8, 8],
        ),
        spec(
            Arch::Wrn {
                depth: 10,
                widen: 1,
                layer_rank: None,
            },
            [3, 8, 8],
        ),
        spec(
            Arch::Vit {
                patch: 4,
                dim: 8,
                depth: 1,
                heads: 2,
                mlp_dim: 16,
            },
            [3, 8, 8],
        ),
        spec(
            Arch::PreactResnet {
                blocks: [1, 1, 1, 1],
                width: 4,
                out_shortcut: false,
                bn_before_fc: true,
            },
            [3, 8, 8],
        ),
        spec(
            Arch::VggTorchvision {
                config: vec![4, 0, 8, 0],
                hidden: 6,
            },
            [3, 8, 8],
        ),
    ]
}

#[test]
fn every_architecture_runs_forward_and_backward() {
    let device = cpu().autodiff();
    for spec in tiny_specs() {
        let model = Model::new(&spec, &device, 1).expect("tiny spec builds");
        let [c, h, w] = spec.input;
        let x = Tensor::<4>::ones([2, c, h, w], &device).mul_scalar(0.5);
        let logits = model.forward(x.clone());
        assert_eq!(logits.dims(), [2, 3], "{}", spec.arch_name());
        let z = model.features(x.clone());
        assert_eq!(z.dims()[0], 2);
        let y = Tensor::<1, Int>::from_data(TensorData::new(vec![0i64, 2], [2]), &device);
        let loss = log_softmax(logits, 1)
            .gather(1, y.unsqueeze_dim(1))
            .mean()
            .neg();
        let grads = loss.backward();
        // Every hidden layer's weight receives a gradient.
        for (info, t) in model.layer_tensors(Selection::ALL) {
            let _ = t;
            assert!(info.rows > 0 && info.cols > 0);
        }
        let mut got = 0;
        cr_models::params::visit_params(&model.net, |info, _| {
            if info.trainable() {
                got += 1;
            }
        });
        assert!(got > 0);
        let _ = grads;
    }
}

#[test]
fn fcn_layers_have_the_paper_shapes() {
    let spec = ModelSpec::preset("fcn-1x400", [1, 28, 28], 10).unwrap();
    let model = Model::new(&spec, &cpu(), 0).unwrap();
    let layers = model.layers();
    assert_eq!(layers.len(), 2);
    assert_eq!(layers[0].name, "layers.0");
    assert_eq!((layers[0].rows, layers[0].cols), (400, 784));
    assert_eq!(layers[0].role, LayerRole::Hidden);
    assert_eq!(layers[1].name, "head");
    assert_eq!(layers[1].role, LayerRole::Head);
    assert_eq!((layers[1].rows, layers[1].cols), (10, 400));
    assert_eq!(model.num_params(), 784 * 400 + 400 * 10);
}

#[test]
fn low_rank_layers_are_factors_and_merge_to_their_product() {
    let s = spec(
        Arch::Fcn {
            width: 6,
            depth: 2,
            bias: false,
            layer_rank: Some(2),
        },
        [1, 2, 2],
    );
    let model = Model::new(&s, &cpu(), 3).unwrap();
    let layers = model.selected_layers(Selection::HIDDEN);
    let kinds: Vec<_> = layers.iter().map(|l| (l.name.as_str(), l.kind)).collect();
    assert_eq!(
        kinds,
        vec![
            ("layers.0.down", LayerKind::FactorDown),
            ("layers.0.up", LayerKind::FactorUp),
            ("layers.1.down", LayerKind::FactorDown),
            ("layers.1.up", LayerKind::FactorUp),
        ]
    );
    let eff = model.effective_matrices(Selection::HIDDEN);
    assert_eq!(eff.len(), 2);
    let (name, w) = &eff[0];
    assert_eq!(name, "layers.0");
    assert_eq!((w.rows, w.cols), (6, 4));
    // The effective matrix is the linear map the layer computes: check it on basis vectors.
    let device = cpu();
    let net = match &model.net {
        cr_models::Network::Fcn(f) => f,
        _ => unreachable!(),
    };
    for j in 0..4 {
        let mut e = vec![0f32; 4];
        e[j] = 1.0;
        let x = Tensor::<2>::from_data(TensorData::new(e, [1, 4]), &device);
        let col: Vec<f32> = net.layers[0].forward(x).into_data().try_to_vec().unwrap();
        for (i, c) in col.iter().enumerate() {
            assert!((c - w.data[i * 4 + j]).abs() < 1e-6);
        }
    }
    // Rank of the product is at most 2: every 3x3 minor vanishes.
    let m = |i: usize, j: usize| w.data[i * 4 + j] as f64;
    let det3 = m(0, 0) * (m(1, 1) * m(2, 2) - m(1, 2) * m(2, 1))
        - m(0, 1) * (m(1, 0) * m(2, 2) - m(1, 2) * m(2, 0))
        + m(0, 2) * (m(1, 0) * m(2, 1) - m(1, 1) * m(2, 0));
    assert!(det3.abs() < 1e-6);
}

#[test]
fn first_conv_and_head_roles_are_marked() {
    let s = spec(
        Arch::Resnet {
            blocks: [1, 1, 1, 1],
            bottleneck: false,
            width: 4,
            width_per_group: 64,
            layer_rank: None,
            stem: Default::default(),
        },
        [3, 8, 8],
    );
    let model = Model::new(&s, &cpu(), 0).unwrap();
    let layers = model.layers();
    assert_eq!(layers[0].name, "conv1");
    assert_eq!(layers[0].role, LayerRole::FirstConv);
    assert_eq!(layers[0].shape, vec![4, 3, 3, 3]);
    assert_eq!((layers[0].rows, layers[0].cols), (4, 27));
    let last = layers.last().unwrap();
    assert_eq!((last.name.as_str(), last.role), ("fc", LayerRole::Head));
    assert!(layers.iter().any(|l| l.name == "layer2.0.downsample.0"));
    let hidden = model.selected_layers(Selection::HIDDEN);
    assert!(hidden.iter().all(|l| l.role == LayerRole::Hidden));
    assert_eq!(hidden.len(), layers.len() - 2);
}

#[test]
fn same_seed_same_weights_other_seed_other_weights() {
    let s = ModelSpec::preset("fcn-1x400", [1, 8, 8], 10).unwrap();
    let a = Model::new(&s, &cpu(), 5)
        .unwrap()
        .layer_matrix("layers.0")
        .unwrap();
    let b = Model::new(&s, &cpu(), 5)
        .unwrap()
        .layer_matrix("layers.0")
        .unwrap();
    let c = Model::new(&s, &cpu(), 6)
        .unwrap()
        .layer_matrix("layers.0")
        .unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
    // PyTorch's default bound 1/sqrt(fan_in) = 1/8.
    assert!(a.data.iter().all(|v| v.abs() <= 0.125));
    let max = a.data.iter().fold(0f32, |m, v| m.max(v.abs()));
    assert!(
        max > 0.12,
        "uniform draws should come close to the bound, got {max}"
    );
}

#[test]
fn set_layer_matrix_writes_exactly_what_is_read_back() {
    let s = ModelSpec::preset("fcn-1x400", [1, 4, 4], 10).unwrap();
    let model = Model::new(&s, &cpu(), 0).unwrap();
    let mut m = model.layer_matrix("layers.0").unwrap();
    for (i, v) in m.data.iter_mut().enumerate() {
        *v = i as f32 * 0.001;
    }
    let model = model.set_layer_matrix("layers.0", &m).unwrap();
    assert_eq!(model.layer_matrix("layers.0").unwrap(), m);
    // Row i of the matrix is neuron i: feeding e_j returns column j.
    let device = cpu();
    let mut e = vec![0f32; 16];
    e[3] = 1.0;
    let x = Tensor::<4>::from_data(TensorData::new(e, [1, 1, 4, 4]), &device);
    let z: Vec<f32> = model.features(x).into_data().try_to_vec().unwrap();
    for (i, zi) in z.iter().enumerate() {
        let want = (m.data[i * 16 + 3]).max(0.0);
        assert!((zi - want).abs() < 1e-6);
    }
    // Wrong shape and unknown name are errors, not panics.
    let bad = cr_models::LayerMatrix {
        rows: 3,
        cols: 3,
        data: vec![0.0; 9],
    };
    assert!(model.clone().set_layer_matrix("layers.0", &bad).is_err());
    let err = model.set_layer_matrix("nope", &m).unwrap_err().to_string();
    assert!(err.contains("nope") && err.contains("layers.0"), "{err}");
}

#[test]
fn specs_out_of_range_are_errors_naming_the_field() {
    let bad = [
        (
            Arch::Fcn {
                width: 0,
                depth: 1,
                bias: false,
                layer_rank: None,
            },
            [1, 4, 4],
            "arch.width",
        ),
        (
            Arch::Wrn {
                depth: 11,
                widen: 1,
                layer_rank: None,
            },
            [3, 8, 8],
            "arch.depth",
        ),
        (
            Arch::Vit {
                patch: 3,
                dim: 8,
                depth: 1,
                heads: 2,
                mlp_dim: 8,
            },
            [3, 8, 8],
            "patch",
        ),
        (
            Arch::Vgg {
                config: super_vgg(),
                layer_rank: None,
            },
            [1, 8, 8],
            "max-pool",
        ),
        (
            Arch::Fcn {
                width: 60_000,
                depth: 500,
                bias: false,
                layer_rank: None,
            },
            [3, 1000, 1000],
            "parameters exceed",
        ),
    ];
    for (arch, input, phrase) in bad {
        let s = spec(arch, input);
        let err = Model::build(&s, &cpu()).unwrap_err().to_string();
        assert!(err.contains(phrase), "`{err}` should mention `{phrase}`");
    }
}

fn super_vgg() -> Vec<usize> {
    vec![4, 0, 4, 0, 4, 0, 4, 0]
}

#[test]
fn flops_match_hand_counts() {
    // FCN 784-400-10: 2·(784·400 + 400·10).
    let s = ModelSpec::preset("fcn-1x400", [1, 28, 28], 10).unwrap();
    let m = Model::build(&s, &cpu()).unwrap();
    assert_eq!(m.flops(), 2 * (784 * 400 + 400 * 10));
    // Low rank r = 5: 2·(784·5 + 5·400 + 400·10).
    let s = spec(
        Arch::Fcn {
            width: 400,
            depth: 1,
            bias: false,
            layer_rank: Some(5),
        },
        [1, 28, 28],
    );
    let m = Model::build(&s, &cpu()).unwrap();
    assert_eq!(m.flops(), 2 * (784 * 5 + 5 * 400 + 400 * 3));
    // CNN [1,8,8], convs 4 then 6 (3x3, pad 1), hidden 8, 3 classes:
    // conv1 8x8 out: 4·1·9·64; pool -> 4x4; conv2: 6·4·9·16; pool -> 2x2; fc 24->8; head 8->3.
    let s = spec(
        Arch::Cnn {
            channels: vec![4, 6],
            hidden: 8,
            layer_rank: None,
        },
        [1, 8, 8],
    );
    let m = Model::build(&s, &cpu()).unwrap();
    assert_eq!(
        m.flops(),
        2 * (4 * 9 * 64 + 6 * 4 * 9 * 16 + 24 * 8 + 8 * 3)
    );
    // ResNet18 on 32x32 CIFAR: the well-known 0.56 GMACs.
    let s = ModelSpec::preset("resnet18", [3, 32, 32], 10).unwrap();
    let m = Model::build(&s, &cpu()).unwrap();
    let gmacs = m.flops() as f64 / 2e9;
    assert!((gmacs - 0.556).abs() < 0.01, "{gmacs}");
    assert_eq!(m.num_params(), 11_173_962);
}

/// Input normalisation is a fixed first layer: the logits and features of a normalised model
/// at x equal those of the same weights without normalisation at `(x − mean_c)/std_c`
/// (computed here on the host, per channel); gradients reach the pixels; the spec survives a
/// model file; bad statistics are errors naming the field.
#[test]
fn normalisation_is_a_fixed_first_layer() {
    let device = cpu();
    let mut plain = spec(
        Arch::Cnn {
            channels: vec![4],
            hidden: 0,
            layer_rank: None,
        },
        [3, 4, 4],
    );
    let mean = vec![0.5, 0.25, 0.1];
    let std = vec![0.2, 0.5, 0.3];
    let mut norm = plain.clone();
    norm.normalize = Some(cr_models::Normalize {
        mean: mean.clone(),
        std: std.clone(),
    });
    let a = Model::new(&plain, &device, 3).unwrap();
    let b = Model::new(&norm, &device, 3).unwrap();
    let x: Vec<f32> = (0..2 * 48)
        .map(|i| ((i * 37) % 101) as f32 / 100.0)
        .collect();
    let xn: Vec<f32> = x
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let c = (i / 16) % 3;
            ((*v as f64 - mean[c]) / std[c]) as f32
        })
        .collect();
    let t = |v: Vec<f32>| Tensor::<4>::from_data(TensorData::new(v, [2, 3, 4, 4]), &device);
    let host = |t: Tensor<2>| t.into_data().try_into_vec_as::<f32>().unwrap();
    let want = host(a.forward(t(xn.clone())));
    let got = host(b.forward(t(x.clone())));
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() <= 1e-5 * (1.0 + w.abs()), "{g} vs {w}");
    }
    let (fw, fg) = (host(a.features(t(xn))), host(b.features(t(x.clone()))));
    for (g, w) in fg.iter().zip(&fw) {
        assert!((g - w).abs() <= 1e-5 * (1.0 + w.abs()));
    }
    // Gradients flow to the pixels through the fixed layer (and train the weights on an
    // autodiff device).
    let xa = t(x).autodiff().require_grad();
    let grads = b.snapshot().forward(xa.clone()).sum().backward();
    let g = xa.grad(&grads).unwrap();
    let gsum: f32 = g.abs().sum().into_scalar();
    assert!(gsum > 0.0);
    let ad_device = device.clone().autodiff();
    let ad = Model::new(&norm, &ad_device, 3).unwrap();
    let xs = Tensor::<4>::ones([2, 3, 4, 4], &ad_device).mul_scalar(0.5);
    let _ = ad.forward(xs).sum().backward();
    // Model files keep the statistics.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.safetensors");
    cr_models::file::save_model(&b, &path, &Default::default()).unwrap();
    let back = cr_models::file::load_model(&path, &device).unwrap();
    assert_eq!(back.spec.normalize, norm.normalize);
    // Bad statistics.
    plain.normalize = Some(cr_models::Normalize {
        mean: vec![0.0; 2],
        std: vec![1.0; 3],
    });
    let e = Model::new(&plain, &device, 0).unwrap_err().to_string();
    assert!(e.contains("normalize.mean"), "{e}");
    plain.normalize = Some(cr_models::Normalize {
        mean: vec![0.0; 3],
        std: vec![1.0, 0.0, 1.0],
    });
    let e = Model::new(&plain, &device, 0).unwrap_err().to_string();
    assert!(e.contains("normalize.std"), "{e}");
}

/// torchvision's ImageNet stem: a 7×7 stride-2 stem conv, a 3×3 stride-2 padding-1 max-pool
/// (checked against a brute-force host max-pool), kaiming-normal fan-out conv weights (sample
/// standard deviation of the stem conv ≈ √(2/fan_out)), and a spec that round-trips through
/// JSON with the CIFAR stem as the default.
#[test]
fn resnet_imagenet_stem() {
    use cr_models::Stem;
    let device = cpu();
    let arch = |stem| Arch::Resnet {
        blocks: [1, 1, 1, 1],
        bottleneck: false,
        width: 8,
        width_per_group: 64,
        layer_rank: None,
        stem,
    };
    let tv = spec(arch(Stem::Imagenet), [3, 32, 32]);
    let m = Model::new(&tv, &device, 5).unwrap();
    let conv1 = m.layers().into_iter().find(|l| l.name == "conv1").unwrap();
    assert_eq!(conv1.shape, vec![8, 3, 7, 7]);
    let x = Tensor::<4>::ones([2, 3, 32, 32], &device).mul_scalar(0.5);
    assert_eq!(m.forward(x).dims(), [2, 3]);
    // Kaiming-normal fan-out: layer1.0.conv1 is 8×8×3×3 (fan_out 72, sd 1/6): 576 draws.
    let t = cr_models::file::model_tensors(&m);
    let w = &t["layer1.0.conv1.weight"].data;
    let n = w.len() as f64;
    let mean = w.iter().map(|v| f64::from(*v)).sum::<f64>() / n;
    let sd = (w
        .iter()
        .map(|v| (f64::from(*v) - mean).powi(2))
        .sum::<f64>()
        / n)
        .sqrt();
    let want = (2.0f64 / 72.0).sqrt();
    assert!((sd / want - 1.0).abs() < 0.1, "sd {sd} vs {want}");
    // The CIFAR stem stays PyTorch's uniform default: |w| ≤ 1/√fan_in.
    let cifar = Model::new(&spec(arch(Stem::Cifar), [3, 32, 32]), &device, 5).unwrap();
    let t = cr_models::file::model_tensors(&cifar);
    let bound = 1.0 / (8.0f32 * 9.0).sqrt();
    assert!(
        t["layer1.0.conv1.weight"]
            .data
            .iter()
            .all(|v| v.abs() <= bound)
    );
    // Max-pool against brute force on a 1×1×5×5 input (padding never wins: −∞).
    let vals: Vec<f32> = (0..25).map(|i| ((i * 7) % 11) as f32 - 5.0).collect();
    let xp = Tensor::<4>::from_data(TensorData::new(vals.clone(), [1, 1, 5, 5]), &device);
    let got = cr_models::arch::resnet::stem_max_pool(xp)
        .into_data()
        .try_into_vec_as::<f32>()
        .unwrap();
    let mut want = Vec::new();
    for oi in 0..3i64 {
        for oj in 0..3i64 {
            let mut best = f32::NEG_INFINITY;
            for di in 0..3 {
                for dj in 0..3 {
                    let (i, j) = (2 * oi - 1 + di, 2 * oj - 1 + dj);
                    if (0..5).contains(&i) && (0..5).contains(&j) {
                        best = best.max(vals[(i * 5 + j) as usize]);
                    }
                }
            }
            want.push(best);
        }
    }
    assert_eq!(got, want);
    // JSON: the default stem is omitted and read back as CIFAR; `imagenet` is kept.
    let plain: ModelSpec =
        serde_json::from_str(&serde_json::to_string(&spec(arch(Stem::Cifar), [3, 8, 8])).unwrap())
            .unwrap();
    assert!(matches!(
        plain.arch,
        Arch::Resnet {
            stem: Stem::Cifar,
            ..
        }
    ));
    let j = serde_json::to_string(&tv).unwrap();
    assert!(j.contains("\"stem\":\"imagenet\""), "{j}");
    // Too small for five halvings.
    assert!(Model::new(&spec(arch(Stem::Imagenet), [3, 16, 16]), &device, 0).is_err());
}
