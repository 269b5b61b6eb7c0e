//! The IDX format of MNIST, Fashion-MNIST (and cr's copy of the UCI 8×8 digits): a big-endian
//! `u32` magic (`0x00000803` for u8 images `[N, H, W]`, `0x00000801` for u8 labels `[N]`),
//! the dimensions as big-endian `u32`, then the bytes, row-major.
//!
//! A directory holds `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`,
//! `t10k-images-idx3-ubyte`, `t10k-labels-idx1-ubyte`, each plain or `.gz` (the plain file
//! wins when both exist); the `train-images.idx3-ubyte` spelling is accepted too.

use std::path::{Path, PathBuf};

use crate::bytes::{find, need_dir, read};
use crate::dataset::{Dataset, Splits};
use crate::error::{DataError, Result, format, length};

/// Magic number of an IDX file of u8 images `[N, H, W]`.
pub const IMAGES_MAGIC: u32 = 0x0803;
/// Magic number of an IDX file of u8 labels `[N]`.
pub const LABELS_MAGIC: u32 = 0x0801;

/// Parsed IDX images.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxImages {
    /// Number of images.
    pub n: usize,
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// `n·height·width` pixels, row-major.
    pub pixels: Vec<u8>,
}

/// How IDX bytes become pixels in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PixelScale {
    /// `p / 255` (MNIST, Fashion-MNIST).
    Byte,
    /// The UCI digits' counts `v ∈ 0..=16`, stored by cr's `convert.py` as
    /// `p = (255·v + 8) div 16`: recovered exactly as `v = (16·p + 127) div 255` and scaled
    /// to `v / 16` (so 1.0 is a fully inked 4×4 block). A byte that is not one of the 17
    /// levels is an error.
    UciLevels,
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    bytes
        .get(at..at.checked_add(4)?)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn magic(bytes: &[u8], path: &Path, expected: u32, what: &'static str) -> Result<()> {
    let m = u32_at(bytes, 0).ok_or_else(|| {
        length(
            path,
            format!(
                "{} bytes is shorter than an IDX header (truncated or empty file)",
                bytes.len()
            ),
        )
    })?;
    if m != expected {
        return Err(DataError::BadMagic {
            path: path.to_path_buf(),
            found: m,
            expected,
            what,
        });
    }
    Ok(())
}

fn truncated(have: usize, want: usize) -> &'static str {
    if have < want { " (truncated)" } else { "" }
}

/// Parses an image file (`path` names it in errors). The header's counts are checked
/// against the actual length before anything is allocated.
pub fn parse_images(bytes: &[u8], path: &Path) -> Result<IdxImages> {
    magic(bytes, path, IMAGES_MAGIC, "IDX u8 images")?;
    let (n, h, w) = match (u32_at(bytes, 4), u32_at(bytes, 8), u32_at(bytes, 12)) {
        (Some(n), Some(h), Some(w)) => (n as usize, h as usize, w as usize),
        _ => {
            return Err(length(path, "truncated IDX image header (needs 16 bytes)"));
        }
    };
    let expected = n
        .checked_mul(h)
        .and_then(|v| v.checked_mul(w))
        .ok_or_else(|| length(path, format!("header dimensions {n}x{h}x{w} overflow")))?;
    let data = &bytes[16..];
    if data.len() != expected {
        return Err(length(
            path,
            format!(
                "header says {n} images of {h}x{w} = {expected} bytes, the file has {} after the header{}",
                data.len(),
                truncated(data.len(), expected)
            ),
        ));
    }
    Ok(IdxImages {
        n,
        height: h,
        width: w,
        pixels: data.to_vec(),
    })
}

/// Parses a label file.
pub fn parse_labels(bytes: &[u8], path: &Path) -> Result<Vec<u8>> {
    magic(bytes, path, LABELS_MAGIC, "IDX u8 labels")?;
    let n = u32_at(bytes, 4)
        .ok_or_else(|| length(path, "truncated IDX label header (needs 8 bytes)"))?
        as usize;
    let data = &bytes[8..];
    if data.len() != n {
        return Err(length(
            path,
            format!(
                "header says {n} labels, the file has {}{}",
                data.len(),
                truncated(data.len(), n)
            ),
        ));
    }
    Ok(data.to_vec())
}

