//! Attack throughput: 10 PGD steps and 100 APGD-CE iterations on 1,000 inputs of shape
//! [1, 28, 28] through a 784-400-10 ReLU MLP without bias (seeded random weights and inputs;
//! the workload of issue 5, PyTorch-comparable).

use burn::prelude::*;
use burn::tensor::activation::relu;
use criterion::{Criterion, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use cr_attacks::{ApgdConfig, Loss, Norm, PgdConfig, apgd, pgd};

const N: usize = 1000;

fn cpu() -> Device {
    Device::flex()
}

fn uniform(rng: &mut ChaCha8Rng, n: usize, a: f32) -> Vec<f32> {
    (0..n).map(|_| rng.random_range(-a..a)).collect()
}

fn setup() -> (Tensor<2>, Tensor<2>, Tensor<4>, Tensor<1, Int>) {
    let device = cpu();
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    // PyTorch's default Linear init range, stored [in, out] for x·W.
    let w1 = uniform(&mut rng, 784 * 400, 1.0 / 784f32.sqrt());
    let w2 = uniform(&mut rng, 400 * 10, 1.0 / 400f32.sqrt());
    let x: Vec<f32> = (0..N * 784).map(|_| rng.random::<f32>()).collect();
    let w1 = Tensor::<2>::from_data(TensorData::new(w1, [784, 400]), &device);
    let w2 = Tensor::<2>::from_data(TensorData::new(w2, [400, 10]), &device);
    let x = Tensor::<4>::from_data(TensorData::new(x, [N, 1, 28, 28]), &device);
    // Labels = the model's predictions, so that every sample is attacked (attacks skip the
    // misclassified ones) and the work equals a plain PGD loop over all 1,000 inputs.
    let y = relu(x.clone().reshape([N, 784]).matmul(w1.clone()))
        .matmul(w2.clone())
        .argmax(1)
        .reshape([N]);
    (w1, w2, x, y)
}

fn bench(c: &mut Criterion) {
    let (w1, w2, x, y) = setup();
    let model = move |x: Tensor<4>| {
        let b = x.dims()[0];
        relu(x.reshape([b, 784]).matmul(w1.clone())).matmul(w2.clone())
    };
    let mut g = c.benchmark_group("mlp-784-400-10-n1000");
    g.sample_size(10);
    let pgd_cfg = PgdConfig {
        steps: 10,
        ..PgdConfig::new(Norm::Linf, 0.1)
    };
    g.bench_function("pgd-10-linf", |b| {
        b.iter(|| pgd(&model, x.clone(), y.clone(), &pgd_cfg).expect("PGD"))
    });
    let apgd_cfg = ApgdConfig::new(Norm::Linf, 0.1, Loss::Ce);
    g.bench_function("apgd-ce-100-linf", |b| {
        b.iter(|| apgd(&model, x.clone(), y.clone(), &apgd_cfg).expect("APGD"))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
