//! Readers against files written byte by byte here (the official layouts), scipy-written
//! SVHN files, and every kind of bad file, which must be a typed error naming the file.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;

use common::*;
use cr_data::cifar::{Cifar100Labels, load_cifar10, load_cifar100};
use cr_data::idx::{PixelScale, load_dir};
use cr_data::svhn::load_svhn;
use cr_data::{DataError, load};

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

fn mnist(dir: &Path) -> cr_data::Result<cr_data::Splits> {
    load_dir(dir, "mnist", (28, 28), PixelScale::Byte)
}

#[test]
fn idx_plain_and_gz_read_the_same_pixels() {
    let d = tempfile::tempdir().unwrap();
    write_all(d.path(), &good_mnist(12));
    let s = mnist(d.path()).unwrap();
    assert_eq!((s.train.len(), s.test.len()), (12, 12));
    assert_eq!(s.train.images, s.test.images);
    assert_eq!(s.train.name, "mnist/train");
    // Pixel 300 of sample 1 is byte (784 + 300) mod 256, scaled by 1/255.
    assert_eq!(s.train.image(1)[300], ((784 + 300) % 256) as f32 / 255.0);
    assert_eq!(s.train.labels[11], 1);
    // NAME:DIR goes through the same reader.
    let spec = format!("mnist:{}", d.path().display());
    assert_eq!(load(&spec, None).unwrap().train, s.train);
    // When both exist, the plain file wins over the .gz.
    std::fs::write(d.path().join("train-labels-idx1-ubyte.gz"), b"not gzip").unwrap();
    assert_eq!(mnist(d.path()).unwrap().train, s.train);
}

/// Replaces the file starting with `name` in a good MNIST folder.
fn with(name: &str, bytes: Vec<u8>) -> Vec<(&'static str, Vec<u8>)> {
    let mut f = good_mnist(4);
    f.retain(|(n, _)| !n.starts_with(name.trim_end_matches(".gz")));
    f.push((Box::leak(name.to_string().into_boxed_str()), bytes));
    f
}

fn err_for(dir: &Path, files: Vec<(&str, Vec<u8>)>) -> DataError {
    let _ = std::fs::remove_dir_all(dir);
    write_all(dir, &files);
    mnist(dir).unwrap_err()
}

fn says(e: &DataError, file: &str, phrase: &str) {
    let msg = e.to_string();
    assert!(msg.contains(file), "`{msg}` should name {file}");
    assert!(msg.contains(phrase), "`{msg}` should say `{phrase}`");
}

