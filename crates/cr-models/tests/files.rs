//! Model files: PyTorch-written fixtures load and compute what PyTorch computed; files
//! round-trip exactly; every kind of bad file is a clear error, never a panic.

#![allow(clippy::unwrap_used)] // tests and examples may panic on their own fixtures

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use burn::prelude::*;
use cr_models::device::cpu;
use cr_models::file::{
    HostTensor, from_safetensors_bytes, load_model, model_tensors, save_model, to_safetensors_bytes,
};
use cr_models::{Model, ModelSpec};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn expected() -> serde_json::Value {
    let text = std::fs::read_to_string(fixtures().join("expected.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn floats(v: &serde_json::Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

#[test]
fn pytorch_written_files_load_and_compute_the_same_logits() {
    let exp = expected();
    let models = exp["models"].as_object().unwrap();
    assert_eq!(models.len(), 13);
    let device = cpu();
    for (name, want) in models {
        let model = load_model(&fixtures().join(format!("{name}.safetensors")), &device)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let [c, h, w] = model.spec.input;
        let x = Tensor::<4>::from_data(
            TensorData::new(floats(&want["input"]), [2, c, h, w]),
            &device,
        );
        let logits: Vec<f32> = model.forward(x.clone()).into_data().try_to_vec().unwrap();
        let feats: Vec<f32> = model.features(x).into_data().try_to_vec().unwrap();
        for (got, want, what) in [
            (logits, floats(&want["logits"]), "logits"),
            (feats, floats(&want["features"]), "features"),
        ] {
            assert_eq!(got.len(), want.len(), "{name} {what}");
            for (a, b) in got.iter().zip(&want) {
                assert!(
                    (a - b).abs() <= 1e-4 * (1.0 + b.abs()),
                    "{name} {what}: cr {a} vs torch {b}"
                );
            }
        }
    }
}

#[test]
fn save_then_load_round_trips_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let device = cpu();
    for name in ["resnet_bottleneck", "vit", "fcn_lowrank"] {
        let model = load_model(&fixtures().join(format!("{name}.safetensors")), &device).unwrap();
        let path = dir.path().join(format!("{name}.safetensors"));
        let mut extra = BTreeMap::new();
        extra.insert("note".to_string(), "hello".to_string());
        save_model(&model, &path, &extra).unwrap();
        let again = load_model(&path, &device).unwrap();
        assert_eq!(again.spec, model.spec);
        assert_eq!(model_tensors(&again), model_tensors(&model));
        let [c, h, w] = model.spec.input;
        let x = Tensor::<4>::ones([1, c, h, w], &device).mul_scalar(0.3);
        let a: Vec<f32> = model.forward(x.clone()).into_data().try_to_vec().unwrap();
        let b: Vec<f32> = again.forward(x).into_data().try_to_vec().unwrap();
        assert_eq!(a, b);
    }
}

#[test]
fn the_same_model_and_metadata_give_the_same_bytes() {
    // `HashMap` iteration order differs between two maps with the same content; the file
    // must not (reproducible model files, bit for bit).
    let tensors: BTreeMap<String, HostTensor> = (0..5)
        .map(|i| {
            (
                format!("t{i}"),
                HostTensor {
                    shape: vec![2],
                    data: vec![i as f32, 1.0],
                },
            )
        })
        .collect();
    let meta = || -> HashMap<String, String> {
        (0..32)
            .map(|i| (format!("key{i}"), format!("v{i}")))
            .collect()
    };
    let a = to_safetensors_bytes(&tensors, meta()).unwrap();
    for _ in 0..8 {
        assert_eq!(to_safetensors_bytes(&tensors, meta()).unwrap(), a);
    }
    // Still a valid file with everything in it, header padded to 8 bytes.
    let n = u64::from_le_bytes(a[..8].try_into().unwrap());
    assert_eq!(n % 8, 0);
    let (t, m) = from_safetensors_bytes(&a).unwrap();
    assert_eq!(t.len(), 5);
    assert_eq!(m, meta());
}

/// Rewrites the fcn fixture with `edit` applied to its tensors and metadata.
fn edited(
    dir: &Path,
    name: &str,
    edit: impl FnOnce(&mut BTreeMap<String, HostTensor>, &mut HashMap<String, String>),
) -> PathBuf {
    let bytes = std::fs::read(fixtures().join("fcn.safetensors")).unwrap();
    let (mut t, mut m) = from_safetensors_bytes(&bytes).unwrap();
    edit(&mut t, &mut m);
    let path = dir.join(name);
    std::fs::write(&path, to_safetensors_bytes(&t, m).unwrap()).unwrap();
    path
}

#[test]
fn bad_model_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let device = cpu();
    let mut cases: Vec<(PathBuf, &str)> = Vec::new();

    let p = d.join("text.safetensors");
    std::fs::write(&p, b"this is not a model").unwrap();
    cases.push((p, "not a safetensors file"));

    let p = d.join("empty.safetensors");
    std::fs::write(&p, b"").unwrap();
    cases.push((p, "not a safetensors file"));

    // A header that claims to be enormous.
    let p = d.join("huge_header.safetensors");
    let mut b = (u64::MAX / 2).to_le_bytes().to_vec();
    b.extend_from_slice(b"{}");
    std::fs::write(&p, b).unwrap();
    cases.push((p, "not a safetensors file"));

    // Truncated: a valid file cut in the middle of its data.
    let full = std::fs::read(fixtures().join("fcn.safetensors")).unwrap();
    let p = d.join("truncated.safetensors");
    std::fs::write(&p, &full[..full.len() - 100]).unwrap();
    cases.push((p, "not a safetensors file"));

    cases.push((
        edited(d, "nospec.safetensors", |_, m| {
            m.remove("cr.model");
        }),
        "no `cr.model`",
    ));
    cases.push((
        edited(d, "missing.safetensors", |t, _| {
            t.remove("layers.1.weight");
        }),
        "missing tensor `layers.1.weight`",
    ));
    cases.push((
        edited(d, "extra.safetensors", |t, _| {
            t.insert(
                "layers.9.weight".into(),
                HostTensor {
                    shape: vec![1],
                    data: vec![0.0],
                },
            );
        }),
        "unexpected tensor(s) not in the model: `layers.9.weight`",
    ));
    cases.push((
        edited(d, "misshaped.safetensors", |t, _| {
            t.insert(
                "head.weight".into(),
                HostTensor {
                    shape: vec![8, 3],
                    data: vec![0.0; 24],
                },
            );
        }),
        "tensor `head.weight` has shape [8, 3], the model expects [3, 8]",
    ));
    cases.push((
        edited(d, "unknown_arch.safetensors", |_, m| {
            m.insert(
                "cr.model".into(),
                r#"{"arch":{"kind":"transformer-xl"},"input":[1,4,4],"num_classes":3}"#.into(),
            );
        }),
        "unknown variant `transformer-xl`",
    ));
    cases.push((
        edited(d, "absurd.safetensors", |_, m| {
            m.insert(
                "cr.model".into(),
                r#"{"arch":{"kind":"fcn","width":65536,"depth":500},"input":[3,4096,4096],"num_classes":3}"#
                    .into(),
            );
        }),
        "parameters exceed",
    ));
    cases.push((
        edited(d, "negative.safetensors", |_, m| {
            m.insert(
                "cr.model".into(),
                r#"{"arch":{"kind":"fcn","width":-3,"depth":1},"input":[1,4,4],"num_classes":3}"#
                    .into(),
            );
        }),
        "not a valid model spec",
    ));
    cases.push((d.join("does_not_exist.safetensors"), "No such file"));

    for (path, phrase) in cases {
        let err = load_model(&path, &device).unwrap_err().to_string();
        let fname = path.file_name().unwrap().to_string_lossy().to_string();
        assert!(err.contains(&fname), "error should name the file: {err}");
        assert!(err.contains(phrase), "`{err}` should contain `{phrase}`");
    }
}

#[test]
fn wrong_dtype_is_named() {
    // An f16 tensor written by hand.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f16.safetensors");
    let data = vec![0u8; 2 * 4];
    let view =
        safetensors::tensor::TensorView::new(safetensors::Dtype::F16, vec![2, 2], &data).unwrap();
    let spec = ModelSpec::preset("fcn-1x400", [1, 2, 2], 2).unwrap();
    let mut meta = HashMap::new();
    meta.insert(
        "cr.model".to_string(),
        serde_json::to_string(&spec).unwrap(),
    );
    let bytes = safetensors::serialize(vec![("layers.0.weight", view)], Some(meta)).unwrap();
    std::fs::write(&path, bytes).unwrap();
    let err = load_model(&path, &cpu()).unwrap_err().to_string();
    assert!(
        err.contains("layers.0.weight") && err.contains("F16"),
        "{err}"
    );
    // And a model written by cr loads in full even when built lazily from a large spec.
    let big = ModelSpec::preset("fcn-5x2000", [3, 32, 32], 10).unwrap();
    let m = Model::build(&big, &cpu()).unwrap();
    assert_eq!(m.num_params(), 3072 * 2000 + 4 * 2000 * 2000 + 2000 * 10);
}
