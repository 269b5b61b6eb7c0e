//! The plumbing cr's own CPU kernels share: an `f32` tensor of burn's `flex` backend taken out
//! of burn's dispatch tensor, plain or tracked by autodiff, its values as a slice, and back.

use burn::backend::tensor::FloatTensor;
use burn::backend::{
    BackendTensor, DispatchAutodiffContext, DispatchTensor, DispatchTensorKind, Flex,
    GradientCheckpointingStrategy,
};
use burn::prelude::*;
use burn::tensor::{DType, TensorData};

/// A flex tensor tracked by burn's autodiff.
pub(crate) type Tracked = FloatTensor<burn::backend::Autodiff<Flex>>;

/// An `f32` flex tensor, with or without autodiff.
pub(crate) enum FlexF32 {
    /// On the plain flex device (or a constant beside a tracked tensor).
    Plain(FloatTensor<Flex>),
    /// Tracked by autodiff without gradient checkpointing.
    Tracked(Tracked),
}

/// The autodiff context cr's kernels register with: autodiff without checkpointing.
fn tracking() -> DispatchAutodiffContext {
    DispatchAutodiffContext::Enabled(GradientCheckpointingStrategy::Disabled)
}

/// `t` as an `f32` flex tensor, or `None` (another backend or dtype, or a checkpointing
/// autodiff device).
pub(crate) fn unpack<const D: usize>(t: Tensor<D>) -> Option<FlexF32> {
    let DispatchTensor { kind, autodiff } = t.into_dispatch();
    match kind {
        DispatchTensorKind::Flex(BackendTensor::Float(f))
            if f.dtype() == DType::F32 && autodiff == DispatchAutodiffContext::Disabled =>
        {
            Some(FlexF32::Plain(f))
        }
        DispatchTensorKind::Autodiff(inner) if autodiff == tracking() => match *inner {
            DispatchTensorKind::Flex(BackendTensor::Autodiff(t))
                if t.primitive().dtype() == DType::F32 =>
            {
                Some(FlexF32::Tracked(t))
            }
            _ => None,
        },
        _ => None,
    }
}

/// A plain flex tensor as a burn tensor.
pub(crate) fn pack_plain<const D: usize>(t: FloatTensor<Flex>) -> Tensor<D> {
    Tensor::from_dispatch(DispatchTensor {
        kind: DispatchTensorKind::Flex(BackendTensor::Float(t)),
        autodiff: DispatchAutodiffContext::Disabled,
    })
}

/// A tracked flex tensor as a burn tensor.
pub(crate) fn pack_tracked<const D: usize>(t: Tracked) -> Tensor<D> {
    Tensor::from_dispatch(DispatchTensor {
        kind: DispatchTensorKind::Autodiff(Box::new(DispatchTensorKind::Flex(
            BackendTensor::Autodiff(t),
        ))),
        autodiff: tracking(),
    })
}

/// The values of a contiguous flex tensor, row-major.
pub(crate) fn values(t: &FloatTensor<Flex>) -> &[f32] {
    let n = t.layout().num_elements();
    &t.storage::<f32>()[t.layout().start_offset()..][..n]
}

/// Row-major values as a flex tensor of shape `dims`.
pub(crate) fn tensor(data: Vec<f32>, dims: &[usize]) -> FloatTensor<Flex> {
    FloatTensor::<Flex>::from_data(TensorData::new(data, dims.to_vec()))
}
