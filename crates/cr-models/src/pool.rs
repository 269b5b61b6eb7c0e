//! 2×2 max-pool with stride 2, with a direct kernel on burn's `flex` CPU backend.
//!
//! burn-flex runs a 2-D max-pool as a general 3-D pool (window bounds, dilation and padding
//! checked per output element, an `i64` index written for each); in the CPU-scale CNN's
//! training step that was 28% of the profile. Here the 2×2 case is a direct loop (16 windows
//! at a time on AVX-512), forward and backward, registered with burn's autodiff as one
//! operation. It computes what burn-flex computes, bit for bit: the first largest element of
//! each window in row-major order (NaN wins, the last NaN of the window), and in the backward
//! pass `0 + g` at that element (burn accumulates into zeros). Where no gradient will be asked for (a plain tensor, or an
//! untracked one: an attack's queries) the indices of the maxima are not written. Any other
//! backend, dtype or a gradient-checkpointing device runs burn's `max_pool2d`. The tests
//! compare both, values and gradients.

use std::sync::Arc;

use rayon::prelude::*;

use burn::backend::Flex;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::NoCheckpointing;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::tensor::FloatTensor;
use burn::prelude::*;
use burn::tensor::DType;

use crate::buffers::zeros;
use crate::flex::{FlexF32, Tracked, pack_plain, pack_tracked, tensor, unpack, values};

/// 2×2 max-pool with stride 2 (floor mode, as PyTorch's default).
pub fn max_pool2(x: Tensor<4>) -> Tensor<4> {
    match unpack(x.clone()) {
        Some(FlexF32::Plain(f)) if direct(&f) => pack_plain(forward_values(&f)),
        Some(FlexF32::Tracked(t)) if direct(t.primitive()) => pack_tracked(tracked(t)),
        _ => burn_pool(x),
    }
}

/// Whether the direct kernel takes this flex tensor: `f32`, rank 4, and few enough elements
/// for `u32` argmax indices.
fn direct(f: &FloatTensor<Flex>) -> bool {
    f.dtype() == DType::F32
        && f.layout().shape().num_dims() == 4
        && u32::try_from(f.layout().num_elements()).is_ok()
}

/// burn's own 2×2 max-pool (any backend).
fn burn_pool(x: Tensor<4>) -> Tensor<4> {
    burn::tensor::module::max_pool2d(x, burn::tensor::ops::MaxPoolOptions::new([2, 2]))
}

/// The pooled tensor and, per output element, the flat index of its maximum in the input.
fn forward(x: &FloatTensor<Flex>) -> (FloatTensor<Flex>, Vec<u32>) {
    pool::<true>(x)
}

/// The pooled tensor alone (no gradient will be asked for: an attack's queries, evaluation).
fn forward_values(x: &FloatTensor<Flex>) -> FloatTensor<Flex> {
    pool::<false>(x).0
}

/// The pooled tensor and, with `ARG`, the flat index of each output's maximum in the input
/// (else no indices). Planes (`b·c`) run in parallel on rayon's pool; each output element is
/// computed alone, so the result does not depend on the thread count.
fn pool<const ARG: bool>(x: &FloatTensor<Flex>) -> (FloatTensor<Flex>, Vec<u32>) {
    let x = x.to_contiguous();
    let shape = x.layout().shape();
    let [b, c, h, w] = [shape[0], shape[1], shape[2], shape[3]];
    let (h2, w2) = (h / 2, w / 2);
    let data = values(&x);
    let mut out = zeros(b * c * h2 * w2);
    let mut arg = zeros(if ARG { out.len() } else { 0 });
    let plane = h2 * w2;
    if plane > 0 && ARG {
        out.par_chunks_mut(plane)
            .zip(arg.par_chunks_mut(plane))
            .enumerate()
            .for_each(|(p, (out, arg))| pool_plane::<true>(data, p * h * w, w, out, arg));
    } else if plane > 0 {
        out.par_chunks_mut(plane)
            .enumerate()
            .for_each(|(p, out)| pool_plane::<false>(data, p * h * w, w, out, &mut []));
    }
    let out = tensor(out, &[b, c, h2, w2]);
    (out, arg)
}

