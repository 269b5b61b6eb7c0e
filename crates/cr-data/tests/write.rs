//! The writers beside the readers: each format written by `cr_data::write` and read back by
//! the real loader (shapes, labels, bytes), a scipy-written SVHN file rewritten and read the
//! same, and `synthesize`'s layout loading through `--data-dir` exactly as the real files.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use cr_data::write::{
    SynthSizes, cifar_records, gzip, idx_images, idx_labels, svhn_mat, synthesize,
};
use cr_data::{Kind, load};

fn bytes_of(images: &[f32]) -> Vec<u8> {
    images.iter().map(|v| (v * 255.0).round() as u8).collect()
}

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

#[test]
fn idx_round_trip_plain_and_gz() {
    let t = tempfile::tempdir().unwrap();
    let px: Vec<u8> = (0..3 * 784).map(|i| (i * 7 % 256) as u8).collect();
    let labels = [3u8, 0, 9];
    // The writer's bytes are the layout the test helper spells out byte by byte.
    assert_eq!(idx_images(28, 28, &px), common::idx_images(3, 28, 28, &px));
    assert_eq!(idx_labels(&labels), common::idx_labels(&labels));
    common::write_all(
        t.path(),
        &[
            ("train-images-idx3-ubyte.gz", gzip(&idx_images(28, 28, &px))),
            ("train-labels-idx1-ubyte.gz", gzip(&idx_labels(&labels))),
            ("t10k-images-idx3-ubyte", idx_images(28, 28, &px)),
            ("t10k-labels-idx1-ubyte", idx_labels(&labels)),
        ],
    );
    let s = load(&format!("mnist:{}", t.path().display()), None).unwrap();
    for d in [&s.train, &s.test] {
        assert_eq!(d.shape, [1, 28, 28]);
        assert_eq!(d.labels, vec![3, 0, 9]);
        assert_eq!(bytes_of(&d.images), px);
    }
}

#[test]
fn cifar_records_round_trip() {
    let px: Vec<u8> = (0..2 * 3072).map(|i| (i % 251) as u8).collect();
    let rec = cifar_records(&[vec![7], vec![2]], &px);
    let mut want = common::cifar_record(&[7], 0);
    want[1..].copy_from_slice(&px[..3072]);
    assert_eq!(&rec[..3073], &want[..]);
    let (img, labels) =
        cr_data::cifar::parse(&rec, Path::new("x.bin"), cr_data::cifar::Layout::CIFAR10).unwrap();
    assert_eq!(labels, vec![7, 2]);
    assert_eq!(bytes_of(&img), px);
    let rec = cifar_records(&[vec![4, 23], vec![19, 99]], &px);
    for (labels, want) in [
        (cr_data::cifar::Cifar100Labels::Fine, vec![23, 99]),
        (cr_data::cifar::Cifar100Labels::Coarse, vec![4, 19]),
    ] {
        let layout = cr_data::cifar::Layout::cifar100(labels);
        let (img, l) = cr_data::cifar::parse(&rec, Path::new("x.bin"), layout).unwrap();
        assert_eq!(l, want);
        assert_eq!(bytes_of(&img), px);
    }
}

/// NCHW pixels → `svhn_mat` → the SVHN loader: the same pixels, digit 0 written as label 10
/// and read back as 0.
#[test]
fn svhn_mat_round_trip() {
    let t = tempfile::tempdir().unwrap();
    // Pixel (n, c, h, w) = a value that differs in every coordinate, so a transposition shows.
    let px: Vec<u8> = (0..3usize)
        .flat_map(|n| {
            (0..3).flat_map(move |c| {
                (0..32).flat_map(move |h| {
                    (0..32).map(move |w| ((n * 89 + c * 53 + h * 7 + w * 3) % 256) as u8)
                })
            })
        })
        .collect();
    let digits = [0u8, 5, 9];
    let m = svhn_mat(&px, &digits);
    // The MATLAB level-5 header: text, version 0x0100, little-endian indicator `IM`.
    assert!(m.starts_with(b"MATLAB 5.0 MAT-file"));
    assert_eq!(&m[124..128], &[0x00, 0x01, b'I', b'M']);
    common::write_all(
        t.path(),
        &[("train_32x32.mat", m.clone()), ("test_32x32.mat", m)],
    );
    let s = cr_data::svhn::load_svhn(t.path(), false).unwrap();
    assert_eq!(s.train.shape, [3, 32, 32]);
    assert_eq!(s.train.labels, vec![0, 5, 9]);
    assert_eq!(bytes_of(&s.train.images), px);
    let arrays = cr_data::mat::parse(
        &std::fs::read(t.path().join("train_32x32.mat")).unwrap(),
        t.path(),
    )
    .unwrap();
    let y = arrays.iter().find(|a| a.name == "y").unwrap();
    assert_eq!(y.dims, vec![3, 1]);
    assert_eq!(
        (0..3).map(|i| y.data.get(i).unwrap()).collect::<Vec<_>>(),
        vec![10.0, 5.0, 9.0]
    );
    let x = arrays.iter().find(|a| a.name == "X").unwrap();
    assert_eq!(x.dims, vec![32, 32, 3, 3]);
    // Column-major [H, W, C, N]: element (h=1, w=2, c=1, n=2) sits at 1 + 32·2 + 1024·1 + 3072·2.
    assert_eq!(
        x.data.get(1 + 64 + 1024 + 6144).unwrap(),
        f64::from(px[2 * 3072 + 1024 + 32 + 2])
    );
}

