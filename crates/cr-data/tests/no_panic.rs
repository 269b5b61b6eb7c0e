//! No input makes a reader panic: random and mutated bytes give `Ok` or `Err`.

#![allow(clippy::expect_used)]

use std::path::Path;

use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn idx_parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        let p = Path::new("fuzz");
        let _ = cr_data::idx::parse_images(&bytes, p);
        let _ = cr_data::idx::parse_labels(&bytes, p);
        let _ = cr_data::bytes::gunzip(&bytes, p);
    }

    #[test]
    fn idx_headers_with_random_dims_never_panic(n in any::<u32>(), h in any::<u32>(), w in any::<u32>(), tail in 0usize..40) {
        let mut b = vec![0, 0, 8, 3];
        for v in [n, h, w] {
            b.extend_from_slice(&v.to_be_bytes());
        }
        b.extend(std::iter::repeat_n(7u8, tail));
        let _ = cr_data::idx::parse_images(&b, Path::new("fuzz"));
    }

    #[test]
    fn cifar_parser_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..7000), lb in 1usize..3) {
        let _ = cr_data::cifar::parse(&bytes, Path::new("fuzz"), lb, lb - 1, 10);
    }

    #[test]
    fn mat_parser_never_panics_on_mutations(pos in 0usize..15000, val in any::<u8>(), cut in 0usize..16000) {
        for sub in ["svhn_plain", "svhn_zlib"] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(sub).join("train_32x32.mat");
            let mut b = std::fs::read(&path).expect("fixture present");
            let i = pos % b.len();
            b[i] = val;
            b.truncate(cut.min(b.len()));
            if let Ok(arrays) = cr_data::mat::parse(&b, &path) {
                let _ = cr_data::svhn::from_arrays(&arrays, &path, "fuzz");
            }
        }
    }

    #[test]
    fn mat_parser_never_panics_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let mut b = vec![b' '; 128];
        b[126] = b'I';
        b[127] = b'M';
        b.extend(bytes);
        let _ = cr_data::mat::parse(&b, Path::new("fuzz"));
    }
}
