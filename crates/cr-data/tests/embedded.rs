//! The embedded sets against independent truth: the tables of `data/*/README.md`, facts read
//! with Python's gzip module (`fixtures/make_embedded_facts.py`), and the committed
//! `data/*/SHA256SUMS`.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use cr_data::embedded::{EMBEDDED, embedded, sha256_hex};
use cr_data::{Dataset, load};

fn readme_counts() -> BTreeMap<&'static str, (Vec<usize>, Vec<usize>)> {
    BTreeMap::from([
        ("mnist", (vec![800; 10], vec![200; 10])),
        ("fashion-mnist", (vec![800; 10], vec![200; 10])),
        (
            "uci-digits",
            (
                vec![143, 146, 142, 147, 145, 146, 145, 144, 140, 144],
                vec![35, 36, 35, 36, 36, 36, 36, 35, 34, 36],
            ),
        ),
    ])
}

#[test]
fn per_class_counts_equal_the_readme_tables() {
    for (name, (train, test)) in readme_counts() {
        let s = load(name, None).unwrap();
        assert_eq!(s.train.class_counts(), train, "{name}");
        assert_eq!(s.test.class_counts(), test, "{name}");
        assert_eq!(s.train.num_classes, 10);
    }
}

fn facts() -> serde_json::Value {
    serde_json::from_str(
        &std::fs::read_to_string(common::fixtures().join("embedded_facts.json")).unwrap(),
    )
    .unwrap()
}

fn bytes_of(d: &Dataset, i: usize, scale: f32) -> Vec<u64> {
    d.image(i)
        .iter()
        .map(|v| (v * scale).round() as u64)
        .collect()
}

#[test]
fn contents_match_an_independent_reader() {
    let f = facts();
    for name in ["mnist", "fashion-mnist"] {
        let s = load(name, None).unwrap();
        for (split, d) in [("train", &s.train), ("test", &s.test)] {
            let x = &f[name][split];
            let ctx = format!("{name}/{split}");
            assert_eq!(d.len() as u64, x["n"].as_u64().unwrap(), "{ctx}");
            assert_eq!(d.shape, [1, 28, 28], "{ctx}");
            let first: Vec<u64> = d.labels[..10].iter().map(|l| *l as u64).collect();
            let want: Vec<u64> = x["first_labels"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .collect();
            assert_eq!(first, want, "{ctx}");
            assert_eq!(
                *d.labels.last().unwrap() as u64,
                x["last_label"].as_u64().unwrap(),
                "{ctx}"
            );
            let img0: Vec<u64> = x["image0_bytes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap())
                .collect();
            assert_eq!(bytes_of(d, 0, 255.0), img0, "{ctx}");
            let total: u64 = d.images.iter().map(|v| (v * 255.0).round() as u64).sum();
            assert_eq!(total, x["byte_sum"].as_u64().unwrap(), "{ctx}");
            let last: u64 = bytes_of(d, d.len() - 1, 255.0).iter().sum();
            assert_eq!(last, x["image_last_byte_sum"].as_u64().unwrap(), "{ctx}");
        }
    }
    // The first MNIST training image is the official file's first (a 5): the subset keeps
    // class-rank 0 of every class, and the official first label is 5.
    let m = load("mnist", None).unwrap();
    assert_eq!(m.train.labels[0], 5);
    // Pixels span [0, 1] with both ends used.
    assert!(m.train.images.iter().all(|v| (0.0..=1.0).contains(v)));
    assert_eq!(m.train.images.iter().cloned().fold(0f32, f32::max), 1.0);
}

#[test]
fn uci_digits_are_the_sklearn_counts_over_16() {
    let s = load("uci-digits", None).unwrap();
    assert_eq!(s.train.shape, [1, 8, 8]);
    // sklearn's load_digits().data[0], the first row of digits.csv (a 0), starts like this.
    let row0 = [0, 0, 5, 13, 9, 1, 0, 0, 0, 0, 13, 15, 10, 15, 5, 0];
    let got: Vec<u64> = bytes_of(&s.train, 0, 16.0);
    assert_eq!(&got[..16], &row0);
    assert_eq!(s.train.labels[..10], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // Every value is an exact multiple of 1/16 in [0, 1].
    assert!(
        s.train
            .images
            .iter()
            .all(|v| (v * 16.0).fract() == 0.0 && (0.0..=1.0).contains(v))
    );
    // The bytes of the file, per the independent reader, map to exactly these levels.
    let f = facts();
    let bytes: Vec<u64> = f["uci-digits"]["train"]["image0_bytes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let levels: Vec<u64> = bytes.iter().map(|p| (16 * p + 127) / 255).collect();
    assert_eq!(got, levels);
}

#[test]
fn recorded_hashes_equal_the_committed_sha256sums_and_verify() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data");
    for e in EMBEDDED {
        let sums = std::fs::read_to_string(data.join(e.folder).join("SHA256SUMS")).unwrap();
        let mut gz = BTreeMap::new();
        let mut raw = BTreeMap::new();
        for line in sums.lines() {
            let parts: Vec<&str> = line.split_whitespace().collect();
            match parts.as_slice() {
                [h, f] => {
                    gz.insert(f.to_string(), h.to_string());
                }
                ["#", h, f] if h.len() == 64 => {
                    raw.insert(f.to_string(), h.to_string());
                }
                _ => {}
            }
        }
        assert_eq!(gz.len(), 4, "{}: four .gz lines", e.folder);
        assert_eq!(raw.len(), 4, "{}: four decompressed lines", e.folder);
        for f in e.files {
            assert_eq!(gz[f.name], f.sha256, "{}/{}", e.folder, f.name);
            assert_eq!(
                raw[f.name.trim_end_matches(".gz")],
                f.content_sha256,
                "{}/{}",
                e.folder,
                f.name
            );
            // The compiled-in bytes are the committed file.
            let on_disk = std::fs::read(data.join(e.folder).join(f.name)).unwrap();
            assert_eq!(sha256_hex(&on_disk), f.sha256);
            f.verify(e.name).unwrap();
        }
        assert!(
            e.verify().iter().all(|c| c.sha256_ok && c.content_ok),
            "{}",
            e.name
        );
    }
    assert!(embedded("cifar10").is_none());
}

#[test]
fn a_tampered_embedded_file_is_a_checksum_error() {
    let mut e = *embedded("uci-digits").unwrap();
    let f = e.files[1];
    let mut bytes = f.bytes.to_vec();
    bytes[20] ^= 1;
    e.files[1].bytes = Box::leak(bytes.into_boxed_slice());
    let err = e.load().unwrap_err();
    assert!(
        matches!(err, cr_data::DataError::Checksum { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("uci-digits/train-labels-idx1-ubyte.gz"),
        "{err}"
    );
    let checks = e.verify();
    assert!(!checks[1].sha256_ok && checks[0].sha256_ok);
}
