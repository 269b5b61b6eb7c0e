//! CIFAR-10 and CIFAR-100 binary batches (the "binary version" of
//! <https://www.cs.toronto.edu/~kriz/cifar.html>): fixed-size records of label byte(s) followed
//! by 3072 pixel bytes (1024 red, 1024 green, 1024 blue, each 32×32 row-major).
//!
//! * CIFAR-10: `data_batch_1.bin` … `data_batch_5.bin` (train), `test_batch.bin`; records of
//!   1 + 3072 bytes, labels 0..9.
//! * CIFAR-100: `train.bin`, `test.bin`; records of 2 + 3072 bytes (coarse label 0..19, fine
//!   label 0..99); fine labels by default.

use std::path::{Path, PathBuf};

use crate::bytes::read;
use crate::dataset::Dataset;
use crate::error::{DataError, Result, format};

const PIXELS: usize = 3072;

/// Which CIFAR-100 label to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cifar100Labels {
    /// The 100 fine classes.
    #[default]
    Fine,
    /// The 20 superclasses.
    Coarse,
}

/// Parses one CIFAR binary file: `label_bytes` of 1 (CIFAR-10) or 2 (CIFAR-100; `label_index`
/// 0 = coarse, 1 = fine).
pub fn parse(
    bytes: &[u8],
    path: &Path,
    label_bytes: usize,
    label_index: usize,
    classes: usize,
) -> Result<(Vec<f32>, Vec<u16>)> {
    let rec = label_bytes + PIXELS;
    if bytes.is_empty() || !bytes.len().is_multiple_of(rec) {
        return Err(format(
            path,
            format!(
                "{} bytes is not a whole number of {rec}-byte CIFAR records{}",
                bytes.len(),
                if !bytes.len().is_multiple_of(rec) {
                    " (truncated or not a CIFAR file)"
                } else {
                    ""
                }
            ),
        ));
    }
    let n = bytes.len() / rec;
    let mut images = Vec::with_capacity(n * PIXELS);
    let mut labels = Vec::with_capacity(n);
    for (i, r) in bytes.chunks_exact(rec).enumerate() {
        let l = r[label_index];
        if l as usize >= classes {
            return Err(DataError::Label {
                path: path.to_path_buf(),
                index: i,
                label: l as u32,
                classes,
            });
        }
        labels.push(l as u16);
        images.extend(r[label_bytes..].iter().map(|p| *p as f32 / 255.0));
    }
    Ok((images, labels))
}

fn base(dir: &Path, sub: &str) -> PathBuf {
    let nested = dir.join(sub);
    if nested.is_dir() {
        nested
    } else {
        dir.to_path_buf()
    }
}

fn load_files(
    files: &[PathBuf],
    label_bytes: usize,
    label_index: usize,
    classes: usize,
    name: &str,
) -> Result<Dataset> {
    let mut images = Vec::new();
    let mut labels = Vec::new();
    for f in files {
        let bytes = read(f)?;
        let (i, l) = parse(&bytes, f, label_bytes, label_index, classes)?;
        images.extend(i);
        labels.extend(l);
    }
    let origin = files.first().cloned().unwrap_or_default();
    Dataset::new(name, images, labels, [3, 32, 32], classes, &origin)
}

fn need(dir: &Path, name: &str) -> Result<PathBuf> {
    crate::bytes::find(dir, &[name], "CIFAR binary batch")
}

/// CIFAR-10 from `dir` (or `dir/cifar-10-batches-bin`): (train, test).
pub fn load_cifar10(dir: &Path) -> Result<(Dataset, Dataset)> {
    let d = base(dir, "cifar-10-batches-bin");
    let train: Vec<PathBuf> = (1..=5)
        .map(|i| need(&d, &format!("data_batch_{i}.bin")))
        .collect::<Result<_>>()?;
    let test = vec![need(&d, "test_batch.bin")?];
    Ok((
        load_files(&train, 1, 0, 10, "cifar10/train")?,
        load_files(&test, 1, 0, 10, "cifar10/test")?,
    ))
}

/// CIFAR-100 from `dir` (or `dir/cifar-100-binary`): (train, test).
pub fn load_cifar100(dir: &Path, labels: Cifar100Labels) -> Result<(Dataset, Dataset)> {
    let d = base(dir, "cifar-100-binary");
    let (idx, classes) = match labels {
        Cifar100Labels::Fine => (1, 100),
        Cifar100Labels::Coarse => (0, 20),
    };
    Ok((
        load_files(&[need(&d, "train.bin")?], 2, idx, classes, "cifar100/train")?,
        load_files(&[need(&d, "test.bin")?], 2, idx, classes, "cifar100/test")?,
    ))
}
