//! Host-side tensor surgery: slicing rows / input channels out of PyTorch-layout tensors and
//! rebuilding a model from them.

use std::collections::BTreeMap;

use burn::prelude::*;
use cr_models::file::{HostTensor, model_with_tensors};
use cr_models::{Model, ModelSpec};

use crate::error::{PruneError, Result};

/// Keeps the entries `keep` (ascending) of dimension 0.
pub(crate) fn slice_dim0(t: &HostTensor, keep: &[usize]) -> HostTensor {
    let d0 = t.shape.first().copied().unwrap_or(0);
    let inner = t.data.len().checked_div(d0).unwrap_or(0);
    let mut data = Vec::with_capacity(keep.len() * inner);
    for &i in keep {
        data.extend_from_slice(&t.data[i * inner..(i + 1) * inner]);
    }
    let mut shape = t.shape.clone();
    shape[0] = keep.len();
    HostTensor { shape, data }
}

/// Keeps the channels `keep` (ascending) of dimension 1, where each channel spans `block`
/// consecutive entries of dimension 1 (1 for a conv or dense consumer of a dense layer,
/// `H·W` for a dense layer reading flattened conv features).
pub(crate) fn slice_dim1(t: &HostTensor, keep: &[usize], block: usize) -> HostTensor {
    let d0 = t.shape[0];
    let d1 = t.shape[1];
    let inner: usize = t.shape[2..].iter().product();
    let mut data = Vec::with_capacity(d0 * keep.len() * block * inner);
    for i0 in 0..d0 {
        for &c in keep {
            let start = (i0 * d1 + c * block) * inner;
            data.extend_from_slice(&t.data[start..start + block * inner]);
        }
    }
    let mut shape = t.shape.clone();
    shape[1] = keep.len() * block;
    HostTensor { shape, data }
}

/// Zeroes the entries `rows` of dimension 0.
pub(crate) fn zero_dim0(t: &mut HostTensor, rows: &[usize]) {
    let d0 = t.shape.first().copied().unwrap_or(0);
    let inner = t.data.len().checked_div(d0).unwrap_or(0);
    for &i in rows {
        t.data[i * inner..(i + 1) * inner].fill(0.0);
    }
}

/// Builds the model of `spec` on `device` and fills it with `tensors` (a fresh, independent
/// model: no state shared with the one the tensors came from).
pub(crate) fn rebuild(
    spec: &ModelSpec,
    tensors: &BTreeMap<String, HostTensor>,
    device: &Device,
) -> Result<Model> {
    let model = Model::build(spec, device)?;
    model_with_tensors(model, tensors).map_err(PruneError::Rebuild)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(shape: Vec<usize>) -> HostTensor {
        let n = shape.iter().product::<usize>();
        HostTensor {
            shape,
            data: (0..n).map(|v| v as f32).collect(),
        }
    }

    #[test]
    fn slicing_by_hand() {
        let a = t(vec![3, 2]);
        assert_eq!(slice_dim0(&a, &[0, 2]).data, vec![0.0, 1.0, 4.0, 5.0]);
        let b = t(vec![2, 4]); // [[0,1,2,3],[4,5,6,7]], channels of 2 columns each
        let s = slice_dim1(&b, &[1], 2);
        assert_eq!(s.shape, vec![2, 2]);
        assert_eq!(s.data, vec![2.0, 3.0, 6.0, 7.0]);
        let c = t(vec![1, 3, 2]);
        let s = slice_dim1(&c, &[0, 2], 1);
        assert_eq!(s.data, vec![0.0, 1.0, 4.0, 5.0]);
        let mut d = t(vec![2, 2]);
        zero_dim0(&mut d, &[1]);
        assert_eq!(d.data, vec![0.0, 1.0, 0.0, 0.0]);
    }
}
