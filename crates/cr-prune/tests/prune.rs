//! cr-prune against independent truth: masked vs physically pruned logits on every
//! architecture, hand counts, cr-linalg's least k, Eckart–Young, exact zero counts, errors.
#![allow(clippy::unwrap_used)]

use burn::prelude::*;
use cr_linalg::compress::min_k;
use cr_models::layout::ParamKind;
use cr_models::params::map_params;
use cr_models::spec::Arch;
use cr_models::{Model, ModelSpec, Selection, device::cpu};
use cr_prune::{EvalPoint, Method, PruneConfig, PruneError, SweepError, prune, sweep};

fn spec(arch: Arch, input: [usize; 3], classes: usize) -> ModelSpec {
    let s = ModelSpec {
        arch,
        input,
        num_classes: classes,
        pruned: Default::default(),
        normalize: None,
    };
    s.validate().unwrap();
    s
}

fn fcn(width: usize, depth: usize, bias: bool, rank: Option<usize>) -> ModelSpec {
    spec(
        Arch::Fcn {
            width,
            depth,
            bias,
            layer_rank: rank,
        },
        [1, 4, 4],
        3,
    )
}

/// Deterministic pseudo-random numbers in [0, 1) (no dependency on rand).
fn lcg(seed: &mut u64) -> f32 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ((*seed >> 40) as f32) / (1u64 << 24) as f32
}

/// A model with random weights and random batch-norm affine parameters and running statistics
/// (so that batch norm is not the identity and zeroed channels are really tested).
fn model(spec: &ModelSpec, seed: u64) -> Model {
    let m = Model::new(spec, &cpu(), seed).unwrap();
    let mut s = seed.wrapping_add(17);
    let net = map_params(m.net, |info, old| {
        let n = old.dims()[0];
        let v: Vec<f32> = match (info.kind, info.key.ends_with("running_var")) {
            (ParamKind::RunningStat, true) => (0..n).map(|_| 0.5 + lcg(&mut s)).collect(),
            (ParamKind::RunningStat, false) | (ParamKind::NormAffine, _) => {
                (0..n).map(|_| lcg(&mut s) - 0.3).collect()
            }
            _ => return None,
        };
        Some(Tensor::from_data(TensorData::new(v, [n]), &old.device()))
    });
    Model { spec: m.spec, net }
}

fn input(spec: &ModelSpec, b: usize) -> Tensor<4> {
    let [c, h, w] = spec.input;
    let mut s = 99;
    let v: Vec<f32> = (0..b * c * h * w).map(|_| lcg(&mut s)).collect();
    Tensor::from_data(TensorData::new(v, [b, c, h, w]), &cpu())
}