/// scipy's files (the committed fixtures), rewritten by `svhn_mat`, load to the same data set.
#[test]
fn scipy_svhn_rewritten_loads_the_same() {
    let t = tempfile::tempdir().unwrap();
    let s = cr_data::svhn::load_svhn(&fixtures().join("svhn_plain"), false).unwrap();
    let to_digits = |l: &[u16]| l.iter().map(|v| *v as u8).collect::<Vec<_>>();
    common::write_all(
        t.path(),
        &[
            (
                "train_32x32.mat",
                svhn_mat(&bytes_of(&s.train.images), &to_digits(&s.train.labels)),
            ),
            (
                "test_32x32.mat",
                svhn_mat(&bytes_of(&s.test.images), &to_digits(&s.test.labels)),
            ),
        ],
    );
    let r = cr_data::svhn::load_svhn(t.path(), false).unwrap();
    assert_eq!(r.train.images, s.train.images);
    assert_eq!(r.train.labels, s.train.labels);
    assert_eq!(r.test.images, s.test.images);
    assert_eq!(r.test.labels, s.test.labels);
}

/// `synthesize` lays every data set out where `--data-dir` looks, each loads with the real
/// loader with the sizes asked for and balanced labels, and the same seed writes the same bytes.
#[test]
fn synthesized_root_loads_like_the_real_one() {
    let t = tempfile::tempdir().unwrap();
    let sizes = SynthSizes {
        train_per_class: 3,
        test_per_class: 2,
    };
    let files = synthesize(t.path(), sizes, 5).unwrap();
    assert_eq!(files.len(), 4 + 4 + 6 + 2 + 2);
    for (name, classes, shape) in [
        ("mnist", 10, [1, 28, 28]),
        ("fashion-mnist", 10, [1, 28, 28]),
        ("cifar10", 10, [3, 32, 32]),
        ("cifar100", 100, [3, 32, 32]),
        ("cifar100-coarse", 20, [3, 32, 32]),
        ("svhn", 10, [3, 32, 32]),
    ] {
        let s = load(name, Some(t.path())).unwrap();
        let c = if name == "cifar100-coarse" {
            100
        } else {
            classes
        };
        assert_eq!((s.train.len(), s.test.len()), (3 * c, 2 * c), "{name}");
        assert_eq!(
            (s.train.shape, s.train.num_classes),
            (shape, classes),
            "{name}"
        );
        let counts = s.train.class_counts();
        assert!(
            counts.iter().all(|n| *n == 3 * c / classes),
            "{name}: {counts:?}"
        );
        // Not a constant image: the pixels carry the prototypes and the noise.
        assert!(s.train.image(0) != s.train.image(1), "{name}");
    }
    // `check` (what `cargo xtask data --data-dir` runs) passes on every folder.
    let sources = cr_data::check::sources_under(t.path()).unwrap();
    let kinds: Vec<Kind> = sources.iter().map(|s| s.kind()).collect();
    assert_eq!(kinds, cr_data::write::SYNTHESIZED.to_vec());
    for s in &sources {
        assert!(cr_data::check::check_source(s).ok, "{s}");
    }
    let again = tempfile::tempdir().unwrap();
    let other = tempfile::tempdir().unwrap();
    synthesize(again.path(), sizes, 5).unwrap();
    synthesize(other.path(), sizes, 6).unwrap();
    for f in &files {
        let rel = f.strip_prefix(t.path()).unwrap();
        let a = std::fs::read(f).unwrap();
        assert_eq!(
            a,
            std::fs::read(again.path().join(rel)).unwrap(),
            "{}",
            rel.display()
        );
        if rel.extension().is_some_and(|e| e == "bin") {
            assert_ne!(
                a,
                std::fs::read(other.path().join(rel)).unwrap(),
                "{}",
                rel.display()
            );
        }
    }
    assert!(
        synthesize(
            t.path(),
            SynthSizes {
                train_per_class: 0,
                test_per_class: 1
            },
            0
        )
        .is_err()
    );
}
