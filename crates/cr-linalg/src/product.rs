//! Matrix products on row-major `f32` slices, on the calling thread.
//!
//! The kernel of cr-models' convolution on the CPU: `dst ← lhs · rhs` or `dst ← dst + lhs · rhs`
//! where each operand is a row-major slice read as it is or transposed, through faer's matrix
//! product (its AVX-512/AVX2 kernels on x86-64). The product always runs sequentially
//! ([`faer::Par::Seq`], passed per call): callers parallelise over independent products, so
//! that the bits of a result never depend on the number of threads.

use faer::{Accum, MatMut, MatRef, Par};

/// A row-major `f32` matrix (rows `row_stride` values apart), read as stored or transposed.
#[derive(Debug, Clone, Copy)]
pub struct RowMajor<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
    row_stride: usize,
    transposed: bool,
}

impl<'a> RowMajor<'a> {
    /// The `rows × cols` matrix whose row `r` is `data[r·cols .. (r+1)·cols]`.
    ///
    /// # Panics
    /// If `data` does not hold exactly `rows · cols` values (a caller's bug, not input).
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Self {
        assert_eq!(data.len(), rows * cols, "a {rows}×{cols} matrix");
        Self::strided(data, rows, cols, cols)
    }

    /// The `rows × cols` matrix whose row `r` is `data[r·row_stride ..][..cols]` (a block of
    /// a wider matrix).
    ///
    /// # Panics
    /// If `data` is too short for it or `row_stride < cols` (a caller's bug, not input).
    pub fn strided(data: &'a [f32], rows: usize, cols: usize, row_stride: usize) -> Self {
        assert!(
            row_stride >= cols,
            "row stride {row_stride} below {cols} columns"
        );
        assert!(
            rows == 0 || data.len() >= (rows - 1) * row_stride + cols,
            "a {rows}×{cols} matrix with row stride {row_stride} in {} values",
            data.len()
        );
        Self {
            data,
            rows,
            cols,
            row_stride,
            transposed: false,
        }
    }

    /// The same values read as the transposed matrix (nothing is copied).
    pub fn t(self) -> Self {
        Self {
            transposed: !self.transposed,
            ..self
        }
    }

    /// Rows and columns of the matrix as read.
    pub fn shape(&self) -> (usize, usize) {
        if self.transposed {
            (self.cols, self.rows)
        } else {
            (self.rows, self.cols)
        }
    }

    fn view(&self) -> MatRef<'a, f32> {
        let m = if self.rows == 0 {
            MatRef::from_row_major_slice(&[], 0, self.cols)
        } else {
            let len = (self.rows - 1) * self.row_stride + self.cols;
            MatRef::from_row_major_slice_with_stride(
                &self.data[..len],
                self.rows,
                self.cols,
                self.row_stride,
            )
        };
        if self.transposed { m.transpose() } else { m }
    }
}

/// `dst ← lhs · rhs` (or `dst ← dst + lhs · rhs` with `accumulate`), `dst` row-major with
/// `lhs`'s rows and `rhs`'s columns.
///
/// # Panics
/// If the shapes do not agree (a caller's bug, not input).
pub fn product_into(dst: &mut [f32], lhs: RowMajor<'_>, rhs: RowMajor<'_>, accumulate: bool) {
    let (m, n) = (lhs.shape().0, rhs.shape().1);
    assert_eq!(lhs.shape().1, rhs.shape().0, "inner dimensions");
    assert_eq!(dst.len(), m * n, "a {m}×{n} product");
    product_into_rows(dst, n, lhs, rhs, accumulate);
}

/// [`product_into`] where `dst`'s rows are `dst_stride` values apart (a block of a wider
/// matrix; the values between rows are left as they are).
///
/// # Panics
/// If the shapes do not agree or `dst` is too short (a caller's bug, not input).
pub fn product_into_rows(
    dst: &mut [f32],
    dst_stride: usize,
    lhs: RowMajor<'_>,
    rhs: RowMajor<'_>,
    accumulate: bool,
) {
    let ((m, k), (k2, n)) = (lhs.shape(), rhs.shape());
    assert_eq!(k, k2, "inner dimensions {k} and {k2}");
    assert!(dst_stride >= n, "row stride {dst_stride} below {n} columns");
    if m == 0 || n == 0 {
        return;
    }
    let len = (m - 1) * dst_stride + n;
    // The transpose of a column-major view: faer 0.24.4's `from_row_major_slice_with_stride_mut`
    // builds a column-major one (row stride 1), which the strided test here caught.
    let dst = MatMut::from_column_major_slice_with_stride_mut(&mut dst[..len], n, m, dst_stride)
        .transpose_mut();
    let accum = if accumulate {
        Accum::Add
    } else {
        Accum::Replace
    };
    faer::linalg::matmul::matmul(dst, accum, lhs.view(), rhs.view(), 1.0f32, Par::Seq);
    clear_upper_vector_state();
}

