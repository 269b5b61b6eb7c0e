#![allow(missing_docs)] // criterion macros generate undocumented items
//! Criterion benchmarks of the SVD and the norms at 512² and 2048², f32 and f64:
//! `cargo bench -p cr-linalg`. numpy's LAPACK figures for the same sizes are produced by
//! `bench/side_by_side.py` (see bench/RESULTS.md).

use cr_linalg::{Mat, norms, svd};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use std::hint::black_box;

fn random(n: usize, seed: u64) -> Mat<f64> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    Mat::from_fn(n, n, |_, _| rng.random::<f64>() - 0.5)
}

fn bench(c: &mut Criterion) {
    for n in [512usize, 2048] {
        let w = random(n, 1);
        let w32: Mat<f32> = Mat::from_fn(n, n, |i, j| w[(i, j)] as f32);
        let mut g = c.benchmark_group(format!("linalg-{n}"));
        g.sample_size(10);
        if n > 512 {
            g.measurement_time(std::time::Duration::from_secs(20));
        }
        g.bench_function(BenchmarkId::new("singular_values", "f64"), |b| {
            b.iter(|| svd::singular_values(black_box(&w)))
        });
        g.bench_function(BenchmarkId::new("singular_values", "f32"), |b| {
            b.iter(|| svd::singular_values_f32(black_box(&w32)))
        });
        g.bench_function(BenchmarkId::new("thin_svd", "f64"), |b| {
            b.iter(|| svd::thin_svd(black_box(&w)))
        });
        g.bench_function(BenchmarkId::new("thin_svd", "f32"), |b| {
            b.iter(|| svd::thin_svd_f32(black_box(&w32)))
        });
        g.bench_function(BenchmarkId::new("power_iteration", "f64"), |b| {
            b.iter(|| svd::power_iteration(black_box(&w), 1e-6, 1000, 0))
        });
        g.bench_function(BenchmarkId::new("inf_norm", "f64"), |b| {
            b.iter(|| norms::inf_norm(black_box(&w)))
        });
        g.bench_function(BenchmarkId::new("frobenius", "f64"), |b| {
            b.iter(|| norms::frobenius(black_box(&w)))
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