fn logits(m: &Model, x: &Tensor<4>) -> Vec<f32> {
    m.forward(x.clone())
        .into_data()
        .try_to_vec::<f32>()
        .unwrap()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn physical(method: Method, ratio: f64) -> PruneConfig {
    PruneConfig {
        physical: true,
        ..PruneConfig::with_ratio(method, ratio)
    }
}

fn row_norms(m: &Model, name: &str) -> Vec<f64> {
    let w = m
        .effective_matrices(Selection::ALL)
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap()
        .1;
    (0..w.rows)
        .map(|i| {
            w.data[i * w.cols..(i + 1) * w.cols]
                .iter()
                .map(|&v| (v as f64).powi(2))
                .sum::<f64>()
                .sqrt()
        })
        .collect()
}

/// Masked and physical twins agree, the physical one is smaller, and the masked one really
/// has the pruned rows zeroed.
fn check_twins(spec: &ModelSpec, cfg: &PruneConfig, tol: f32) -> cr_prune::Pruned {
    let m = model(spec, 3);
    let x = input(spec, 4);
    let p = prune(&m, cfg).unwrap();
    let phys = p.physical.as_ref().unwrap();
    let (a, b) = (logits(&p.masked, &x), logits(phys, &x));
    let d = max_diff(&a, &b);
    assert!(
        d <= tol,
        "{}: masked vs physical differ by {d}",
        spec.arch_name()
    );
    // Pruning changed something (the test is not vacuous).
    assert!(max_diff(&a, &logits(&m, &x)) > 1e-6, "{}", spec.arch_name());
    assert!(p.report.params_after < p.report.params_before);
    assert!(p.report.flops_after < p.report.flops_before);
    assert_eq!(p.report.params_after, phys.num_params() as u64);
    for l in &p.report.layers {
        assert!(l.kept >= 1 && l.kept <= l.rows);
        let norms = row_norms(&p.masked, &l.name);
        let zero = norms.iter().filter(|&&v| v == 0.0).count();
        assert_eq!(zero, l.rows - l.kept, "{}", l.name);
        assert_eq!(phys.layer_matrix_rows(&l.name), l.kept, "{}", l.name);
    }
    p
}

trait Rows {
    fn layer_matrix_rows(&self, name: &str) -> usize;
}

impl Rows for Model {
    fn layer_matrix_rows(&self, name: &str) -> usize {
        self.effective_matrices(Selection::ALL)
            .into_iter()
            .find(|(n, _)| n == name)
            .unwrap()
            .1
            .rows
    }
}

#[test]
fn fcn_physical_equals_masked() {
    let s = fcn(12, 2, true, None);
    for method in [Method::Layerwise, Method::Global, Method::EpsTarget] {
        let p = check_twins(&s, &physical(method, 0.4), 1e-5);
        assert_eq!(p.report.layers.len(), 2);
    }
}

#[test]
fn every_architecture_physical_equals_masked() {
    let archs = [
        spec(
            Arch::Cnn {
                channels: vec![4, 6],
                hidden: 5,
                layer_rank: None,
            },
            [1, 8, 8],
            3,
        ),
        spec(
            Arch::Cnn {
                channels: vec![4, 6, 5],
                hidden: 0,
                layer_rank: None,
            },
            [1, 8, 8],
            3,
        ),
        spec(
            Arch::Cnn {
                channels: vec![4, 6],
                hidden: 5,
                layer_rank: Some(2),
            },
            [1, 8, 8],
            3,
        ),
        spec(
            Arch::Resnet {
                blocks: [1, 2, 1, 1],
                bottleneck: false,
                width: 4,
                width_per_group: 64,
                layer_rank: None,
                stem: Default::default(),
            },
            [3, 8, 8],
            3,
        ),
        spec(
            Arch::Resnet {
                blocks: [1, 1, 1, 1],
                bottleneck: true,
                width: 4,
                width_per_group: 64,
                layer_rank: None,
                stem: Default::default(),
            },
            [3, 8, 8],
            3,
        ),
        spec(
            Arch::Resnet {
                blocks: [1, 1, 1, 1],
                bottleneck: false,
                width: 4,
                width_per_group: 64,
                layer_rank: Some(2),
                stem: Default::default(),
            },
            [3, 8, 8],
            3,
        ),
        spec(
            Arch::Vgg {
                config: vec![4, 0, 6, 8, 0, 5],
                layer_rank: None,
            },
            [3, 8, 8],
            3,
        ),
        spec(
            Arch::Wrn {
                depth: 10,
                widen: 1,
                layer_rank: None,
            },
            [3, 8, 8],
            3,
        ),
        spec(
            Arch::Vit {
                patch: 4,
                dim: 8,
                depth: 2,
                heads: 2,
                mlp_dim: 12,
            },
            [3, 8, 8],
            3,
        ),
        fcn(10, 3, true, Some(3)),
    ];
    for s in &archs {
        for method in [Method::Layerwise, Method::Global] {
            check_twins(s, &physical(method, 0.5), 1e-4);
        }
    }
}

#[test]
fn resnet_prunes_only_inner_convs() {
    let s = spec(
        Arch::Resnet {
            blocks: [1, 1, 1, 1],
            bottleneck: false,
            width: 4,
            width_per_group: 64,
            layer_rank: None,
            stem: Default::default(),
        },
        [3, 8, 8],
        3,
    );
    let p = prune(&model(&s, 1), &physical(Method::Layerwise, 0.5)).unwrap();
    let names: Vec<&str> = p.report.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "layer1.0.conv1",
            "layer2.0.conv1",
            "layer3.0.conv1",
            "layer4.0.conv1"
        ]
    );
    let phys = p.physical.unwrap();
    assert_eq!(
        phys.layer("layer1.0.conv2").unwrap().shape,
        vec![4, 2, 3, 3]
    );
    assert_eq!(
        phys.layer("layer4.0.conv2").unwrap().shape,
        vec![32, 16, 3, 3]
    );
}

