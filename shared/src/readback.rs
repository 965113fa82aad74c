//! Device → host: the one way this crate reads a tensor's values back.
//! Every reader gets an error it must handle (a failed device execution, a
//! lost WebGPU device) instead of an empty vector that a later index turns
//! into a panic far from the cause. Values of any float dtype (f16 weights,
//! f64 tests) are converted to f32.

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

/// A tensor that could not be read back, and why.
#[derive(Debug, thiserror::Error)]
#[error("reading a tensor of shape {shape:?} back from the device failed: {reason}")]
pub struct ReadbackError {
    pub shape: Vec<usize>,
    pub reason: String,
}

/// The tensor's values in row-major order, as f32.
pub fn floats<B: Backend, const D: usize>(t: Tensor<B, D>) -> Result<Vec<f32>, ReadbackError> {
    let shape = t.dims().to_vec();
    let data = t.try_into_data().map_err(|e| ReadbackError {
        shape: shape.clone(),
        reason: format!("{e:?}"),
    })?;
    to_f32(data, shape)
}

/// [`floats`] without blocking: what the browser must use on WebGPU.
pub async fn floats_async<B: Backend, const D: usize>(
    t: Tensor<B, D>,
) -> Result<Vec<f32>, ReadbackError> {
    let shape = t.dims().to_vec();
    let data = t.into_data_async().await.map_err(|e| ReadbackError {
        shape: shape.clone(),
        reason: format!("{e:?}"),
    })?;
    to_f32(data, shape)
}

/// `[batch, K, 3]` → per-sample points in f64 (metrics work on the host in f64).
pub fn points<B: Backend>(t: Tensor<B, 3>) -> Result<Vec<Vec<[f64; 3]>>, ReadbackError> {
    let [n, k, _] = t.dims();
    let v = floats(t)?;
    Ok(v.chunks_exact(3 * k.max(1))
        .take(n)
        .map(|sample| {
            sample
                .chunks_exact(3)
                .map(|p| [p[0] as f64, p[1] as f64, p[2] as f64])
                .collect()
        })
        .collect())
}

/// Flat `[… × 3]` values (a readback of points) as 3-vectors.
pub fn triples(values: &[f32]) -> Vec<[f32; 3]> {
    values.chunks_exact(3).map(|c| [c[0], c[1], c[2]]).collect()
}

fn to_f32(data: TensorData, shape: Vec<usize>) -> Result<Vec<f32>, ReadbackError> {
    data.convert::<f32>()
        .into_vec::<f32>()
        .map_err(|e| ReadbackError {
            shape,
            reason: format!("{e:?}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::Flex;

    #[test]
    fn values_come_back_in_order_and_as_points() {
        let device = Default::default();
        let t = Tensor::<Flex, 3>::from_data(
            TensorData::new((0..12).map(|v| v as f32).collect::<Vec<_>>(), [2, 2, 3]),
            &device,
        );
        assert_eq!(
            floats(t.clone()).unwrap(),
            (0..12).map(|v| v as f32).collect::<Vec<_>>()
        );
        let p = points(t).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[1][0], [6.0, 7.0, 8.0]);
    }

    #[test]
    fn integer_data_is_converted_not_emptied() {
        // The failure the old `to_vec().unwrap_or_default()` hid: a dtype
        // other than the one asked for gave an empty vector.
        let data = TensorData::new(vec![1i32, 2, 3], [3]);
        assert!(data.to_vec::<f32>().is_err());
        assert_eq!(to_f32(data, vec![3]).unwrap(), vec![1.0, 2.0, 3.0]);
    }
}
