//! Building matrices from row-major data.

use faer::Mat;

use crate::error::{LinalgError, Result};

fn check(rows: usize, cols: usize, len: usize) -> Result<()> {
    match rows.checked_mul(cols) {
        Some(n) if n == len => Ok(()),
        _ => Err(LinalgError::Shape(format!(
            "{rows}x{cols} needs {} values, got {len}",
            rows.saturating_mul(cols)
        ))),
    }
}

/// A `rows × cols` matrix from row-major `f32` data.
pub fn from_rows_f32(rows: usize, cols: usize, data: &[f32]) -> Result<Mat<f64>> {
    check(rows, cols, data.len())?;
    Ok(Mat::from_fn(rows, cols, |i, j| data[i * cols + j] as f64))
}

/// A `rows × cols` matrix from row-major `f64` data.
pub fn from_rows_f64(rows: usize, cols: usize, data: &[f64]) -> Result<Mat<f64>> {
    check(rows, cols, data.len())?;
    Ok(Mat::from_fn(rows, cols, |i, j| data[i * cols + j]))
}

/// A conv weight `[out, in, kh, kw]` (row-major, PyTorch layout) read as the `[out, in·kh·kw]`
/// matrix of SPEC §1: row i is filter i.
pub fn matricize_conv(weight: &[f32], shape: [usize; 4]) -> Result<Mat<f64>> {
    let [out, inp, kh, kw] = shape;
    let cols = inp
        .checked_mul(kh)
        .and_then(|v| v.checked_mul(kw))
        .ok_or_else(|| LinalgError::Shape(format!("{shape:?} overflows")))?;
    from_rows_f32(out, cols, weight)
}

/// The matrix as row-major `f64` values.
pub fn to_rows(m: &Mat<f64>) -> Vec<f64> {
    (0..m.nrows())
        .flat_map(|i| (0..m.ncols()).map(move |j| (i, j)))
        .map(|(i, j)| m[(i, j)])
        .collect()
}

/// The matrix as row-major `f32` values.
pub fn to_rows_f32(m: &Mat<f64>) -> Vec<f32> {
    to_rows(m).into_iter().map(|v| v as f32).collect()
}

/// Errors when any entry is NaN or infinite.
pub fn check_finite(m: &Mat<f64>, what: &str) -> Result<()> {
    for j in 0..m.ncols() {
        for i in 0..m.nrows() {
            if !m[(i, j)].is_finite() {
                return Err(LinalgError::NonFinite(what.to_string()));
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
        assert!(from_rows_f32(2, 3, &[1.0; 5]).is_err());
        assert!(from_rows_f64(usize::MAX, 2, &[]).is_err());
    }

    #[test]
    fn conv_rows_are_filters() {
        // 2 filters, 1 input channel, 2x2 kernels.
        let w: Vec<f32> = (0..8).map(|v| v as f32).collect();
        let m = matricize_conv(&w, [2, 1, 2, 2]).unwrap();
        assert_eq!((m.nrows(), m.ncols()), (2, 4));
        assert_eq!(m[(1, 0)], 4.0);
        assert!(matricize_conv(&w, [2, 2, 2, 2]).is_err());
    }
}
