//! Host-side, seeded data augmentation: random crop with zero padding and horizontal flip
//! (the standard CIFAR recipe used for the paper's CIFAR/SVHN training, SPEC §6).
//!
//! All of it runs on the host from a [`ChaCha8Rng`], so the same seed gives the same
//! augmented images on every backend.

use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::error::{Result, invalid};

/// Augmentation settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Augment {
    /// Zero padding on each side before a random crop back to the original size (0: none).
    pub pad: usize,
    /// Flip left–right with probability 1/2.
    pub hflip: bool,
}

impl Augment {
    /// Padding 4 and horizontal flip (for CIFAR-like data).
    pub const CIFAR: Augment = Augment {
        pad: 4,
        hflip: true,
    };

    /// No augmentation.
    pub const NONE: Augment = Augment {
        pad: 0,
        hflip: false,
    };

    /// Whether this leaves every image unchanged.
    pub fn is_identity(&self) -> bool {
        self.pad == 0 && !self.hflip
    }
}

fn check(image: &[f32], shape: [usize; 3], out_len: usize) -> Result<()> {
    let d = shape.iter().product::<usize>();
    if image.len() != d || out_len != d {
        return Err(invalid(
            "image",
            format!(
                "{} values in, {out_len} out, for shape {shape:?} ({d} values)",
                image.len()
            ),
        ));
    }
    Ok(())
}

/// Writes into `out` the `H × W` window at offset `(pad + dy, pad + dx)` of `image`
/// (`[C, H, W]`) placed in a zero canvas padded by `pad` on each side — i.e. the image moved
/// by `(-dy, -dx)` with zeros shifted in — mirrored left–right first when `flip`.
///
/// Offsets `|dy|, |dx| ≤ pad` are the random-crop offsets; `(0, 0)` without flip is the
/// identity.
pub fn crop_flip_into(
    image: &[f32],
    shape: [usize; 3],
    dy: isize,
    dx: isize,
    flip: bool,
    out: &mut [f32],
) -> Result<()> {
    check(image, shape, out.len())?;
    let [c, h, w] = shape;
    for ch in 0..c {
        let src = &image[ch * h * w..(ch + 1) * h * w];
        let dst = &mut out[ch * h * w..(ch + 1) * h * w];
        for y in 0..h {
            let sy = y as isize + dy;
            for x in 0..w {
                let sx = if flip { w - 1 - x } else { x } as isize + dx;
                dst[y * w + x] = if sy >= 0 && sy < h as isize && sx >= 0 && sx < w as isize {
                    src[sy as usize * w + sx as usize]
                } else {
                    0.0
                };
            }
        }
    }
    Ok(())
}

/// The image mirrored left–right.
pub fn flip_horizontal(image: &[f32], shape: [usize; 3]) -> Result<Vec<f32>> {
    let mut out = vec![0.0; image.len()];
    crop_flip_into(image, shape, 0, 0, true, &mut out)?;
    Ok(out)
}

/// Writes an augmented copy of `image` (`[C, H, W]`) into `out`, drawing from `rng`: the
/// image is placed in a zero canvas padded by `pad` and a window of the original size is cut
/// at a uniformly random offset (`2·pad + 1` choices per axis), then mirrored with
/// probability 1/2 when `hflip`. Draws nothing from `rng` for the parts that are off.
pub fn augment_into(
    image: &[f32],
    shape: [usize; 3],
    aug: &Augment,
    rng: &mut ChaCha8Rng,
    out: &mut [f32],
) -> Result<()> {
    let p = aug.pad as i64;
    let (dy, dx) = if p > 0 {
        (
            (rng.random_range(0..=2 * p) - p) as isize,
            (rng.random_range(0..=2 * p) - p) as isize,
        )
    } else {
        (0, 0)
    };
    let flip = aug.hflip && rng.random::<bool>();
    crop_flip_into(image, shape, dy, dx, flip, out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn shift_moves_pixels_and_fills_zeros() {
        // 1×3×3 image 1..9; dy = 1 takes rows 1, 2 and a zero row.
        let img: Vec<f32> = (1..=9).map(|v| v as f32).collect();
        let mut out = vec![0.0; 9];
        crop_flip_into(&img, [1, 3, 3], 1, 0, false, &mut out).unwrap();
        assert_eq!(out, vec![4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 0.0, 0.0, 0.0]);
        crop_flip_into(&img, [1, 3, 3], 0, -1, false, &mut out).unwrap();
        assert_eq!(out, vec![0.0, 1.0, 2.0, 0.0, 4.0, 5.0, 0.0, 7.0, 8.0]);
        crop_flip_into(&img, [1, 3, 3], 0, 0, false, &mut out).unwrap();
        assert_eq!(out, img);
        assert!(crop_flip_into(&img, [1, 3, 4], 0, 0, false, &mut out).is_err());
    }

    #[test]
    fn random_crops_keep_shape_stay_in_range_and_use_every_offset() {
        let shape = [2, 5, 5];
        let img: Vec<f32> = (1..=50).map(|v| v as f32).collect();
        let mut out = vec![0.0; 50];
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..400 {
            augment_into(
                &img,
                shape,
                &Augment {
                    pad: 1,
                    hflip: false,
                },
                &mut rng,
                &mut out,
            )
            .unwrap();
            // Every output pixel is 0 (padding) or a pixel of the same channel.
            for (i, v) in out.iter().enumerate() {
                let ch = i / 25;
                assert!(*v == 0.0 || img[ch * 25..(ch + 1) * 25].contains(v));
            }
            // The offset is recoverable from where the centre pixel (value 13) went.
            let pos = out.iter().position(|v| *v == 13.0).unwrap();
            seen.insert(pos);
        }
        assert_eq!(seen.len(), 9, "all 3x3 offsets occur");
    }

    #[test]
    fn flip_twice_is_identity_and_augment_is_seeded() {
        let shape = [3, 4, 5];
        let img: Vec<f32> = (0..60).map(|v| v as f32 / 60.0).collect();
        let f = flip_horizontal(&img, shape).unwrap();
        assert_eq!(
            &f[..5],
            &[4.0 / 60.0, 3.0 / 60.0, 2.0 / 60.0, 1.0 / 60.0, 0.0]
        );
        assert_eq!(flip_horizontal(&f, shape).unwrap(), img);
        let run = |seed| {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut out = vec![0.0; 60];
            (0..10)
                .flat_map(|_| {
                    augment_into(&img, shape, &Augment::CIFAR, &mut rng, &mut out).unwrap();
                    out.clone()
                })
                .collect::<Vec<f32>>()
        };
        assert_eq!(run(5), run(5));
        assert_ne!(run(5), run(6));
        // NONE draws nothing and changes nothing.
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let mut out = vec![0.0; 60];
        augment_into(&img, shape, &Augment::NONE, &mut rng, &mut out).unwrap();
        assert_eq!(out, img);
        assert_eq!(rng, ChaCha8Rng::seed_from_u64(1));
    }
}
