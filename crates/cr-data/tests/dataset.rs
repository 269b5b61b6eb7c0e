//! Deterministic operations on a `Dataset`: subsets, shuffles, splits, epoch batches
//! (including resuming mid-epoch) and augmentation through the batch path.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;

use burn::prelude::*;
use cr_data::augment::{Augment, flip_horizontal};
use cr_data::{BatchOptions, Dataset, load};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn cpu() -> Device {
    Device::flex()
}

/// 23 samples of shape [1, 2, 3], pixel values encode (sample, position), labels i mod 3.
fn toy() -> Dataset {
    let images = (0..23 * 6).map(|v| v as f32 / 1000.0).collect();
    let labels = (0..23).map(|i| (i % 3) as u16).collect();
    Dataset::new("toy", images, labels, [1, 2, 3], 3, Path::new("toy")).unwrap()
}

#[test]
fn construction_checks_sizes_and_labels() {
    let e = Dataset::new("x", vec![0.0; 3], vec![0], [1, 1, 2], 2, Path::new("p")).unwrap_err();
    assert!(e.to_string().contains("3 pixel values for 1 labels"), "{e}");
    let e = Dataset::new("x", vec![0.0; 2], vec![2], [1, 1, 2], 2, Path::new("p")).unwrap_err();
    assert!(
        e.to_string()
            .contains("label 2 of sample 0 is outside 0..2"),
        "{e}"
    );
    let d = toy();
    assert_eq!(
        (d.len(), d.channels(), d.height(), d.width(), d.dim()),
        (23, 1, 2, 3, 6)
    );
    assert_eq!(d.class_counts(), vec![8, 8, 7]);
}

#[test]
fn subsets_are_deterministic_and_take_what_they_say() {
    let d = toy();
    let f = d.first(5);
    assert_eq!(f.labels, vec![0, 1, 2, 0, 1]);
    assert_eq!(f.images, d.images[..30]);
    assert_eq!(d.first(100), d);
    let p = d.first_per_class(2);
    // Class 0 at 0, 3; class 1 at 1, 4; class 2 at 2, 5 — in file order.
    assert_eq!(p.images, d.images[..36]);
    assert_eq!(p.class_counts(), vec![2, 2, 2]);
    let b = d.balanced(7);
    assert_eq!(b.class_counts(), vec![3, 2, 2]);
    assert_eq!(b.labels, vec![0, 1, 2, 0, 1, 2, 0]);
    let s = d.subset(&[4, 4, 0]).unwrap();
    assert_eq!(s.labels, vec![1, 1, 0]);
    assert_eq!(s.image(2), d.image(0));
    assert!(d.subset(&[23]).is_err());
}

#[test]
fn shuffles_and_splits_are_seeded_permutations() {
    let d = load("uci-digits", None).unwrap().train;
    let a = d.shuffled(1);
    assert_eq!(a, d.shuffled(1));
    assert_ne!(a.labels, d.shuffled(2).labels);
    assert_eq!(a.class_counts(), d.class_counts());

    let (rest, held) = d.split_indices(0.2, 3).unwrap();
    let r: BTreeSet<usize> = rest.iter().copied().collect();
    let h: BTreeSet<usize> = held.iter().copied().collect();
    assert!(r.is_disjoint(&h));
    assert_eq!(r.len() + h.len(), d.len());
    assert_eq!(r.union(&h).count(), d.len());
    // Stratified: round(0.2 n_c) of each class held out.
    let (train, val) = d.split(0.2, 3).unwrap();
    for (c, n) in val.class_counts().iter().zip(d.class_counts()) {
        assert_eq!(*c, ((n as f64) * 0.2).round() as usize);
    }
    assert_eq!(train.len(), rest.len());
    assert_eq!(val.image(0), d.image(held[0]));
    assert_eq!(d.split(0.2, 3).unwrap(), (train.clone(), val.clone()));
    assert_ne!(d.split(0.2, 4).unwrap().1.labels, val.labels);
    assert_eq!(d.split(0.0, 1).unwrap().0.len(), d.len());
    for bad in [1.0, -0.1, f64::NAN] {
        assert!(d.split(bad, 0).is_err(), "{bad}");
    }
}

fn host(x: Tensor<4>) -> Vec<f32> {
    x.into_data().try_to_vec().unwrap()
}