#[test]
fn bad_idx_files_are_typed_errors_naming_the_file() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("m");

    // Missing file.
    let mut f = good_mnist(4);
    f.retain(|(n, _)| !n.starts_with("train-labels"));
    let e = err_for(&d, f);
    assert!(matches!(e, DataError::Missing { .. }), "{e:?}");
    says(&e, "train-labels-idx1-ubyte", "not found");

    // Missing directory.
    let e = mnist(&t.path().join("nope")).unwrap_err();
    assert!(matches!(e, DataError::Missing { .. }), "{e:?}");
    says(&e, "nope", "directory of mnist IDX files");

    // Empty file.
    let e = err_for(&d, with("train-images-idx3-ubyte", vec![]));
    assert!(matches!(e, DataError::Length { .. }), "{e:?}");
    says(&e, "train-images-idx3-ubyte", "shorter than an IDX header");

    // Wrong magic (a label file where images belong).
    let e = err_for(&d, with("train-images-idx3-ubyte", idx_labels(&[1, 2])));
    assert!(
        matches!(
            e,
            DataError::BadMagic {
                found: 0x801,
                expected: 0x803,
                ..
            }
        ),
        "{e:?}"
    );
    says(
        &e,
        "train-images-idx3-ubyte",
        "wrong magic number 0x00000801, expected 0x00000803",
    );

    // Truncated image data.
    let mut short = idx_images(4, 28, 28, &[0u8; 4 * 784]);
    short.truncate(short.len() - 10);
    let e = err_for(&d, with("train-images-idx3-ubyte", short));
    assert!(matches!(e, DataError::Length { .. }), "{e:?}");
    says(
        &e,
        "train-images-idx3-ubyte",
        "3126 after the header (truncated)",
    );

    // Truncated header.
    let e = err_for(
        &d,
        with("train-images-idx3-ubyte", vec![0, 0, 8, 3, 0, 0, 0, 4]),
    );
    says(&e, "train-images-idx3-ubyte", "truncated IDX image header");

    // A header claiming an absurd count (must not be allocated).
    let e = err_for(
        &d,
        with(
            "train-images-idx3-ubyte",
            idx_images(u32::MAX, 28, 28, &[0u8; 784]),
        ),
    );
    assert!(matches!(e, DataError::Length { .. }), "{e:?}");
    says(
        &e,
        "train-images-idx3-ubyte",
        "header says 4294967295 images",
    );
    let e = err_for(
        &d,
        with(
            "train-images-idx3-ubyte",
            idx_images(u32::MAX, u32::MAX, u32::MAX, &[]),
        ),
    );
    says(&e, "train-images-idx3-ubyte", "overflow");
    let e = err_for(
        &d,
        with(
            "train-labels-idx1-ubyte",
            [vec![0, 0, 8, 1], u32::MAX.to_be_bytes().to_vec()].concat(),
        ),
    );
    says(
        &e,
        "train-labels-idx1-ubyte",
        "header says 4294967295 labels, the file has 0 (truncated)",
    );

    // Image and label counts disagree.
    let e = err_for(&d, with("train-labels-idx1-ubyte", idx_labels(&[1, 2, 3])));
    assert!(matches!(e, DataError::Mismatch { .. }), "{e:?}");
    says(&e, "train-labels-idx1-ubyte", "3 labels for 4 images");

    // Label out of range.
    let e = err_for(
        &d,
        with("train-labels-idx1-ubyte", idx_labels(&[1, 2, 3, 10])),
    );
    assert!(
        matches!(
            e,
            DataError::Label {
                index: 3,
                label: 10,
                classes: 10,
                ..
            }
        ),
        "{e:?}"
    );
    says(
        &e,
        "train-labels-idx1-ubyte",
        "label 10 of sample 3 is outside 0..10",
    );

    // Dimensions that do not match the data set (a 32x32 file where MNIST is expected).
    let e = err_for(
        &d,
        with(
            "train-images-idx3-ubyte",
            idx_images(4, 32, 32, &[0u8; 4 * 1024]),
        ),
    );
    assert!(matches!(e, DataError::Dimensions { .. }), "{e:?}");
    says(
        &e,
        "train-images-idx3-ubyte",
        "images are 32x32, but mnist has 28x28 images",
    );

    // Corrupt gzip: truncated stream, and bytes that are not gzip at all.
    let mut bad = gz(&idx_labels(&[0, 1, 2, 3]));
    let mid = bad.len() / 2;
    bad.truncate(mid);
    let e = err_for(&d, with("t10k-labels-idx1-ubyte.gz", bad));
    assert!(matches!(e, DataError::Compressed { .. }), "{e:?}");
    says(&e, "t10k-labels-idx1-ubyte.gz", "corrupt compressed data");
    let e = err_for(
        &d,
        with("t10k-labels-idx1-ubyte.gz", idx_labels(&[0, 1, 2, 3])),
    );
    says(&e, "t10k-labels-idx1-ubyte.gz", "not a gzip file");
    // A flipped byte inside the deflate data or the CRC is caught by the gzip trailer.
    let mut flipped = gz(&idx_labels(&[0, 1, 2, 3]));
    let at = flipped.len() - 6;
    flipped[at] ^= 0xff;
    let e = err_for(&d, with("t10k-labels-idx1-ubyte.gz", flipped));
    assert!(matches!(e, DataError::Compressed { .. }), "{e:?}");
}

