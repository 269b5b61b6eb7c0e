#![allow(missing_docs)] // criterion macros generate undocumented items
//! Criterion benchmarks of the SVD and the norms at 512² and 2048², f32 and f64:
//! `cargo bench -p cr-linalg`. The 2048² group runs the minimum of 10 samples so the whole
//! suite finishes in a few minutes on two cores. numpy's figures for the same sizes come from
//! `benches/numpy_svd.py`.

use cr_linalg::{Mat, Real, norms, svd};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use std::hint::black_box;
use std::time::Duration;

fn random<T: Real>(n: usize, seed: u64) -> Mat<T> {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    Mat::from_fn(n, n, |_, _| T::from_f64(rng.random::<f64>() - 0.5))
}

fn group<T: Real>(c: &mut Criterion, n: usize, ty: &str) {
    let w = random::<T>(n, 1);
    let mut g = c.benchmark_group(format!("{n}x{n}"));
    g.sample_size(10);
    if n > 512 {
        g.warm_up_time(Duration::from_millis(500));
        g.measurement_time(Duration::from_secs(5));
    }
    g.bench_function(BenchmarkId::new("singular_values", ty), |b| {
        b.iter(|| svd::singular_values(black_box(&w)))
    });
    g.bench_function(BenchmarkId::new("thin_svd", ty), |b| {
        b.iter(|| svd::thin_svd(black_box(&w)))
    });
    g.bench_function(BenchmarkId::new("power_iteration_1e-6", ty), |b| {
        b.iter(|| svd::power_iteration(black_box(&w), 1e-6, 10_000, 0))
    });
    g.bench_function(BenchmarkId::new("inf_norm", ty), |b| {
        b.iter(|| norms::inf_norm(black_box(&w)))
    });
    g.bench_function(BenchmarkId::new("frobenius", ty), |b| {
        b.iter(|| norms::frobenius(black_box(&w)))
    });
    g.finish();
}

fn bench(c: &mut Criterion) {
    for n in [512usize, 2048] {
        group::<f64>(c, n, "f64");
        group::<f32>(c, n, "f32");
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