#[test]
fn params_and_flops_match_hand_count() {
    // 16 → 10 → 10 → 3, no bias: 160 + 100 + 30 = 290 parameters, 2·290 FLOPs.
    let m = model(&fcn(10, 2, false, None), 0);
    let p = prune(&m, &PruneConfig::with_ratio(Method::Layerwise, 0.5)).unwrap();
    let r = &p.report;
    assert!(p.physical.is_none());
    assert_eq!((r.params_before, r.flops_before), (290, 580));
    // 16 → 5 → 5 → 3: 80 + 25 + 15 = 120.
    assert_eq!((r.params_after, r.flops_after), (120, 240));
    // With biases: + 10 + 10 + 3 before, + 5 + 5 + 3 after.
    let m = model(&fcn(10, 2, true, None), 0);
    let r = prune(&m, &physical(Method::Layerwise, 0.5)).unwrap().report;
    assert_eq!((r.params_before, r.params_after), (313, 133));
    assert_eq!((r.flops_before, r.flops_after), (580, 240));
}

#[test]
fn ratios_hit_the_request() {
    let m = model(&fcn(17, 3, false, None), 5);
    for ratio in [0.0, 0.1, 0.33, 0.5, 0.77] {
        let r = prune(&m, &PruneConfig::with_ratio(Method::Layerwise, ratio))
            .unwrap()
            .report;
        for l in &r.layers {
            let pruned = (l.rows - l.kept) as f64;
            assert!(
                (pruned - ratio * l.rows as f64).abs() <= 1.0,
                "{l:?} at {ratio}"
            );
        }
        let r = prune(&m, &PruneConfig::with_ratio(Method::Global, ratio))
            .unwrap()
            .report;
        let total: usize = r.layers.iter().map(|l| l.rows).sum();
        let pruned: usize = r.layers.iter().map(|l| l.rows - l.kept).sum();
        assert!((pruned as f64 - ratio * total as f64).abs() <= 1.0, "{r:?}");
        assert!((r.achieved - pruned as f64 / total as f64).abs() < 1e-12);
    }
    // The per-layer cap: never more than ⌊0.5·17⌋ = 8 rows of a layer.
    let cfg = PruneConfig {
        max_layer_ratio: 0.5,
        ..PruneConfig::with_ratio(Method::Global, 0.7)
    };
    let r = prune(&m, &cfg).unwrap().report;
    assert!(r.layers.iter().all(|l| l.kept == 9), "{r:?}");
}

#[test]
fn global_prunes_the_smallest_normalised_rows() {
    let m = model(&fcn(8, 2, false, None), 2);
    let r = prune(&m, &PruneConfig::with_ratio(Method::Global, 0.5))
        .unwrap()
        .report;
    // Brute force: the 8 smallest of norm / layer max across both layers.
    let mut all: Vec<(f64, usize)> = Vec::new();
    for (l, name) in ["layers.0", "layers.1"].iter().enumerate() {
        let v = row_norms(&m, name);
        let max = v.iter().copied().fold(0.0, f64::max);
        all.extend(v.iter().map(|x| (x / max, l)));
    }
    all.sort_by(|a, b| a.0.total_cmp(&b.0));
    for (l, layer) in r.layers.iter().enumerate() {
        let expect = all[..8].iter().filter(|(_, i)| *i == l).count();
        assert_eq!(layer.rows - layer.kept, expect);
    }
}

