//! Host buffers for cr's CPU kernels (no burn here).

use rayon::prelude::*;

/// `n` zeros, written on rayon's pool. A fresh output of megabytes zeroed on the calling thread,
/// before the parallel work that overwrites it, was the longest serial step of AutoAttack on
/// the CPU-scale CNN (a quarter of the main thread's samples).
pub(crate) fn zeros<T: Copy + Default + Send + Sync>(n: usize) -> Vec<T> {
    let mut v = Vec::with_capacity(n);
    v.par_extend(rayon::iter::repeat_n(T::default(), n));
    v
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