/// Builds a data set from parsed IDX images and labels, checking that the counts agree,
/// that the images are `height × width` (`dataset` names the expected set in the error) and
/// that every label is below `classes`.
#[allow(clippy::too_many_arguments)]
pub fn to_dataset(
    images: IdxImages,
    labels: Vec<u8>,
    image_path: &Path,
    label_path: &Path,
    dataset: &str,
    split: &str,
    size: (usize, usize),
    scale: PixelScale,
) -> Result<Dataset> {
    if (images.height, images.width) != size {
        return Err(DataError::Dimensions {
            path: image_path.to_path_buf(),
            dataset: dataset.to_string(),
            found: format!("{}x{}", images.height, images.width),
            expected: format!("{}x{}", size.0, size.1),
        });
    }
    if images.n != labels.len() {
        return Err(DataError::Mismatch {
            path: label_path.to_path_buf(),
            problem: format!(
                "{} labels for {} images in {}",
                labels.len(),
                images.n,
                image_path.display()
            ),
        });
    }
    let pixels: Vec<f32> = match scale {
        PixelScale::Byte => images.pixels.iter().map(|p| *p as f32 / 255.0).collect(),
        PixelScale::UciLevels => {
            let mut out = Vec::with_capacity(images.pixels.len());
            for (i, p) in images.pixels.iter().enumerate() {
                let p = *p as u32;
                let v = (16 * p + 127) / 255;
                if (255 * v + 8) / 16 != p {
                    return Err(format(
                        image_path,
                        format!(
                            "byte {p} at pixel {i} is not one of the 17 levels of the UCI digits (see data/uci-digits-8x8/README.md)"
                        ),
                    ));
                }
                out.push(v as f32 / 16.0);
            }
            out
        }
    };
    Dataset::new(
        format!("{dataset}/{split}"),
        pixels,
        labels.into_iter().map(u16::from).collect(),
        [1, size.0, size.1],
        10,
        label_path,
    )
}

/// The (images, labels) files of split `prefix` (`train` or `t10k`) in `dir`.
pub fn files(dir: &Path, prefix: &str) -> Result<(PathBuf, PathBuf)> {
    let images = find(
        dir,
        &[
            &format!("{prefix}-images-idx3-ubyte"),
            &format!("{prefix}-images.idx3-ubyte"),
        ],
        "IDX images",
    )?;
    let labels = find(
        dir,
        &[
            &format!("{prefix}-labels-idx1-ubyte"),
            &format!("{prefix}-labels.idx1-ubyte"),
        ],
        "IDX labels",
    )?;
    Ok((images, labels))
}

/// Reads both splits of an IDX data set from `dir`, requiring `size = (height, width)`.
pub fn load_dir(
    dir: &Path,
    dataset: &str,
    size: (usize, usize),
    scale: PixelScale,
) -> Result<Splits> {
    need_dir(dir, &format!("{dataset} IDX files"))?;
    let split = |prefix: &str, split: &str| -> Result<Dataset> {
        let (ip, lp) = files(dir, prefix)?;
        let images = parse_images(&read(&ip)?, &ip)?;
        // Check the shape before reading the labels: the more useful error comes first.
        if (images.height, images.width) != size {
            return Err(DataError::Dimensions {
                path: ip,
                dataset: dataset.to_string(),
                found: format!("{}x{}", images.height, images.width),
                expected: format!("{}x{}", size.0, size.1),
            });
        }
        let labels = parse_labels(&read(&lp)?, &lp)?;
        to_dataset(images, labels, &ip, &lp, dataset, split, size, scale)
    };
    Ok(Splits {
        train: split("train", "train")?,
        test: split("t10k", "test")?,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn uci_levels_round_trip_exactly() {
        // convert.py: p = (v*255 + 8) // 16; the inverse must be exact for v in 0..=16.
        for v in 0u32..=16 {
            let p = (v * 255 + 8) / 16;
            assert_eq!((16 * p + 127) / 255, v);
        }
    }
}