/// The 2×2 max-pool of `planes` (`[N, h, w]`, row-major) into `out` (`[N, h/2, w/2]`), on
/// the calling thread, and with `ARG` each output's flat index in `planes` into `arg`: what
/// [`max_pool2`] computes, for a fused kernel's sample.
pub(crate) fn pool_planes<const ARG: bool>(
    planes: &[f32],
    h: usize,
    w: usize,
    out: &mut [f32],
    arg: &mut [u32],
) {
    let plane = (h / 2) * (w / 2);
    if plane == 0 {
        return;
    }
    for (p, out) in out.chunks_exact_mut(plane).enumerate() {
        let arg = if ARG {
            &mut arg[p * plane..][..plane]
        } else {
            &mut [][..]
        };
        pool_plane::<ARG>(planes, p * h * w, w, out, arg);
    }
}

/// One plane of outputs (`out`, and with `ARG` `arg`: `[h/2, w/2]`) from the plane of `data`
/// that starts at flat index `base`, rows `w` wide.
fn pool_plane<const ARG: bool>(
    data: &[f32],
    base: usize,
    w: usize,
    out: &mut [f32],
    arg: &mut [u32],
) {
    #[cfg(target_arch = "x86_64")]
    if let Some(simd) = pulp::x86::V4::try_new() {
        return simd.vectorize(
            #[inline(always)]
            || {
                pool_rows::<ARG>(data, base, w, out, arg, |row| {
                    v4::pool_row::<ARG>(simd, row)
                })
            },
        );
    }
    pool_rows::<ARG>(data, base, w, out, arg, pool_row::<ARG>);
}

/// One row of a plane's outputs: the two input rows `r0`, `r1` and the outputs `out` (with
/// `ARG`, each output's flat index in `arg`), each slice from the row's first value on and
/// possibly running past the row (a vector may read there, and write there keeping the
/// values); `n` outputs, the flat index `top` of `r0[0]`, rows `w` apart.
struct Row<'a> {
    r0: &'a [f32],
    r1: &'a [f32],
    out: &'a mut [f32],
    arg: &'a mut [u32],
    n: usize,
    top: u32,
    w: u32,
}

