//! Host-side, seeded data augmentation: random crop with zero padding and horizontal flip
//! (the CIFAR recipe of the paper's adversarial-training experiments, SPEC §3).

use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Augmentation settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Augment {
    /// Zero padding on each side before a random crop back to the original size (0: none).
    pub pad: usize,
    /// Flip left–right with probability 1/2.
    pub hflip: bool,
}

impl Augment {
    /// Padding 4 and horizontal flip.
    pub const CIFAR: Augment = Augment {
        pad: 4,
        hflip: true,
    };
}

/// Writes an augmented copy of `image` (`[C, H, W]`) into `out`, drawing from `rng`: the
/// image is placed in a zero canvas padded by `pad` and a window of the original size is cut
/// at a random offset, then flipped with probability 1/2.
pub fn augment_into(
    image: &[f32],
    shape: [usize; 3],
    aug: &Augment,
    rng: &mut ChaCha8Rng,
    out: &mut [f32],
) {
    let [c, h, w] = shape;
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
    for ch in 0..c {
        for y in 0..h {
            for x in 0..w {
                let sx = if flip { w - 1 - x } else { x } as isize + dx;
                let sy = y as isize + dy;
                let v = if sy >= 0 && sy < h as isize && sx >= 0 && sx < w as isize {
                    image[ch * h * w + sy as usize * w + sx as usize]
                } else {
                    0.0
                };
                out[ch * h * w + y * w + x] = v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn crops_stay_in_shape_and_zero_pad() {
        let shape = [1, 3, 3];
        let img: Vec<f32> = (1..=9).map(|v| v as f32).collect();
        let mut out = vec![0.0; 9];
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let mut saw_shift = false;
        for _ in 0..200 {
            augment_into(
                &img,
                shape,
                &Augment {
                    pad: 1,
                    hflip: false,
                },
                &mut rng,
                &mut out,
            );
            // Every output pixel is either 0 (padding) or one of the input pixels.
            assert!(out.iter().all(|v| *v == 0.0 || img.contains(v)));
            saw_shift |= out != img;
        }
        assert!(saw_shift);
    }

    #[test]
    fn flip_without_padding_is_a_mirror_and_twice_is_identity() {
        let shape = [2, 2, 3];
        let img: Vec<f32> = (0..12).map(|v| v as f32).collect();
        let mut out = vec![0.0; 12];
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let aug = Augment {
            pad: 0,
            hflip: true,
        };
        let mut flipped = None;
        for _ in 0..50 {
            augment_into(&img, shape, &aug, &mut rng, &mut out);
            if out != img {
                flipped = Some(out.clone());
                break;
            }
        }
        let f = flipped.expect("a flip in 50 draws");
        assert_eq!(&f[0..3], &[2.0, 1.0, 0.0]);
        // Mirroring the mirror gives the image back.
        let mut back = vec![0.0; 12];
        for ch in 0..2 {
            for y in 0..2 {
                for x in 0..3 {
                    back[ch * 6 + y * 3 + x] = f[ch * 6 + y * 3 + (2 - x)];
                }
            }
        }
        assert_eq!(back, img);
    }
}
