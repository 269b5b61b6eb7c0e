//! Writers of the official formats, beside their readers: IDX ([`idx_images`],
//! [`idx_labels`]), CIFAR binary records ([`cifar_records`]) and MATLAB level-5 `.mat` files
//! of SVHN's cropped digits ([`svhn_mat`]) — and [`synthesize`], which lays out small seeded
//! stand-ins of every official data set under one root exactly as `--data-dir` looks for the
//! real ones (`mnist/`, `fashion-mnist/`, `cifar-10-batches-bin/`, `cifar-100-binary/`,
//! `svhn/`), so a grid on the paper's data sets can be rehearsed with no download.
//!
//! The synthetic images are not meant to be learnt well, only read: each class has a seeded
//! prototype image, and each sample is its class's prototype plus seeded noise, so labels
//! carry some signal. Files are written with [`cr_io::write_atomic`].

use std::io::Write as _;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::dataset::sub_seed;
use crate::error::{DataError, Result, invalid};
use crate::source::Kind;

/// An IDX file of u8 images `[n, h, w]` (magic `0x00000803`, big-endian dimensions).
pub fn idx_images(h: usize, w: usize, pixels: &[u8]) -> Vec<u8> {
    let n = pixels.len() / (h * w).max(1);
    let mut b = crate::idx::IMAGES_MAGIC.to_be_bytes().to_vec();
    for v in [n, h, w] {
        b.extend_from_slice(&(v as u32).to_be_bytes());
    }
    b.extend_from_slice(pixels);
    b
}

/// An IDX file of u8 labels (magic `0x00000801`).
pub fn idx_labels(labels: &[u8]) -> Vec<u8> {
    let mut b = crate::idx::LABELS_MAGIC.to_be_bytes().to_vec();
    b.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    b.extend_from_slice(labels);
    b
}

/// CIFAR binary records: for each image its label bytes (`labels[i]`, one byte for CIFAR-10,
/// coarse then fine for CIFAR-100) followed by its 3072 pixel bytes (R, G, B planes).
pub fn cifar_records(labels: &[Vec<u8>], pixels: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(pixels.len() + labels.iter().map(Vec::len).sum::<usize>());
    for (l, px) in labels.iter().zip(pixels.chunks_exact(crate::cifar::PIXELS)) {
        out.extend_from_slice(l);
        out.extend_from_slice(px);
    }
    out
}

/// Gzip (the official MNIST files are distributed as `.gz`).
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    // Writing into a Vec cannot fail.
    let _ = e.write_all(bytes);
    e.finish().unwrap_or_default()
}

const MI_INT8: u32 = 1;
const MI_UINT8: u32 = 2;
const MI_INT32: u32 = 5;
const MI_UINT32: u32 = 6;
const MI_DOUBLE: u32 = 9;
const MI_MATRIX: u32 = 14;
const MX_DOUBLE: u32 = 6;
const MX_UINT8: u32 = 9;

/// A little-endian data element: type, byte count, payload, zero padding to 8 bytes.
fn element(ty: u32, payload: &[u8]) -> Vec<u8> {
    let mut e = ty.to_le_bytes().to_vec();
    e.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    e.extend_from_slice(payload);
    e.resize(8 + payload.len().div_ceil(8) * 8, 0);
    e
}

/// An `miMATRIX` element of a real, full numeric array.
fn matrix(name: &str, class: u32, dims: &[usize], ty: u32, data: &[u8]) -> Vec<u8> {
    let mut flags = class.to_le_bytes().to_vec();
    flags.extend_from_slice(&[0; 4]);
    let mut body = element(MI_UINT32, &flags);
    let d: Vec<u8> = dims
        .iter()
        .flat_map(|v| (*v as u32).to_le_bytes())
        .collect();
    body.extend(element(MI_INT32, &d));
    body.extend(element(MI_INT8, name.as_bytes()));
    body.extend(element(ty, data));
    element(MI_MATRIX, &body)
}