#[test]
fn epoch_batches_cover_the_set_and_resume_exactly() {
    let d = toy();
    let device = cpu();
    let opts = BatchOptions::new(5, 11);
    let b = d.batches(&opts, 0, &device).unwrap();
    assert_eq!(b.len(), 5);
    let order = b.order().to_vec();
    let mut seen = Vec::new();
    let mut sizes = Vec::new();
    for (x, y) in b {
        let [n, c, h, w] = x.dims();
        assert_eq!((c, h, w), (1, 2, 3));
        sizes.push(n);
        let xs = host(x);
        let ys: Vec<i64> = y.try_into_vec_as().unwrap();
        for k in 0..n {
            // Recover the sample index from its first pixel.
            let i = (xs[k * 6] * 1000.0).round() as usize / 6;
            assert_eq!(ys[k], d.labels[i] as i64);
            assert_eq!(&xs[k * 6..(k + 1) * 6], d.image(i));
            seen.push(i);
        }
    }
    assert_eq!(sizes, vec![5, 5, 5, 5, 3]);
    assert_eq!(seen, order);
    let mut sorted = seen.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..23).collect::<Vec<_>>());
    // The order is a function of (seed, epoch).
    assert_eq!(d.epoch_order(11, 0), order);
    assert_ne!(d.epoch_order(11, 1), order);
    assert_ne!(d.epoch_order(12, 0), order);
    // drop_last and no shuffle.
    let o = BatchOptions {
        drop_last: true,
        shuffle: false,
        ..opts
    };
    let b = d.batches(&o, 0, &device).unwrap();
    assert_eq!(b.len(), 4);
    assert_eq!(b.indices(0), &[0, 1, 2, 3, 4]);
    assert!(d.batches(&BatchOptions::new(0, 1), 0, &device).is_err());

    // Resuming at batch 2 of an augmented epoch yields exactly the remaining batches.
    let aug = BatchOptions::new(4, 5).with_augment(Augment {
        pad: 1,
        hflip: true,
    });
    let full: Vec<Vec<f32>> = d
        .batches(&aug, 3, &device)
        .unwrap()
        .map(|(x, _)| host(x))
        .collect();
    let resumed: Vec<Vec<f32>> = d
        .batches(&aug, 3, &device)
        .unwrap()
        .starting_at(2)
        .map(|(x, _)| host(x))
        .collect();
    assert_eq!(resumed, full[2..]);
    // Augmentation changed something, and differs between epochs.
    let plain: Vec<Vec<f32>> = d
        .batches(&BatchOptions::new(4, 5), 3, &device)
        .unwrap()
        .map(|(x, _)| host(x))
        .collect();
    assert_ne!(plain, full);
    let b = d.batches(&aug, 3, &device).unwrap();
    assert_eq!(b.host(1), b.host(1));
}

#[test]
fn cifar_augmentation_through_batches_keeps_shape_and_values() {
    // A 3×32×32 image of distinct positive values: each augmented pixel is 0 (padding) or
    // the pixel of the same channel at a position shifted by at most 4, possibly mirrored.
    let img: Vec<f32> = (0..3072).map(|v| (v + 1) as f32 / 4096.0).collect();
    let d = Dataset::new(
        "one",
        img.clone(),
        vec![0],
        [3, 32, 32],
        1,
        Path::new("one"),
    )
    .unwrap();
    let device = cpu();
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    let mut flips = 0;
    for _ in 0..40 {
        let (x, _) = d.batch(&[0], Some(&mut rng), &device);
        assert_eq!(x.dims(), [1, 3, 32, 32]);
        let xs = host(x);
        // Locate the shift from a central pixel of channel 0 (value at row 16, col 16).
        let centre = img[16 * 32 + 16];
        let pos = xs[..1024].iter().position(|v| *v == centre).unwrap();
        let (r, c) = (pos / 32, pos % 32);
        assert!(r.abs_diff(16) <= 4);
        // A mirrored image moves column 16 to about 15 ± 4.
        let mirrored = xs[r * 32 + c + 1] == img[16 * 32 + 15] && c + 1 < 32;
        if mirrored {
            flips += 1;
        }
        for (i, v) in xs.iter().enumerate() {
            let ch = i / 1024;
            assert!(*v == 0.0 || img[ch * 1024..(ch + 1) * 1024].contains(v));
        }
    }
    assert!((5..=35).contains(&flips), "{flips} flips in 40");
    // Without an rng, batch is the identity; flipping twice is the identity.
    let (x, y) = d.batch(&[0], None, &device);
    assert_eq!(host(x), img);
    assert_eq!(y.try_into_vec_as::<i64>().unwrap(), vec![0]);
    let f = flip_horizontal(&img, [3, 32, 32]).unwrap();
    assert_ne!(f, img);
    assert_eq!(flip_horizontal(&f, [3, 32, 32]).unwrap(), img);
    // tensors() gives everything.
    let (x, _) = d.tensors(&device);
    assert_eq!(x.dims(), [1, 3, 32, 32]);
}
