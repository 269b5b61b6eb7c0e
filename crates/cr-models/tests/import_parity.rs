//! Parity of imported PyTorch state dicts with the PyTorch modules that wrote them.
//!
//! The fixtures in `tests/fixtures/import/` were made by `make_fixtures.py` beside them:
//! small random instances of torchvision's `ResNet` and `VGG` (batch-norm form), RobustBench's
//! `WideResNet` and `PreActResNet` and cr's FCN twin, with randomised batch-norm running
//! statistics, and the logits their own eval-mode `forward` gives on fixed inputs. cr must
//! import each state dict and reproduce those logits to 1e-4 relative (‖Δ‖∞ / ‖torch‖∞), and
//! a cr model file written from the import must give the same logits again.
#![allow(clippy::unwrap_used)] // tests may panic on their own fixtures

use std::path::{Path, PathBuf};

use burn::prelude::*;
use cr_models::device::cpu;
use cr_models::file::{load_model, save_model};
use cr_models::import::{ImportArch, ImportOptions, import_file};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/import")
}

struct Fixture {
    arch: String,
    input: [usize; 3],
    classes: usize,
    x: Vec<f32>,
    logits: Vec<f32>,
}

fn read_fixture(name: &str) -> Fixture {
    let text = std::fs::read_to_string(fixture_dir().join(format!("{name}.json"))).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let floats = |k: &str| -> Vec<f32> {
        v[k].as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect()
    };
    let input: Vec<usize> = v["input"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect();
    Fixture {
        arch: v["arch"].as_str().unwrap().to_string(),
        input: [input[0], input[1], input[2]],
        classes: v["classes"].as_u64().unwrap() as usize,
        x: floats("x"),
        logits: floats("logits"),
    }
}

fn logits(model: &cr_models::Model, f: &Fixture) -> Vec<f32> {
    let [c, h, w] = f.input;
    let b = f.x.len() / (c * h * w);
    let x = Tensor::<4>::from_data(TensorData::new(f.x.clone(), [b, c, h, w]), &cpu());
    model.forward(x).into_data().try_to_vec::<f32>().unwrap()
}

fn rel_err(got: &[f32], want: &[f32]) -> f64 {
    assert_eq!(got.len(), want.len());
    let diff = got
        .iter()
        .zip(want)
        .map(|(a, b)| (a - b).abs() as f64)
        .fold(0.0, f64::max);
    let scale = want.iter().map(|b| b.abs() as f64).fold(0.0, f64::max);
    diff / scale
}

fn check(name: &str, expect_kind: &str) {
    let f = read_fixture(name);
    let opts = ImportOptions {
        arch: f.arch.parse::<ImportArch>().unwrap(),
        input: f.input,
        classes: Some(f.classes),
        normalize: None,
    };
    let path = fixture_dir().join(format!("{name}.safetensors"));
    let model = import_file(&path, &opts, &cpu()).unwrap();
    assert_eq!(model.spec.arch_name(), expect_kind);
    let got = logits(&model, &f);
    let err = rel_err(&got, &f.logits);
    assert!(err <= 1e-4, "{name}: relative error {err:e} > 1e-4");
    // A cr model file written from the import loads to the same logits.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("m.safetensors");
    save_model(&model, &out, &Default::default()).unwrap();
    let again = load_model(&out, &cpu()).unwrap();
    assert_eq!(logits(&again, &f), got, "{name}: reloaded model differs");
}

#[test]
fn torchvision_resnet18_narrow() {
    check("tv_resnet18_w8", "resnet");
}

#[test]
fn torchvision_resnet_cifar_stem_bottleneck() {
    check("tv_resnet_cifar_bottleneck", "resnet");
}

#[test]
fn torchvision_vgg_bn_adaptive_pool_8_to_7() {
    check("tv_vgg_bn_small", "vgg-torchvision");
}

#[test]
fn torchvision_vgg16_bn_narrow() {
    check("tv_vgg16_bn_narrow", "vgg-torchvision");
}

#[test]
fn robustbench_wrn_with_unused_sub_block() {
    check("rb_wrn_10_1", "wrn");
}

#[test]
fn robustbench_preact_resnet18_narrow() {
    check("rb_preact18_w8", "preact-resnet");
}

#[test]
fn robustbench_preact_v2_with_final_bn() {
    check("rb_preact_v2_bn", "preact-resnet");
}

#[test]
fn cr_fcn_twin() {
    check("cr_fcn", "fcn");
}
