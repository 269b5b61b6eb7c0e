//! CIFAR binary batches: the first byte picks the layout (CIFAR-10, CIFAR-100 fine or
//! coarse), the rest is the file.
#![no_main]

use std::path::Path;

use cr_data::cifar::{Cifar100Labels, Layout, parse};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let layout = match sel % 3 {
        0 => Layout::CIFAR10,
        1 => Layout::cifar100(Cifar100Labels::Fine),
        _ => Layout::cifar100(Cifar100Labels::Coarse),
    };
    if let Ok((images, labels)) = parse(rest, Path::new("fuzz-cifar"), layout) {
        assert_eq!(images.len(), labels.len() * 3072);
        assert!(labels.len() * (3072 + layout.label_bytes) == rest.len());
    }
});
