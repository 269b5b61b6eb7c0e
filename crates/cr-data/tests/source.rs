//! Data set names, `--data-dir` resolution, synthetic parameters and the verification
//! summaries behind `cargo xtask data`.

#![allow(clippy::unwrap_used)]

mod common;

use common::*;
use cr_data::check::{FileStatus, check_embedded, check_source, sources_under};
use cr_data::source::{NAMES, describe};
use cr_data::{DataError, DataSource, Kind, load};

#[test]
fn every_name_parses_or_asks_for_a_directory() {
    for name in NAMES {
        let k = Kind::from_name(name).unwrap();
        assert_eq!(k.name(), name);
        match DataSource::parse(name) {
            Ok(src) => {
                assert!(k.is_embedded() || k.is_synthetic(), "{name}");
                assert_eq!(src.kind(), k);
                assert_eq!(describe(name).unwrap(), src.describe());
            }
            Err(e) => {
                assert!(!k.is_embedded() && !k.is_synthetic(), "{name}");
                assert!(e.to_string().contains(&format!("{name}:DIR")), "{e}");
            }
        }
        let with_dir = DataSource::parse(&format!("{name}:/some/dir"));
        if k.is_synthetic() {
            assert!(
                with_dir
                    .unwrap_err()
                    .to_string()
                    .contains("expected key=value")
            );
        } else {
            assert_eq!(
                with_dir.unwrap(),
                DataSource::Dir {
                    kind: k,
                    dir: "/some/dir".into()
                }
            );
        }
    }
    assert_eq!(describe("cifar100-coarse").unwrap(), (20, [3, 32, 32]));
    assert_eq!(describe("mnist").unwrap(), (10, [1, 28, 28]));
    let e = DataSource::parse("svhn2").unwrap_err();
    assert!(matches!(e, DataError::UnknownName { .. }));
}

#[test]
fn synthetic_specs_take_documented_parameters() {
    let g = load("synthetic-gmm", None).unwrap();
    assert_eq!(
        (g.train.len(), g.test.len(), g.train.shape),
        (2000, 500, [1, 1, 32])
    );
    assert_eq!(g.train.class_counts(), vec![200; 10]);
    assert_eq!(load("synthetic-gmm", None).unwrap(), g);
    let s =
        DataSource::parse("synthetic-gmm:classes=3,shape=2x4x4,train=30,test=6,seed=4").unwrap();
    assert_eq!(s.describe(), (3, [2, 4, 4]));
    let g3 = s.load().unwrap();
    assert_eq!((g3.train.len(), g3.train.shape), (30, [2, 4, 4]));
    // Display round-trips.
    assert_eq!(DataSource::parse(&s.to_string()).unwrap(), s);
    let t = DataSource::parse("synthetic-teacher:dim=5,hidden=3,train=50,test=5").unwrap();
    assert_eq!(DataSource::parse(&t.to_string()).unwrap(), t);
    assert_eq!(t.load().unwrap().train.shape, [1, 1, 5]);
    let teacher = load("synthetic-teacher", None).unwrap();
    assert_eq!(teacher.train.len(), 2000);
    assert!(
        teacher
            .train
            .class_counts()
            .iter()
            .filter(|c| **c > 0)
            .count()
            >= 3
    );
    for bad in [
        "synthetic-gmm:k=3",
        "synthetic-gmm:classes",
        "synthetic-teacher:hidden=0",
        "synthetic-gmm:train=x",
    ] {
        let e = load(bad, None).unwrap_err();
        assert!(matches!(e, DataError::Invalid { .. }), "{bad}: {e:?}");
    }
}

