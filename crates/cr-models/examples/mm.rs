use burn::prelude::*;
use std::time::Instant;
fn main() {
    let d = Device::flex();
    for (m, k, n) in [
        (500, 784, 400),
        (500, 400, 784),
        (512, 400, 784),
        (500, 400, 768),
        (500, 400, 800),
        (500, 384, 784),
        (400, 500, 784),
    ] {
        let a = Tensor::<2>::ones([m, k], &d);
        let b = Tensor::<2>::ones([k, n], &d);
        for _ in 0..5 {
            let _ = a.clone().matmul(b.clone());
        }
        let reps = 40;
        let t = Instant::now();
        for _ in 0..reps {
            let _ = a.clone().matmul(b.clone());
        }
        let s = t.elapsed().as_secs_f64() / reps as f64;
        println!(
            "{m}x{k}x{n}: {:.3} ms, {:.1} GFLOP/s",
            s * 1e3,
            2.0 * (m * k * n) as f64 / s / 1e9
        );
    }
}