/// Each output row of one plane (as [`pool_plane`]) through `row`, its slices running on to
/// the end of `data`, `out` and `arg`.
#[inline(always)]
fn pool_rows<const ARG: bool>(
    data: &[f32],
    base: usize,
    w: usize,
    out: &mut [f32],
    arg: &mut [u32],
    mut row: impl FnMut(Row<'_>),
) {
    let w2 = w / 2;
    if w2 == 0 {
        return;
    }
    for i in 0..out.len() / w2 {
        let top = base + 2 * i * w;
        let arg = if ARG { &mut arg[i * w2..] } else { &mut [][..] };
        row(Row {
            r0: &data[top..],
            r1: &data[top + w..],
            out: &mut out[i * w2..],
            arg,
            n: w2,
            top: top as u32,
            w: w as u32,
        });
    }
}

/// One row of `n` outputs (`out[..n]`) from the two input rows `r0`, `r1` (each at least
/// `2·n` long), and with `ARG` each output's flat index in `arg[..n]` ([`Row`]), written
/// branch-free over plain indices (machines without AVX-512; with it, [`v4::pool_row`]
/// computes the same lane by lane). Window order:
/// `r0[2j]`, `r0[2j+1]`, `r1[2j]`, `r1[2j+1]`; the first maximum wins, a NaN always (so the
/// last NaN), as burn-flex. The value depends on that order too (`-0.0` before `0.0` stays),
/// so without `ARG` the same comparisons run and only the indices are left out.
fn pool_row<const ARG: bool>(row: Row<'_>) {
    let Row {
        r0,
        r1,
        out,
        arg,
        n,
        top,
        w,
    } = row;
    let out = &mut out[..n];
    let (r0, r1) = (&r0[..2 * n], &r1[..2 * n]);
    let arg = if ARG { &mut arg[..n] } else { arg };
    for j in 0..n {
        let (a0, a1, b0, b1) = (r0[2 * j], r0[2 * j + 1], r1[2 * j], r1[2 * j + 1]);
        let mut best = a0;
        let mut at = 0u32;
        let take = a1 > best || a1.is_nan();
        best = if take { a1 } else { best };
        at = if take { 1 } else { at };
        let take = b0 > best || b0.is_nan();
        best = if take { b0 } else { best };
        at = if take { w } else { at };
        let take = b1 > best || b1.is_nan();
        best = if take { b1 } else { best };
        at = if take { w + 1 } else { at };
        out[j] = best;
        if ARG {
            arg[j] = top + 2 * j as u32 + at;
        }
    }
}

/// [`pool_row`] on AVX-512, 16 outputs at a time: each input row's 32 values are split into
/// their even and odd columns by two permutes, and the window's four candidates are compared
/// lane by lane in [`pool_row`]'s order, with its comparisons (ordered `>`, or NaN), so every
/// value and index is the same.
#[cfg(target_arch = "x86_64")]
mod v4 {
    use std::arch::x86_64::{__m512, __m512i, _CMP_GT_OQ, _CMP_UNORD_Q};

    use pulp::x86::V4;
    use pulp::{Simd, cast};

    use super::Row;
    use crate::buffers::{load_first, store_first};

    /// Lanes of a vector.
    const LANES: usize = 16;

    /// Permute indices of the even (`0, 2, …, 30`) and odd (`1, 3, …, 31`) values of two vectors.
    const EVEN: [u32; LANES] = lanes(0, 2);
    const ODD: [u32; LANES] = lanes(1, 2);

    const fn lanes(first: u32, step: u32) -> [u32; LANES] {
        let mut l = [0u32; LANES];
        let mut i = 0;
        while i < LANES {
            l[i] = first + step * i as u32;
            i += 1;
        }
        l
    }

    /// The even and odd values of `row[..2·m]` (`m ≤ 16`; the lanes past `m` are unspecified).
    #[inline(always)]
    fn split(simd: V4, row: &[f32], m: usize) -> (__m512, __m512) {
        let lo: __m512 = cast(load_first(simd, row, (2 * m).min(LANES)));
        let hi = if 2 * m > LANES {
            cast(load_first(simd, &row[LANES..], 2 * m - LANES))
        } else {
            lo
        };
        let (even, odd): (__m512i, __m512i) = (cast(EVEN), cast(ODD));
        let f = simd.avx512f;
        (
            f._mm512_permutex2var_ps(lo, even, hi),
            f._mm512_permutex2var_ps(lo, odd, hi),
        )
    }

    /// See [`super::pool_row`]: the same row, the same results (and the values of `out` and
    /// `arg` past `n` kept).
    #[inline(always)]
    pub(super) fn pool_row<const ARG: bool>(simd: V4, row: Row<'_>) {
        let Row {
            r0,
            r1,
            out,
            arg,
            n,
            top,
            w,
        } = row;
        let f = simd.avx512f;
        assert!(r0.len() >= 2 * n && r1.len() >= 2 * n && out.len() >= n);
        let mut j0 = 0;
        while j0 < n {
            let m = LANES.min(n - j0);
            let (a0, a1) = split(simd, &r0[2 * j0..], m);
            let (b0, b1) = split(simd, &r1[2 * j0..], m);
            let mut best = a0;
            let mut at: __m512i = cast(simd.splat_u32s(0));
            for (v, offset) in [(a1, 1), (b0, w), (b1, w + 1)] {
                let take = f._mm512_cmp_ps_mask::<{ _CMP_GT_OQ }>(v, best)
                    | f._mm512_cmp_ps_mask::<{ _CMP_UNORD_Q }>(v, v);
                best = f._mm512_mask_mov_ps(best, take, v);
                at = f._mm512_mask_mov_epi32(at, take, cast(simd.splat_u32s(offset)));
            }
            store_first(simd, &mut out[j0..], m, cast(best));
            if ARG {
                let first = simd.splat_u32s(top + 2 * j0 as u32);
                let index = simd.add_u32s(simd.add_u32s(first, cast(lanes(0, 2))), cast(at));
                // The indices' bits, stored as `f32` lanes (a blend moves bits unchanged).
                let arg: &mut [f32] = pulp::bytemuck::cast_slice_mut(&mut arg[j0..]);
                store_first(simd, arg, m, cast(index));
            }
            j0 += m;
        }
    }
}

#[derive(Debug)]
struct MaxPool2Backward;

impl Backward<Flex, 1> for MaxPool2Backward {
    /// The argmax of each output element, and the input's shape.
    type State = (Arc<Vec<u32>>, [usize; 4]);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [parent] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node).to_contiguous();
        let Some(parent) = parent else { return };
        let (arg, dims) = ops.state;
        let g = values(&grad);
        let mut input = zeros(dims.iter().product());
        let (plane_in, plane_out) = (dims[2] * dims[3], (dims[2] / 2) * (dims[3] / 2));
        if plane_out > 0 {
            // Windows do not overlap: each input takes at most one output's gradient.
            input
                .par_chunks_mut(plane_in)
                .zip(arg.par_chunks(plane_out).zip(g.par_chunks(plane_out)))
                .enumerate()
                .for_each(|(p, (input, (arg, g)))| {
                    for (&at, &g) in arg.iter().zip(g) {
                        input[at as usize - p * plane_in] = 0.0 + g;
                    }
                });
        }
        grads.register::<Flex>(parent.id, tensor(input, &dims));
    }
}