#[test]
fn uci_levels_are_recovered_exactly_and_other_bytes_rejected() {
    let t = tempfile::tempdir().unwrap();
    // Levels v = 0..=16 stored as p = (255 v + 8) / 16, padded to 8x8 with zeros.
    let mut px: Vec<u8> = (0u32..=16).map(|v| ((255 * v + 8) / 16) as u8).collect();
    px.resize(64, 0);
    write_all(
        t.path(),
        &[
            ("train-images-idx3-ubyte", idx_images(1, 8, 8, &px)),
            ("train-labels-idx1-ubyte", idx_labels(&[7])),
            ("t10k-images-idx3-ubyte", idx_images(1, 8, 8, &px)),
            ("t10k-labels-idx1-ubyte", idx_labels(&[3])),
        ],
    );
    let s = load(&format!("uci-digits:{}", t.path().display()), None).unwrap();
    let want: Vec<f32> = (0..=16).map(|v| v as f32 / 16.0).collect();
    assert_eq!(&s.train.image(0)[..17], &want[..]);
    assert_eq!(s.test.labels, vec![3]);
    px[5] = 81; // between the levels 80 (v=5) and 96 (v=6)
    std::fs::write(
        t.path().join("train-images-idx3-ubyte"),
        idx_images(1, 8, 8, &px),
    )
    .unwrap();
    let e = load(&format!("uci-digits:{}", t.path().display()), None).unwrap_err();
    says(
        &e,
        "train-images-idx3-ubyte",
        "byte 81 at pixel 5 is not one of the 17 levels",
    );
    // MNIST-sized files are not UCI digits.
    write_all(t.path(), &good_mnist(2));
    let e = load(&format!("uci-digits:{}", t.path().display()), None).unwrap_err();
    says(
        &e,
        "train-images-idx3-ubyte",
        "images are 28x28, but uci-digits has 8x8 images",
    );
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
    // The parent folder works too (the official sub-folder is found).
    let s = load_cifar10(t.path()).unwrap();
    assert_eq!(s, load_cifar10(&d).unwrap());
    let (train, test) = (s.train, s.test);
    assert_eq!((train.len(), test.len()), (15, 1));
    assert_eq!((train.shape, train.num_classes), ([3, 32, 32], 10));
    // Batches in order 1..5, records in file order.
    assert_eq!(
        train.labels,
        vec![1, 2, 3, 2, 3, 4, 3, 4, 5, 4, 5, 6, 5, 6, 7]
    );
    // Channel-major layout: value 1024 is the first green pixel, 2048 the first blue one.
    assert_eq!(test.image(0)[1024], (100 + (1024 % 7) as u8) as f32 / 255.0);
    assert_eq!(
        test.image(0)[2048 + 33],
        (100 + ((2048 + 33) % 7) as u8) as f32 / 255.0
    );
    assert_eq!(test.labels, vec![9]);
    let spec = format!("cifar10:{}", t.path().display());
    assert_eq!(load(&spec, None).unwrap().test, test);

    // A truncated batch, an empty one, a CIFAR-100 file and a bad label are named errors.
    let mut short = cifar_record(&[1], 0);
    short.pop();
    std::fs::write(d.join("test_batch.bin"), &short).unwrap();
    let e = load_cifar10(t.path()).unwrap_err();
    assert!(matches!(e, DataError::Length { .. }), "{e:?}");
    says(
        &e,
        "test_batch.bin",
        "3072 bytes is not a whole, non-zero number of 3073-byte CIFAR records",
    );
    std::fs::write(d.join("test_batch.bin"), b"").unwrap();
    says(
        &load_cifar10(t.path()).unwrap_err(),
        "test_batch.bin",
        "empty file",
    );
    std::fs::write(d.join("test_batch.bin"), cifar_record(&[1, 2], 0)).unwrap();
    says(
        &load_cifar10(t.path()).unwrap_err(),
        "test_batch.bin",
        "3074 bytes is not",
    );
    std::fs::write(
        d.join("test_batch.bin"),
        [cifar_record(&[3], 0), cifar_record(&[10], 0)].concat(),
    )
    .unwrap();
    let e = load_cifar10(t.path()).unwrap_err();
    assert!(
        matches!(
            e,
            DataError::Label {
                index: 1,
                label: 10,
                ..
            }
        ),
        "{e:?}"
    );
    says(
        &e,
        "test_batch.bin",
        "label 10 of sample 1 is outside 0..10",
    );
    std::fs::remove_file(d.join("data_batch_3.bin")).unwrap();
    let e = load_cifar10(t.path()).unwrap_err();
    assert!(matches!(e, DataError::Missing { .. }), "{e:?}");
    says(&e, "data_batch_3.bin", "not found");

    // CIFAR-100: coarse and fine labels, .gz accepted.
    let c = t.path().join("c100");
    std::fs::create_dir_all(&c).unwrap();
    std::fs::write(
        c.join("train.bin"),
        [cifar_record(&[3, 42], 0), cifar_record(&[19, 99], 1)].concat(),
    )
    .unwrap();
    std::fs::write(c.join("test.bin.gz"), gz(&cifar_record(&[0, 7], 2))).unwrap();
    let s = load_cifar100(&c, Cifar100Labels::Fine).unwrap();
    assert_eq!(
        (s.train.labels.clone(), s.train.num_classes),
        (vec![42, 99], 100)
    );
    assert_eq!(s.test.labels, vec![7]);
    assert_eq!(s.train.image(1)[6], (1 + 6) as f32 / 255.0);
    let s = load_cifar100(&c, Cifar100Labels::Coarse).unwrap();
    assert_eq!(
        (s.train.labels.clone(), s.train.num_classes),
        (vec![3, 19], 20)
    );
    assert_eq!(
        load(&format!("cifar100-coarse:{}", c.display()), None).unwrap(),
        s
    );
    // A fine label of 100 and a coarse label of 20 are out of range.
    std::fs::write(c.join("train.bin"), cifar_record(&[20, 100], 0)).unwrap();
    says(
        &load_cifar100(&c, Cifar100Labels::Fine).unwrap_err(),
        "train.bin",
        "label 100 of sample 0 is outside 0..100",
    );
    says(
        &load_cifar100(&c, Cifar100Labels::Coarse).unwrap_err(),
        "train.bin",
        "label 20 of sample 0 is outside 0..20",
    );
    // A CIFAR-10 batch where CIFAR-100 is expected.
    std::fs::write(c.join("train.bin"), cifar_record(&[1], 0)).unwrap();
    says(
        &load_cifar100(&c, Cifar100Labels::Fine).unwrap_err(),
        "train.bin",
        "3074-byte CIFAR records",
    );
}

