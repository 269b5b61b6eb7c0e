//! A direct convolution for stride 1 and short patches, on host slices: no column matrix.
//!
//! im2col writes `C·kh·kw` copies of every input value before its product reads them. Where
//! the patch `C·kh·kw` is short (the CPU-scale CNN's layers: 9 and 144; their input
//! gradients: 144 and 288) those copies cost about what the product costs, and a product with
//! so short an inner dimension, or with one output row (the input gradient of a one-channel
//! first layer), runs far below the kernels' rate. Here a sample's planes are zero-padded once,
//! rows `wp = W + pl + pr` wide; output row `oh` at columns `ow .. ow + lanes` reads, for tap
//! `(i, j)`, the contiguous run of padded row `oh + i` from column `ow + j`. So every tap is one
//! SIMD load, multiplied against the broadcast weights of a block of output channels, and each
//! output row is written straight into the output (the last vector of a row masked).
//!
//! Where the output is as wide as the input (a "same" convolution: `pl + pr = kw - 1`) and its
//! rows do not fill whole vectors (rows of 14 or 28 outputs, 16 lanes), the vectors run across
//! rows instead ("flat" layout): the padded rows are `W` wide, with no padding columns, so
//! output `p = oh·W + ow` reads for tap `(i, j)` the value `i·W + j` after `p`. A lane whose
//! column `ow + j - pl` lies outside the input has read the end or start of a neighbouring row:
//! a mask sets it to `+0`, the value a padding column would hold. So no lane is wasted on the
//! padding columns' positions (13 vectors for a 14 × 14 plane instead of 14, 49 for 28 × 28
//! instead of 56), and every product is the same. This layout is taken for 8 or more output
//! channels, where one mask serves a block of 8.
//!
//! Each output is the fused multiply-add chain `acc ← w[o,c,i,j]·x + acc` from `+0`, over
//! `(c, i, j)` in the order of a weight row: the chain faer's kernel runs over the column matrix
//! for inner lengths from [`MIN_PATCH`] to [`MAX_PATCH`]. So the results are the same bits as the im2col path's
//! (tested bit for bit, over the shapes this path takes), and taking this path changes no
//! result.

use std::cell::RefCell;

use pulp::{Simd, WithSimd};
use rayon::prelude::*;

use crate::buffers::{load_first, store_first, zeros};
use crate::conv_kernel::Geometry;

/// The longest patch (`C·kh·kw`) this path takes. Up to here the product of the im2col path
/// was checked to run one sequential fused multiply-add chain per output from `+0` (see the
/// tests); beyond it the products are long enough to run near the kernels' rate anyway.
pub const MAX_PATCH: usize = 288;

/// The shortest patch this path takes. faer's kernels for shorter products (1 to 4 terms) do
/// not start the chain from `+0`: there an output whose products are all zero can be `-0`
/// where this path gives `+0` (found by the tests' random shapes).
pub const MIN_PATCH: usize = 5;

/// Whether [`forward`] takes this convolution: stride 1 and a patch of [`MIN_PATCH`] to
/// [`MAX_PATCH`].
pub fn takes(g: &Geometry) -> bool {
    g.sh == 1 && g.sw == 1 && (MIN_PATCH..=MAX_PATCH).contains(&g.patch())
}

thread_local! {
    /// Per-thread zero-padded planes of one sample, and the layout they were last zeroed for
    /// ([`Plan::layout`]): the padding stays zero from one sample to the next of that layout.
    static PADDED: RefCell<(Vec<f32>, [usize; 8])> = const { RefCell::new((Vec::new(), [0; 8])) };
}

/// The convolution of `x` (`[B, C, H, W]`) with `weight` (`[O, C, kh, kw]`), no bias
/// (`[B, O, H', W']`), samples in parallel on rayon's pool. The geometry must be one [`takes`]
/// accepts.
pub fn forward(g: &Geometry, x: &[f32], weight: &[f32]) -> Vec<f32> {
    debug_assert!(takes(g));
    Plan::new(g, weight).forward(x)
}

