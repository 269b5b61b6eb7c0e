//! Readers against hand-crafted files, scipy-written SVHN files and the embedded data's
//! documented contents; every kind of bad file is a typed error naming the file.

#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::path::{Path, PathBuf};

use cr_data::cifar::{Cifar100Labels, load_cifar10, load_cifar100};
use cr_data::embedded::{EMBEDDED, sha256_hex};
use cr_data::source::{load, load_idx_dir};
use cr_data::svhn::load_svhn;
use cr_data::{DataError, Dataset};

fn idx_images(n: u32, h: u32, w: u32, pixels: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, 8, 3];
    for v in [n, h, w] {
        b.extend_from_slice(&v.to_be_bytes());
    }
    b.extend_from_slice(pixels);
    b
}

fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, 8, 1];
    b.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    b.extend_from_slice(labels);
    b
}

fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// Writes an MNIST-layout folder with the given train/test files (images, labels).
fn mnist_dir(dir: &Path, files: &[(&str, Vec<u8>)]) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

fn good_mnist(n: u32) -> Vec<(&'static str, Vec<u8>)> {
    let px: Vec<u8> = (0..n * 784).map(|i| (i % 256) as u8).collect();
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    vec![
        ("train-images-idx3-ubyte", idx_images(n, 28, 28, &px)),
        ("train-labels-idx1-ubyte", idx_labels(&labels)),
        ("t10k-images-idx3-ubyte.gz", gz(&idx_images(n, 28, 28, &px))),
        ("t10k-labels-idx1-ubyte.gz", gz(&idx_labels(&labels))),
    ]
}

#[test]
fn idx_plain_and_gz_read_the_same_pixels() {
    let d = tempfile::tempdir().unwrap();
    mnist_dir(d.path(), &good_mnist(12));
    let s = load_idx_dir(d.path(), "mnist", 28, 28).unwrap();
    assert_eq!((s.train.len(), s.test.len()), (12, 12));
    assert_eq!(s.train.images, s.test.images);
    // Pixel 300 of sample 1 is (784 + 300) mod 256, scaled to [0, 1].
    assert_eq!(s.train.image(1)[300], ((784 + 300) % 256) as f32 / 255.0);
    assert_eq!(s.train.labels[11], 1);
    // NAME:DIR goes through the same reader.
    let spec = format!("mnist:{}", d.path().display());
    assert_eq!(load(&spec, None).unwrap().train, s.train);
}

fn expect_err(dir: &Path, files: Vec<(&str, Vec<u8>)>, file: &str, phrase: &str) {
    let _ = std::fs::remove_dir_all(dir);
    mnist_dir(dir, &files);
    let err = load_idx_dir(dir, "mnist", 28, 28).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains(file), "`{msg}` should name {file}");
    assert!(msg.contains(phrase), "`{msg}` should say `{phrase}`");
}

#[test]
fn bad_idx_files_are_named_errors() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("m");
    let with = |name: &str, bytes: Vec<u8>| {
        let mut f = good_mnist(4);
        f.retain(|(n, _)| !n.starts_with(name));
        f.push((Box::leak(name.to_string().into_boxed_str()), bytes));
        f
    };
    // Missing file.
    let mut f = good_mnist(4);
    f.retain(|(n, _)| !n.starts_with("train-labels"));
    expect_err(&d, f, "train-labels-idx1-ubyte", "file not found");
    // Empty file.
    expect_err(
        &d,
        with("train-images-idx3-ubyte", vec![]),
        "train-images-idx3-ubyte",
        "shorter than an IDX header",
    );
    // Wrong magic (a label file where images belong).
    expect_err(
        &d,
        with("train-images-idx3-ubyte", idx_labels(&[1, 2])),
        "train-images-idx3-ubyte",
        "wrong magic number 0x00000801",
    );
    // Truncated data.
    let mut short = idx_images(4, 28, 28, &[0u8; 4 * 784]);
    short.truncate(short.len() - 10);
    expect_err(
        &d,
        with("train-images-idx3-ubyte", short),
        "train-images-idx3-ubyte",
        "(truncated)",
    );
    // Header claiming an absurd count (must not allocate it).
    expect_err(
        &d,
        with(
            "train-images-idx3-ubyte",
            idx_images(u32::MAX, 28, 28, &[0u8; 784]),
        ),
        "train-images-idx3-ubyte",
        "header says 4294967295 images",
    );
    // Counts disagree between images and labels.
    expect_err(
        &d,
        with("train-labels-idx1-ubyte", idx_labels(&[1, 2, 3])),
        "train-labels-idx1-ubyte",
        "3 labels for 4 images",
    );
    // Label out of range.
    expect_err(
        &d,
        with("train-labels-idx1-ubyte", idx_labels(&[1, 2, 3, 10])),
        "train-labels-idx1-ubyte",
        "label 10 of sample 3 is outside 0..10",
    );
    // Dimensions that do not match the data set.
    expect_err(
        &d,
        with(
            "train-images-idx3-ubyte",
            idx_images(4, 32, 32, &[0u8; 4 * 1024]),
        ),
        "train-images-idx3-ubyte",
        "images are 32x32, but mnist has 28x28",
    );
    // Corrupt gzip.
    let mut bad = gz(&idx_labels(&[0, 1, 2, 3]));
    let mid = bad.len() / 2;
    bad.truncate(mid);
    expect_err(
        &d,
        with("t10k-labels-idx1-ubyte.gz", bad),
        "t10k-labels-idx1-ubyte.gz",
        "corrupt gzip data",
    );
}

