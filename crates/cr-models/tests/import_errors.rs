//! Bad state dicts for the importer: each is an [`ImportError`] naming the file and the key
//! (or the structural problem), never a panic. The inputs are the parity fixtures with one
//! thing broken.
#![allow(clippy::unwrap_used)] // tests may panic on their own fixtures

use std::path::{Path, PathBuf};

use cr_models::device::cpu;
use cr_models::import::{ImportArch, ImportError, ImportOptions, import_bytes, import_file};
use safetensors::{Dtype, SafeTensors, tensor::TensorView};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/import/{name}.safetensors"))
}

/// (key, dtype, shape, bytes) of every tensor of a fixture.
type Raw = Vec<(String, Dtype, Vec<usize>, Vec<u8>)>;

fn raw(name: &str) -> Raw {
    let bytes = std::fs::read(fixture(name)).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut out: Raw = st
        .tensors()
        .into_iter()
        .map(|(k, v)| (k, v.dtype(), v.shape().to_vec(), v.data().to_vec()))
        .collect();
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn bytes_of(raw: &Raw) -> Vec<u8> {
    let views: Vec<(String, TensorView<'_>)> = raw
        .iter()
        .map(|(k, d, s, b)| (k.clone(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    safetensors::serialize(views, None).unwrap()
}

fn opts(arch: &str, input: [usize; 3]) -> ImportOptions {
    ImportOptions {
        arch: arch.parse::<ImportArch>().unwrap(),
        input,
        classes: None,
        normalize: None,
    }
}

fn import(bytes: &[u8], arch: &str, input: [usize; 3]) -> Result<cr_models::Model, ImportError> {
    import_bytes(
        bytes,
        Path::new("sd.safetensors"),
        &opts(arch, input),
        &cpu(),
    )
}

fn message(r: Result<cr_models::Model, ImportError>) -> String {
    match r {
        Ok(_) => panic!("imported a bad state dict"),
        Err(e) => e.to_string(),
    }
}

fn assert_says(msg: &str, phrases: &[&str]) {
    for p in phrases {
        assert!(msg.contains(p), "`{p}` missing from: {msg}");
    }
}

const RESNET: &str = "torchvision-resnet18";
const R_IN: [usize; 3] = [3, 32, 32];

#[test]
fn truncated_file_is_not_safetensors() {
    let bytes = std::fs::read(fixture("tv_resnet18_w8")).unwrap();
    for cut in [0, 7, 100, bytes.len() / 2, bytes.len() - 1] {
        let msg = message(import(&bytes[..cut], RESNET, R_IN));
        assert_says(&msg, &["sd.safetensors", "not a safetensors file"]);
    }
}

#[test]
fn wrong_dtype_names_the_key() {
    let mut r = raw("cr_fcn");
    let (k, d, _, b) = r.iter_mut().find(|t| t.0 == "head.bias").unwrap();
    *d = Dtype::F16;
    b.truncate(b.len() / 2);
    let key = k.clone();
    let msg = message(import(&bytes_of(&r), "cr-fcn", [1, 8, 8]));
    assert_says(&msg, &[&format!("`{key}`"), "F16", "F32"]);
}

#[test]
fn state_dict_of_another_architecture() {
    let wrn = std::fs::read(fixture("rb_wrn_10_1")).unwrap();
    let msg = message(import(&wrn, RESNET, R_IN));
    assert_says(
        &msg,
        &["not a `torchvision-resnet18` state dict", "[0, 0, 0, 0]"],
    );
    let resnet = std::fs::read(fixture("tv_resnet18_w8")).unwrap();
    let msg = message(import(&resnet, "robustbench-wrn-10-1", R_IN));
    assert_says(&msg, &["`robustbench-wrn-10-1`", "[0, 0, 0]"]);
    // The right block counts but the wrong block kind: a bottleneck ResNet as ResNet18.
    let bottleneck = std::fs::read(fixture("tv_resnet_cifar_bottleneck")).unwrap();
    let msg = message(import(
        &bottleneck,
        "torchvision-resnet50-cifar",
        [3, 16, 16],
    ));
    assert_says(&msg, &["[1, 1, 2, 1]", "[3, 4, 6, 3]"]);
    // A stem of the other kind.
    let msg = message(import(&bottleneck, "torchvision-resnet", [3, 32, 32]));
    assert_says(&msg, &["`conv1.weight` is a 3x3 conv", "7x7"]);
}

#[test]
fn missing_key_is_named_in_pytorch_terms() {
    let mut r = raw("rb_wrn_10_1");
    r.retain(|t| t.0 != "block2.layer.0.bn2.running_var");
    let msg = message(import(&bytes_of(&r), "robustbench-wrn-10-1", R_IN));
    assert_says(
        &msg,
        &["missing tensor `block2.layer.0.bn2.running_var`", "[32]"],
    );
}

#[test]
fn extra_key_is_named() {
    let mut r = raw("tv_resnet18_w8");
    let t = r.iter().find(|t| t.0 == "fc.bias").unwrap().clone();
    r.push(("fc2.bias".into(), t.1, t.2, t.3));
    let msg = message(import(&bytes_of(&r), RESNET, R_IN));
    assert_says(&msg, &["unexpected tensor `fc2.bias`"]);
    // An unmapped key of torchvision's VGG numbering (a ReLU has no parameters).
    let mut r = raw("tv_vgg_bn_small");
    let t = r
        .iter()
        .find(|t| t.0 == "classifier.6.bias")
        .unwrap()
        .clone();
    r.push(("classifier.2.bias".into(), t.1, t.2, t.3));
    let msg = message(import(&bytes_of(&r), "torchvision-vgg-bn", R_IN));
    assert_says(&msg, &["unexpected tensor `classifier.2.bias`"]);
}

#[test]
fn mis_shaped_key_names_both_shapes() {
    let mut r = raw("tv_resnet18_w8");
    let t = r
        .iter_mut()
        .find(|t| t.0 == "layer3.1.conv2.weight")
        .unwrap();
    // [32, 32, 3, 3] read as [32, 16, 3, 6]: same bytes, wrong shape.
    t.2 = vec![32, 16, 3, 6];
    let msg = message(import(&bytes_of(&r), RESNET, R_IN));
    assert_says(
        &msg,
        &[
            "`layer3.1.conv2.weight`",
            "[32, 16, 3, 6]",
            "[32, 32, 3, 3]",
        ],
    );
}

#[test]
fn class_count_is_checked_and_unknown_arch_listed() {
    let mut o = opts("cr-fcn", [1, 8, 8]);
    o.classes = Some(3);
    let e = import_file(&fixture("cr_fcn"), &o, &cpu())
        .err()
        .unwrap()
        .to_string();
    assert_says(
        &e,
        &["cr_fcn.safetensors", "`head.weight` has 10 rows", "3"],
    );
    let e = "torchvision-resnet34"
        .parse::<ImportArch>()
        .unwrap_err()
        .to_string();
    assert_says(
        &e,
        &[
            "unknown architecture `torchvision-resnet34`",
            "robustbench-wrn-D-W",
        ],
    );
    let e = import_file(Path::new("/nonexistent/sd.safetensors"), &o, &cpu())
        .err()
        .unwrap()
        .to_string();
    assert_says(&e, &["/nonexistent/sd.safetensors"]);
}

#[test]
fn data_parallel_prefix_is_stripped() {
    let mut r = raw("cr_fcn");
    for t in &mut r {
        t.0 = format!("module.{}", t.0);
    }
    let a = import(&bytes_of(&r), "cr-fcn", [1, 8, 8]).unwrap();
    let b = import_file(&fixture("cr_fcn"), &opts("cr-fcn", [1, 8, 8]), &cpu()).unwrap();
    assert_eq!(
        cr_models::file::model_tensors(&a),
        cr_models::file::model_tensors(&b)
    );
}