/// What every sample of a call shares: the shapes, the packed weight, the taps' offsets and
/// the output vectors.
pub(crate) struct Plan<'a> {
    g: &'a Geometry,
    /// Rows of a padded plane, and the distance between its rows: `W + pl + pr`, or `W` in
    /// the flat layout.
    hp: usize,
    wp: usize,
    /// Whether the vectors run across rows, masked at the rows' ends (the flat layout).
    flat: bool,
    /// The weight in blocks of output channels ([`pack`]).
    packed: Vec<f32>,
    /// Each tap `(i, j)` in weight-row order: its offset `i·wp + j` in a padded plane, and, in
    /// the flat layout where `j ≠ pl`, where column `j`'s masks start within a vector's masks.
    taps: Vec<(usize, Option<usize>)>,
    /// The output vectors.
    vectors: Vec<Vector>,
    /// The flat layout's lane masks (all bits set: the lane's input is inside the input row;
    /// zero: outside), `kw` vectors of them per output vector.
    masks: Vec<f32>,
    /// Values after the last padded plane that a vector may read.
    slack: usize,
    /// Whether each output is finished as `relu(v + bias)` before it is stored
    /// ([`Plan::with_bias_relu`]).
    relu: bool,
    /// The bias of each output channel, if any (only with `relu`).
    bias: Option<&'a [f32]>,
}

impl<'a> Plan<'a> {
    /// The plan of convolution `g` (one [`takes`] accepts) with `weight` (`[O, C, kh, kw]`).
    pub(crate) fn new(g: &'a Geometry, weight: &[f32]) -> Self {
        let lanes = lanes();
        // Each masked load serves a block's channels: with fewer than 8 of them the masks'
        // loads cost more than the lanes gain (measured: the first layer's input gradient, one
        // output channel, 1.19 → 1.36 ms flat).
        let flat = g.wo == g.w && !g.wo.is_multiple_of(lanes) && g.o >= 8;
        let hp = g.ho + g.kh - 1;
        let (wp, vectors, masks) = if flat {
            let (vectors, masks) = flat_vectors(g, lanes);
            (g.w, vectors, masks)
        } else {
            (g.wo + g.kw - 1, row_vectors(g, lanes), Vec::new())
        };
        let taps = (0..g.kh)
            .flat_map(|i| (0..g.kw).map(move |j| (i, j)))
            .map(|(i, j)| (i * wp + j, (flat && j != g.pl).then_some(j * lanes)))
            .collect();
        Self {
            g,
            hp,
            wp,
            flat,
            packed: pack(g, weight),
            taps,
            vectors,
            masks,
            // A flat vector reads up to `kw + lanes - 2` values past the last plane.
            slack: lanes + if flat { g.kw } else { 0 },
            relu: false,
            bias: None,
        }
    }

    /// The plan that finishes each output as burn-flex's `relu(v + bias[o])` (without a bias,
    /// `relu(v)`: `v` where `v > 0` or NaN, else `+0`) in the registers, before the store: the
    /// bits of the bias addition and the ReLU after the convolution.
    pub(crate) fn with_bias_relu(self, bias: Option<&'a [f32]>) -> Self {
        Self {
            relu: true,
            bias,
            ..self
        }
    }

    /// The whole batch: `x` (`[B, C, H, W]`) to `[B, O, H', W']`, samples in parallel on
    /// rayon's pool.
    pub(crate) fn forward(&self, x: &[f32]) -> Vec<f32> {
        let g = self.g;
        let sample_out = g.o * g.positions();
        let mut out = zeros(g.b * sample_out);
        if !out.is_empty() {
            out.par_chunks_mut(sample_out)
                .zip(x.par_chunks(g.c * g.h * g.w))
                .for_each(|(out, x)| self.sample(x, out));
        }
        out
    }

    /// What decides where the padded planes hold input values: channels, input size, padding
    /// above and left, padded size, layout.
    fn layout(&self) -> [usize; 8] {
        let g = self.g;
        [
            g.c,
            g.h,
            g.w,
            g.pt,
            g.pl,
            self.hp,
            self.wp,
            usize::from(self.flat),
        ]
    }

