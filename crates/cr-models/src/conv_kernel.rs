//! A 2-D convolution on host slices: forward, input gradient and weight gradient as
//! im2col / col2im around one matrix product per group of samples (no burn here).
//!
//! Layouts are PyTorch's: input `[B, C, H, W]`, weight `[O, C, kh, kw]`, output
//! `[B, O, H', W']`, all row-major. A group of `S` consecutive samples is convolved at once:
//! its columns `[C·kh·kw, S·H'·W']` (row `(c, i, j)`, the order of a weight row) are built in a
//! buffer the thread reuses, then
//!
//! * forward: `Y_g = W · cols_g`, `[O, S·H'·W']`;
//! * input gradient: with stride 1 the forward convolution of `dY` with the flipped kernel;
//!   otherwise `dcols_g = Wᵀ · dY_g`, scattered back onto the input (col2im);
//! * weight gradient: `dW = Σ_g dY_g · cols_gᵀ`.
//!
//! The group size depends only on the shapes (the weight gradient's is larger where the
//! gradient does not fit a core's cache, [`Geometry::weight_grad_group`]), and each product
//! runs on one thread ([`cr_linalg::product`]); groups run in parallel on rayon's pool. The
//! weight gradient sums the groups in [`WGRAD_PARTS`] fixed contiguous parts, each on one
//! thread, and then the parts in order. So a result has the same bits whatever the number of
//! threads.

use std::cell::RefCell;
use std::ops::Range;

use cr_linalg::product::{RowMajor, product_into, product_into_rows};
use rayon::prelude::*;

use crate::buffers::zeros;
use crate::conv_direct;

/// The weight gradient is summed in at most this many parts (then the parts in order).
pub const WGRAD_PARTS: usize = 16;

/// Columns of a group's product the grouping aims for: enough for the product's kernels to
/// run at speed on the small late layers (a 4×4 output has 16 columns a sample). A single
/// sample with more output positions than this is cut into tiles of whole output rows of about
/// this many columns, so that a tile's columns are still in cache when the product reads them.
const TARGET_COLUMNS: usize = 256;

/// Values of a group's column buffer at most (16 MiB of `f32`).
const MAX_COLUMN_VALUES: usize = 4 << 20;

/// A weight gradient of more values than this (1 MiB of `f32`) does not stay in a core's
/// cache between the products that add into it, so its products are made deeper: they aim for
/// [`DEEP_COLUMNS`] columns rather than [`TARGET_COLUMNS`].
const LARGE_GRADIENT_VALUES: usize = 1 << 18;

/// Columns a weight-gradient product aims for where the gradient is large. Measured on one
/// AMD EPYC core (AVX-512), the products of ResNet18's last two stages (`[256, 2304]` and
/// `[512, 4608]` gradients) ran at 60–90% of the kernels' forward rate with 256 columns and at
/// 85–95% with 480 to 1,056.
const DEEP_COLUMNS: usize = 512;

/// The shapes of one convolution: zero padding `pt` (top) and `pl` (left); the bottom and
/// right padding are implied by the output size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Geometry {
    /// Batch size.
    pub b: usize,
    /// Input channels.
    pub c: usize,
    /// Input height and width.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Output channels.
    pub o: usize,
    /// Kernel height.
    pub kh: usize,
    /// Kernel width.
    pub kw: usize,
    /// Vertical stride.
    pub sh: usize,
    /// Horizontal stride.
    pub sw: usize,
    /// Zero rows above the input.
    pub pt: usize,
    /// Zero columns left of the input.
    pub pl: usize,
    /// Output height.
    pub ho: usize,
    /// Output width.
    pub wo: usize,
}

impl Geometry {
    /// The geometry of input `[b, c, h, w]`, weight `[o, c, kh, kw]`, strides and padding
    /// `(top, left, bottom, right)`; `None` where the kernel does not fit the padded input or
    /// a stride or a size (other than the batch) is 0.
    pub fn new(
        [b, c, h, w]: [usize; 4],
        [o, kh, kw]: [usize; 3],
        [sh, sw]: [usize; 2],
        (pt, pl, pb, pr): (usize, usize, usize, usize),
    ) -> Option<Self> {
        let (hp, wp) = (h + pt + pb, w + pl + pr);
        if [c, h, w, o, sh, sw, kh, kw].contains(&0) || kh > hp || kw > wp {
            return None;
        }
        let (ho, wo) = ((hp - kh) / sh + 1, (wp - kw) / sw + 1);
        Some(Self {
            b,
            c,
            h,
            w,
            o,
            kh,
            kw,
            sh,
            sw,
            pt,
            pl,
            ho,
            wo,
        })
    }

