//! SVHN, cropped digits (format 2 of <http://ufldl.stanford.edu/housenumbers/>):
//! `train_32x32.mat`, `test_32x32.mat` (and optionally `extra_32x32.mat`), MATLAB 5.0 files
//! holding `X` (uint8, `[32, 32, 3, N]`, column-major) and `y` (`[N, 1]`, labels 1..10 where
//! 10 stands for the digit 0). Read with the bounds-checked reader of [`crate::mat`]. The
//! full-numbers format 1 (PNG + digitStruct.mat in HDF5) is not supported.

use std::path::Path;

use crate::bytes::{find, read};
use crate::dataset::Dataset;
use crate::error::{DataError, Result, format};
use crate::mat::{MatArray, parse};

/// Converts the `X` and `y` arrays of one SVHN file into a data set.
pub fn from_arrays(arrays: &[MatArray], path: &Path, name: &str) -> Result<Dataset> {
    let get = |v: &str| {
        arrays.iter().find(|a| a.name == v).ok_or_else(|| {
            format(
                path,
                format!("no variable `{v}` (an SVHN file has `X` and `y`)"),
            )
        })
    };
    let (x, y) = (get("X")?, get("y")?);
    let (h, w, c, n) = match x.dims.as_slice() {
        [h, w, c, n] => (*h, *w, *c, *n),
        [h, w, c] => (*h, *w, *c, 1),
        d => {
            return Err(format(
                path,
                format!("`X` has dimensions {d:?}, expected [32, 32, 3, N]"),
            ));
        }
    };
    if (h, w, c) != (32, 32, 3) {
        return Err(format(
            path,
            format!("`X` has images of {h}x{w}x{c}, expected 32x32x3"),
        ));
    }
    if y.data.len() != n {
        return Err(DataError::Mismatch {
            path: path.to_path_buf(),
            problem: format!("`X` holds {n} images but `y` {} labels", y.data.len()),
        });
    }
    let mut images = vec![0f32; n * 3072];
    for s in 0..n {
        for ch in 0..3 {
            for col in 0..32 {
                for row in 0..32 {
                    let v = x.data[row + 32 * col + 1024 * ch + 3072 * s];
                    images[s * 3072 + ch * 1024 + row * 32 + col] = (v / 255.0) as f32;
                }
            }
        }
    }
    let mut labels = Vec::with_capacity(n);
    for (i, v) in y.data.iter().enumerate() {
        let l = *v as i64;
        if *v != l as f64 || !(1..=10).contains(&l) {
            return Err(DataError::Label {
                path: path.to_path_buf(),
                index: i,
                label: v.max(0.0) as u32,
                classes: 10,
            });
        }
        labels.push((l % 10) as u16);
    }
    Dataset::new(name, images, labels, [3, 32, 32], 10, path)
}

fn load_one(dir: &Path, file: &str, name: &str) -> Result<Dataset> {
    let path = find(dir, &[file], "SVHN cropped-digits .mat file")?;
    let bytes = read(&path)?;
    from_arrays(&parse(&bytes, &path)?, &path, name)
}

/// SVHN from `dir`: (train, test). `extra` appends `extra_32x32.mat` to the training set.
pub fn load_svhn(dir: &Path, extra: bool) -> Result<(Dataset, Dataset)> {
    let mut train = load_one(dir, "train_32x32.mat", "svhn/train")?;
    if extra {
        let e = load_one(dir, "extra_32x32.mat", "svhn/extra")?;
        train.images.extend(e.images);
        train.labels.extend(e.labels);
    }
    Ok((train, load_one(dir, "test_32x32.mat", "svhn/test")?))
}
