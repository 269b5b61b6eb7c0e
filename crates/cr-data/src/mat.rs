//! A minimal, bounds-checked reader of MATLAB level-5 `.mat` files, enough for SVHN's
//! cropped-digits files (`train_32x32.mat`, `test_32x32.mat`, `extra_32x32.mat`).
//!
//! Supported: little- and big-endian files; top-level `miMATRIX` elements, plain or wrapped in
//! `miCOMPRESSED` (zlib); numeric arrays (any class) whose real part is stored as any numeric
//! data type (MATLAB stores doubles as smaller integer types when the values allow);
//! small-element encoding. Not supported (an error, never a panic): complex, sparse, cell,
//! struct, char and object arrays, and MATLAB 7.3 (HDF5) files.

use std::io::Read;
use std::path::Path;

use crate::bytes::MAX_BYTES;
use crate::error::{Result, format};

/// A numeric array read from a `.mat` file: values as f64, dimensions in MATLAB
/// (column-major) order.
#[derive(Debug, Clone, PartialEq)]
pub struct MatArray {
    /// Variable name.
    pub name: String,
    /// Dimensions, column-major (first index fastest).
    pub dims: Vec<usize>,
    /// Values in column-major order.
    pub data: Vec<f64>,
}

struct Reader<'a> {
    bytes: &'a [u8],
    big: bool,
    path: &'a Path,
}

const MI_INT8: u32 = 1;
const MI_UINT8: u32 = 2;
const MI_INT16: u32 = 3;
const MI_UINT16: u32 = 4;
const MI_INT32: u32 = 5;
const MI_UINT32: u32 = 6;
const MI_SINGLE: u32 = 7;
const MI_DOUBLE: u32 = 9;
const MI_INT64: u32 = 12;
const MI_UINT64: u32 = 13;
const MI_MATRIX: u32 = 14;
const MI_COMPRESSED: u32 = 15;

impl<'a> Reader<'a> {
    fn u32(&self, at: usize) -> Result<u32> {
        let b = self
            .bytes
            .get(at..at + 4)
            .ok_or_else(|| format(self.path, format!("truncated .mat data at byte {at}")))?;
        let a = [b[0], b[1], b[2], b[3]];
        Ok(if self.big {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        })
    }

    /// (type, payload range, next element offset) of the element at `at`.
    fn element(&self, at: usize) -> Result<(u32, std::ops::Range<usize>, usize)> {
        let first = self.u32(at)?;
        if first >> 16 != 0 {
            // Small data element: type and size in one word, data in the next 4 bytes.
            let ty = first & 0xffff;
            let n = (first >> 16) as usize;
            if n > 4 {
                return Err(format(self.path, "malformed small .mat data element"));
            }
            let start = at + 4;
            if start + 4 > self.bytes.len() {
                return Err(format(self.path, "truncated .mat small element"));
            }
            return Ok((ty, start..start + n, at + 8));
        }
        let n = self.u32(at + 4)? as usize;
        let start = at + 8;
        let end = start
            .checked_add(n)
            .filter(|e| *e <= self.bytes.len())
            .ok_or_else(|| {
                format(
                    self.path,
                    format!("element at byte {at} claims {n} bytes past the end of the file"),
                )
            })?;
        let next = if first == MI_COMPRESSED {
            end
        } else {
            start + n.div_ceil(8) * 8
        };
        Ok((first, start..end, next))
    }

    fn numbers(&self, ty: u32, r: std::ops::Range<usize>) -> Result<Vec<f64>> {
        let b = &self.bytes[r];
        let big = self.big;
        macro_rules! conv {
            ($t:ty, $n:expr) => {
                b.chunks_exact($n)
                    .map(|c| {
                        let a: [u8; $n] = c.try_into().unwrap_or([0; $n]);
                        (if big {
                            <$t>::from_be_bytes(a)
                        } else {
                            <$t>::from_le_bytes(a)
                        }) as f64
                    })
                    .collect()
            };
        }
        Ok(match ty {
            MI_INT8 => b.iter().map(|v| *v as i8 as f64).collect(),
            MI_UINT8 => b.iter().map(|v| *v as f64).collect(),
            MI_INT16 => conv!(i16, 2),
            MI_UINT16 => conv!(u16, 2),
            MI_INT32 => conv!(i32, 4),
            MI_UINT32 => conv!(u32, 4),
            MI_SINGLE => conv!(f32, 4),
            MI_DOUBLE => conv!(f64, 8),
            MI_INT64 => conv!(i64, 8),
            MI_UINT64 => conv!(u64, 8),
            other => {
                return Err(format(
                    self.path,
                    format!("unsupported .mat numeric data type {other}"),
                ));
            }
        })
    }