    /// Rows of the column matrix (the length of a weight row): `c·kh·kw`.
    pub fn patch(&self) -> usize {
        self.c * self.kh * self.kw
    }

    /// Output positions per sample: `ho·wo`.
    pub fn positions(&self) -> usize {
        self.ho * self.wo
    }

    /// Values of one input sample.
    fn sample_in(&self) -> usize {
        self.c * self.h * self.w
    }

    /// Values of one output sample.
    fn sample_out(&self) -> usize {
        self.o * self.positions()
    }

    /// Samples convolved at once: enough for [`TARGET_COLUMNS`], few enough for
    /// [`MAX_COLUMN_VALUES`], at least one. A function of the shapes alone.
    pub fn group(&self) -> usize {
        self.group_for(TARGET_COLUMNS)
    }

    /// Samples per product of the weight gradient: as [`group`](Self::group), but aiming for
    /// [`DEEP_COLUMNS`] where the gradient has more than [`LARGE_GRADIENT_VALUES`] values.
    pub fn weight_grad_group(&self) -> usize {
        if self.o * self.patch() > LARGE_GRADIENT_VALUES {
            self.group_for(DEEP_COLUMNS)
        } else {
            self.group()
        }
    }

    /// Samples convolved at once for `columns` columns a product (see [`group`](Self::group)).
    fn group_for(&self, columns: usize) -> usize {
        let p = self.positions().max(1);
        let by_columns = columns.div_ceil(p);
        let by_memory = MAX_COLUMN_VALUES / (p * self.patch()).max(1);
        by_columns.min(by_memory).clamp(1, self.b.max(1))
    }

    /// Whether the column matrix of one sample is the sample itself (1×1, stride 1, no
    /// padding).
    fn is_pointwise(&self) -> bool {
        self.kh == 1
            && self.kw == 1
            && self.sh == 1
            && self.sw == 1
            && self.ho == self.h
            && self.wo == self.w
    }
}