/// A MATLAB level-5 file (little-endian, uncompressed) as SVHN's `*_32x32.mat`: `X`, `uint8`
/// `[32, 32, 3, N]` in MATLAB's column-major order, from NCHW `pixels`; `y`, `double`
/// `[N, 1]`, the digit with 10 standing for 0 (the official convention).
pub fn svhn_mat(pixels: &[u8], digits: &[u8]) -> Vec<u8> {
    let n = digits.len();
    let mut x = vec![0u8; pixels.len()];
    // Row-major [N, C, H, W] → column-major [H, W, C, N].
    for (s, img) in pixels.chunks_exact(3072).enumerate() {
        let dst = &mut x[s * 3072..(s + 1) * 3072];
        for ch in 0..3 {
            for row in 0..32 {
                for col in 0..32 {
                    dst[row + 32 * col + 1024 * ch] = img[ch * 1024 + row * 32 + col];
                }
            }
        }
    }
    let y: Vec<u8> = digits
        .iter()
        .flat_map(|d| f64::from(if *d == 0 { 10 } else { *d }).to_le_bytes())
        .collect();
    let mut h =
        b"MATLAB 5.0 MAT-file, Platform: cr-data synthesize, seeded stand-in for SVHN".to_vec();
    h.resize(116, b' ');
    h.extend_from_slice(&[0; 8]);
    h.extend_from_slice(&[0x00, 0x01]);
    h.extend_from_slice(b"IM");
    h.extend(matrix("X", MX_UINT8, &[32, 32, 3, n], MI_UINT8, &x));
    h.extend(matrix("y", MX_DOUBLE, &[n, 1], MI_DOUBLE, &y));
    h
}

/// Sizes of the synthesized data sets: images per class in each split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynthSizes {
    /// Training images per class (CIFAR-10 splits them over its five batches, so 10·this
    /// must be at least 5).
    pub train_per_class: usize,
    /// Test images per class.
    pub test_per_class: usize,
}

impl Default for SynthSizes {
    /// 20 training and 10 test images per class (CIFAR-100: 2,000 and 1,000).
    fn default() -> Self {
        Self {
            train_per_class: 20,
            test_per_class: 10,
        }
    }
}

/// The data sets [`synthesize`] writes, in order.
pub const SYNTHESIZED: [Kind; 5] = [
    Kind::Mnist,
    Kind::FashionMnist,
    Kind::Cifar10,
    Kind::Cifar100,
    Kind::Svhn,
];

/// Seeded images of `classes` classes: `(pixels, labels)`, `per_class` images of each class
/// in the order 0, 1, …, classes−1, 0, 1, … Each pixel is the class prototype's pixel (a
/// seeded byte) plus noise in ±48, clamped to 0..=255.
fn images(classes: usize, per_class: usize, dim: usize, seed: u64) -> (Vec<u8>, Vec<u8>) {
    let protos: Vec<Vec<u8>> = (0..classes)
        .map(|c| {
            let mut r = ChaCha8Rng::seed_from_u64(sub_seed(seed, 1, c as u64));
            (0..dim).map(|_| r.random::<u8>()).collect()
        })
        .collect();
    let mut r = ChaCha8Rng::seed_from_u64(sub_seed(seed, 2, 0));
    let n = classes * per_class;
    let mut px = Vec::with_capacity(n * dim);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % classes;
        labels.push(c as u8);
        px.extend(protos[c].iter().map(|p| {
            let v = i32::from(*p) + r.random_range(-48..=48);
            v.clamp(0, 255) as u8
        }));
    }
    (px, labels)
}

fn put(dir: &Path, name: &str, bytes: &[u8], written: &mut Vec<PathBuf>) -> Result<()> {
    let path = dir.join(name);
    cr_io::write_atomic(&path, bytes).map_err(|source| DataError::Io {
        path: path.clone(),
        source,
    })?;
    written.push(path);
    Ok(())
}

fn mkdir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|source| DataError::Io {
        path: dir.to_path_buf(),
        source,
    })
}

/// The split's images and labels, seeded by data set (`tag`) and split (0 train, 1 test).
fn split(
    classes: usize,
    per: usize,
    dim: usize,
    seed: u64,
    tag: u64,
    test: bool,
) -> (Vec<u8>, Vec<u8>) {
    images(classes, per, dim, sub_seed(seed, tag, u64::from(test)))
}

