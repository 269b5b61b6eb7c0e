//! Training checkpoints, read as a run of `tests/fixtures/analyze/tiny.toml` (a 2x6 FCN on the
//! UCI digits) resuming from them would.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use cr_experiments::config::RunConfig;
use cr_models::Model;
use libfuzzer_sys::fuzz_target;

static RUN: OnceLock<(RunConfig, Model)> = OnceLock::new();

fuzz_target!(|data: &[u8]| {
    let (config, model) = RUN.get_or_init(|| {
        let config = RunConfig::from_file(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/analyze/tiny.toml"
        )))
        .expect("tiny.toml");
        let model = Model::build(&config.model, &cr_models::device::cpu()).expect("model");
        (config, model)
    });
    let device = cr_models::device::cpu();
    let _ = cr_train::check_checkpoint(data, Path::new("fuzz.ckpt"), &config.train, model, &device);
});