thread_local! {
    /// Per-thread scratch: the group's columns and its gathered/product matrix.
    static SCRATCH: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
    /// Per-thread zero-padded input plane of [`im2col`].
    static PLANE: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with `a` and `b` values of this thread's two scratch buffers (contents
/// unspecified: every user overwrites them). The buffers only grow: shrinking and growing
/// them again would fill them anew at every call.
fn with_scratch<R>(a: usize, b: usize, f: impl FnOnce(&mut [f32], &mut [f32]) -> R) -> R {
    SCRATCH.with(|cell| {
        let mut guard = cell.borrow_mut();
        let (x, y) = &mut *guard;
        grow(x, a);
        grow(y, b);
        f(&mut x[..a], &mut y[..b])
    })
}

/// Makes `v` at least `n` long, never shorter.
fn grow(v: &mut Vec<f32>, n: usize) {
    if v.len() < n {
        v.resize(n, 0.0);
    }
}

/// Writes the columns of output rows `rows` of sample `x` (`[C, H, W]`) into `cols`
/// (`[patch, stride]` row-major) from column offset `at`:
/// `cols[(c,i,j)][at + (oh − rows.start)·wo + ow] = x[c, oh·sh + i − pt, ow·sw + j − pl]`, zero
/// outside the input. The padded rows those output rows read, of each input plane, are first
/// copied into a zero-padded window (this thread's), so that every row segment of the columns
/// is a copy of fixed length and stride. The models' widths and strides get a copy whose
/// length is known at compile time (inline vector moves); any other shape the general loop.
fn im2col(g: &Geometry, x: &[f32], cols: &mut [f32], stride: usize, at: usize, rows: Range<usize>) {
    let step = g.sh * ((g.wo - 1) * g.sw + g.kw);
    macro_rules! fixed {
        ($(($w:literal, $s:literal)),*) => {
            match (g.wo, g.sw) {
                $(($w, $s) => im2col_by(g, x, cols, stride, at, rows, |out, src| {
                    fixed_rows::<$w, $s>(out, src, step)
                }),)*
                _ => im2col_by(g, x, cols, stride, at, rows, |out, src| {
                    any_rows(out, src, g.wo, g.sw, step)
                }),
            }
        };
    }
    fixed!(
        (32, 1),
        (16, 1),
        (8, 1),
        (4, 1),
        (28, 1),
        (14, 1),
        (7, 1),
        (16, 2),
        (8, 2),
        (4, 2),
        (14, 2),
        (7, 2)
    )
}

/// [`im2col`] with `copy(row, window)` writing one row of the columns from the padded window,
/// `window` starting at the kernel offset's first value.
fn im2col_by(
    g: &Geometry,
    x: &[f32],
    cols: &mut [f32],
    stride: usize,
    at: usize,
    rows: Range<usize>,
    copy: impl Fn(&mut [f32], &[f32]),
) {
    let n = rows.len() * g.wo;
    // The padded rows (from `top`) and columns the kernel reads for these output rows.
    let top = rows.start * g.sh;
    let (hp, wp) = (
        (rows.len().max(1) - 1) * g.sh + g.kh,
        (g.wo - 1) * g.sw + g.kw,
    );
    PLANE.with(|cell| {
        let mut buffer = cell.borrow_mut();
        grow(&mut buffer, hp * wp);
        let padded = &mut buffer[..hp * wp];
        padded.fill(0.0);
        let mut r = 0;
        for plane in x.chunks_exact(g.h * g.w) {
            pad_window(g, plane, padded, wp, top);
            for i in 0..g.kh {
                for j in 0..g.kw {
                    copy(&mut cols[r * stride + at..][..n], &padded[i * wp + j..]);
                    r += 1;
                }
            }
        }
    });
}

/// One row of the columns from the padded window: output row `k` of `out` (`WO` wide) takes
/// `src[k·row_step + ow·S]` for `ow < WO`.
fn fixed_rows<const WO: usize, const S: usize>(out: &mut [f32], src: &[f32], row_step: usize) {
    let span = (WO - 1) * S + 1;
    let (rows, _) = out.as_chunks_mut::<WO>();
    for (k, o) in rows.iter_mut().enumerate() {
        let s = &src[k * row_step..][..span];
        for (q, v) in o.iter_mut().enumerate() {
            *v = s[q * S];
        }
    }
}

/// [`fixed_rows`] for any width and stride.
fn any_rows(out: &mut [f32], src: &[f32], wo: usize, sw: usize, row_step: usize) {
    for (k, o) in out.chunks_exact_mut(wo).enumerate() {
        let s = &src[k * row_step..];
        if sw == 1 {
            copy_short(o, &s[..wo]);
        } else {
            for (v, x) in o.iter_mut().zip(s.iter().step_by(sw)) {
                *v = *x;
            }
        }
    }
}

/// Copies rows `top..` of `plane` (`[H, W]`) into the zero-padded window `padded` (`[hp, wp]`:
/// `pt` zero rows above the input, `pl` zero columns left of it; columns the kernel never
/// reads are left out). Only the values inside the input are written: the caller zeroes the
/// window once, and the padding is the same for every plane of a call.
fn pad_window(g: &Geometry, plane: &[f32], padded: &mut [f32], wp: usize, top: usize) {
    let cw = g.w.min(wp.saturating_sub(g.pl));
    if cw == 0 {
        return; // the kernel reads padding only (a stride larger than the kernel can do so)
    }
    for (pr, dst) in padded.chunks_exact_mut(wp).enumerate() {
        // Padded row top + pr is input row top + pr − pt, where that lies inside the input.
        if let Some(r) = (top + pr).checked_sub(g.pt).filter(|&r| r < g.h) {
            copy_short(&mut dst[g.pl..][..cw], &plane[r * g.w..][..cw]);
        }
    }
}

/// `dst ← src` for the short rows of a convolution, in fixed-size chunks (inline vector
/// moves rather than a `memcpy` call per row); the last chunk overlaps the one before.
fn copy_short(dst: &mut [f32], src: &[f32]) {
    fn by<const K: usize>(dst: &mut [f32], src: &[f32]) {
        let n = dst.len();
        let (d, _) = dst.as_chunks_mut::<K>();
        let (s, _) = src[..n].as_chunks::<K>();
        for (d, s) in d.iter_mut().zip(s) {
            *d = *s;
        }
        if !n.is_multiple_of(K) {
            let (d, s) = (&mut dst[n - K..], &src[n - K..n]);
            for (d, s) in d.iter_mut().zip(s) {
                *d = *s;
            }
        }
    }
    match dst.len() {
        n if n >= 16 => by::<16>(dst, src),
        n if n >= 8 => by::<8>(dst, src),
        n if n >= 4 => by::<4>(dst, src),
        _ => {
            for (d, s) in dst.iter_mut().zip(src) {
                *d = *s;
            }
        }
    }
}

/// Adds the columns' gradient `dcols` (`[patch, stride]`, sample at offset `at`) onto the
/// sample's input gradient `dx` (`[C, H, W]`): the transpose of [`im2col`], in a fixed order.
fn col2im(g: &Geometry, dcols: &[f32], stride: usize, at: usize, dx: &mut [f32]) {
    let mut r = 0;
    for plane in dx.chunks_exact_mut(g.h * g.w) {
        for i in 0..g.kh {
            for j in 0..g.kw {
                let row = &dcols[r * stride + at..][..g.positions()];
                let (lo, hi) = valid_columns(g, j);
                r += 1;
                if lo >= hi {
                    continue;
                }
                for (oh, d) in row.chunks_exact(g.wo).enumerate() {
                    let ih = (oh * g.sh + i).wrapping_sub(g.pt);
                    if ih >= g.h {
                        continue;
                    }
                    let dst = &mut plane[ih * g.w..][..g.w];
                    let first = lo * g.sw + j - g.pl;
                    if g.sw == 1 {
                        for (o, v) in dst[first..first + hi - lo].iter_mut().zip(&d[lo..hi]) {
                            *o += *v;
                        }
                    } else {
                        for (o, v) in dst[first..].iter_mut().step_by(g.sw).zip(&d[lo..hi]) {
                            *o += *v;
                        }
                    }
                }
            }
        }
    }
}

/// The output columns `lo..hi` whose input column `ow·sw + j − pl` lies inside the input.
fn valid_columns(g: &Geometry, j: usize) -> (usize, usize) {
    // ow·sw + j ≥ pl  and  ow·sw + j − pl ≤ w − 1.
    let lo = g.pl.saturating_sub(j).div_ceil(g.sw);
    let hi = if g.w + g.pl > j {
        ((g.w + g.pl - j - 1) / g.sw + 1).min(g.wo)
    } else {
        0
    };
    (lo.min(hi), hi)
}

/// `[S, O, P]` (sample-major, as NCHW stores a group) to `[O, S·P]` (channel-major).
fn gather(src: &[f32], dst: &mut [f32], o: usize, p: usize) {
    let s = src.len() / (o * p);
    for (k, sample) in src.chunks_exact(o * p).enumerate() {
        for (ch, row) in sample.chunks_exact(p).enumerate() {
            dst[ch * s * p + k * p..][..p].copy_from_slice(row);
        }
    }
}

/// `[O, S·P]` back to `[S, O, P]`.
fn scatter(src: &[f32], dst: &mut [f32], o: usize, p: usize) {
    let s = dst.len() / (o * p);
    for (k, sample) in dst.chunks_exact_mut(o * p).enumerate() {
        for (ch, row) in sample.chunks_exact_mut(p).enumerate() {
            row.copy_from_slice(&src[ch * s * p + k * p..][..p]);
        }
    }
}

/// Builds the columns of `x_group` (whole samples) into `cols`, `[patch, S·P]`.
fn group_columns(g: &Geometry, x_group: &[f32], cols: &mut [f32]) {
    let s = x_group.len() / g.sample_in();
    for (k, x) in x_group.chunks_exact(g.sample_in()).enumerate() {
        im2col(g, x, cols, s * g.positions(), k * g.positions(), 0..g.ho);
    }
}

/// The output-row tiles of one sample: whole rows, about [`TARGET_COLUMNS`] columns each.
fn row_tiles(g: &Geometry) -> impl Iterator<Item = Range<usize>> + '_ {
    let rows = TARGET_COLUMNS.div_ceil(g.wo).max(1);
    (0..g.ho)
        .step_by(rows)
        .map(move |r| r..(r + rows).min(g.ho))
}

