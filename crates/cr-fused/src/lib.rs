//! # cr-fused
//!
//! One host pass over the storage of a tensor on burn's `flex` CPU backend.
//!
//! burn runs every element-wise operation as its own pass, and on `flex` many of them as a
//! scalar closure into a fresh buffer: an AdamW step is fourteen passes, a PGD step's ℓ∞
//! projection four (two of them `clamp`, at about 2 ns per element). Where such a chain is hot,
//! cr writes it a second time as one loop over `f32` slices doing the same IEEE operations in
//! the same order, so that both give the same bits, and runs the loop when the tensors live on
//! `flex`; on every other backend ([`FlexF32::new`] hands the tensor back) the tensor
//! operations run. Each user tests the two forms against each other bit for bit: the AdamW
//! step in `cr-train`, the ℓ∞ projection and sign step in `cr-attacks`.
//!
//! It holds no kernels itself, and it does not choose a backend: burn does, from the device.
//!
//! Only `+ − × ÷ √`, `min`/`max`-style comparisons and sign copies are used in such loops:
//! they are correctly rounded (or exact) whichever kernel runs them, and neither side
//! contracts `a·b + c` into a fused multiply-add.
//!
//! ```
//! use burn::prelude::*;
//! use cr_fused::FlexF32;
//!
//! let t = Tensor::<2>::from_floats([[1.0, -2.0], [3.0, -4.0]], &Device::flex());
//! let mut h = FlexF32::new(t).unwrap();
//! h.as_mut_slice().iter_mut().for_each(|x| *x = x.abs());
//! let t: Tensor<2> = h.into_tensor();
//! assert_eq!(t.into_data().try_to_vec::<f32>().unwrap(), vec![1.0, 2.0, 3.0, 4.0]);
//! ```

use burn::backend::tensor::FloatTensor;
use burn::backend::{BackendTensor, DispatchTensor, DispatchTensorKind, Flex};
use burn::prelude::*;
use burn::tensor::DType;

/// An `f32` tensor on the flex backend, contiguous from offset 0, whose storage can be read
/// and written as a slice. Writing copies the storage first if another tensor shares it.
#[derive(Debug, Clone)]
pub struct FlexF32 {
    tensor: FloatTensor<Flex>,
    len: usize,
}

impl FlexF32 {
    /// The tensor's flex storage, or the tensor itself (unchanged) when it is not an `f32`
    /// tensor on the flex backend. Autodiff tensors are handed back too: take `.inner()`.
    // The error hands the caller its tensor back (burn's `Tensor` is 256 bytes), once per
    // operation: not worth a box.
    #[allow(clippy::result_large_err)]
    pub fn new<const D: usize>(t: Tensor<D>) -> Result<Self, Tensor<D>> {
        let DispatchTensor { kind, autodiff } = t.into_dispatch();
        match kind {
            DispatchTensorKind::Flex(BackendTensor::Float(f)) if f.dtype() == DType::F32 => {
                let len = f.layout().num_elements();
                let tensor = if f.is_contiguous() && f.layout().start_offset() == 0 {
                    f
                } else {
                    f.to_contiguous()
                };
                Ok(Self { tensor, len })
            }
            kind => Err(Tensor::from_dispatch(DispatchTensor { kind, autodiff })),
        }
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True for a tensor without elements.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The elements, in row-major order.
    pub fn as_slice(&self) -> &[f32] {
        &self.tensor.storage::<f32>()[..self.len]
    }

    /// The elements for writing (copied first if the storage is shared).
    pub fn as_mut_slice(&mut self) -> &mut [f32] {
        let len = self.len;
        &mut self.tensor.storage_mut::<f32>()[..len]
    }

    /// Back to a tensor (off autodiff) of the original shape.
    ///
    /// # Panics
    /// If `D` is not the tensor's rank.
    pub fn into_tensor<const D: usize>(self) -> Tensor<D> {
        Tensor::from_dispatch(DispatchTensor {
            kind: DispatchTensorKind::Flex(BackendTensor::Float(self.tensor)),
            autodiff: Default::default(),
        })
    }
}

/// Several tensors as [`FlexF32`]s when all are `f32` tensors on flex; otherwise all of them
/// back, unchanged.
#[allow(clippy::result_large_err)] // as `FlexF32::new`
pub fn all_flex<const D: usize, const N: usize>(
    ts: [Tensor<D>; N],
) -> Result<[FlexF32; N], [Tensor<D>; N]> {
    let conv = ts.map(FlexF32::new);
    if conv.iter().all(Result::is_ok) {
        Ok(conv.map(|r| r.unwrap_or_else(|_| unreachable!("checked: all converted"))))
    } else {
        Err(conv.map(|r| r.map_or_else(|t| t, FlexF32::into_tensor)))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn views_are_made_contiguous_and_shape_is_kept() {
        let d = Device::flex();
        let t = Tensor::<2>::from_floats([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]], &d).transpose();
        let h = FlexF32::new(t).unwrap();
        assert_eq!(h.as_slice(), &[1.0, 4.0, 2.0, 5.0, 3.0, 6.0]);
        let back: Tensor<2> = h.into_tensor();
        assert_eq!(back.dims(), [3, 2]);
    }

    #[test]
    fn writing_does_not_touch_a_shared_tensor() {
        let d = Device::flex();
        let t = Tensor::<1>::from_floats([1.0, 2.0], &d);
        let keep = t.clone();
        let mut h = FlexF32::new(t).unwrap();
        h.as_mut_slice()[0] = 9.0;
        assert_eq!(
            keep.into_data().try_to_vec::<f32>().unwrap(),
            vec![1.0, 2.0]
        );
        let t: Tensor<1> = h.into_tensor();
        assert_eq!(t.into_data().try_to_vec::<f32>().unwrap(), vec![9.0, 2.0]);
    }

    #[test]
    fn other_dtypes_come_back_unchanged() {
        let d = Device::flex();
        let t = Tensor::<1>::from_floats([1.0, 2.0], &d).cast(burn::tensor::FloatDType::F64);
        let back = FlexF32::new(t).unwrap_err();
        assert_eq!(
            back.into_data().try_to_vec::<f64>().unwrap(),
            vec![1.0, 2.0]
        );
        let ints = [
            Tensor::<1>::from_floats([1.0], &d),
            Tensor::<1>::from_floats([1.0], &d).cast(burn::tensor::FloatDType::F64),
        ];
        assert!(all_flex(ints).is_err());
    }
}
