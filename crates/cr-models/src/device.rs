//! Device selection by name. burn picks the backend from the device at run time, so one
//! implementation of every model and attack serves CPU and GPU.

use burn::prelude::*;

use crate::error::{ModelError, Result};

/// Device names this build accepts.
pub fn available_devices() -> Vec<&'static str> {
    let mut v = vec!["cpu"];
    if cfg!(feature = "cuda") {
        v.push("cuda");
    }
    if cfg!(feature = "vulkan") {
        v.push("vulkan");
    }
    v
}

/// The device called `name` (`cpu`, `cuda`, `cuda:N`, `vulkan`), without autodiff. GPU
/// devices switch convolutions to burn's native kernel ([`crate::conv`]).
#[allow(deprecated)] // burn 0.22 marks ndarray deprecated; it is the fastest CPU backend here.
pub fn device_from_name(name: &str) -> Result<Device> {
    let unavailable = || ModelError::Device(name.to_string(), available_devices().join(", "));
    match name {
        "cpu" => Ok(Device::ndarray()),
        #[cfg(feature = "cuda")]
        "cuda" => {
            crate::conv::set_conv_algorithm(crate::conv::ConvAlgorithm::Native);
            Ok(Device::cuda(0))
        }
        #[cfg(feature = "cuda")]
        n if n.starts_with("cuda:") => {
            let idx: usize = n[5..].parse().map_err(|_| unavailable())?;
            crate::conv::set_conv_algorithm(crate::conv::ConvAlgorithm::Native);
            Ok(Device::cuda(idx))
        }
        #[cfg(feature = "vulkan")]
        "vulkan" => {
            crate::conv::set_conv_algorithm(crate::conv::ConvAlgorithm::Native);
            Ok(Device::vulkan(Default::default()))
        }
        _ => Err(unavailable()),
    }
}

/// The default CPU device.
#[allow(deprecated)]
pub fn cpu() -> Device {
    Device::ndarray()
}