/// The convolution of `x` (`[B, C, H, W]`) with `weight` (`[O, C, kh, kw]`), no bias:
/// `[B, O, H', W']`.
pub fn forward(g: &Geometry, x: &[f32], weight: &[f32]) -> Vec<f32> {
    if conv_direct::takes(g) {
        return conv_direct::forward(g, x, weight);
    }
    forward_by_columns(g, x, weight)
}

/// `relu(conv(x) + bias)` (`bias` per output channel, if any), each sample finished while
/// its output is in cache: the bias added to each value, then burn-flex's ReLU (`v` where
/// `v > 0` or `v` is NaN, else `+0`). The same bits as [`forward`] followed by those two
/// element-wise operations.
pub fn forward_bias_relu(
    g: &Geometry,
    x: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
) -> Vec<f32> {
    if conv_direct::takes(g) {
        return conv_direct::Plan::new(g, weight)
            .with_bias_relu(bias)
            .forward(x);
    }
    let mut out = forward(g, x, weight);
    let p = g.positions();
    if !out.is_empty() && p > 0 {
        out.par_chunks_mut(g.sample_out())
            .for_each(|sample| bias_relu(sample, bias, p));
    }
    out
}

/// Whether burn-flex's ReLU passes `v` (its value forward, its gradient backward): `v > 0` or
/// NaN. Everything else becomes `+0`.
pub(crate) fn relu_passes(v: f32) -> bool {
    v.is_nan() || v > 0.0
}