    /// One sample: `x` `[C, H, W]` into `out` `[O, H', W']`, on the calling thread.
    pub(crate) fn sample(&self, x: &[f32], out: &mut [f32]) {
        let g = self.g;
        let layout = self.layout();
        let len = g.c * self.hp * self.wp + self.slack;
        PADDED.with(|cell| {
            let mut guard = cell.borrow_mut();
            let (padded, laid_out) = &mut *guard;
            if padded.len() < len {
                padded.resize(len, 0.0);
            }
            let padded = &mut padded[..len];
            if *laid_out != layout {
                padded.fill(0.0);
                *laid_out = layout;
            }
            pulp::Arch::new().dispatch(Kernel {
                plan: self,
                x,
                padded,
                out,
            });
        });
    }
}

/// One output vector: the offset of its first input in a padded plane, of its first output in
/// an output plane, its number of outputs, and where its lane masks start in `Plan::masks`
/// (flat layout).
#[derive(Clone, Copy, Debug)]
struct Vector {
    input: usize,
    output: usize,
    len: usize,
    mask: usize,
}

/// The row layout's vectors: each output row in runs of `lanes` (the last one shorter).
fn row_vectors(g: &Geometry, lanes: usize) -> Vec<Vector> {
    let wp = g.wo + g.kw - 1;
    let mut vectors = Vec::with_capacity(g.ho * g.wo.div_ceil(lanes));
    for oh in 0..g.ho {
        for ow in (0..g.wo).step_by(lanes) {
            vectors.push(Vector {
                input: oh * wp + ow,
                output: oh * g.wo + ow,
                len: lanes.min(g.wo - ow),
                mask: 0,
            });
        }
    }
    vectors
}

/// The flat layout's vectors (an output plane in runs of `lanes`, across rows) and their lane
/// masks: for vector `v`, column `j` and lane `l`, whether input column `ow + j - pl` of that
/// lane's output column `ow` lies inside the input.
fn flat_vectors(g: &Geometry, lanes: usize) -> (Vec<Vector>, Vec<f32>) {
    let p = g.positions();
    let mut vectors = Vec::with_capacity(p.div_ceil(lanes));
    let mut masks = Vec::with_capacity(p.div_ceil(lanes) * g.kw * lanes);
    for first in (0..p).step_by(lanes) {
        vectors.push(Vector {
            input: first,
            output: first,
            len: lanes.min(p - first),
            mask: masks.len(),
        });
        for j in 0..g.kw {
            masks.extend((first..first + lanes).map(|q| {
                let col = q % g.wo + j;
                let inside = col >= g.pl && col - g.pl < g.w;
                f32::from_bits(if inside { u32::MAX } else { 0 })
            }));
        }
    }
    (vectors, masks)
}

/// The weight in blocks of output channels as [`channels`] reads it: for each block of
/// `OB` channels ([`block_channels`]), its `OB` values of each weight column in turn.
fn pack(g: &Geometry, weight: &[f32]) -> Vec<f32> {
    let patch = g.patch();
    let mut packed = vec![0.0f32; weight.len()];
    let mut o0 = 0;
    while o0 < g.o {
        let ob = block_channels(g.o - o0);
        let rows = &weight[o0 * patch..][..ob * patch];
        let dst = &mut packed[o0 * patch..][..ob * patch];
        for (r, w) in rows.chunks_exact(patch).enumerate() {
            for (k, v) in w.iter().enumerate() {
                dst[k * ob + r] = *v;
            }
        }
        o0 += ob;
    }
    packed
}

/// Output channels of the block that starts with `left` channels left: 8, 4, 2 or 1. With
/// 3, 4, 6 and 8 vectors of outputs per block (the kernel's `8 × 3`, `4 × 4`, `2 × 6` and
/// `1 × 8` accumulators), the fused multiply-adds' latency stays hidden and the accumulators
/// fit the 32 vector registers of AVX-512.
fn block_channels(left: usize) -> usize {
    match left {
        n if n >= 8 => 8,
        n if n >= 4 => 4,
        n if n >= 2 => 2,
        _ => 1,
    }
}

/// `f32` lanes of a SIMD vector on this machine.
fn lanes() -> usize {
    struct Lanes;
    impl WithSimd for Lanes {
        type Output = usize;
        #[inline(always)]
        fn with_simd<S: Simd>(self, _: S) -> usize {
            S::F32_LANES
        }
    }
    pulp::Arch::new().dispatch(Lanes)
}

