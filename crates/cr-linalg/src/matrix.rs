//! Building matrices from row-major data and reading them back.
//!
//! Layout conventions (SPEC §1): a Linear weight is `[out, in]` (PyTorch layout) and a row is
//! a neuron; a conv weight `[out, in, kh, kw]` is matricised as `[out, in·kh·kw]`, so a row
//! is a filter.

use faer::Mat;

use crate::error::{LinalgError, Result};
use crate::scalar::Real;

fn check(rows: usize, cols: usize, len: usize) -> Result<()> {
    match rows.checked_mul(cols) {
        Some(n) if n == len => Ok(()),
        _ => Err(LinalgError::Shape(format!(
            "a {rows}x{cols} matrix needs {} values, got {len}",
            rows.saturating_mul(cols)
        ))),
    }
}

/// A `rows × cols` matrix of `T` from row-major data of `T`.
///
/// # Errors
/// [`LinalgError::Shape`] when `data.len() != rows · cols`.
pub fn from_rows<T: Real>(rows: usize, cols: usize, data: &[T]) -> Result<Mat<T>> {
    check(rows, cols, data.len())?;
    Ok(Mat::from_fn(rows, cols, |i, j| data[i * cols + j]))
}

/// A `rows × cols` `f64` matrix from row-major `f32` data (the usual way model weights enter).
///
/// # Errors
/// [`LinalgError::Shape`] when `data.len() != rows · cols`.
pub fn from_rows_f32(rows: usize, cols: usize, data: &[f32]) -> Result<Mat<f64>> {
    check(rows, cols, data.len())?;
    Ok(Mat::from_fn(rows, cols, |i, j| {
        f64::from(data[i * cols + j])
    }))
}

/// A `rows × cols` `f64` matrix from row-major `f64` data.
///
/// # Errors
/// [`LinalgError::Shape`] when `data.len() != rows · cols`.
pub fn from_rows_f64(rows: usize, cols: usize, data: &[f64]) -> Result<Mat<f64>> {
    from_rows(rows, cols, data)
}

/// A conv weight `[out, in, kh, kw]` (row-major, PyTorch layout) read as the `[out, in·kh·kw]`
/// matrix of SPEC §1: row i is filter i. A Linear weight `[out, in]` is the special case
/// `[out, in, 1, 1]`.
///
/// # Errors
/// [`LinalgError::Shape`] when the shape overflows or does not match `weight.len()`.
pub fn matricize_conv(weight: &[f32], shape: [usize; 4]) -> Result<Mat<f64>> {
    let [out, inp, kh, kw] = shape;
    let cols = inp
        .checked_mul(kh)
        .and_then(|v| v.checked_mul(kw))
        .ok_or_else(|| LinalgError::Shape(format!("conv shape {shape:?} overflows")))?;
    from_rows_f32(out, cols, weight).map_err(|_| {
        LinalgError::Shape(format!(
            "conv weight of shape {shape:?} needs {} values, got {}",
            out.saturating_mul(cols),
            weight.len()
        ))
    })
}

/// The matrix as row-major values (the inverse of [`from_rows`]).
pub fn to_rows<T: Real>(m: &Mat<T>) -> Vec<T> {
    let mut out = Vec::with_capacity(m.nrows() * m.ncols());
    for i in 0..m.nrows() {
        for j in 0..m.ncols() {
            out.push(m[(i, j)]);
        }
    }
    out
}

/// The matrix as row-major `f32` values (for writing weights back into a model).
pub fn to_rows_f32(m: &Mat<f64>) -> Vec<f32> {
    to_rows(m).into_iter().map(|v| v as f32).collect()
}

/// The same matrix rounded to `f32`.
pub fn to_f32(m: &Mat<f64>) -> Mat<f32> {
    Mat::from_fn(m.nrows(), m.ncols(), |i, j| m[(i, j)] as f32)
}

/// The same matrix widened to `f64`.
pub fn to_f64(m: &Mat<f32>) -> Mat<f64> {
    Mat::from_fn(m.nrows(), m.ncols(), |i, j| f64::from(m[(i, j)]))
}

/// Errors when any entry is NaN or infinite; `what` names the matrix in the message.
///
/// # Errors
/// [`LinalgError::NonFinite`] naming `what` and the first offending entry.
pub fn check_finite<T: Real>(m: &Mat<T>, what: &str) -> Result<()> {
    for i in 0..m.nrows() {
        for j in 0..m.ncols() {
            if !m[(i, j)].finite() {
                return Err(LinalgError::NonFinite(format!(
                    "{what} (entry ({i}, {j}) is {})",
                    m[(i, j)].into()
                )));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_major_layout_and_shape_errors() {
        let m = from_rows_f32(2, 3, &[1., 2., 3., 4., 5., 6.]).unwrap();
        assert_eq!(m[(0, 2)], 3.0);
        assert_eq!(m[(1, 0)], 4.0);
        assert_eq!(to_rows(&m), vec![1., 2., 3., 4., 5., 6.]);
        assert_eq!(to_rows_f32(&m), vec![1f32, 2., 3., 4., 5., 6.]);
        assert!(matches!(
            from_rows_f32(2, 3, &[1.0; 5]),
            Err(LinalgError::Shape(_))
        ));
        assert!(from_rows_f64(usize::MAX, 2, &[]).is_err());
        let m32 = from_rows(1, 2, &[1.5f32, -2.0]).unwrap();
        assert_eq!(to_f64(&m32)[(0, 1)], -2.0);
        assert_eq!(to_f32(&to_f64(&m32)), m32);
    }

    #[test]
    fn conv_rows_are_filters() {
        // 2 filters, 1 input channel, 2x2 kernels: filter 1 is the values 4..8.
        let w: Vec<f32> = (0..8).map(|v| v as f32).collect();
        let m = matricize_conv(&w, [2, 1, 2, 2]).unwrap();
        assert_eq!((m.nrows(), m.ncols()), (2, 4));
        assert_eq!(m[(1, 0)], 4.0);
        assert_eq!(m[(0, 3)], 3.0);
        // 1 filter over 2 channels of 1x2 kernels: [in, kh, kw] flattened in that order.
        let m = matricize_conv(&w[..4], [1, 2, 1, 2]).unwrap();
        assert_eq!(to_rows(&m), vec![0., 1., 2., 3.]);
        assert!(matricize_conv(&w, [2, 2, 2, 2]).is_err());
        assert!(matricize_conv(&w, [2, usize::MAX, 2, 2]).is_err());
    }

    #[test]
    fn non_finite_entries_are_named() {
        let m = from_rows_f64(1, 2, &[1.0, f64::NAN]).unwrap();
        let e = check_finite(&m, "layer fc1").unwrap_err();
        assert!(e.to_string().contains("fc1") && e.to_string().contains("(0, 1)"));
    }
}
