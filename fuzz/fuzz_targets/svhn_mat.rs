//! SVHN `.mat` files: the MATLAB 5 reader, then the conversion of `X` and `y`.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz.mat");
    if let Ok(arrays) = cr_data::mat::parse(data, path) {
        let _ = cr_data::svhn::from_arrays(&arrays, path, "svhn");
    }
});