#[test]
fn svhn_crafted_mat_files_in_every_supported_encoding() {
    for big in [false, true] {
        for compress in [false, true] {
            let m = Mat { big };
            let t = tempfile::tempdir().unwrap();
            std::fs::write(
                t.path().join("train_32x32.mat"),
                m.svhn(&[10.0, 1.0, 5.0], svhn_px, compress),
            )
            .unwrap();
            std::fs::write(
                t.path().join("test_32x32.mat"),
                m.svhn(&[9.0], svhn_px, compress),
            )
            .unwrap();
            let case = format!("big-endian {big}, compressed {compress}");
            let s = load_svhn(t.path(), false).unwrap();
            assert_eq!(
                s.train.labels,
                vec![0, 1, 5],
                "{case}: label 10 is the digit 0"
            );
            assert_eq!(
                (s.train.shape, s.test.labels.clone()),
                ([3, 32, 32], vec![9]),
                "{case}"
            );
            // NCHW: value (s, ch, row, col) = X(row, col, ch, s).
            for (n, ch, row, col) in [(0, 0, 0, 0), (1, 2, 31, 5), (2, 1, 7, 30), (2, 2, 31, 31)] {
                assert_eq!(
                    s.train.image(n)[ch * 1024 + row * 32 + col],
                    svhn_px(row, col, ch, n) as f32 / 255.0,
                    "{case} at {n},{ch},{row},{col}"
                );
            }
            // extra_32x32.mat is appended to the training split.
            std::fs::write(
                t.path().join("extra_32x32.mat"),
                m.svhn(&[2.0, 3.0], svhn_px, compress),
            )
            .unwrap();
            let e = load(&format!("svhn-extra:{}", t.path().display()), None).unwrap();
            assert_eq!(e.train.labels, vec![0, 1, 5, 2, 3], "{case}");
            assert_eq!(e.train.image(3), s.train.image(0), "{case}");
        }
    }
}

#[test]
fn svhn_files_written_by_scipy() {
    let exp: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("svhn_expected.json")).unwrap(),
    )
    .unwrap();
    for sub in ["svhn_plain", "svhn_zlib"] {
        let s = load_svhn(&fixtures().join(sub), false).unwrap();
        let train = s.train;
        assert_eq!((train.len(), s.test.len()), (5, 2), "{sub}");
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
}

/// Writes a one-file SVHN folder whose train file is `train` and returns the error.
fn svhn_err(train: Vec<u8>) -> DataError {
    let t = tempfile::tempdir().unwrap();
    let m = Mat { big: false };
    std::fs::write(t.path().join("train_32x32.mat"), train).unwrap();
    std::fs::write(
        t.path().join("test_32x32.mat"),
        m.svhn(&[1.0], svhn_px, false),
    )
    .unwrap();
    load_svhn(t.path(), false).unwrap_err()
}