fn tracked(t: Tracked) -> Tracked {
    match MaxPool2Backward
        .prepare::<NoCheckpointing>([t.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => {
            let s = t.primitive().layout().shape();
            let dims = [s[0], s[1], s[2], s[3]];
            let (out, arg) = forward(t.primitive());
            prep.finish((Arc::new(arg), dims), out)
        }
        OpsKind::UnTracked(prep) => prep.finish(forward_values(t.primitive())),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use rand::{Rng, SeedableRng};

    fn bits<const D: usize>(t: Tensor<D>) -> Vec<u32> {
        let v: Vec<f32> = t.into_data().try_to_vec().unwrap();
        v.into_iter().map(f32::to_bits).collect()
    }

    /// Values with many ties (zeros of both signs, repeated values), odd sizes (floor mode).
    fn input(rng: &mut rand_chacha::ChaCha8Rng, dims: [usize; 4]) -> Vec<f32> {
        (0..dims.iter().product::<usize>())
            .map(|_| match rng.random_range(0..6) {
                0 => 0.0,
                1 => -0.0,
                2 => 0.5,
                _ => rng.random_range(-1.0..1.0),
            })
            .collect()
    }

    /// Forward values and input gradients equal burn's `max_pool2d`, bit for bit.
    #[test]
    fn matches_burn_forward_and_backward() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(9);
        let ad = Device::flex().autodiff();
        for dims in [[2, 3, 6, 8], [1, 2, 5, 7], [3, 1, 2, 2]] {
            let v = input(&mut rng, dims);
            let [b, c, h, w] = dims;
            let wts: Vec<f32> = (0..b * c * (h / 2) * (w / 2))
                .map(|_| rng.random_range(-2.0..2.0))
                .collect();
            let run = |pool: fn(Tensor<4>) -> Tensor<4>| {
                let x =
                    Tensor::<4>::from_data(TensorData::new(v.clone(), dims), &ad).require_grad();
                let y = pool(x.clone());
                let wt = Tensor::<4>::from_data(TensorData::new(wts.clone(), y.dims()), &ad);
                let grads = (y.clone() * wt).sum().backward();
                (bits(y.inner()), bits(x.grad(&grads).unwrap()))
            };
            assert_eq!(run(max_pool2), run(burn_pool), "{dims:?}");
            // Off autodiff too.
            let x = Tensor::<4>::from_data(TensorData::new(v.clone(), dims), &Device::flex());
            assert_eq!(bits(max_pool2(x.clone())), bits(burn_pool(x)));
        }
    }

    /// The AVX-512 row gives the scalar row's values and indices, bit for bit: rows of 1 to 40
    /// outputs (one to three vectors, partial ones), with ties, zeros of both signs and NaNs
    /// of distinct payloads; with slices that end at the row (partial loads and stores) and
    /// slices that run on (full ones), whose values past the row stay as they were.
    /// Row `r0`, `r1` of `n` outputs, rows `w` apart, its first input at flat index 7.
    fn row<'a>(
        r0: &'a [f32],
        r1: &'a [f32],
        out: &'a mut [f32],
        arg: &'a mut [u32],
        n: usize,
        w: usize,
    ) -> Row<'a> {
        let (top, w) = (7, w as u32);
        Row {
            r0,
            r1,
            out,
            arg,
            n,
            top,
            w,
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn the_vector_row_is_the_scalar_row() {
        let Some(simd) = pulp::x86::V4::try_new() else {
            return;
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let value = |rng: &mut rand_chacha::ChaCha8Rng| match rng.random_range(0..8) {
            0 => 0.0f32,
            1 => -0.0,
            2 => 0.5,
            3 => f32::from_bits(0x7fc0_0000 + rng.random_range(0..1000u32)),
            _ => rng.random_range(-1.0..1.0),
        };
        let b = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        for n in 1..=40usize {
            for (w, more) in [(2 * n, 0), (2 * n + 1, 0), (2 * n, 17), (2 * n + 1, 40)] {
                let r0: Vec<f32> = (0..2 * n + more).map(|_| value(&mut rng)).collect();
                let r1: Vec<f32> = (0..2 * n + more).map(|_| value(&mut rng)).collect();
                let (mut out, mut arg) = (vec![-7.0; n + more], vec![9; n + more]);
                pool_row::<true>(row(&r0, &r1, &mut out, &mut arg, n, w));
                let (mut vout, mut varg) = (vec![-7.0; n + more], vec![9; n + more]);
                simd.vectorize(|| {
                    v4::pool_row::<true>(simd, row(&r0, &r1, &mut vout, &mut varg, n, w))
                });
                assert_eq!((b(&out), &arg), (b(&vout), &varg), "n {n}, w {w}, {more}");
                assert!(out[n..].iter().all(|&v| v == -7.0) && arg[n..].iter().all(|&a| a == 9));
                let mut plain = vec![-7.0; n + more];
                simd.vectorize(|| {
                    v4::pool_row::<false>(simd, row(&r0, &r1, &mut plain, &mut [], n, w))
                });
                assert_eq!(b(&out), b(&plain), "n {n}, w {w}, {more}, no indices");
            }
        }
    }

    /// By hand: the first maximum of each window takes the gradient.
    #[test]
    fn by_hand() {
        let ad = Device::flex().autodiff();
        let x = Tensor::<4>::from_data(
            TensorData::new(
                vec![1.0f32, 3.0, 3.0, 2.0, -1.0, -2.0, -3.0, -1.0],
                [1, 1, 2, 4],
            ),
            &ad,
        )
        .require_grad();
        let y = max_pool2(x.clone());
        let got: Vec<f32> = y.clone().inner().into_data().try_to_vec().unwrap();
        assert_eq!(got, vec![3.0, 3.0]);
        let g: Vec<f32> = x
            .grad(&y.sum().backward())
            .unwrap()
            .into_data()
            .try_to_vec()
            .unwrap();
        assert_eq!(g, vec![0.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]);
    }
}
