//! IDX images and labels, plain or gzip: the first byte picks which (bit 0: labels, bit 1:
//! gzip), the rest is the file.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let path = Path::new("fuzz-idx");
    let plain;
    let bytes = if sel & 2 != 0 {
        match cr_data::bytes::gunzip(rest, path) {
            Ok(b) => {
                plain = b;
                &plain[..]
            }
            Err(_) => return,
        }
    } else {
        rest
    };
    if sel & 1 != 0 {
        let _ = cr_data::idx::parse_labels(bytes, path);
    } else if let Ok(images) = cr_data::idx::parse_images(bytes, path) {
        // Whatever the header says, the pixels are exactly what the file holds.
        assert_eq!(images.pixels.len(), images.n * images.height * images.width);
        assert!(images.pixels.len() <= bytes.len());
        // The conversion to a data set, with as many labels as images (bit 2: the UCI
        // digits' 8x8 levels instead of MNIST's 28x28 bytes).
        if images.n <= bytes.len() {
            let labels: Vec<u8> = (0..images.n).map(|i| (i % 10) as u8).collect();
            let (size, scale) = if sel & 4 != 0 {
                ((8, 8), cr_data::idx::PixelScale::UciLevels)
            } else {
                ((28, 28), cr_data::idx::PixelScale::Byte)
            };
            let _ =
                cr_data::idx::to_dataset(images, labels, path, path, "mnist", "test", size, scale);
        }
    }
});
