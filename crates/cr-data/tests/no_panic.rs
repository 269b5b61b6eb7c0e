//! No input makes a reader panic: random, truncated and mutated bytes give `Ok` or `Err`.

#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::sync::OnceLock;

use common::*;
use proptest::prelude::*;

/// Valid files of every format, to mutate and truncate.
fn seeds() -> &'static Vec<(&'static str, Vec<u8>)> {
    static S: OnceLock<Vec<(&'static str, Vec<u8>)>> = OnceLock::new();
    S.get_or_init(|| {
        let le = Mat { big: false };
        let be = Mat { big: true };
        vec![
            ("idx-images", idx_images(2, 3, 3, &[7; 18])),
            ("idx-labels", idx_labels(&[1, 2, 3])),
            ("gz", gz(&idx_labels(&[1, 2, 3]))),
            ("cifar", cifar_record(&[3], 1)),
            ("mat", le.svhn(&[1.0, 10.0], svhn_px, false)),
            ("mat", le.svhn(&[1.0, 10.0], svhn_px, true)),
            ("mat", be.svhn(&[2.0], svhn_px, false)),
            (
                "mat",
                std::fs::read(fixtures().join("svhn_zlib/test_32x32.mat")).unwrap(),
            ),
        ]
    })
}

/// Runs the reader of `kind` on `b`; whether it accepted the bytes.
fn feed(kind: &str, b: &[u8]) -> bool {
    let p = Path::new("fuzz");
    match kind {
        "idx-images" => cr_data::idx::parse_images(b, p).is_ok(),
        "idx-labels" => cr_data::idx::parse_labels(b, p).is_ok(),
        "gz" => {
            cr_data::bytes::gunzip(b, p).is_ok_and(|x| cr_data::idx::parse_labels(&x, p).is_ok())
        }
        "cifar" => {
            let a = cr_data::cifar::parse(b, p, cr_data::cifar::Layout::CIFAR10).is_ok();
            let _ =
                cr_data::cifar::parse(b, p, cr_data::cifar::Layout::cifar100(Default::default()));
            a
        }
        _ => cr_data::mat::parse(b, p)
            .is_ok_and(|arrays| cr_data::svhn::from_arrays(&arrays, p, "fuzz").is_ok()),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300), which in 0usize..5) {
        let kind = ["idx-images", "idx-labels", "gz", "cifar", "mat"][which];
        let _ = feed(kind, &bytes);
        // The same bytes behind a valid MAT header reach the element parser.
        let mut m = Mat { big: which % 2 == 0 }.header();
        m.extend(&bytes);
        let _ = feed("mat", &m);
    }

    #[test]
    fn idx_headers_with_random_dims_never_panic(n in any::<u32>(), h in any::<u32>(), w in any::<u32>(), tail in 0usize..40) {
        let mut b = idx_images(n, h, w, &[]);
        b.extend(std::iter::repeat_n(7u8, tail));
        prop_assert!(cr_data::idx::parse_images(&b, Path::new("fuzz")).is_err() || tail as u64 == n as u64 * h as u64 * w as u64);
    }

    #[test]
    fn mutated_and_truncated_files_never_panic(which in 0usize..8, edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4), cut in any::<usize>()) {
        let (kind, good) = &seeds()[which];
        let mut b = good.clone();
        for (pos, val) in edits {
            let i = pos % b.len();
            b[i] = val;
        }
        b.truncate(cut % (b.len() + 1));
        let _ = feed(kind, &b);
    }
}

#[test]
fn every_truncation_of_every_seed_is_an_error() {
    for (kind, good) in seeds() {
        assert!(feed(kind, good), "{kind}: the untouched file is read");
        // Every prefix of the small files; every 97th prefix (and the last 200) of the large.
        let n = good.len();
        let step = if n > 2000 { 97 } else { 1 };
        for cut in (0..n).step_by(step).chain(n.saturating_sub(200)..n) {
            assert!(
                !feed(kind, &good[..cut]),
                "{kind}: the first {cut} of {n} bytes were accepted"
            );
        }
    }
}