/// One sample's convolution: its padding, then block by block of output channels.
struct Kernel<'a> {
    plan: &'a Plan<'a>,
    x: &'a [f32],
    /// This thread's padded planes (zero outside the input).
    padded: &'a mut [f32],
    out: &'a mut [f32],
}

impl WithSimd for Kernel<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, simd: S) {
        let Kernel {
            plan,
            x,
            padded,
            out,
        } = self;
        pad(simd, plan, x, padded);
        if plan.flat {
            blocks::<S, true>(simd, plan, padded, out);
        } else {
            blocks::<S, false>(simd, plan, padded, out);
        }
    }
}

/// Every block of output channels, in the flat layout (`FLAT`) or the row layout.
#[inline(always)]
fn blocks<S: Simd, const FLAT: bool>(simd: S, plan: &Plan<'_>, padded: &[f32], out: &mut [f32]) {
    let mut o0 = 0;
    while o0 < plan.g.o {
        let ob = block_channels(plan.g.o - o0);
        match ob {
            8 => channels::<S, 8, 3, FLAT>(simd, plan, padded, o0, out),
            4 => channels::<S, 4, 4, FLAT>(simd, plan, padded, o0, out),
            2 => channels::<S, 2, 6, FLAT>(simd, plan, padded, o0, out),
            _ => channels::<S, 1, 8, FLAT>(simd, plan, padded, o0, out),
        }
        o0 += ob;
    }
}

/// Copies the sample's planes into the padded planes: input row `r` at padded row `pt + r`,
/// column `pl` (the padding around is zero already). In the flat layout rows are `W` wide, so
/// a row's last `pl` values run into the next row's start (or the next plane's, or the slack),
/// where only masked lanes read.
#[inline(always)]
fn pad<S: Simd>(simd: S, plan: &Plan<'_>, x: &[f32], padded: &mut [f32]) {
    let (g, wp, lanes) = (plan.g, plan.wp, S::F32_LANES);
    for (c, src) in x.chunks_exact(g.h * g.w).enumerate() {
        let dst = &mut padded[c * plan.hp * wp..];
        for r in 0..g.h {
            let at = (g.pt + r) * wp + g.pl;
            for ow in (0..g.w).step_by(lanes) {
                let n = lanes.min(g.w - ow);
                let v = load_first(simd, &src[r * g.w + ow..], n);
                store_first(simd, &mut dst[at + ow..], n, v);
            }
        }
    }
}

/// `relu(v + bias)` lane by lane as burn-flex computes it: the sum rounded once, then `+0`
/// where it is `≤ 0` (so `-0` becomes `+0` and NaN stays).
#[inline(always)]
fn bias_relu<S: Simd>(simd: S, v: S::f32s, bias: Option<S::f32s>) -> S::f32s {
    let v = match bias {
        Some(b) => simd.add_f32s(v, b),
        None => v,
    };
    let zero = simd.splat_f32s(0.0);
    simd.select_f32s(simd.less_than_or_equal_f32s(v, zero), zero, v)
}

/// Output channels `o0 .. o0 + OB` at every output vector, stored straight into `out`: in
/// groups of at most `QV` vectors, as even as they can be (49 vectors in groups of at most 8
/// are 7 groups of 7, not 6 of 8 and one alone, whose single chain of fused multiply-adds would
/// wait on its own latency).
#[inline(always)]
fn channels<S: Simd, const OB: usize, const QV: usize, const FLAT: bool>(
    simd: S,
    plan: &Plan<'_>,
    padded: &[f32],
    o0: usize,
    out: &mut [f32],
) {
    let n = plan.vectors.len();
    if n == 0 {
        return;
    }
    let groups = n.div_ceil(QV);
    let (small, larger) = (n / groups, n % groups);
    let mut first = 0;
    for k in 0..groups {
        let len = small + usize::from(k < larger);
        let at = &plan.vectors[first..first + len];
        match len {
            1 => group::<S, OB, 1, FLAT>(simd, plan, padded, o0, at, out),
            2 => group::<S, OB, 2, FLAT>(simd, plan, padded, o0, at, out),
            3 => group::<S, OB, 3, FLAT>(simd, plan, padded, o0, at, out),
            4 => group::<S, OB, 4, FLAT>(simd, plan, padded, o0, at, out),
            5 => group::<S, OB, 5, FLAT>(simd, plan, padded, o0, at, out),
            6 => group::<S, OB, 6, FLAT>(simd, plan, padded, o0, at, out),
            7 => group::<S, OB, 7, FLAT>(simd, plan, padded, o0, at, out),
            _ => group::<S, OB, 8, FLAT>(simd, plan, padded, o0, at, out),
        }
        first += len;
    }
}