/// [`forward_bias_relu`]'s finish of one sample (`[O, P]`).
fn bias_relu(sample: &mut [f32], bias: Option<&[f32]>, p: usize) {
    let relu = |v: f32| if relu_passes(v) { v } else { 0.0 };
    for (o, plane) in sample.chunks_exact_mut(p).enumerate() {
        match bias {
            Some(b) => plane.iter_mut().for_each(|v| *v = relu(*v + b[o])),
            None => plane.iter_mut().for_each(|v| *v = relu(*v)),
        }
    }
}

/// The gradient of a ReLU's input from its output `y` and the output's gradient `dy`: `dy`
/// where `y > 0` or `y` is NaN, else `+0`, as burn-flex's `relu_backward`.
pub fn relu_mask(y: &[f32], dy: &[f32]) -> Vec<f32> {
    y.par_iter()
        .zip(dy)
        .with_min_len(1 << 14)
        .map(|(&y, &d)| if relu_passes(y) { d } else { 0.0 })
        .collect()
}

/// [`forward`] by im2col and one product per group of samples.
pub(crate) fn forward_by_columns(g: &Geometry, x: &[f32], weight: &[f32]) -> Vec<f32> {
    let mut out = zeros(g.b * g.sample_out());
    let (s, p, k) = (g.group(), g.positions(), g.patch());
    if out.is_empty() {
        return out;
    }
    let w = RowMajor::new(weight, g.o, k);
    out.par_chunks_mut(s * g.sample_out())
        .zip(x.par_chunks(s * g.sample_in()))
        .for_each(|(out, x)| {
            let n = out.len() / g.sample_out() * p;
            if n == p && g.is_pointwise() {
                return product_into(out, w, RowMajor::new(x, k, n), false);
            }
            if n == p {
                return forward_tiles(g, x, w, out);
            }
            with_scratch(k * n, g.o * n, |cols, y| {
                group_columns(g, x, cols);
                product_into(y, w, RowMajor::new(cols, k, n), false);
                scatter(y, out, g.o, p);
            });
        });
    out
}

/// The forward pass of one sample, tile by tile of output rows, into `out` (`[O, P]`).
fn forward_tiles(g: &Geometry, x: &[f32], w: RowMajor<'_>, out: &mut [f32]) {
    let (p, k) = (g.positions(), g.patch());
    for rows in row_tiles(g) {
        let n = rows.len() * g.wo;
        with_scratch(k * n, 0, |cols, _| {
            im2col(g, x, cols, n, 0, rows.clone());
            let dst = &mut out[rows.start * g.wo..];
            product_into_rows(dst, p, w, RowMajor::new(cols, k, n), false);
        });
    }
}

/// The gradient with respect to the input, given the output's gradient `dy`
/// (`[B, O, H', W']`): `[B, C, H, W]`. With stride 1 it is the forward convolution of `dy` with
/// the kernel flipped and its channels swapped ([`transposed`]); otherwise `Wᵀ · dY` scattered
/// back by col2im.
pub fn input_grad(g: &Geometry, dy: &[f32], weight: &[f32]) -> Vec<f32> {
    match transposed(g) {
        Some(t) => forward(&t, dy, &flipped(g, weight)),
        None => input_grad_by_col2im(g, dy, weight),
    }
}

/// Where [`input_grad`] runs [`conv_direct`]: the geometry of the convolution it runs and the
/// flipped weight, so that a caller can run it sample by sample (`dx = conv(dy, flipped W)`,
/// the same bits).
pub(crate) fn direct_input_grad(g: &Geometry, weight: &[f32]) -> Option<(Geometry, Vec<f32>)> {
    let t = transposed(g).filter(conv_direct::takes)?;
    Some((t, flipped(g, weight)))
}