/// Clears the upper halves of the x86 vector registers after faer's kernels.
///
/// faer's x86 matrix kernels (the `private-gemm-x86` crate's assembly) return without a
/// `vzeroupper`, leaving the registers' upper halves dirty; until AVX code clears them, the
/// legacy-SSE code the thread runs next (cr's host loops and burn's scalar closures are built
/// for baseline x86-64) pays for it. Measured on the 2-core AMD EPYC: in a build that ran the
/// FCN's dense layers through these products, AdamW's host pass took 1.04 ms a step instead of
/// 0.35; with the convolution alone, the bench's AutoAttack-on-CNN row takes 0.895× the time
/// with this. LLVM ends a function compiled for AVX that has used a 256- or 512-bit register
/// with a `vzeroupper` (the release binary's disassembly shows it): running one such safe
/// function through faer's SIMD layer, `pulp`, after each product clears the state. Values are
/// not touched; on other architectures it does nothing.
fn clear_upper_vector_state() {
    struct TouchWideRegister;
    impl pulp::WithSimd for TouchWideRegister {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: pulp::Simd>(self, simd: S) {
            std::hint::black_box(simd.splat_f32s(0.0));
        }
    }
    pulp::Arch::new().dispatch(TouchWideRegister);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The product by its definition, in f64.
    fn naive(a: &[f32], b: &[f32], m: usize, k: usize, n: usize) -> Vec<f64> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k)
                    .map(|l| f64::from(a[i * k + l]) * f64::from(b[l * n + j]))
                    .sum();
            }
        }
        c
    }

    fn values(n: usize, seed: usize) -> Vec<f32> {
        (0..n)
            .map(|i| ((i * 37 + seed * 11) % 23) as f32 / 23.0 - 0.5)
            .collect()
    }

    fn transpose(a: &[f32], rows: usize, cols: usize) -> Vec<f32> {
        let mut t = vec![0.0; a.len()];
        for r in 0..rows {
            for c in 0..cols {
                t[c * rows + r] = a[r * cols + c];
            }
        }
        t
    }

    #[test]
    fn every_orientation_and_accumulation_matches_the_definition() {
        for (m, k, n) in [(1, 1, 1), (3, 5, 2), (17, 9, 33), (64, 70, 5)] {
            let (a, b) = (values(m * k, 1), values(k * n, 2));
            let want = naive(&a, &b, m, k, n);
            let (at, bt) = (transpose(&a, m, k), transpose(&b, k, n));
            let operands = [
                (RowMajor::new(&a, m, k), RowMajor::new(&b, k, n)),
                (RowMajor::new(&at, k, m).t(), RowMajor::new(&b, k, n)),
                (RowMajor::new(&a, m, k), RowMajor::new(&bt, n, k).t()),
                (RowMajor::new(&at, k, m).t(), RowMajor::new(&bt, n, k).t()),
            ];
            for (lhs, rhs) in operands {
                let mut c = vec![7.0f32; m * n];
                product_into(&mut c, lhs, rhs, false);
                for (x, y) in c.iter().zip(&want) {
                    assert!((f64::from(*x) - y).abs() < 1e-5, "{m}×{k}×{n}");
                }
                product_into(&mut c, lhs, rhs, true);
                for (x, y) in c.iter().zip(&want) {
                    assert!(
                        (f64::from(*x) - 2.0 * y).abs() < 1e-5,
                        "{m}×{k}×{n} accumulated"
                    );
                }
            }
        }
    }

    /// Blocks of wider matrices: a strided operand and a strided destination leave the
    /// values between the rows alone.
    #[test]
    fn strided_blocks_match_the_definition() {
        let (m, k, n, wide) = (5, 4, 3, 7);
        let a = values(m * wide, 3);
        let b = values(k * n, 4);
        let block: Vec<f32> = (0..m).flat_map(|r| a[r * wide..][..k].to_vec()).collect();
        let want = naive(&block, &b, m, k, n);
        let mut dst = vec![9.0f32; m * wide];
        product_into_rows(
            &mut dst,
            wide,
            RowMajor::strided(&a, m, k, wide),
            RowMajor::new(&b, k, n),
            false,
        );
        for r in 0..m {
            for c in 0..wide {
                let v = dst[r * wide + c];
                if c < n {
                    assert!((f64::from(v) - want[r * n + c]).abs() < 1e-5);
                } else {
                    assert_eq!(v, 9.0, "outside the block");
                }
            }
        }
    }

    #[test]
    #[should_panic(expected = "inner dimensions")]
    fn disagreeing_shapes_are_a_panic_not_a_wrong_answer() {
        let a = [1.0f32; 6];
        product_into(
            &mut [0.0; 4],
            RowMajor::new(&a, 2, 3),
            RowMajor::new(&a, 2, 3),
            false,
        );
    }
}
