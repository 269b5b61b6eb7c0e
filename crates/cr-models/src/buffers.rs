//! Host buffers for cr's CPU kernels (no burn here): fresh outputs, and the SIMD loads and
//! stores that stop at a buffer's end.

use pulp::Simd;
use rayon::prelude::*;

/// `n` zeros, written on rayon's pool. A fresh output of megabytes zeroed on the calling thread,
/// before the parallel work that overwrites it, was the longest serial step of AutoAttack on
/// the CPU-scale CNN (a quarter of the main thread's samples).
pub(crate) fn zeros<T: Copy + Default + Send + Sync>(n: usize) -> Vec<T> {
    let mut v = Vec::with_capacity(n);
    v.par_extend(rayon::iter::repeat_n(T::default(), n));
    v
}

/// `0, 1, 2, …`: the lane numbers of a vector.
const LANE: [u32; 64] = {
    let mut lane = [0u32; 64];
    let mut i = 0;
    while i < 64 {
        lane[i] = i as u32;
        i += 1;
    }
    lane
};

/// A vector whose first `n` lanes are `src[..n]` (the others unspecified).
#[inline(always)]
pub(crate) fn load_first<S: Simd>(simd: S, src: &[f32], n: usize) -> S::f32s {
    if src.len() >= S::F32_LANES {
        S::as_simd_f32s(&src[..S::F32_LANES]).0[0]
    } else {
        simd.partial_load_f32s(&src[..n])
    }
}

/// Writes the first `n` lanes of `v` into `dst[..n]`, leaving the values after them as they
/// are: a full store of the vector blended with what `dst` holds, or, at the end of `dst`, a
/// partial store.
#[inline(always)]
pub(crate) fn store_first<S: Simd>(simd: S, dst: &mut [f32], n: usize, v: S::f32s) {
    let lanes = S::F32_LANES;
    if dst.len() < lanes {
        simd.partial_store_f32s(&mut dst[..n], v);
        return;
    }
    let d = &mut S::as_mut_simd_f32s(&mut dst[..lanes]).0[0];
    *d = if n == lanes {
        v
    } else {
        let lane = S::as_simd_u32s(&LANE[..lanes]).0[0];
        let first = simd.less_than_u32s(lane, simd.splat_u32s(n as u32));
        simd.select_f32s(first, v, *d)
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zeros_are_zeros_of_the_length_asked_for() {
        for n in [0usize, 1, 17, 100_000] {
            let v: Vec<f32> = zeros(n);
            assert_eq!(v.len(), n);
            assert!(v.iter().all(|x| x.to_bits() == 0));
        }
    }
}
