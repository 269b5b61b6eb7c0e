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
