//! The optimisers reproduce PyTorch's `AdamW` and `SGD` step for step (fixture written by
//! `fixtures/make_optim_fixture.py`).

#![allow(clippy::unwrap_used)]

use std::path::Path;

use burn::prelude::*;
use cr_models::device::cpu;
use cr_models::file::{load_model, model_tensors};
use cr_train::{Optimizer, OptimizerConfig, cross_entropy};

#[test]
fn optimizers_match_pytorch() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let exp: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("optim_expected.json")).unwrap())
            .unwrap();
    let xs: Vec<f32> = exp["x"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect();
    let ys: Vec<i64> = exp["y"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_i64().unwrap())
        .collect();
    let configs = [
        (
            "adamw",
            OptimizerConfig::Adamw {
                lr: 0.02,
                weight_decay: 0.01,
                beta1: 0.9,
                beta2: 0.999,
                eps: 1e-8,
            },
        ),
        (
            "sgd_nesterov",
            OptimizerConfig::Sgd {
                lr: 0.1,
                momentum: 0.9,
                weight_decay: 5e-4,
                nesterov: true,
            },
        ),
        (
            "sgd_plain",
            OptimizerConfig::Sgd {
                lr: 0.1,
                momentum: 0.0,
                weight_decay: 0.0,
                nesterov: false,
            },
        ),
    ];
    let ad = cpu().autodiff();
    for (name, cfg) in configs {
        let lr = cfg.lr();
        let mut opt = Optimizer::new(cfg);
        let mut model = load_model(&dir.join("init.safetensors"), &cpu())
            .unwrap()
            .for_training(&ad);
        for _ in 0..5 {
            let x = Tensor::<4>::from_data(TensorData::new(xs.clone(), [7, 1, 2, 3]), &ad);
            let y = Tensor::<1, Int>::from_data(TensorData::new(ys.clone(), [7]), &ad);
            let grads = cross_entropy(model.forward(x), y).backward();
            model.net = opt.step(model.net, &grads, lr, &|_| true);
        }
        let got = model_tensors(&model);
        let want = exp["final"][name].as_object().unwrap();
        assert_eq!(got.len(), want.len());
        for (k, t) in got {
            let w: Vec<f64> = want[&k]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap())
                .collect();
            for (a, b) in t.data.iter().zip(&w) {
                assert!(
                    (*a as f64 - b).abs() < 2e-6,
                    "{name} {k}: cr {a} vs torch {b}"
                );
            }
        }
    }
}