/// Default ε-targeted pruning targets Theorem 3.1's ν (row ℓ1 norms, q = 1): per layer the
/// kept count is the least k with Σ_{i>k} ν_(i) / Σ ν ≤ ε (brute force over k on hand-sorted
/// ℓ1 norms).
#[test]
fn eps_target_default_uses_nu_l1() {
    let m = model(&fcn(20, 3, false, None), 4);
    for eps in [0.02, 0.1, 0.3, 0.6] {
        let cfg = PruneConfig {
            method: Method::EpsTarget,
            eps_target: Some(eps),
            max_layer_ratio: 1.0,
            ..Default::default()
        };
        assert_eq!(cfg.eps_vector, cr_prune::EpsVector::Nu);
        let out = prune(&m, &cfg).unwrap();
        for l in &out.report.layers {
            let w = m
                .effective_matrices(Selection::ALL)
                .into_iter()
                .find(|(n, _)| *n == l.name)
                .unwrap()
                .1;
            let nu: Vec<f64> = (0..w.rows)
                .map(|i| {
                    w.data[i * w.cols..(i + 1) * w.cols]
                        .iter()
                        .map(|v| f64::from(v.abs()))
                        .sum()
                })
                .collect();
            let mut sorted = nu.clone();
            sorted.sort_by(|a, b| b.total_cmp(a));
            let total: f64 = sorted.iter().sum();
            let k = (1..=sorted.len())
                .find(|&k| sorted[k..].iter().sum::<f64>() / total <= eps)
                .unwrap();
            assert_eq!(l.kept, k, "{} at ε = {eps}", l.name);
        }
    }
}

#[test]
fn eps_target_row_l2_option_k_is_the_least_k() {
    let m = model(&fcn(20, 3, false, None), 4);
    for eps in [0.02, 0.1, 0.3, 0.6] {
        let cfg = PruneConfig {
            method: Method::EpsTarget,
            eps_target: Some(eps),
            eps_vector: cr_prune::EpsVector::RowL2,
            max_layer_ratio: 1.0,
            ..Default::default()
        };
        let r = prune(&m, &cfg).unwrap().report;
        assert_eq!(r.eps, Some(eps));
        for l in &r.layers {
            let k = min_k(&row_norms(&m, &l.name), 2.0, eps).unwrap();
            assert_eq!(l.kept, k.max(1), "{} at ε = {eps}", l.name);
        }
    }
}

#[test]
fn eps_scan_gets_closest_to_the_ratio() {
    let m = model(&fcn(20, 3, false, None), 4);
    let at = |eps: f64| {
        let cfg = PruneConfig {
            method: Method::EpsTarget,
            eps_target: Some(eps),
            ..Default::default()
        };
        prune(&m, &cfg).unwrap().report.achieved
    };
    for ratio in [0.2, 0.5, 0.8] {
        let cfg = PruneConfig::with_ratio(Method::EpsTarget, ratio);
        let r = prune(&m, &cfg).unwrap().report;
        let eps = r.eps.unwrap();
        assert!((at(eps) - r.achieved).abs() < 1e-12);
        // No ε on a fine grid does better.
        let best = (0..=200)
            .map(|i| (at(i as f64 / 200.0) - ratio).abs())
            .fold(f64::INFINITY, f64::min);
        assert!((r.achieved - ratio).abs() <= best + 1e-12, "{ratio}: {r:?}");
    }
}

#[test]
fn lowrank_error_is_eckart_young() {
    let m = model(&fcn(12, 2, false, None), 6);
    let cfg = PruneConfig {
        method: Method::LowRank,
        rank: Some(3),
        physical: true,
        ..Default::default()
    };
    let p = prune(&m, &cfg).unwrap();
    for name in ["layers.0", "layers.1"] {
        let w = m.layer_matrix(name).unwrap();
        let wk = p.masked.layer_matrix(name).unwrap();
        let err: f64 = w
            .data
            .iter()
            .zip(&wk.data)
            .map(|(a, b)| ((a - b) as f64).powi(2))
            .sum::<f64>()
            .sqrt();
        let mat = cr_linalg::Mat::from_fn(w.rows, w.cols, |i, j| w.data[i * w.cols + j] as f64);
        let s = cr_linalg::singular_values(&mat).unwrap();
        let ey = s[3..].iter().map(|v| v * v).sum::<f64>().sqrt();
        assert!(
            (err - ey).abs() <= 1e-4 * ey.max(1.0),
            "{name}: {err} vs {ey}"
        );
    }
    // The factorised twin computes the same logits; 3·(16+12) + 3·(12+12) + 12·3 parameters.
    let phys = p.physical.unwrap();
    let x = input(&m.spec, 4);
    assert!(max_diff(&logits(&p.masked, &x), &logits(&phys, &x)) <= 1e-4);
    assert_eq!(p.report.params_after, 84 + 72 + 36);
    assert_eq!(phys.spec.layer_rank(), Some(3));
    assert!((p.report.achieved - 0.75).abs() < 1e-12);
}