fn cifar_record(label: &[u8], fill: u8) -> Vec<u8> {
    let mut r = label.to_vec();
    r.extend((0..3072).map(|i| fill.wrapping_add((i % 7) as u8)));
    r
}

#[test]
fn cifar_binary_batches() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("cifar-10-batches-bin");
    std::fs::create_dir_all(&d).unwrap();
    for i in 1..=5 {
        let b: Vec<u8> = (0..3)
            .flat_map(|k| cifar_record(&[(k + i) as u8 % 10], k as u8))
            .collect();
        std::fs::write(d.join(format!("data_batch_{i}.bin")), b).unwrap();
    }
    std::fs::write(d.join("test_batch.bin"), cifar_record(&[9], 100)).unwrap();
    // The parent folder works too (the sub-folder is found).
    let (train, test) = load_cifar10(t.path()).unwrap();
    assert_eq!((train.len(), test.len()), (15, 1));
    assert_eq!(train.shape, [3, 32, 32]);
    assert_eq!(train.labels[..3], [1, 2, 3]);
    // Channel-major layout: pixel 1024 is the first green value.
    assert_eq!(test.image(0)[1024], (100 + (1024 % 7) as u8) as f32 / 255.0);
    assert_eq!(test.labels, vec![9]);
    // A truncated batch and a bad label are named errors.
    let mut short = cifar_record(&[1], 0);
    short.pop();
    std::fs::write(d.join("test_batch.bin"), &short).unwrap();
    let e = load_cifar10(t.path()).unwrap_err().to_string();
    assert!(
        e.contains("test_batch.bin") && e.contains("not a whole number of 3073-byte"),
        "{e}"
    );
    std::fs::write(d.join("test_batch.bin"), cifar_record(&[10], 0)).unwrap();
    let e = load_cifar10(t.path()).unwrap_err().to_string();
    assert!(e.contains("label 10 of sample 0 is outside 0..10"), "{e}");
    std::fs::remove_file(d.join("data_batch_3.bin")).unwrap();
    let e = load_cifar10(t.path()).unwrap_err().to_string();
    assert!(
        e.contains("data_batch_3.bin") && e.contains("not found"),
        "{e}"
    );

    // CIFAR-100: coarse and fine labels.
    let c = t.path().join("c100");
    std::fs::create_dir_all(&c).unwrap();
    std::fs::write(
        c.join("train.bin"),
        [cifar_record(&[3, 42], 0), cifar_record(&[19, 99], 1)].concat(),
    )
    .unwrap();
    std::fs::write(c.join("test.bin"), cifar_record(&[0, 7], 2)).unwrap();
    let (tr, _) = load_cifar100(&c, Cifar100Labels::Fine).unwrap();
    assert_eq!((tr.labels.clone(), tr.num_classes), (vec![42, 99], 100));
    let (tr, _) = load_cifar100(&c, Cifar100Labels::Coarse).unwrap();
    assert_eq!((tr.labels.clone(), tr.num_classes), (vec![3, 19], 20));
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

#[test]
fn svhn_files_written_by_scipy() {
    let exp: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("svhn_expected.json")).unwrap(),
    )
    .unwrap();
    for sub in ["svhn_plain", "svhn_zlib"] {
        let (train, test) = load_svhn(&fixtures().join(sub), false).unwrap();
        assert_eq!((train.len(), test.len()), (5, 2), "{sub}");
        let labels: Vec<u16> = exp["labels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u16)
            .collect();
        assert_eq!(train.labels, labels, "{sub}");
        let px = |n: usize, c: usize, h: usize, w: usize| {
            (train.image(n)[c * 1024 + h * 32 + w] * 255.0).round() as u64
        };
        let first: Vec<u64> = (0..5)
            .flat_map(|n| {
                (0..3)
                    .flat_map(move |c| (0..2).flat_map(move |h| (0..2).map(move |w| (n, c, h, w))))
            })
            .map(|(n, c, h, w)| px(n, c, h, w))
            .collect();
        let want: Vec<u64> = exp["first_pixels"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap())
            .collect();
        assert_eq!(first, want, "{sub}");
        assert_eq!(
            px(4, 2, 31, 5),
            exp["pixel_n4_c2_h31_w5"].as_u64().unwrap(),
            "{sub}"
        );
        let sum: u64 = train
            .images
            .iter()
            .map(|v| (v * 255.0).round() as u64)
            .sum();
        assert_eq!(sum, exp["sum"].as_u64().unwrap(), "{sub}");
    }
    // A truncated .mat file is a named error.
    let t = tempfile::tempdir().unwrap();
    for name in ["train_32x32.mat", "test_32x32.mat"] {
        let b = std::fs::read(fixtures().join("svhn_plain").join(name)).unwrap();
        std::fs::write(t.path().join(name), &b[..b.len() / 2]).unwrap();
    }
    let e = load_svhn(t.path(), false).unwrap_err().to_string();
    assert!(e.contains("train_32x32.mat"), "{e}");
    std::fs::write(
        t.path().join("train_32x32.mat"),
        b"MATLAB 7.3 MAT-file, not really",
    )
    .unwrap();
    let e = load_svhn(t.path(), false).unwrap_err().to_string();
    assert!(e.contains("train_32x32.mat"), "{e}");
}

