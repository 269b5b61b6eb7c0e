//! Writes a small ResNet and a ViT as cr model files, for checking that PyTorch loads them:
//! `cargo run -p cr-models --example write_for_torch -- DIR`, then
//! `python3 python/check_load.py DIR/*.safetensors`.

#![allow(clippy::unwrap_used)] // tests and examples may panic on their own fixtures

use burn::prelude::*;
use cr_models::device::cpu;
use cr_models::file::save_model;
use cr_models::{Arch, Model, ModelSpec};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| ".".into());
    let device = cpu();
    let specs = [
        (
            "resnet",
            Arch::Resnet {
                blocks: [1, 1, 1, 1],
                bottleneck: false,
                width: 4,
                width_per_group: 64,
                layer_rank: Some(2),
                stem: Default::default(),
            },
        ),
        (
            "vit",
            Arch::Vit {
                patch: 4,
                dim: 8,
                depth: 2,
                heads: 2,
                mlp_dim: 12,
            },
        ),
    ];
    for (name, arch) in specs {
        let spec = ModelSpec {
            arch,
            input: [3, 8, 8],
            num_classes: 4,
            pruned: Default::default(),
            normalize: None,
        };
        let model = Model::new(&spec, &device, 3)?;
        let x = Tensor::<4>::ones([1, 3, 8, 8], &device).mul_scalar(0.5);
        let logits: Vec<f32> = model
            .forward(x)
            .into_data()
            .try_to_vec()
            .unwrap_or_default();
        let mut extra = std::collections::BTreeMap::new();
        extra.insert("cr.logits_of_0.5".to_string(), format!("{logits:?}"));
        let path = std::path::Path::new(&dir).join(format!("{name}.safetensors"));
        save_model(&model, &path, &extra)?;
    }
    Ok(())
}
