//! A minimal, strictly bounds-checked reader of MATLAB level-5 `.mat` files (the format
//! SVHN's cropped digits ship in).
//!
//! # What is supported
//! * The 128-byte level-5 header (version 0x0100), little- or big-endian (`IM`/`MI`).
//! * Top-level `miMATRIX` elements, plain or wrapped in `miCOMPRESSED` (zlib; MATLAB 7's
//!   default `-v7`, and scipy's `do_compression=True`).
//! * Real, full, numeric arrays of any class (`double`, `single`, `int8` … `uint64`) with two
//!   or more dimensions, whose real part is stored as any numeric data type (MATLAB stores a
//!   `double` array as `uint8` when its values allow; that is how SVHN's `y` may appear).
//!   `uint8`-stored data stays bytes ([`MatData::U8`]); everything else is read as `f64`.
//! * The small-data-element encoding (type and size packed in one word), used for short
//!   names and dimension lists.
//!
//! # What is not
//! Complex, sparse, logical-with-imaginary, cell, struct, char, function-handle and object
//! arrays, `miUTF*` data, MATLAB level-4 files and MATLAB 7.3 files (HDF5). Each is an error
//! naming the file, never a panic: every offset and length read from the file is checked
//! against the bytes actually there before it is used, and nothing is allocated from a size
//! field without that check. Non-matrix top-level elements are skipped.

use std::ops::Range;
use std::path::Path;

use crate::bytes::unzlib;
use crate::error::{DataError, Result};

/// The values of an array.
#[derive(Debug, Clone, PartialEq)]
pub enum MatData {
    /// Stored as `miUINT8`: the bytes.
    U8(Vec<u8>),
    /// Stored as any other numeric type, converted to `f64`.
    F64(Vec<f64>),
}

impl MatData {
    /// Number of values.
    pub fn len(&self) -> usize {
        match self {
            MatData::U8(v) => v.len(),
            MatData::F64(v) => v.len(),
        }
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Value `i` as `f64`, if there is one.
    pub fn get(&self, i: usize) -> Option<f64> {
        match self {
            MatData::U8(v) => v.get(i).map(|x| *x as f64),
            MatData::F64(v) => v.get(i).copied(),
        }
    }
}

/// A numeric array read from a `.mat` file, dimensions and values in MATLAB's column-major
/// order.
#[derive(Debug, Clone, PartialEq)]
pub struct MatArray {
    /// Variable name.
    pub name: String,
    /// MATLAB array class (6 double, 7 single, 8 int8, 9 uint8, … 15 uint64).
    pub class: u8,
    /// Dimensions, first index fastest.
    pub dims: Vec<usize>,
    /// Values, column-major.
    pub data: MatData,
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

/// Bytes per value of a numeric data type.
fn type_size(ty: u32) -> Option<usize> {
    match ty {
        MI_INT8 | MI_UINT8 => Some(1),
        MI_INT16 | MI_UINT16 => Some(2),
        MI_INT32 | MI_UINT32 | MI_SINGLE => Some(4),
        MI_DOUBLE | MI_INT64 | MI_UINT64 => Some(8),
        _ => None,
    }
}

/// A reader over one byte range (the file, a decompressed element or a matrix's payload):
/// every element must lie inside it.
struct Reader<'a> {
    bytes: &'a [u8],
    big: bool,
    path: &'a Path,
}

/// One data element: its type, its payload and where the next element starts.
struct Element {
    ty: u32,
    payload: Range<usize>,
    next: usize,
}

impl<'a> Reader<'a> {
    fn err(&self, problem: impl Into<String>) -> DataError {
        DataError::Mat {
            path: self.path.to_path_buf(),
            problem: problem.into(),
        }
    }

    fn u32(&self, at: usize) -> Result<u32> {
        let b = at
            .checked_add(4)
            .and_then(|end| self.bytes.get(at..end))
            .ok_or_else(|| self.err(format!("truncated at byte {at}")))?;
        let a = [b[0], b[1], b[2], b[3]];
        Ok(if self.big {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        })
    }