    fn matrix(&self, r: std::ops::Range<usize>) -> Result<MatArray> {
        let end = r.end;
        let (ty, flags, next) = self.element(r.start)?;
        if ty != MI_UINT32 || flags.len() < 8 {
            return Err(format(self.path, "miMATRIX without array flags"));
        }
        let f = self.u32(flags.start)?;
        let class = f & 0xff;
        if f & 0x0800 != 0 {
            return Err(format(self.path, "complex arrays are not supported"));
        }
        if !(6..=15).contains(&class) {
            return Err(format(
                self.path,
                format!("array class {class} is not numeric (only numeric arrays are supported)"),
            ));
        }
        let (ty, dims_r, next) = self.element(next)?;
        if ty != MI_INT32 {
            return Err(format(self.path, "miMATRIX dimensions are not int32"));
        }
        let dims: Vec<usize> = self
            .numbers(ty, dims_r)?
            .into_iter()
            .map(|d| d.max(0.0) as usize)
            .collect();
        let (_, name_r, next) = self.element(next)?;
        let name = String::from_utf8_lossy(&self.bytes[name_r]).into_owned();
        if next >= end {
            return Err(format(self.path, format!("array `{name}` has no data")));
        }
        let (ty, data_r, _) = self.element(next)?;
        let data = self.numbers(ty, data_r)?;
        let count = dims.iter().try_fold(1usize, |a, d| a.checked_mul(*d));
        if count != Some(data.len()) {
            return Err(format(
                self.path,
                format!(
                    "array `{name}` has dimensions {dims:?} but {} values",
                    data.len()
                ),
            ));
        }
        Ok(MatArray { name, dims, data })
    }
}

/// Every numeric top-level array of a level-5 `.mat` file.
pub fn parse(bytes: &[u8], path: &Path) -> Result<Vec<MatArray>> {
    if bytes.len() < 128 {
        return Err(format(path, "shorter than a MATLAB 5.0 header (128 bytes)"));
    }
    if bytes.starts_with(b"\x89HDF") || bytes[..116].windows(8).any(|w| w == b"MATLAB 7.3") {
        return Err(format(path, "MATLAB 7.3 (HDF5) files are not supported"));
    }
    let big = match &bytes[126..128] {
        b"IM" => false,
        b"MI" => true,
        _ => {
            return Err(format(
                path,
                "not a MATLAB 5.0 MAT-file (bad endian indicator)",
            ));
        }
    };
    let top = Reader { bytes, big, path };
    let mut out = Vec::new();
    let mut at = 128;
    while at + 8 <= bytes.len() {
        let (ty, r, next) = top.element(at)?;
        match ty {
            MI_MATRIX => out.push(top.matrix(r)?),
            MI_COMPRESSED => {
                let mut inner = Vec::new();
                flate2::read::ZlibDecoder::new(&bytes[r])
                    .take(MAX_BYTES + 1)
                    .read_to_end(&mut inner)
                    .map_err(|e| format(path, format!("corrupt compressed element: {e}")))?;
                if inner.len() as u64 > MAX_BYTES {
                    return Err(format(path, "compressed element expands past 4 GiB"));
                }
                let rd = Reader {
                    bytes: &inner,
                    big,
                    path,
                };
                let (ty, r, _) = rd.element(0)?;
                if ty == MI_MATRIX {
                    out.push(rd.matrix(r)?);
                }
            }
            _ => {}
        }
        at = next;
    }
    Ok(out)
}
