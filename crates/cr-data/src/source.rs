//! Data sets by name: `mnist`, `fashion-mnist`, `uci-digits` (embedded unless a directory is
//! given), `cifar10`, `cifar100`, `cifar100-coarse`, `svhn`, `svhn-extra` (a directory is
//! required), `synthetic-gmm`, `synthetic-teacher` (generated with their documented defaults).
//! `NAME:DIR` reads the official files from `DIR`; a `--data-dir ROOT` resolves names without a
//! directory to the conventional sub-folder of `ROOT` (see [`default_subdir`]).

use std::path::{Path, PathBuf};

use crate::bytes::{find, read};
use crate::cifar::{Cifar100Labels, load_cifar10, load_cifar100};
use crate::dataset::{Dataset, Splits};
use crate::embedded::embedded;
use crate::error::{DataError, Result};
use crate::idx::{IdxImages, parse_images, parse_labels};
use crate::svhn::load_svhn;
use crate::synthetic::{GaussianMixture, Teacher};

/// Every name [`load`] accepts.
pub const NAMES: [&str; 10] = [
    "mnist",
    "fashion-mnist",
    "uci-digits",
    "cifar10",
    "cifar100",
    "cifar100-coarse",
    "svhn",
    "svhn-extra",
    "synthetic-gmm",
    "synthetic-teacher",
];

/// The conventional folder of a data set under a `--data-dir` root.
pub fn default_subdir(name: &str) -> &'static str {
    match name {
        "mnist" => "mnist",
        "fashion-mnist" => "fashion-mnist",
        "uci-digits" => "uci-digits-8x8",
        "cifar10" => "cifar-10-batches-bin",
        "cifar100" | "cifar100-coarse" => "cifar-100-binary",
        "svhn" | "svhn-extra" => "svhn",
        _ => "",
    }
}

/// `NAME` or `NAME:DIR` split into its parts.
pub fn parse_spec(spec: &str) -> (&str, Option<PathBuf>) {
    match spec.split_once(':') {
        Some((n, d)) if !d.is_empty() => (n, Some(PathBuf::from(d))),
        Some((n, _)) => (n, None),
        None => (spec, None),
    }
}

/// Number of classes and image shape of a named data set (without loading it).
pub fn describe(name: &str) -> Result<(usize, [usize; 3])> {
    Ok(match name {
        "mnist" | "fashion-mnist" => (10, [1, 28, 28]),
        "uci-digits" => (10, [1, 8, 8]),
        "cifar10" | "svhn" | "svhn-extra" => (10, [3, 32, 32]),
        "cifar100" => (100, [3, 32, 32]),
        "cifar100-coarse" => (20, [3, 32, 32]),
        "synthetic-gmm" => (10, GaussianMixture::default().shape),
        "synthetic-teacher" => (10, Teacher::default().shape),
        other => return Err(unknown(other)),
    })
}

fn unknown(name: &str) -> DataError {
    DataError::UnknownName {
        name: name.to_string(),
        known: NAMES.join(", "),
    }
}

/// Builds an image data set from parsed IDX files, checking that they agree.
pub fn from_idx(
    images: IdxImages,
    labels: Vec<u8>,
    image_path: &Path,
    label_path: &Path,
    name: String,
) -> Result<Dataset> {
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
    let pixels: Vec<f32> = images.pixels.iter().map(|p| *p as f32 / 255.0).collect();
    Dataset::new(
        name,
        pixels,
        labels.into_iter().map(u16::from).collect(),
        [1, images.height, images.width],
        10,
        label_path,
    )
}

/// Reads an IDX data set (MNIST layout) from `dir`, requiring `height × width` images.
pub fn load_idx_dir(dir: &Path, name: &str, height: usize, width: usize) -> Result<Splits> {
    let split = |prefix: &str, split: &str| -> Result<Dataset> {
        let ip = find(
            dir,
            &[
                &format!("{prefix}-images-idx3-ubyte"),
                &format!("{prefix}-images.idx3-ubyte"),
            ],
            "IDX images",
        )?;
        let lp = find(
            dir,
            &[
                &format!("{prefix}-labels-idx1-ubyte"),
                &format!("{prefix}-labels.idx1-ubyte"),
            ],
            "IDX labels",
        )?;
        let images = parse_images(&read(&ip)?, &ip)?;
        if (images.height, images.width) != (height, width) {
            return Err(DataError::Format {
                path: ip.clone(),
                problem: format!(
                    "images are {}x{}, but {name} has {height}x{width} images",
                    images.height, images.width
                ),
            });
        }
        let labels = parse_labels(&read(&lp)?, &lp)?;
        from_idx(images, labels, &ip, &lp, format!("{name}/{split}"))
    };
    Ok(Splits {
        train: split("train", "train")?,
        test: split("t10k", "test")?,
    })
}

/// Loads a data set from a spec (`NAME` or `NAME:DIR`); `data_dir` is the optional root for
/// names given without a directory. Embedded sets are used when no directory applies.
pub fn load(spec: &str, data_dir: Option<&Path>) -> Result<Splits> {
    let (name, dir) = parse_spec(spec);
    if !NAMES.contains(&name) {
        return Err(unknown(name));
    }
    let dir = dir.or_else(|| {
        data_dir
            .map(|root| root.join(default_subdir(name)))
            .filter(|d| d.is_dir() && !default_subdir(name).is_empty())
    });
    match (name, dir) {
        ("synthetic-gmm", _) => GaussianMixture::default().generate(),
        ("synthetic-teacher", _) => Teacher::default().generate(),
        ("mnist" | "fashion-mnist", Some(d)) => load_idx_dir(&d, name, 28, 28),
        ("uci-digits", Some(d)) => load_idx_dir(&d, name, 8, 8),
        ("mnist" | "fashion-mnist" | "uci-digits", None) => {
            embedded(name).ok_or_else(|| unknown(name))?.load()
        }
        ("cifar10", Some(d)) => splits(load_cifar10(&d)?),
        ("cifar100", Some(d)) => splits(load_cifar100(&d, Cifar100Labels::Fine)?),
        ("cifar100-coarse", Some(d)) => splits(load_cifar100(&d, Cifar100Labels::Coarse)?),
        ("svhn", Some(d)) => splits(load_svhn(&d, false)?),
        ("svhn-extra", Some(d)) => splits(load_svhn(&d, true)?),
        (other, None) => Err(DataError::Invalid {
            field: "data".into(),
            problem: format!(
                "`{other}` is not embedded: give its directory as `{other}:DIR` or `--data-dir ROOT` (with ROOT/{})",
                default_subdir(other)
            ),
        }),
        (other, Some(_)) => Err(unknown(other)),
    }
}

fn splits((train, test): (Dataset, Dataset)) -> Result<Splits> {
    Ok(Splits { train, test })
}