fn write_idx(kind: Kind, dir: &Path, s: SynthSizes, seed: u64, w: &mut Vec<PathBuf>) -> Result<()> {
    let tag = kind as u64;
    for (prefix, per, test) in [
        ("train", s.train_per_class, false),
        ("t10k", s.test_per_class, true),
    ] {
        let (px, labels) = split(10, per, 784, seed, tag, test);
        put(
            dir,
            &format!("{prefix}-images-idx3-ubyte.gz"),
            &gzip(&idx_images(28, 28, &px)),
            w,
        )?;
        put(
            dir,
            &format!("{prefix}-labels-idx1-ubyte.gz"),
            &gzip(&idx_labels(&labels)),
            w,
        )?;
    }
    Ok(())
}

fn write_cifar10(dir: &Path, s: SynthSizes, seed: u64, w: &mut Vec<PathBuf>) -> Result<()> {
    let (px, labels) = split(
        10,
        s.train_per_class,
        3072,
        seed,
        Kind::Cifar10 as u64,
        false,
    );
    let n = labels.len();
    // Five batches of (nearly) equal size, in order, as the official ones.
    for b in 0..5 {
        let (lo, hi) = (b * n / 5, (b + 1) * n / 5);
        let l: Vec<Vec<u8>> = labels[lo..hi].iter().map(|l| vec![*l]).collect();
        let recs = cifar_records(&l, &px[lo * 3072..hi * 3072]);
        put(dir, &format!("data_batch_{}.bin", b + 1), &recs, w)?;
    }
    let (px, labels) = split(10, s.test_per_class, 3072, seed, Kind::Cifar10 as u64, true);
    let l: Vec<Vec<u8>> = labels.iter().map(|l| vec![*l]).collect();
    put(dir, "test_batch.bin", &cifar_records(&l, &px), w)
}

fn write_cifar100(dir: &Path, s: SynthSizes, seed: u64, w: &mut Vec<PathBuf>) -> Result<()> {
    for (name, per, test) in [
        ("train.bin", s.train_per_class, false),
        ("test.bin", s.test_per_class, true),
    ] {
        let (px, labels) = split(100, per, 3072, seed, Kind::Cifar100 as u64, test);
        // Coarse label: the fine label's superclass, five fine classes each (a stand-in for
        // the official mapping).
        let l: Vec<Vec<u8>> = labels.iter().map(|f| vec![f / 5, *f]).collect();
        put(dir, name, &cifar_records(&l, &px), w)?;
    }
    Ok(())
}

fn write_svhn(dir: &Path, s: SynthSizes, seed: u64, w: &mut Vec<PathBuf>) -> Result<()> {
    for (name, per, test) in [
        ("train_32x32.mat", s.train_per_class, false),
        ("test_32x32.mat", s.test_per_class, true),
    ] {
        let (px, digits) = split(10, per, 3072, seed, Kind::Svhn as u64, test);
        put(dir, name, &svhn_mat(&px, &digits), w)?;
    }
    Ok(())
}

/// Writes seeded stand-ins of every data set of [`SYNTHESIZED`] under `root`, in the official
/// formats and in the folders `--data-dir root` looks in first ([`Kind::subdirs`]): MNIST and
/// Fashion-MNIST as gzipped IDX, CIFAR-10 as five data batches and a test batch, CIFAR-100 as
/// `train.bin`/`test.bin` (coarse and fine labels), SVHN as `train_32x32.mat`/`test_32x32.mat`.
/// The same `(sizes, seed)` writes the same bytes. Returns the files written.
pub fn synthesize(root: &Path, sizes: SynthSizes, seed: u64) -> Result<Vec<PathBuf>> {
    if sizes.train_per_class == 0
        || sizes.test_per_class == 0
        || sizes.train_per_class > 6000
        || sizes.test_per_class > 1000
    {
        return Err(invalid(
            "synthesize",
            format!(
                "{} train / {} test images per class: each must be in 1..=6000 / 1..=1000",
                sizes.train_per_class, sizes.test_per_class
            ),
        ));
    }
    let mut written = Vec::new();
    for kind in SYNTHESIZED {
        let dir = root.join(kind.subdirs()[0]);
        mkdir(&dir)?;
        match kind {
            Kind::Mnist | Kind::FashionMnist => write_idx(kind, &dir, sizes, seed, &mut written)?,
            Kind::Cifar10 => write_cifar10(&dir, sizes, seed, &mut written)?,
            Kind::Cifar100 => write_cifar100(&dir, sizes, seed, &mut written)?,
            _ => write_svhn(&dir, sizes, seed, &mut written)?,
        }
    }
    Ok(written)
}