#[test]
fn lowrank_by_ratio_and_on_factorised_models() {
    // Already factorised at rank 6: truncating to 2 keeps the shapes, drops the rank.
    let m = model(&fcn(12, 2, true, Some(6)), 7);
    let cfg = PruneConfig {
        method: Method::LowRank,
        rank: Some(2),
        ..Default::default()
    };
    let p = prune(&m, &cfg).unwrap();
    for (name, w) in p.masked.effective_matrices(Selection::HIDDEN) {
        let mat = cr_linalg::Mat::from_fn(w.rows, w.cols, |i, j| w.data[i * w.cols + j] as f64);
        let s = cr_linalg::singular_values(&mat).unwrap();
        assert!(s[2] <= 1e-5 * s[0], "{name}: {s:?}");
    }
    let p = prune(&m, &PruneConfig::with_ratio(Method::LowRank, 0.5)).unwrap();
    assert!(p.report.layers.iter().all(|l| l.rows == 12 && l.kept == 6));
}

#[test]
fn unstructured_zeroes_exactly() {
    let m = model(&fcn(20, 2, false, None), 8);
    let n = 16 * 20 + 20 * 20;
    for ratio in [0.0, 0.1, 0.37, 0.8] {
        let p = prune(&m, &PruneConfig::with_ratio(Method::Unstructured, ratio)).unwrap();
        let zeros: usize = p
            .masked
            .layer_matrices(Selection::HIDDEN)
            .iter()
            .map(|(_, w)| w.data.iter().filter(|&&v| v == 0.0).count())
            .sum();
        let expect = (ratio * n as f64).round() as usize;
        assert!(zeros.abs_diff(expect) <= 1, "{ratio}: {zeros} vs {expect}");
        assert_eq!(p.report.params_after, 720 + 60 - zeros as u64);
        // The head is untouched.
        assert_eq!(
            p.masked.layer_matrix("head").unwrap(),
            m.layer_matrix("head").unwrap()
        );
    }
}

#[test]
fn physical_model_saves_to_a_smaller_file() {
    let s = spec(
        Arch::Vgg {
            config: vec![4, 0, 8, 8, 0],
            layer_rank: None,
        },
        [3, 8, 8],
        3,
    );
    let p = prune(&model(&s, 0), &physical(Method::Layerwise, 0.5)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("masked"), dir.path().join("small"));
    let none = Default::default();
    cr_models::file::save_model(&p.masked, &a, &none).unwrap();
    cr_models::file::save_model(p.physical.as_ref().unwrap(), &b, &none).unwrap();
    let size = |p: &std::path::Path| std::fs::metadata(p).unwrap().len();
    assert!(size(&b) < size(&a));
    let back = cr_models::file::load_model(&b, &cpu()).unwrap();
    assert_eq!(back.spec.pruned.get("blocks.1.conv"), Some(&4));
}