/// For stride 1 and padding below the kernel size: the geometry of the convolution whose
/// output is the input gradient (input `[B, O, H', W']`, kernel `[C, kh, kw]`, padding
/// `k − 1 − p` on each side), so that `dx = conv(dy, flipped W)`.
fn transposed(g: &Geometry) -> Option<Geometry> {
    if g.sh != 1 || g.sw != 1 {
        return None;
    }
    // The padding below and right that the output size implies (stride 1: exact).
    let pb = (g.ho + g.kh - 1).checked_sub(g.h + g.pt)?;
    let pr = (g.wo + g.kw - 1).checked_sub(g.w + g.pl)?;
    let pad = |k: usize, p: usize| (k - 1).checked_sub(p);
    let t = Geometry::new(
        [g.b, g.o, g.ho, g.wo],
        [g.c, g.kh, g.kw],
        [1, 1],
        (
            pad(g.kh, g.pt)?,
            pad(g.kw, g.pl)?,
            pad(g.kh, pb)?,
            pad(g.kw, pr)?,
        ),
    )?;
    (t.ho == g.h && t.wo == g.w).then_some(t)
}

/// `W'[c, o, i, j] = W[o, c, kh − 1 − i, kw − 1 − j]`.
fn flipped(g: &Geometry, weight: &[f32]) -> Vec<f32> {
    let mut out = vec![0.0f32; weight.len()];
    let k = g.kh * g.kw;
    for o in 0..g.o {
        for c in 0..g.c {
            let src = &weight[(o * g.c + c) * k..][..k];
            let dst = &mut out[(c * g.o + o) * k..][..k];
            for (d, s) in dst.iter_mut().zip(src.iter().rev()) {
                *d = *s;
            }
        }
    }
    out
}

/// [`input_grad`] by `Wᵀ · dY` and col2im (any stride).
fn input_grad_by_col2im(g: &Geometry, dy: &[f32], weight: &[f32]) -> Vec<f32> {
    let mut dx = zeros(g.b * g.sample_in());
    let (s, p, k) = (g.group(), g.positions(), g.patch());
    if dx.is_empty() || dy.is_empty() {
        return dx;
    }
    let wt = RowMajor::new(weight, g.o, k).t();
    dx.par_chunks_mut(s * g.sample_in())
        .zip(dy.par_chunks(s * g.sample_out()))
        .for_each(|(dx, dy)| {
            let n = dy.len() / g.sample_out() * p;
            if n == p && g.is_pointwise() {
                return product_into(dx, wt, RowMajor::new(dy, g.o, n), false);
            }
            with_scratch(k * n, if n == p { 0 } else { g.o * n }, |dcols, dyg| {
                let dy = if n == p {
                    dy
                } else {
                    gather(dy, dyg, g.o, p);
                    &*dyg
                };
                product_into(dcols, wt, RowMajor::new(dy, g.o, n), false);
                for (at, dx) in dx.chunks_exact_mut(g.sample_in()).enumerate() {
                    col2im(g, dcols, n, at * p, dx);
                }
            });
        });
    dx
}

/// The gradient with respect to the weight, given the input `x` and the output's gradient
/// `dy`: `[O, C, kh, kw]`.
pub fn weight_grad(g: &Geometry, x: &[f32], dy: &[f32]) -> Vec<f32> {
    let (s, p, k) = (g.weight_grad_group(), g.positions(), g.patch());
    let size = g.o * k;
    let groups = g.b.div_ceil(s);
    if groups == 0 || size == 0 || p == 0 {
        return vec![0.0; size];
    }
    let per_part = groups.div_ceil(WGRAD_PARTS);
    let mut parts = vec![0.0f32; groups.div_ceil(per_part) * size];
    parts
        .par_chunks_mut(size)
        .enumerate()
        .for_each(|(part, acc)| {
            let first = part * per_part * s;
            let last = ((part + 1) * per_part * s).min(g.b);
            for b0 in (first..last).step_by(s) {
                let b1 = (b0 + s).min(last);
                let n = (b1 - b0) * p;
                let xg = &x[b0 * g.sample_in()..b1 * g.sample_in()];
                let dyg = &dy[b0 * g.sample_out()..b1 * g.sample_out()];
                let accumulate = b0 != first;
                if n == p && g.is_pointwise() {
                    let (dy, xt) = (RowMajor::new(dyg, g.o, n), RowMajor::new(xg, k, n).t());
                    product_into(acc, dy, xt, accumulate);
                    continue;
                }
                if n == p {
                    weight_grad_tiles(g, xg, dyg, acc, accumulate);
                    continue;
                }
                with_scratch(k * n, g.o * n, |cols, gathered| {
                    group_columns(g, xg, cols);
                    gather(dyg, gathered, g.o, p);
                    let dy = RowMajor::new(gathered, g.o, n);
                    product_into(acc, dy, RowMajor::new(cols, k, n).t(), accumulate);
                });
            }
        });
    let mut sum = parts.chunks_exact(size);
    let mut dw = sum.next().map(<[f32]>::to_vec).unwrap_or_default();
    for part in sum {
        for (d, v) in dw.iter_mut().zip(part) {
            *d += *v;
        }
    }
    dw
}

