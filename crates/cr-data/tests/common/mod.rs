//! Writers of tiny files in the official layouts, byte by byte, for the tests.

#![allow(dead_code, clippy::unwrap_used)]

use std::io::Write;
use std::path::Path;

/// An IDX image file: magic 0x00000803, N, H, W (big-endian u32), then the pixels.
pub fn idx_images(n: u32, h: u32, w: u32, pixels: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, 8, 3];
    for v in [n, h, w] {
        b.extend_from_slice(&v.to_be_bytes());
    }
    b.extend_from_slice(pixels);
    b
}

/// An IDX label file: magic 0x00000801, N, then the labels.
pub fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, 8, 1];
    b.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    b.extend_from_slice(labels);
    b
}

pub fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

pub fn zlib(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

pub fn write_all(dir: &Path, files: &[(&str, Vec<u8>)]) {
    std::fs::create_dir_all(dir).unwrap();
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
}

/// A CIFAR record: label byte(s), then 3072 pixels (R plane, G plane, B plane).
pub fn cifar_record(label: &[u8], fill: u8) -> Vec<u8> {
    let mut r = label.to_vec();
    r.extend((0..3072).map(|i| fill.wrapping_add((i % 7) as u8)));
    r
}

/// MATLAB level-5 writer (the layout of the MAT-File Format reference), either endianness.
pub struct Mat {
    pub big: bool,
}

pub const MI_INT8: u32 = 1;
pub const MI_UINT8: u32 = 2;
pub const MI_INT32: u32 = 5;
pub const MI_UINT32: u32 = 6;
pub const MI_DOUBLE: u32 = 9;
pub const MI_MATRIX: u32 = 14;
pub const MI_COMPRESSED: u32 = 15;
pub const MX_DOUBLE: u32 = 6;
pub const MX_UINT8: u32 = 9;

impl Mat {
    pub fn u32(&self, v: u32) -> [u8; 4] {
        if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    pub fn f64s(&self, v: &[f64]) -> Vec<u8> {
        v.iter()
            .flat_map(|x| {
                if self.big {
                    x.to_be_bytes()
                } else {
                    x.to_le_bytes()
                }
            })
            .collect()
    }

    /// 116 bytes of text, 8 of subsystem offset, version 0x0100, endian indicator.
    pub fn header(&self) -> Vec<u8> {
        let mut h = b"MATLAB 5.0 MAT-file, written by cr-data's tests".to_vec();
        h.resize(116, b' ');
        h.extend_from_slice(&[0; 8]);
        if self.big {
            h.extend_from_slice(&[0x01, 0x00]);
            h.extend_from_slice(b"MI");
        } else {
            h.extend_from_slice(&[0x00, 0x01]);
            h.extend_from_slice(b"IM");
        }
        h
    }

    /// A data element: type, byte count, payload, zero padding to 8 bytes.
    pub fn element(&self, ty: u32, payload: &[u8]) -> Vec<u8> {
        let mut e = self.u32(ty).to_vec();
        e.extend_from_slice(&self.u32(payload.len() as u32));
        e.extend_from_slice(payload);
        e.resize(8 + payload.len().div_ceil(8) * 8, 0);
        e
    }

    /// A small data element (≤ 4 bytes): `(size << 16) | type`, payload padded to 4.
    pub fn small(&self, ty: u32, payload: &[u8]) -> Vec<u8> {
        assert!(payload.len() <= 4);
        let mut e = self.u32(((payload.len() as u32) << 16) | ty).to_vec();
        e.extend_from_slice(payload);
        e.resize(8, 0);
        e
    }

    /// An miMATRIX element of a numeric array.
    pub fn matrix(
        &self,
        name: &str,
        class: u32,
        complex: bool,
        dims: &[i32],
        ty: u32,
        data: &[u8],
    ) -> Vec<u8> {
        let mut flags = self.u32(class | if complex { 0x0800 } else { 0 }).to_vec();
        flags.extend_from_slice(&[0; 4]);
        let mut body = self.element(MI_UINT32, &flags);
        let d: Vec<u8> = dims.iter().flat_map(|v| self.u32(*v as u32)).collect();
        body.extend(self.element(MI_INT32, &d));
        if name.len() <= 4 {
            body.extend(self.small(MI_INT8, name.as_bytes()));
        } else {
            body.extend(self.element(MI_INT8, name.as_bytes()));
        }
        body.extend(self.element(ty, data));
        self.element(MI_MATRIX, &body)
    }

    /// An miCOMPRESSED element wrapping `inner` (no padding).
    pub fn compressed(&self, inner: &[u8]) -> Vec<u8> {
        let z = zlib(inner);
        let mut e = self.u32(MI_COMPRESSED).to_vec();
        e.extend_from_slice(&self.u32(z.len() as u32));
        e.extend(z);
        e
    }

    /// An SVHN-layout file: `X` uint8 [32, 32, 3, n] with X(row, col, ch, s) = px(row, col,
    /// ch, s), and `y` double [n, 1].
    pub fn svhn(
        &self,
        y: &[f64],
        px: impl Fn(usize, usize, usize, usize) -> u8,
        compress: bool,
    ) -> Vec<u8> {
        let n = y.len();
        let mut x = vec![0u8; 3072 * n];
        for s in 0..n {
            for ch in 0..3 {
                for col in 0..32 {
                    for row in 0..32 {
                        x[row + 32 * col + 1024 * ch + 3072 * s] = px(row, col, ch, s);
                    }
                }
            }
        }
        let xm = self.matrix("X", MX_UINT8, false, &[32, 32, 3, n as i32], MI_UINT8, &x);
        let ym = self.matrix(
            "y",
            MX_DOUBLE,
            false,
            &[n as i32, 1],
            MI_DOUBLE,
            &self.f64s(y),
        );
        let mut f = self.header();
        for m in [xm, ym] {
            if compress {
                f.extend(self.compressed(&m));
            } else {
                f.extend(m);
            }
        }
        f
    }
}

pub fn svhn_px(row: usize, col: usize, ch: usize, s: usize) -> u8 {
    ((row + 2 * col + 5 * ch + 7 * s) % 256) as u8
}

pub fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}
