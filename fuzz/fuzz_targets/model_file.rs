//! Model files: the safetensors header, the `cr.model` spec JSON, the network it builds and
//! the tensors' names, dtypes and shapes against it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let device = cr_models::device::cpu();
    let _ = cr_models::file::model_from_bytes(data, &device);
});