#[test]
fn data_dir_resolves_conventional_folders() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    // Nothing under the root: an error naming the folders looked at, for the embedded sets
    // too (never a silent substitution); without a root the embedded subset is the default.
    let e = DataSource::resolve("mnist", Some(r))
        .unwrap_err()
        .to_string();
    for p in ["mnist", "MNIST/raw", "MNIST"] {
        assert!(e.contains(&r.join(p).display().to_string()), "{e}");
    }
    assert_eq!(
        DataSource::resolve("mnist", None).unwrap(),
        DataSource::Embedded(Kind::Mnist)
    );
    let e = DataSource::resolve("cifar10", Some(r))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("cifar-10-batches-bin") && e.contains("cifar10"),
        "{e}"
    );
    // torchvision's MNIST/raw layout is found.
    let px = vec![0u8; 2 * 784];
    write_all(
        &r.join("MNIST/raw"),
        &[
            ("train-images-idx3-ubyte", idx_images(2, 28, 28, &px)),
            ("train-labels-idx1-ubyte", idx_labels(&[3, 4])),
            ("t10k-images-idx3-ubyte", idx_images(2, 28, 28, &px)),
            ("t10k-labels-idx1-ubyte", idx_labels(&[5, 6])),
        ],
    );
    let src = DataSource::resolve("mnist", Some(r)).unwrap();
    assert_eq!(
        src,
        DataSource::Dir {
            kind: Kind::Mnist,
            dir: r.join("MNIST/raw")
        }
    );
    assert_eq!(load("mnist", Some(r)).unwrap().test.labels, vec![5, 6]);
    // An explicit NAME:DIR wins over the root; synthetic sets ignore it.
    assert!(
        load("mnist:/nowhere", Some(r))
            .unwrap_err()
            .to_string()
            .contains("/nowhere")
    );
    assert_eq!(load("synthetic-gmm", Some(r)).unwrap().train.len(), 2000);
    // The data command's view: one source found under the root, verified.
    let found = sources_under(r).unwrap();
    assert_eq!(found, vec![src.clone()]);
    let s = check_source(&src);
    assert!(s.ok, "{s:?}");
    assert_eq!(s.splits[0].class_counts[3..5], [1, 1]);
    assert_eq!(s.files.len(), 4);
    assert!(s.files.iter().all(|f| f.status == FileStatus::Unknown));
    assert!(sources_under(&r.join("missing")).is_err());
}

#[test]
fn checks_recognise_known_files_and_report_failures() {
    // The embedded sets all verify.
    let all = check_embedded();
    assert_eq!(all.len(), 3);
    for s in &all {
        assert!(s.ok, "{s:?}");
        assert_eq!(s.files.len(), 4);
        assert!(s.files.iter().all(|f| f.status == FileStatus::Ok));
        assert!(s.licence.is_some());
    }
    assert_eq!(all[0].splits[1].n, 2000);
    let mean = all[0].splits[0].pixel_mean;
    assert!((0.10..0.16).contains(&mean), "MNIST mean pixel {mean}");
    // The embedded files written out as a directory are recognised as cr's subset.
    let t = tempfile::tempdir().unwrap();
    let e = cr_data::embedded::embedded("fashion-mnist").unwrap();
    for f in e.files {
        std::fs::write(t.path().join(f.name), f.bytes).unwrap();
    }
    let s =
        check_source(&DataSource::parse(&format!("fashion-mnist:{}", t.path().display())).unwrap());
    assert!(s.ok, "{s:?}");
    assert!(
        s.files
            .iter()
            .all(|f| f.status == FileStatus::Ok && f.note.contains("embedded fashion-mnist")),
        "{s:?}"
    );
    assert_eq!(s.splits[0].class_counts, vec![800; 10]);
    // A corrupt file: not ok, and the error names it.
    std::fs::write(t.path().join("t10k-labels-idx1-ubyte.gz"), b"garbage").unwrap();
    let s =
        check_source(&DataSource::parse(&format!("fashion-mnist:{}", t.path().display())).unwrap());
    assert!(!s.ok);
    assert!(
        s.error
            .as_deref()
            .unwrap()
            .contains("t10k-labels-idx1-ubyte.gz"),
        "{s:?}"
    );
    // JSON serialisation works (the data command prints it).
    let j = serde_json::to_value(&s).unwrap();
    assert_eq!(j["ok"], false);
}