    fn element(&self, at: usize) -> Result<Element> {
        let first = self.u32(at)?;
        if first >> 16 != 0 {
            // Small data element: size in the upper 16 bits, type in the lower, then 4 bytes.
            let ty = first & 0xffff;
            let n = (first >> 16) as usize;
            let start = at + 4;
            if n > 4 {
                return Err(self.err(format!(
                    "small data element at byte {at} claims {n} > 4 bytes"
                )));
            }
            if start + 4 > self.bytes.len() {
                return Err(self.err(format!("truncated small data element at byte {at}")));
            }
            return Ok(Element {
                ty,
                payload: start..start + n,
                next: at + 8,
            });
        }
        let n = self.u32(at + 4)? as usize;
        let start = at + 8;
        let end = start
            .checked_add(n)
            .filter(|e| *e <= self.bytes.len())
            .ok_or_else(|| {
                self.err(format!(
                    "element of type {first} at byte {at} claims {n} bytes, only {} are there (truncated?)",
                    self.bytes.len().saturating_sub(start)
                ))
            })?;
        // Compressed elements are not padded; the others are padded to 8 bytes.
        let next = if first == MI_COMPRESSED {
            end
        } else {
            start + n.div_ceil(8) * 8
        };
        Ok(Element {
            ty: first,
            payload: start..end,
            next,
        })
    }

    fn numbers(&self, ty: u32, r: Range<usize>, what: &str) -> Result<MatData> {
        let b = &self.bytes[r];
        let size =
            type_size(ty).ok_or_else(|| self.err(format!("{what}: unsupported data type {ty}")))?;
        if !b.len().is_multiple_of(size) {
            return Err(self.err(format!(
                "{what}: {} bytes is not a whole number of {size}-byte values",
                b.len()
            )));
        }
        if ty == MI_UINT8 {
            return Ok(MatData::U8(b.to_vec()));
        }
        let big = self.big;
        macro_rules! conv {
            ($t:ty, $n:expr) => {
                b.chunks_exact($n)
                    .map(|c| {
                        let mut a = [0u8; $n];
                        a.copy_from_slice(c);
                        (if big {
                            <$t>::from_be_bytes(a)
                        } else {
                            <$t>::from_le_bytes(a)
                        }) as f64
                    })
                    .collect()
            };
        }
        Ok(MatData::F64(match ty {
            MI_INT8 => b.iter().map(|v| *v as i8 as f64).collect(),
            MI_INT16 => conv!(i16, 2),
            MI_UINT16 => conv!(u16, 2),
            MI_INT32 => conv!(i32, 4),
            MI_UINT32 => conv!(u32, 4),
            MI_SINGLE => conv!(f32, 4),
            MI_DOUBLE => conv!(f64, 8),
            MI_INT64 => conv!(i64, 8),
            _ => conv!(u64, 8),
        }))
    }

