//! Figure-4 measurements and the Lipschitz estimate against hand computations.
#![allow(clippy::unwrap_used)]

mod common;

use burn::prelude::*;
use common::*;
use cr_attacks::{
    LipschitzConfig, Norm, local_lipschitz, representation_change, singular_alignment,
};

const DIMS: [usize; 4] = [6, 1, 2, 3];

#[test]
fn representation_change_with_the_identity_encoder() {
    let x: Vec<f32> = (0..36).map(|i| (i as f32 * 0.37).sin().abs()).collect();
    let a: Vec<f32> = (0..36).map(|i| 0.05 * (i as f32 * 1.3).cos()).collect();
    let xa: Vec<f32> = x.iter().zip(&a).map(|(p, q)| p + q).collect();
    let flatten = |t: Tensor<4>| t.reshape([6, 6]);
    let r = representation_change(&flatten, images(x.clone(), DIMS), images(xa, DIMS)).unwrap();
    let mut mean = 0.0;
    for i in 0..6 {
        let num: f64 = a[i * 6..(i + 1) * 6]
            .iter()
            .map(|v| (*v as f64).powi(2))
            .sum::<f64>()
            .sqrt();
        let den: f64 = x[i * 6..(i + 1) * 6]
            .iter()
            .map(|v| (*v as f64).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!(
            (r.per_sample[i] - num / den).abs() < 1e-4 * (num / den),
            "{} vs {}",
            r.per_sample[i],
            num / den
        );
        mean += num / den / 6.0;
    }
    assert!((r.mean - mean).abs() < 1e-4 * mean);
    assert_eq!(r.zero_reference, 0);
}

#[test]
fn alignment_with_the_standard_basis_is_the_mean_absolute_coordinate() {
    let a: Vec<f32> = (0..36)
        .map(|i| ((i * 7 % 11) as f32 - 5.0) * 0.01)
        .collect();
    let basis: Vec<Vec<f32>> = (0..6)
        .map(|i| (0..6).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
        .collect();
    let s = singular_alignment(images(a.clone(), DIMS), &basis, 2).unwrap();
    for (i, got) in s.per_vector.iter().enumerate() {
        let want: f64 = (0..6).map(|b| a[b * 6 + i].abs() as f64).sum::<f64>() / 6.0;
        assert!((got - want).abs() < 1e-6, "vector {i}: {got} vs {want}");
    }
    let top = (s.per_vector[0] + s.per_vector[1]) / 2.0;
    let tail = s.per_vector[2..].iter().sum::<f64>() / 4.0;
    assert!((s.top_mean - top).abs() < 1e-12 && (s.tail_mean - tail).abs() < 1e-12);
    assert!(singular_alignment(images(a.clone(), DIMS), &basis, 7).is_err());
    assert!(singular_alignment(images(a, DIMS), &[vec![1.0; 5]], 1).is_err());
}

/// For a linear model the margin's gradient is `w_y − w_j*` (j* the strongest other class), so
/// the estimate at the data is known exactly, and `max_{j≠y} ‖w_y − w_j‖_dual` bounds it from
/// above everywhere (the estimate is a lower bound of the true constant).
#[test]
fn lipschitz_of_a_linear_margin() {
    let m = LinearModel::random(4, 6, 1.0, 5);
    let (x, y) = linear_data(&m, 6, 6, 6);
    let m2 = m.clone();
    let model = move |t: Tensor<4>| m2.logits(t);
    for norm in [Norm::Linf, Norm::L2] {
        let dual = |i: usize, j: usize| -> f64 {
            let d = m.w[i].iter().zip(&m.w[j]).map(|(a, b)| a - b);
            match norm {
                Norm::Linf => d.map(f64::abs).sum(),
                Norm::L2 => d.map(|v| v * v).sum::<f64>().sqrt(),
            }
        };
        let est = local_lipschitz(
            &model,
            images(x.clone(), DIMS),
            labels(&y),
            &LipschitzConfig::at_data(norm),
        )
        .unwrap();
        assert_eq!(est.dual_norm, norm.dual_name());
        for i in 0..6 {
            let z = m.host_logits(&x[i * 6..(i + 1) * 6]);
            let yi = y[i] as usize;
            let j = (0..4)
                .filter(|&j| j != yi)
                .max_by(|&a, &b| z[a].partial_cmp(&z[b]).unwrap())
                .unwrap();
            let want = dual(yi, j);
            assert!(
                (est.per_sample[i] - want).abs() < 1e-4 * want,
                "{norm} sample {i}: {} vs {want}",
                est.per_sample[i]
            );
        }
        let upper = (0..6)
            .map(|i| {
                (0..4)
                    .filter(|&j| j != y[i] as usize)
                    .map(|j| dual(y[i] as usize, j))
                    .fold(0.0, f64::max)
            })
            .fold(0.0, f64::max);
        let explored = local_lipschitz(
            &model,
            images(x.clone(), DIMS),
            labels(&y),
            &LipschitzConfig::in_ball(norm, 0.3, 5),
        )
        .unwrap();
        assert!(explored.max >= est.max - 1e-6);
        assert!(
            explored.max <= upper * (1.0 + 1e-5),
            "{} > {upper}",
            explored.max
        );
        assert_eq!(explored.points_per_sample, 6);
    }
}
