//! The IDX format of MNIST and Fashion-MNIST: big-endian `u32` magic (`0x00000803` for u8
//! images `[N, H, W]`, `0x00000801` for u8 labels `[N]`), the dimensions, then the bytes.

use std::path::Path;

use crate::error::{Result, format};

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

fn u32_at(bytes: &[u8], at: usize) -> Option<usize> {
    bytes
        .get(at..at + 4)
        .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
}

/// Parses an image file (`path` names it in errors).
pub fn parse_images(bytes: &[u8], path: &Path) -> Result<IdxImages> {
    let magic = u32_at(bytes, 0).ok_or_else(|| format(path, "shorter than an IDX header"))?;
    if magic != 0x0803 {
        return Err(format(
            path,
            format!("wrong magic number 0x{magic:08x}: expected 0x00000803 (IDX u8 images)"),
        ));
    }
    let (n, h, w) = match (u32_at(bytes, 4), u32_at(bytes, 8), u32_at(bytes, 12)) {
        (Some(n), Some(h), Some(w)) => (n, h, w),
        _ => return Err(format(path, "truncated IDX header (needs 16 bytes)")),
    };
    let expected = n
        .checked_mul(h)
        .and_then(|v| v.checked_mul(w))
        .ok_or_else(|| format(path, format!("header dimensions {n}x{h}x{w} overflow")))?;
    let data = &bytes[16..];
    if data.len() != expected {
        return Err(format(
            path,
            format!(
                "header says {n} images of {h}x{w} = {expected} bytes, the file has {} after the header{}",
                data.len(),
                if data.len() < expected {
                    " (truncated)"
                } else {
                    ""
                }
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
    let magic = u32_at(bytes, 0).ok_or_else(|| format(path, "shorter than an IDX header"))?;
    if magic != 0x0801 {
        return Err(format(
            path,
            format!("wrong magic number 0x{magic:08x}: expected 0x00000801 (IDX u8 labels)"),
        ));
    }
    let n = u32_at(bytes, 4).ok_or_else(|| format(path, "truncated IDX header (needs 8 bytes)"))?;
    let data = &bytes[8..];
    if data.len() != n {
        return Err(format(
            path,
            format!(
                "header says {n} labels, the file has {}{}",
                data.len(),
                if data.len() < n { " (truncated)" } else { "" }
            ),
        ));
    }
    Ok(data.to_vec())
}
