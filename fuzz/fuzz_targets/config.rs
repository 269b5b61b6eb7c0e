//! TOML configs: the first byte picks a run config (`cargo xtask train --config`), an
//! experiment grid file (`configs/<scale>/*.toml`, expanded into its runs) or a bare training
//! config; the rest is the text.
#![no_main]

use cr_experiments::config::RunConfig;
use cr_experiments::grid::Experiment;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    match sel % 3 {
        0 => {
            if let Ok(c) = toml::from_str::<RunConfig>(text) {
                let _ = c.validate();
            }
        }
        1 => {
            if let Ok(e) = toml::from_str::<Experiment>(text) {
                let _ = e.runs();
            }
        }
        _ => {
            if let Ok(c) = toml::from_str::<cr_train::TrainConfig>(text) {
                let _ = c.validate();
            }
        }
    }
});