#[test]
fn bad_configs_name_the_field() {
    let m = model(&fcn(4, 1, false, None), 0);
    let field = |cfg: PruneConfig| match prune(&m, &cfg) {
        Err(PruneError::InvalidConfig { field, .. }) => field,
        other => panic!("expected an invalid-config error, got {other:?}"),
    };
    for r in [1.0, -0.1, f64::NAN, 3.0] {
        assert_eq!(
            field(PruneConfig::with_ratio(Method::Layerwise, r)),
            "ratio"
        );
    }
    let lowrank = |rank| PruneConfig {
        method: Method::LowRank,
        rank: Some(rank),
        ..Default::default()
    };
    assert_eq!(field(lowrank(0)), "rank");
    let eps = PruneConfig {
        method: Method::EpsTarget,
        eps_target: Some(1.5),
        ..Default::default()
    };
    assert_eq!(field(eps), "eps_target");
    let cap = PruneConfig {
        max_layer_ratio: 2.0,
        ..PruneConfig::with_ratio(Method::Global, 0.5)
    };
    assert_eq!(field(cap), "max_layer_ratio");
    assert_eq!(field(PruneConfig::default()), "ratio");
    assert_eq!(field(physical(Method::Unstructured, 0.5)), "physical");
    assert_eq!(field(physical(Method::LowRank, 0.5)), "physical");
    let e = "magnitude".parse::<Method>().unwrap_err();
    assert!(matches!(&e, PruneError::InvalidConfig { field, .. } if field == "method"));
    let msg = e.to_string();
    for name in Method::NAMES {
        assert!(msg.contains(name), "{msg}");
    }
}

#[test]
fn method_names_round_trip() {
    for (m, name) in Method::ALL.into_iter().zip(Method::NAMES) {
        assert_eq!(name.parse::<Method>().unwrap(), m);
        assert_eq!(serde_json::to_string(&m).unwrap(), format!("\"{name}\""));
    }
    let cfg: PruneConfig =
        serde_json::from_str(r#"{"method": "eps-target", "eps_target": 0.1}"#).unwrap();
    assert_eq!(cfg.max_layer_ratio, cr_prune::DEFAULT_MAX_LAYER_RATIO);
    assert!(!cfg.physical);
    assert!(serde_json::from_str::<PruneConfig>(r#"{"method": "lowrank", "bogus": 1}"#).is_err());
}

#[test]
fn sweep_evaluates_every_ratio() {
    let m = model(&fcn(10, 2, false, None), 9);
    let base = physical(Method::Layerwise, 0.0);
    let mut seen = Vec::new();
    let pts = sweep(&m, &base, &[0.0, 0.3, 0.6], |pm: &Model| {
        seen.push(pm.layer("layers.0").unwrap().rows);
        Ok::<_, std::io::Error>(EvalPoint {
            clean_accuracy: 1.0,
            robust_accuracy: None,
        })
    })
    .unwrap();
    assert_eq!(seen, vec![10, 7, 4]);
    assert!(pts[0].params > pts[1].params && pts[1].params > pts[2].params);
    assert!((pts[1].achieved - 0.3).abs() < 1e-12);
    let json = serde_json::to_string(&pts[1]).unwrap();
    assert!(json.contains("\"clean_accuracy\":1.0"), "{json}");
    // Errors of either side are reported with the ratio.
    let err = sweep(&m, &base, &[0.2], |_: &Model| {
        Err::<EvalPoint, _>(std::io::Error::other("no data"))
    })
    .unwrap_err();
    assert!(matches!(err, SweepError::Eval { ratio, .. } if ratio == 0.2));
    let err = sweep(&m, &base, &[1.5], |_: &Model| {
        Ok::<_, std::io::Error>(EvalPoint {
            clean_accuracy: 0.0,
            robust_accuracy: None,
        })
    })
    .unwrap_err();
    assert!(matches!(err, SweepError::Prune { .. }));
}

#[test]
fn vit_lowrank_is_masked_only() {
    let s = spec(
        Arch::Vit {
            patch: 4,
            dim: 8,
            depth: 1,
            heads: 2,
            mlp_dim: 12,
        },
        [3, 8, 8],
        3,
    );
    let m = model(&s, 2);
    let cfg = PruneConfig {
        method: Method::LowRank,
        rank: Some(2),
        ..Default::default()
    };
    let p = prune(&m, &cfg).unwrap();
    let names: Vec<&str> = p.report.layers.iter().map(|l| l.name.as_str()).collect();
    assert!(names.contains(&"blocks.0.attn.qkv") && names.contains(&"blocks.0.mlp.fc2"));
    assert!(p.report.layers.iter().all(|l| l.kept == 2));
    let err = prune(
        &m,
        &PruneConfig {
            physical: true,
            ..cfg
        },
    )
    .unwrap_err();
    assert!(
        matches!(err, PruneError::PhysicalUnsupported { .. }),
        "{err}"
    );
}