/// Output channels `o0 .. o0 + OB` at the `QV` output vectors `at` (`QV` of them).
#[inline(always)]
fn group<S: Simd, const OB: usize, const QV: usize, const FLAT: bool>(
    simd: S,
    plan: &Plan<'_>,
    padded: &[f32],
    o0: usize,
    at: &[Vector],
    out: &mut [f32],
) {
    let patch = plan.g.patch();
    let packed = &plan.packed[o0 * patch..][..OB * patch];
    let p = plan.g.positions();
    let at: [Vector; QV] = std::array::from_fn(|v| at[v]);
    let acc = block::<S, OB, QV, FLAT>(simd, plan, padded, packed, &at);
    for (ob, acc) in acc.iter().enumerate() {
        let plane = &mut out[(o0 + ob) * p..][..p];
        let bias = plan.bias.map(|b| simd.splat_f32s(b[o0 + ob]));
        for (at, a) in at.iter().zip(acc) {
            let v = if plan.relu {
                bias_relu(simd, *a, bias)
            } else {
                *a
            };
            store_first(simd, &mut plane[at.output..], at.len, v);
        }
    }
}

/// The accumulators of `OB` channels at the `QV` output vectors `at`: the chain over input
/// channels, then taps, from `+0`.
#[inline(always)]
fn block<S: Simd, const OB: usize, const QV: usize, const FLAT: bool>(
    simd: S,
    plan: &Plan<'_>,
    padded: &[f32],
    packed: &[f32],
    at: &[Vector; QV],
) -> [[S::f32s; QV]; OB] {
    let mut acc = [[simd.splat_f32s(0.0); QV]; OB];
    let lanes = S::F32_LANES;
    let inputs: [usize; QV] = std::array::from_fn(|v| at[v].input);
    let masks: [&[f32]; QV] = std::array::from_fn(|v| {
        if FLAT {
            &plan.masks[at[v].mask..][..plan.g.kw * lanes]
        } else {
            &[]
        }
    });
    let plane_len = plan.hp * plan.wp;
    let mut k = 0;
    for c in 0..plan.g.c {
        // A vector may read past its row (into the next, or the slack): those lanes are not
        // stored.
        let plane = &padded[c * plane_len..];
        for &(off, mask) in &plan.taps {
            let mut xs: [S::f32s; QV] =
                std::array::from_fn(|v| S::as_simd_f32s(&plane[inputs[v] + off..][..lanes]).0[0]);
            if let (true, Some(m)) = (FLAT, mask) {
                for (x, masks) in xs.iter_mut().zip(&masks) {
                    *x = simd.and_f32s(*x, S::as_simd_f32s(&masks[m..][..lanes]).0[0]);
                }
            }
            let w = &packed[k * OB..][..OB];
            k += 1;
            for (acc, w) in acc.iter_mut().zip(w) {
                let w = simd.splat_f32s(*w);
                for (a, x) in acc.iter_mut().zip(&xs) {
                    *a = simd.mul_add_f32s(w, *x, *a);
                }
            }
        }
    }
    acc
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::conv_kernel::forward_by_columns;
    use proptest::prelude::*;

    /// Values with zeros of both signs (MNIST's background is zero), small and large ones.
    fn values(n: usize, seed: usize) -> Vec<f32> {
        (0..n)
            .map(|i| match (i * 7 + seed) % 5 {
                0 => 0.0,
                1 => -0.0,
                _ => (((i * 37 + seed * 11) % 101) as f32) / 101.0 - 0.45,
            })
            .collect()
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|v| v.to_bits()).collect()
    }

    /// This path's output, bit for bit the im2col path's.
    /// Also sample by sample into NaNs, so an output the kernel does not write shows.
    fn same_bits_as_columns(g: &Geometry, seed: usize) {
        assert!(takes(g), "{g:?}");
        let x = values(g.b * g.c * g.h * g.w, seed);
        let w = values(g.o * g.patch(), seed + 1);
        let want = bits(&forward_by_columns(g, &x, &w));
        assert_eq!(bits(&forward(g, &x, &w)), want, "{g:?}");
        let plan = Plan::new(g, &w);
        let mut out = vec![f32::NAN; g.b * g.o * g.positions()];
        for (out, x) in out
            .chunks_mut(g.o * g.positions())
            .zip(x.chunks(g.c * g.h * g.w))
        {
            plan.sample(x, out);
        }
        assert_eq!(bits(&out), want, "{g:?}, sample by sample");
    }

    /// The CNN's layers and their input gradients (as the transposed convolutions they run),
    /// and the shapes where each block size and a masked last vector come in.
    #[test]
    fn the_models_shapes_give_the_bits_of_the_column_path() {
        for (b, c, o, hw, k, p) in [
            (3, 1, 16, 28, 3, 1),
            (3, 16, 32, 14, 3, 1),
            (2, 16, 1, 28, 3, 1),
            (2, 32, 16, 14, 3, 1),
            (2, 3, 13, 11, 3, 1),
            (2, 5, 7, 5, 3, 0),
            (1, 1, 3, 4, 3, 2),
            (2, 8, 9, 33, 1, 0),
            (1, 2, 6, 40, 5, 2),
        ] {
            let g = Geometry::new([b, c, hw, hw], [o, k, k], [1, 1], (p, p, p, p)).unwrap();
            same_bits_as_columns(&g, b + c + o);
        }
    }

    /// The flat layout (vectors across rows, masked) is what the CNN's layers take (not the
    /// first layer's input gradient, with one output channel), and it gives the column path's
    /// bits there and for "same" convolutions with uneven padding.
    #[test]
    fn flat_layout_gives_the_bits_of_the_column_path() {
        let lanes = lanes();
        for (c, o, hw, k, (pt, pl, pb, pr)) in [
            (1, 16, 28, 3, (1, 1, 1, 1)),
            (16, 32, 14, 3, (1, 1, 1, 1)),
            (16, 1, 28, 3, (1, 1, 1, 1)),
            (3, 9, 9, 2, (0, 1, 1, 0)),
            (3, 12, 9, 2, (1, 0, 0, 1)),
            (2, 8, 13, 5, (2, 2, 2, 2)),
            (2, 9, 3, 5, (0, 3, 4, 1)),
        ] {
            let g = Geometry::new([2, c, hw, hw], [o, k, k], [1, 1], (pt, pl, pb, pr)).unwrap();
            let flat = Plan::new(&g, &vec![0.0; o * g.patch()]).flat;
            assert_eq!(flat, !hw.is_multiple_of(lanes) && o >= 8, "{g:?}");
            same_bits_as_columns(&g, c + o + pl);
        }
    }

    /// The padded planes are reused from one call to the next on a thread: a convolution whose
    /// padded planes have the same size but hold the input elsewhere (here one row more of
    /// input where the other has its bottom padding) must not read the other's values.
    #[test]
    fn reused_padded_planes_never_hold_another_layouts_values() {
        let a = Geometry::new([1, 2, 6, 6], [3, 3, 3], [1, 1], (1, 1, 1, 1)).unwrap();
        let b = Geometry::new([1, 2, 7, 7], [3, 3, 3], [1, 1], (1, 1, 0, 0)).unwrap();
        for (i, g) in [a, b, a, b].iter().enumerate() {
            same_bits_as_columns(g, i);
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Random shapes this path takes: its output has the im2col path's bits.
        #[test]
        fn random_shapes_give_the_bits_of_the_column_path(
            b in 1usize..3, c in 1usize..9, o in 1usize..65, h in 1usize..19, w in 1usize..23,
            k in prop::sample::select(vec![1usize, 2, 3, 5]), pad in 0usize..3, seed in 0usize..50,
        ) {
            let g = Geometry::new([b, c, h, w], [o, k, k], [1, 1], (pad, pad, pad, pad));
            if let Some(g) = g.filter(takes) {
                same_bits_as_columns(&g, seed);
            }
        }
    }
}
