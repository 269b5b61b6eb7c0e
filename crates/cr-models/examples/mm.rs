use burn::prelude::*;
use std::time::Instant;
fn main() {
    let d = Device::flex();
    for (m, k, n) in [
        (500, 784, 400),
        (500, 400, 784),
        (100, 784, 400),
        (784, 100, 400),
        (100, 400, 784),
    ] {
        let a = Tensor::<2>::ones([m, k], &d);
        let b = Tensor::<2>::ones([k, n], &d);
        for _ in 0..5 {
            let _ = a.clone().matmul(b.clone()).into_data();
        }
        let reps = 50;
        let t = Instant::now();
        for _ in 0..reps {
            let _ = a.clone().matmul(b.clone()).into_data();
        }
        let s = t.elapsed().as_secs_f64() / reps as f64;
        println!(
            "{m}x{k}x{n}: {:.3} ms, {:.1} GFLOP/s",
            s * 1e3,
            2.0 * (m * k * n) as f64 / s / 1e9
        );
    }
    let x = Tensor::<2>::ones([500, 784], &d);
    let reps = 200;
    let t = Instant::now();
    for _ in 0..reps {
        let _ = x.clone().clamp(0.0, 1.0).into_data();
    }
    println!(
        "clamp 500x784: {:.3} ms",
        t.elapsed().as_secs_f64() / reps as f64 * 1e3
    );
    let t = Instant::now();
    for _ in 0..reps {
        let _ = x.clone().sign().into_data();
    }
    println!(
        "sign 500x784: {:.3} ms",
        t.elapsed().as_secs_f64() / reps as f64 * 1e3
    );
    let t = Instant::now();
    for _ in 0..reps {
        let _ = (x.clone() + x.clone()).into_data();
    }
    println!(
        "add 500x784: {:.3} ms",
        t.elapsed().as_secs_f64() / reps as f64 * 1e3
    );
}
