//! SVHN, cropped digits (format 2 of <http://ufldl.stanford.edu/housenumbers/>):
//! `train_32x32.mat`, `test_32x32.mat` and optionally `extra_32x32.mat` (each may also be
//! `.mat.gz`), MATLAB 5.0 files read with the bounds-checked reader of [`crate::mat`].
//!
//! Each file holds `X`, `uint8` `[32, 32, 3, N]` (MATLAB's column-major `[H, W, C, N]`), and
//! `y`, `[N, 1]` (or `[1, N]`) of any numeric class, labels 1..=10 where 10 stands for the
//! digit 0; cr maps 10 → 0, so labels are the digits 0..=9. `X` must be stored as `uint8`
//! data or as integral values in 0..=255. Images come out NCHW in [0, 1].
//!
//! Not supported: the full-numbers format 1 (PNGs with `digitStruct.mat`, an HDF5 file).

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use crate::bytes::{find, need_dir, read};
use crate::dataset::{Dataset, Splits};
use crate::error::{DataError, Result};
use crate::mat::{MatArray, MatData, parse};

fn mat_err(path: &Path, problem: String) -> DataError {
    DataError::Mat {
        path: path.to_path_buf(),
        problem,
    }
}

/// Converts the `X` and `y` arrays of one SVHN file into a data set named `name`.
pub fn from_arrays(arrays: &[MatArray], path: &Path, name: &str) -> Result<Dataset> {
    let (x, y) = (variable(arrays, path, "X")?, variable(arrays, path, "y")?);
    let n = image_count(x, path)?;
    check_label_count(y, n, path)?;
    let xb = pixel_bytes(x, path)?;
    let images = nchw_images(&xb, n, path)?;
    let labels = digit_labels(y, n, path)?;
    Dataset::new(name, images, labels, [3, 32, 32], 10, path)
}

/// The numeric variable `v` of an SVHN file.
fn variable<'a>(arrays: &'a [MatArray], path: &Path, v: &str) -> Result<&'a MatArray> {
    arrays.iter().find(|a| a.name == v).ok_or_else(|| {
        mat_err(
            path,
            format!(
                "no numeric variable `{v}` (an SVHN file has `X` and `y`; found: {})",
                arrays
                    .iter()
                    .map(|a| a.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
    })
}

/// The number of images N of an `X` of dimensions `[32, 32, 3, N]` (or `[32, 32, 3]`, one).
fn image_count(x: &MatArray, path: &Path) -> Result<usize> {
    let (h, w, c, n) = match x.dims.as_slice() {
        [h, w, c, n] => (*h, *w, *c, *n),
        [h, w, c] => (*h, *w, *c, 1),
        d => {
            return Err(DataError::Dimensions {
                path: path.to_path_buf(),
                dataset: "SVHN".into(),
                found: format!("`X` of dimensions {d:?}"),
                expected: "[32, 32, 3, N]".into(),
            });
        }
    };
    if (h, w, c) != (32, 32, 3) {
        return Err(DataError::Dimensions {
            path: path.to_path_buf(),
            dataset: "SVHN".into(),
            found: format!("{h}x{w}x{c}"),
            expected: "32x32x3".into(),
        });
    }
    Ok(n)
}

/// Checks that `y` is a vector of one label per image.
fn check_label_count(y: &MatArray, n: usize, path: &Path) -> Result<()> {
    let ny = y.data.len();
    if y.dims.iter().filter(|d| **d != 1).count() > 1 || ny != n {
        return Err(DataError::Mismatch {
            path: path.to_path_buf(),
            problem: format!(
                "`X` holds {n} images but `y` has dimensions {:?} ({ny} values)",
                y.dims
            ),
        });
    }
    Ok(())
}

/// `X` as bytes: MATLAB may have stored it as another type; then every value must be a byte.
fn pixel_bytes<'a>(x: &'a MatArray, path: &Path) -> Result<Cow<'a, [u8]>> {
    match &x.data {
        MatData::U8(b) => Ok(Cow::Borrowed(b)),
        MatData::F64(v) => {
            let converted = v
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    if f.fract() == 0.0 && (0.0..=255.0).contains(f) {
                        Ok(*f as u8)
                    } else {
                        Err(mat_err(
                            path,
                            format!("`X` value {f} at {i} is not a pixel byte 0..=255"),
                        ))
                    }
                })
                .collect::<Result<Vec<u8>>>()?;
            Ok(Cow::Owned(converted))
        }
    }
}

/// The `n` images of the column-major `[H, W, C, N]` bytes `xb` as row-major `[N, C, H, W]`
/// values in [0, 1].
fn nchw_images(xb: &[u8], n: usize, path: &Path) -> Result<Vec<f32>> {
    if n.checked_mul(3072) != Some(xb.len()) {
        return Err(mat_err(
            path,
            format!(
                "`X` holds {} values, not 3072 per image for {n} images",
                xb.len()
            ),
        ));
    }
    let mut images = vec![0f32; xb.len()];
    // Column-major [H, W, C, N] → row-major [N, C, H, W].
    for (s, img) in images.chunks_exact_mut(3072).enumerate() {
        let src = &xb[s * 3072..(s + 1) * 3072];
        for ch in 0..3 {
            for col in 0..32 {
                for row in 0..32 {
                    img[ch * 1024 + row * 32 + col] =
                        src[row + 32 * col + 1024 * ch] as f32 / 255.0;
                }
            }
        }
    }
    Ok(images)
}

/// The `n` labels of `y` (1..=10) as digits 0..=9 (10 stands for the digit 0).
fn digit_labels(y: &MatArray, n: usize, path: &Path) -> Result<Vec<u16>> {
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let v = y.data.get(i).unwrap_or(f64::NAN);
        if v.fract() != 0.0 || !(1.0..=10.0).contains(&v) {
            return Err(DataError::Label {
                path: path.to_path_buf(),
                index: i,
                label: if v.is_finite() { v as i64 } else { -1 },
                classes: 10,
            });
        }
        labels.push((v as u16) % 10);
    }
    Ok(labels)
}

/// Reads and converts one SVHN `.mat` file.
pub fn load_file(path: &Path, name: &str) -> Result<Dataset> {
    let bytes = read(path)?;
    from_arrays(&parse(&bytes, path)?, path, name)
}

/// The SVHN files in `dir`: train, test and (when `extra`) extra.
pub fn files(dir: &Path, extra: bool) -> Result<Vec<PathBuf>> {
    need_dir(dir, "SVHN .mat files")?;
    let mut names = vec!["train_32x32.mat", "test_32x32.mat"];
    if extra {
        names.push("extra_32x32.mat");
    }
    names
        .into_iter()
        .map(|f| find(dir, &[f], "SVHN cropped-digits .mat file"))
        .collect()
}

/// SVHN from `dir`. `extra` appends `extra_32x32.mat` (531,131 images) to the training set.
pub fn load_svhn(dir: &Path, extra: bool) -> Result<Splits> {
    let f = files(dir, extra)?;
    let (name, train_name) = if extra {
        ("svhn-extra", "svhn-extra/train")
    } else {
        ("svhn", "svhn/train")
    };
    let mut train = load_file(&f[0], train_name)?;
    if let Some(e) = f.get(2) {
        let e = load_file(e, "svhn/extra")?;
        train.images.extend(e.images);
        train.labels.extend(e.labels);
    }
    Ok(Splits {
        train,
        test: load_file(&f[1], &format!("{name}/test"))?,
    })
}
