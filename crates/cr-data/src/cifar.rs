//! CIFAR-10 and CIFAR-100 binary batches (the "binary version" of
//! <https://www.cs.toronto.edu/~kriz/cifar.html>): fixed-size records of label byte(s) followed
//! by 3072 pixel bytes (1024 red, 1024 green, 1024 blue, each 32×32 row-major), which is
//! already NCHW.
//!
//! * CIFAR-10: `data_batch_1.bin` … `data_batch_5.bin` (train), `test_batch.bin`; records of
//!   1 + 3072 bytes, labels 0..9. Looked for in `DIR/cifar-10-batches-bin/` when that exists
//!   (the folder of the official archive), else in `DIR`.
//! * CIFAR-100: `train.bin`, `test.bin`; records of 2 + 3072 bytes (coarse label 0..19, fine
//!   label 0..99); fine labels by default. Looked for in `DIR/cifar-100-binary/` or `DIR`.
//!
//! Each file may also be gzip-compressed (`.bin.gz`).

use std::path::{Path, PathBuf};

use crate::bytes::{find, need_dir, read};
use crate::dataset::{Dataset, Splits};
use crate::error::{DataError, Result, length};

/// Pixel bytes per CIFAR record.
pub const PIXELS: usize = 3072;

/// Which CIFAR-100 label to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cifar100Labels {
    /// The 100 fine classes.
    #[default]
    Fine,
    /// The 20 superclasses.
    Coarse,
}

/// The record layout of a CIFAR binary file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Label bytes before the pixels: 1 (CIFAR-10) or 2 (CIFAR-100).
    pub label_bytes: usize,
    /// Which of them is the label used (CIFAR-100: 0 coarse, 1 fine).
    pub label_index: usize,
    /// Number of classes of that label.
    pub classes: usize,
}

impl Layout {
    /// CIFAR-10.
    pub const CIFAR10: Layout = Layout {
        label_bytes: 1,
        label_index: 0,
        classes: 10,
    };

    /// CIFAR-100 with the chosen labels.
    pub fn cifar100(labels: Cifar100Labels) -> Layout {
        match labels {
            Cifar100Labels::Fine => Layout {
                label_bytes: 2,
                label_index: 1,
                classes: 100,
            },
            Cifar100Labels::Coarse => Layout {
                label_bytes: 2,
                label_index: 0,
                classes: 20,
            },
        }
    }
}

/// Parses one CIFAR binary file into pixels in [0, 1] (NCHW) and labels.
pub fn parse(bytes: &[u8], path: &Path, layout: Layout) -> Result<(Vec<f32>, Vec<u16>)> {
    let rec = layout.label_bytes + PIXELS;
    if layout.label_index >= layout.label_bytes {
        return Err(crate::error::invalid(
            "label_index",
            format!(
                "{} is not below label_bytes {}",
                layout.label_index, layout.label_bytes
            ),
        ));
    }
    if bytes.is_empty() || !bytes.len().is_multiple_of(rec) {
        return Err(length(
            path,
            format!(
                "{} bytes is not a whole, non-zero number of {rec}-byte CIFAR records ({}{} label byte(s) + 3072 pixels; truncated, or not this CIFAR variant)",
                bytes.len(),
                if bytes.is_empty() { "empty file; " } else { "" },
                layout.label_bytes
            ),
        ));
    }
    let n = bytes.len() / rec;
    let mut images = Vec::with_capacity(n * PIXELS);
    let mut labels = Vec::with_capacity(n);
    for (i, r) in bytes.chunks_exact(rec).enumerate() {
        let l = r[layout.label_index];
        if l as usize >= layout.classes {
            return Err(DataError::Label {
                path: path.to_path_buf(),
                index: i,
                label: l as i64,
                classes: layout.classes,
            });
        }
        labels.push(l as u16);
        images.extend(r[layout.label_bytes..].iter().map(|p| *p as f32 / 255.0));
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

fn load_files(files: &[PathBuf], layout: Layout, name: &str) -> Result<Dataset> {
    let mut images = Vec::new();
    let mut labels = Vec::new();
    for f in files {
        let bytes = read(f)?;
        let (i, l) = parse(&bytes, f, layout)?;
        images.extend(i);
        labels.extend(l);
    }
    let origin = files.first().cloned().unwrap_or_default();
    Dataset::new(name, images, labels, [3, 32, 32], layout.classes, &origin)
}

fn need(dir: &Path, name: &str) -> Result<PathBuf> {
    find(dir, &[name], "CIFAR binary batch")
}

/// The CIFAR-10 files in `dir`: (five training batches, the test batch).
pub fn cifar10_files(dir: &Path) -> Result<(Vec<PathBuf>, PathBuf)> {
    need_dir(dir, "CIFAR-10 binary batches")?;
    let d = base(dir, "cifar-10-batches-bin");
    let train = (1..=5)
        .map(|i| need(&d, &format!("data_batch_{i}.bin")))
        .collect::<Result<_>>()?;
    Ok((train, need(&d, "test_batch.bin")?))
}

/// The CIFAR-100 files in `dir`: (train, test).
pub fn cifar100_files(dir: &Path) -> Result<(PathBuf, PathBuf)> {
    need_dir(dir, "CIFAR-100 binary files")?;
    let d = base(dir, "cifar-100-binary");
    Ok((need(&d, "train.bin")?, need(&d, "test.bin")?))
}

/// CIFAR-10 from `dir` (or `dir/cifar-10-batches-bin`).
pub fn load_cifar10(dir: &Path) -> Result<Splits> {
    let (train, test) = cifar10_files(dir)?;
    Ok(Splits {
        train: load_files(&train, Layout::CIFAR10, "cifar10/train")?,
        test: load_files(&[test], Layout::CIFAR10, "cifar10/test")?,
    })
}

/// CIFAR-100 from `dir` (or `dir/cifar-100-binary`).
pub fn load_cifar100(dir: &Path, labels: Cifar100Labels) -> Result<Splits> {
    let (train, test) = cifar100_files(dir)?;
    let layout = Layout::cifar100(labels);
    let name = match labels {
        Cifar100Labels::Fine => "cifar100",
        Cifar100Labels::Coarse => "cifar100-coarse",
    };
    Ok(Splits {
        train: load_files(&[train], layout, &format!("{name}/train"))?,
        test: load_files(&[test], layout, &format!("{name}/test"))?,
    })
}