#[test]
fn embedded_sets_match_their_readmes() {
    let mnist = load("mnist", None).unwrap();
    assert_eq!(mnist.train.class_counts(), vec![800; 10]);
    assert_eq!(mnist.test.class_counts(), vec![200; 10]);
    let fashion = load("fashion-mnist", None).unwrap();
    assert_eq!(fashion.train.class_counts(), vec![800; 10]);
    assert_eq!(fashion.test.class_counts(), vec![200; 10]);
    let uci = load("uci-digits", None).unwrap();
    assert_eq!(
        uci.train.class_counts(),
        vec![143, 146, 142, 147, 145, 146, 145, 144, 140, 144]
    );
    assert_eq!(
        uci.test.class_counts(),
        vec![35, 36, 35, 36, 36, 36, 36, 35, 34, 36]
    );
    assert_eq!(uci.train.shape, [1, 8, 8]);
    // The decompressed embedded bytes are the files whose SHA-256 the upstream README pins.
    let raw = cr_data::bytes::gunzip(EMBEDDED[0].files[0].bytes, Path::new("x")).unwrap();
    assert_eq!(
        sha256_hex(&raw),
        "5044cfd200506345b056065b1ec48ceefc4aea7afb29339028412f2681a2ee6f"
    );
    for e in EMBEDDED {
        for f in e.files {
            f.verify(e.name).unwrap();
        }
    }
    // Pixels in [0, 1], every level used.
    assert!(mnist.train.images.iter().all(|v| (0.0..=1.0).contains(v)));
    assert_eq!(mnist.train.images.iter().cloned().fold(0f32, f32::max), 1.0);
}

#[test]
fn names_and_errors() {
    let e = load("imagenet", None).unwrap_err();
    assert!(matches!(e, DataError::UnknownName { .. }));
    assert!(e.to_string().contains("cifar10"));
    let e = load("cifar10", None).unwrap_err().to_string();
    assert!(e.contains("cifar10:DIR"), "{e}");
    let e = load("cifar10:/nonexistent/dir", None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent/dir"), "{e}");
    let g = load("synthetic-gmm", None).unwrap();
    assert_eq!(g.train.class_counts(), vec![200; 10]);
    assert_eq!(load("synthetic-gmm", None).unwrap(), g);
    let t = load("synthetic-teacher", None).unwrap();
    assert_eq!(t.train.len(), 2000);
    // The teacher's labels are not all one class.
    assert!(t.train.class_counts().iter().filter(|c| **c > 0).count() >= 3);
}

#[test]
fn dataset_operations_are_deterministic() {
    let s = load("uci-digits", None).unwrap().train;
    let b = s.balanced(95);
    assert_eq!(b.len(), 95);
    assert!(b.class_counts().iter().all(|c| *c == 9 || *c == 10));
    assert_eq!(s.balanced(95), b);
    let (rest, held) = s.split(0.1, 3).unwrap();
    assert_eq!(rest.len() + held.len(), s.len());
    assert_eq!(s.split(0.1, 3).unwrap().1, held);
    assert_ne!(s.split(0.1, 4).unwrap().1, held);
    for (c, n) in held.class_counts().iter().zip(s.class_counts()) {
        assert_eq!(*c, ((n as f64) * 0.1).round() as usize);
    }
    assert!(s.split(1.5, 0).is_err());
    assert_eq!(s.shuffled(1), s.shuffled(1));
    let mut a = s.shuffled(1).labels;
    let mut o = s.labels.clone();
    a.sort_unstable();
    o.sort_unstable();
    assert_eq!(a, o);
    // Batches are the images, in order, as tensors.
    let device = cr_models_free_device();
    let (x, y) = s.batch(&[5, 2], None, &device);
    assert_eq!(x.dims(), [2, 1, 8, 8]);
    let xs: Vec<f32> = x.into_data().try_to_vec().unwrap();
    assert_eq!(&xs[..64], s.image(5));
    let ys: Vec<i64> = y.into_data().try_to_vec().unwrap();
    assert_eq!(ys, vec![s.labels[5] as i64, s.labels[2] as i64]);
    let _ = Dataset::new("x", vec![0.0; 3], vec![0], [1, 1, 2], 2, Path::new("p")).unwrap_err();
}

#[allow(deprecated)]
fn cr_models_free_device() -> burn::prelude::Device {
    burn::prelude::Device::ndarray()
}
