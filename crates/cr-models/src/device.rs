//! Device selection by name. burn picks the backend from the device at run time, so one
//! implementation of every model and attack serves CPU and GPU.
//!
//! The CPU default is burn's `flex` backend: measured on 2 cores (`xtask bench`, same run)
//! it trains the 784-400-10 FCN 1.1–1.25× and the cpu-scale CNN 3× faster than burn's
//! `ndarray` backend (which burn 0.22 deprecates), and runs the UAP 4.5× faster. `ndarray` stays
//! selectable (`--device ndarray`) for comparison in builds with the `ndarray` feature.

use burn::prelude::*;

use crate::error::{ModelError, Result};

/// Device names this build accepts.
pub fn available_devices() -> Vec<&'static str> {
    let mut v = vec!["cpu"];
    if cfg!(feature = "ndarray") {
        v.push("ndarray");
    }
    if cfg!(feature = "cuda") {
        v.push("cuda");
    }
    if cfg!(feature = "vulkan") {
        v.push("vulkan");
    }
    if cfg!(feature = "wgpu") {
        v.push("wgpu");
    }
    v
}

/// The device called `name` (`cpu` = burn's flex backend, `ndarray`, `cuda`, `cuda:N`,
/// `vulkan` = wgpu on Vulkan with cubecl's SPIR-V compiler, `wgpu` = wgpu with WGSL compiled
/// by naga), without autodiff. Convolutions on `ndarray` tensors use im2col, faster there than
/// its native kernel ([`crate::conv::algorithm_for`]).
#[allow(deprecated)] // burn 0.22 marks ndarray deprecated; kept for comparison.
pub fn device_from_name(name: &str) -> Result<Device> {
    let unavailable = || ModelError::Device(name.to_string(), available_devices().join(", "));
    match name {
        "cpu" => Ok(cpu()),
        #[cfg(feature = "ndarray")]
        "ndarray" => Ok(Device::ndarray()),
        #[cfg(feature = "cuda")]
        "cuda" => Ok(Device::cuda(0)),
        #[cfg(feature = "cuda")]
        n if n.starts_with("cuda:") => {
            let idx: usize = n[5..].parse().map_err(|_| unavailable())?;
            Ok(Device::cuda(idx))
        }
        #[cfg(feature = "vulkan")]
        "vulkan" => Ok(Device::vulkan(Default::default())),
        #[cfg(feature = "wgpu")]
        "wgpu" => Ok(Device::wgpu(Default::default())),
        _ => Err(unavailable()),
    }
}

/// The default CPU device (burn's flex backend).
pub fn cpu() -> Device {
    Device::flex()
}