/// One sample's contribution to the weight gradient, tile by tile of output rows:
/// `acc (+)= Σ_tiles dY[:, tile] · cols_tileᵀ`.
fn weight_grad_tiles(g: &Geometry, x: &[f32], dy: &[f32], acc: &mut [f32], accumulate: bool) {
    let (p, k) = (g.positions(), g.patch());
    for (t, rows) in row_tiles(g).enumerate() {
        let n = rows.len() * g.wo;
        with_scratch(k * n, 0, |cols, _| {
            im2col(g, x, cols, n, 0, rows.clone());
            let dy = RowMajor::strided(&dy[rows.start * g.wo..], g.o, n, p);
            product_into(acc, dy, RowMajor::new(cols, k, n).t(), accumulate || t > 0);
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use proptest::prelude::*;

    /// The convolution and its gradients by their definitions, in f64, one term at a time.
    struct Direct {
        y: Vec<f64>,
        dx: Vec<f64>,
        dw: Vec<f64>,
    }

    fn direct(g: &Geometry, x: &[f32], w: &[f32], dy: &[f32]) -> Direct {
        let mut d = Direct {
            y: vec![0.0; g.b * g.sample_out()],
            dx: vec![0.0; x.len()],
            dw: vec![0.0; w.len()],
        };
        for b in 0..g.b {
            for o in 0..g.o {
                for oh in 0..g.ho {
                    for ow in 0..g.wo {
                        let yi = ((b * g.o + o) * g.ho + oh) * g.wo + ow;
                        for c in 0..g.c {
                            for i in 0..g.kh {
                                for j in 0..g.kw {
                                    let ih = (oh * g.sh + i) as isize - g.pt as isize;
                                    let iw = (ow * g.sw + j) as isize - g.pl as isize;
                                    if ih < 0 || iw < 0 || ih >= g.h as isize || iw >= g.w as isize
                                    {
                                        continue;
                                    }
                                    let xi =
                                        ((b * g.c + c) * g.h + ih as usize) * g.w + iw as usize;
                                    let wi = ((o * g.c + c) * g.kh + i) * g.kw + j;
                                    d.y[yi] += f64::from(x[xi]) * f64::from(w[wi]);
                                    d.dx[xi] += f64::from(dy[yi]) * f64::from(w[wi]);
                                    d.dw[wi] += f64::from(dy[yi]) * f64::from(x[xi]);
                                }
                            }
                        }
                    }
                }
            }
        }
        d
    }

    fn close(got: &[f32], want: &[f64], what: &str, g: &Geometry) {
        assert_eq!(got.len(), want.len(), "{what} {g:?}");
        let scale = want.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        for (a, b) in got.iter().zip(want) {
            assert!(
                (f64::from(*a) - b).abs() <= 1e-5 * scale,
                "{what}: {a} vs {b}, {g:?}"
            );
        }
    }

    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5
            })
            .collect()
    }

    fn check(g: &Geometry, seed: u64) {
        let x = values(g.b * g.sample_in(), seed);
        let w = values(g.o * g.patch(), seed + 1);
        let dy = values(g.b * g.sample_out(), seed + 2);
        let want = direct(g, &x, &w, &dy);
        close(&forward(g, &x, &w), &want.y, "forward", g);
        close(&input_grad(g, &dy, &w), &want.dx, "input gradient", g);
        close(
            &input_grad_by_col2im(g, &dy, &w),
            &want.dx,
            "input gradient by col2im",
            g,
        );
        close(&weight_grad(g, &x, &dy), &want.dw, "weight gradient", g);
    }

    /// The shapes of the paper's models: 3×3 and 1×1, stride 1 and 2, the 7×7 stride-2 stem,
    /// the patch embedding (kernel = stride), groups of one sample and of several.
    #[test]
    fn the_models_shapes_match_the_definition() {
        for (b, c, hw, o, k, s, p) in [
            (3, 1, 28, 8, 3, 1, 1),
            (2, 8, 14, 16, 3, 1, 1),
            (5, 4, 4, 6, 3, 1, 1),
            (4, 3, 9, 5, 3, 2, 1),
            (3, 6, 8, 4, 1, 2, 0),
            (3, 6, 5, 4, 1, 1, 0),
            (2, 3, 20, 4, 7, 2, 3),
            (2, 3, 8, 5, 4, 4, 0),
            (1, 2, 3, 2, 3, 1, 0),
        ] {
            let g = Geometry::new([b, c, hw, hw], [o, k, k], [s, s], (p, p, p, p)).unwrap();
            check(&g, b as u64 * 7 + k as u64);
        }
    }

    /// A gradient too large for the cache is summed in deeper groups of samples than the
    /// forward pass uses ([`Geometry::weight_grad_group`]), an uneven last group included. On a
    /// 1×1 input with a padded 3×3 kernel only the centre tap sees the input, so the gradient
    /// is `dW[o, c, 1, 1] = Σ_b dy[b, o] · x[b, c]` and zero elsewhere.
    #[test]
    fn a_large_weight_gradient_is_summed_in_deeper_groups_and_matches_the_definition() {
        let (b, c, o) = (600, 64, 512);
        let g = Geometry::new([b, c, 1, 1], [o, 3, 3], [1, 1], (1, 1, 1, 1)).unwrap();
        assert!(g.weight_grad_group() > g.group() && !b.is_multiple_of(g.weight_grad_group()));
        let (x, dy) = (values(b * c, 5), values(b * o, 6));
        let dw = weight_grad(&g, &x, &dy);
        let mut want = vec![0.0f64; o * c * 9];
        for s in 0..b {
            for oo in 0..o {
                let d = f64::from(dy[s * o + oo]);
                for cc in 0..c {
                    want[(oo * c + cc) * 9 + 4] += d * f64::from(x[s * c + cc]);
                }
            }
        }
        close(&dw, &want, "weight gradient", &g);
    }

    #[test]
    fn a_kernel_larger_than_the_padded_input_or_a_zero_stride_is_refused() {
        assert!(Geometry::new([1, 1, 2, 2], [1, 3, 3], [1, 1], (0, 0, 0, 0)).is_none());
        assert!(Geometry::new([1, 1, 4, 4], [1, 3, 3], [0, 1], (0, 0, 0, 0)).is_none());
        assert!(Geometry::new([1, 1, 2, 2], [1, 3, 3], [1, 1], (1, 1, 0, 0)).is_some());
    }

    /// The same bits whatever the size of rayon's pool.
    #[test]
    fn results_do_not_depend_on_the_thread_count() {
        let g = Geometry::new([37, 2, 16, 16], [4, 3, 3], [1, 1], (1, 1, 1, 1)).unwrap();
        assert!(
            g.b.div_ceil(g.group()) > WGRAD_PARTS,
            "several groups per part"
        );
        let (x, w, dy) = (values(37 * 512, 1), values(72, 2), values(37 * 1024, 3));
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                (
                    forward(&g, &x, &w),
                    input_grad(&g, &dy, &w),
                    weight_grad(&g, &x, &dy),
                )
            })
        };
        let bits = |(a, b, c): (Vec<f32>, Vec<f32>, Vec<f32>)| {
            [a, b, c].map(|v| v.into_iter().map(f32::to_bits).collect::<Vec<_>>())
        };
        let one = bits(run(1));
        for threads in [2, 3, 8] {
            assert!(one == bits(run(threads)), "{threads} threads");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
        /// Random shapes, strides and asymmetric padding against the definition.
        #[test]
        fn random_shapes_match_the_definition(
            b in 1usize..5, c in 1usize..4, h in 1usize..9, w in 1usize..9, o in 1usize..5,
            kh in 1usize..4, kw in 1usize..4, sh in 1usize..4, sw in 1usize..4,
            pad in (0usize..3, 0usize..3, 0usize..3, 0usize..3), seed in 0u64..1000,
        ) {
            if let Some(g) = Geometry::new([b, c, h, w], [o, kh, kw], [sh, sw], pad) {
                check(&g, seed);
            }
        }
    }
}