#[test]
fn bad_mat_files_are_typed_errors_naming_the_file() {
    let m = Mat { big: false };
    let good = m.svhn(&[1.0, 2.0], svhn_px, false);
    let is_mat = |e: &DataError, phrase: &str| {
        assert!(matches!(e, DataError::Mat { .. }), "{e:?}");
        says(e, "train_32x32.mat", phrase);
    };
    // Truncated in the middle of X.
    is_mat(&svhn_err(good[..good.len() / 2].to_vec()), "claims");
    // Truncated header.
    is_mat(
        &svhn_err(good[..100].to_vec()),
        "shorter than the 128-byte MATLAB 5.0 header",
    );
    // MATLAB 7.3 (HDF5).
    let mut h5 = b"MATLAB 7.3 MAT-file, Platform: GLNXA64".to_vec();
    h5.resize(512, 0);
    is_mat(&svhn_err(h5), "MATLAB 7.3 (HDF5) files are not supported");
    // No endian indicator.
    let mut b = good.clone();
    b[126..128].copy_from_slice(b"XX");
    is_mat(&svhn_err(b), "endian indicator");
    // A complex X.
    let mut f = m.header();
    f.extend(m.matrix("X", MX_UINT8, true, &[32, 32, 3, 1], MI_UINT8, &[0; 3072]));
    is_mat(&svhn_err(f), "`X`: complex arrays are not supported");
    // A cell array (class 1) named X.
    let mut f = m.header();
    f.extend(m.matrix("X", 1, false, &[1, 1], MI_UINT8, &[0]));
    is_mat(&svhn_err(f), "array class 1 is not numeric");
    // Dimensions that disagree with the data.
    let mut f = m.header();
    f.extend(m.matrix("X", MX_UINT8, false, &[32, 32, 3, 2], MI_UINT8, &[0; 3072]));
    is_mat(
        &svhn_err(f),
        "`X` has dimensions [32, 32, 3, 2] (6144 values) but its data element holds 3072 values",
    );
    // Corrupt zlib stream.
    let mut f = m.header();
    let mut c =
        m.compressed(&m.matrix("X", MX_UINT8, false, &[32, 32, 3, 1], MI_UINT8, &[0; 3072]));
    let n = c.len();
    c[n - 3] ^= 0x55;
    f.extend(c);
    let e = svhn_err(f);
    assert!(
        matches!(e, DataError::Compressed { .. } | DataError::Mat { .. }),
        "{e:?}"
    );
    says(&e, "train_32x32.mat", "");
    // A file without y.
    let mut f = m.header();
    f.extend(m.matrix("X", MX_UINT8, false, &[32, 32, 3, 1], MI_UINT8, &[0; 3072]));
    is_mat(&svhn_err(f), "no numeric variable `y`");
    // Images that are not 32x32x3.
    let mut f = m.header();
    f.extend(m.matrix("X", MX_UINT8, false, &[28, 28, 1, 1], MI_UINT8, &[0; 784]));
    f.extend(m.matrix("y", MX_DOUBLE, false, &[1, 1], MI_DOUBLE, &m.f64s(&[1.0])));
    let e = svhn_err(f);
    assert!(matches!(e, DataError::Dimensions { .. }), "{e:?}");
    says(
        &e,
        "train_32x32.mat",
        "images are 28x28x1, but SVHN has 32x32x3 images",
    );
    // X and y counts disagree.
    let mut f = m.header();
    f.extend(m.matrix("X", MX_UINT8, false, &[32, 32, 3, 1], MI_UINT8, &[0; 3072]));
    f.extend(m.matrix(
        "y",
        MX_DOUBLE,
        false,
        &[2, 1],
        MI_DOUBLE,
        &m.f64s(&[1.0, 2.0]),
    ));
    let e = svhn_err(f);
    assert!(matches!(e, DataError::Mismatch { .. }), "{e:?}");
    says(
        &e,
        "train_32x32.mat",
        "`X` holds 1 images but `y` has dimensions [2, 1] (2 values)",
    );
    // Labels outside 1..=10 (0, 11 and 2.5).
    for bad in [0.0, 11.0, 2.5] {
        let e = svhn_err(m.svhn(&[3.0, bad], svhn_px, true));
        assert!(
            matches!(
                e,
                DataError::Label {
                    index: 1,
                    classes: 10,
                    ..
                }
            ),
            "{bad}: {e:?}"
        );
    }
}

#[test]
fn names_dirs_and_errors() {
    let e = load("imagenet", None).unwrap_err();
    assert!(matches!(e, DataError::UnknownName { .. }));
    says(
        &e,
        "imagenet",
        "known: mnist, fashion-mnist, uci-digits, cifar10, cifar100",
    );
    let e = load("cifar10", None).unwrap_err().to_string();
    assert!(
        e.contains("cifar10:DIR") && e.contains("cifar-10-batches-bin"),
        "{e}"
    );
    let e = load("cifar10:/nonexistent/dir", None).unwrap_err();
    assert!(matches!(e, DataError::Missing { .. }), "{e:?}");
    says(&e, "/nonexistent/dir", "not found");
    let e = load("mnist:", None).unwrap_err().to_string();
    assert!(e.contains("no directory after `mnist:`"), "{e}");
}
