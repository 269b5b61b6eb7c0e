//! PyTorch state dicts for `import`: the safetensors header, dtypes, and every architecture's
//! structure guess, key map and shape checks against arbitrary bytes.
#![no_main]

use cr_models::import::{ImportArch, ImportOptions, import_bytes};
use libfuzzer_sys::fuzz_target;

const ARCHS: [&str; 6] = [
    "torchvision-resnet18",
    "torchvision-resnet-cifar",
    "torchvision-vgg-bn",
    "robustbench-wrn",
    "robustbench-preact-resnet",
    "cr-fcn",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, bytes)) = data.split_first() else {
        return;
    };
    let Ok(arch) = ARCHS[pick as usize % ARCHS.len()].parse::<ImportArch>() else {
        return;
    };
    let opts = ImportOptions {
        arch,
        input: [3, 32, 32],
        classes: None,
        normalize: None,
    };
    let device = cr_models::device::cpu();
    let _ = import_bytes(
        bytes,
        std::path::Path::new("fuzz.safetensors"),
        &opts,
        &device,
    );
});