    /// Parses the payload of an `miMATRIX` element; this reader spans exactly that payload.
    fn matrix(&self) -> Result<MatArray> {
        let flags = self.element(0)?;
        if flags.ty != MI_UINT32 || flags.payload.len() != 8 {
            return Err(self.err("array without an 8-byte uint32 array-flags subelement"));
        }
        let f = self.u32(flags.payload.start)?;
        let class = (f & 0xff) as u8;
        let dims_el = self.element(flags.next)?;
        if dims_el.ty != MI_INT32 {
            return Err(self.err("array dimensions are not stored as int32"));
        }
        let dims_raw = match self.numbers(MI_INT32, dims_el.payload, "dimensions")? {
            MatData::F64(v) => v,
            MatData::U8(_) => Vec::new(),
        };
        let name_el = self.element(dims_el.next)?;
        if name_el.ty != MI_INT8 && name_el.ty != MI_UINT8 {
            return Err(self.err("array name is not stored as int8"));
        }
        let name = String::from_utf8_lossy(&self.bytes[name_el.payload]).into_owned();
        if f & 0x0800 != 0 {
            return Err(self.err(format!("`{name}`: complex arrays are not supported")));
        }
        if !(6..=15).contains(&class) {
            return Err(self.err(format!(
                "`{name}`: array class {class} is not numeric (only numeric arrays are supported; 5 sparse, 1 cell, 2 struct, 4 char)"
            )));
        }
        if dims_raw.len() < 2 || dims_raw.iter().any(|d| *d < 0.0) {
            return Err(self.err(format!("`{name}`: bad dimensions {dims_raw:?}")));
        }
        let dims: Vec<usize> = dims_raw.iter().map(|d| *d as usize).collect();
        let count = dims
            .iter()
            .try_fold(1usize, |a, d| a.checked_mul(*d))
            .ok_or_else(|| self.err(format!("`{name}`: dimensions {dims:?} overflow")))?;
        if name_el.next >= self.bytes.len() {
            return Err(self.err(format!("`{name}` has no data")));
        }
        let data_el = self.element(name_el.next)?;
        let stored = type_size(data_el.ty).map(|s| data_el.payload.len() / s);
        if stored != Some(count) {
            return Err(self.err(format!(
                "`{name}` has dimensions {dims:?} ({count} values) but its data element holds {} (type {})",
                stored.map_or_else(|| "unsupported data".into(), |s| format!("{s} values")),
                data_el.ty
            )));
        }
        let data = self.numbers(data_el.ty, data_el.payload, &format!("`{name}`"))?;
        Ok(MatArray {
            name,
            class,
            dims,
            data,
        })
    }

    fn sub(&self, r: Range<usize>) -> Reader<'a> {
        Reader {
            bytes: &self.bytes[r],
            big: self.big,
            path: self.path,
        }
    }

    /// Every matrix in this range (top level), unwrapping compressed elements.
    fn matrices(&self, start: usize, out: &mut Vec<MatArray>, depth: u8) -> Result<()> {
        let mut at = start;
        while at < self.bytes.len() {
            if at + 8 > self.bytes.len() {
                return Err(self.err(format!(
                    "{} stray bytes at the end (truncated element?)",
                    self.bytes.len() - at
                )));
            }
            let el = self.element(at)?;
            match el.ty {
                MI_MATRIX => out.push(self.sub(el.payload).matrix()?),
                MI_COMPRESSED if depth == 0 => {
                    let inner = unzlib(&self.bytes[el.payload], self.path)?;
                    let rd = Reader {
                        bytes: &inner,
                        big: self.big,
                        path: self.path,
                    };
                    rd.matrices(0, out, 1)?;
                }
                MI_COMPRESSED => return Err(self.err("nested compressed elements")),
                _ => {}
            }
            at = el.next;
        }
        Ok(())
    }
}

/// Every numeric top-level array of a level-5 `.mat` file (`path` names it in errors).
pub fn parse(bytes: &[u8], path: &Path) -> Result<Vec<MatArray>> {
    let err = |p: &str| DataError::Mat {
        path: path.to_path_buf(),
        problem: p.to_string(),
    };
    if bytes.starts_with(b"\x89HDF") || bytes.starts_with(b"MATLAB 7.3") {
        return Err(err(
            "MATLAB 7.3 (HDF5) files are not supported; save with `-v7` or scipy.io.savemat",
        ));
    }
    if bytes.len() < 128 {
        return Err(err("shorter than the 128-byte MATLAB 5.0 header"));
    }
    let big = match &bytes[126..128] {
        b"IM" => false,
        b"MI" => true,
        _ => {
            return Err(err(
                "not a MATLAB 5.0 MAT-file (no IM/MI endian indicator at byte 126)",
            ));
        }
    };
    let version = if big {
        u16::from_be_bytes([bytes[124], bytes[125]])
    } else {
        u16::from_le_bytes([bytes[124], bytes[125]])
    };
    if version == 0x0200 {
        return Err(err("MATLAB 7.3 (HDF5) files are not supported"));
    }
    if version != 0x0100 {
        return Err(err(&format!(
            "header version 0x{version:04x}, expected 0x0100 (MATLAB 5.0)"
        )));
    }
    let top = Reader { bytes, big, path };
    let mut out = Vec::new();
    top.matrices(128, &mut out, 0)?;
    Ok(out)
}
