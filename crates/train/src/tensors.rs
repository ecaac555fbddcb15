//! Moving dataset batches onto a device, and evaluation passes over whole datasets.

use burn::prelude::*;
use ndarray::{ArrayView1, ArrayView4};
use specreg_data::Dataset;
use specreg_models::Network;
use specreg_spectrum::CovarianceAccumulator;

use crate::error::TrainError;

/// Images (batch × C × H × W) and labels of a batch as tensors on `device`.
pub fn to_tensors(images: ArrayView4<'_, f32>, labels: ArrayView1<'_, u8>, device: &Device) -> (Tensor<4>, Tensor<1, Int>) {
    let shape: [usize; 4] = images.dim().into();
    let pixels: Vec<f32> = images.iter().copied().collect();
    let labels: Vec<i64> = labels.iter().map(|&l| i64::from(l)).collect();
    let n = labels.len();
    (Tensor::from_data(TensorData::new(pixels, shape), device), Tensor::from_data(TensorData::new(labels, [n]), device))
}

/// Number of correct predictions in a batch.
pub fn correct(logits: Tensor<2>, labels: Tensor<1, Int>) -> usize {
    let predicted = logits.argmax(1).squeeze_dim::<1>(1);
    predicted.equal(labels).int().sum().into_scalar::<i64>() as usize
}

/// Accuracy of `model` (in evaluation mode) on `data`, in batches of `batch_size`.
pub fn accuracy(model: &impl Network, data: &Dataset, batch_size: usize, device: &Device) -> f64 {
    let mut right = 0;
    for (images, labels) in data.chunks(batch_size) {
        let (x, y) = to_tensors(images, labels, device);
        right += correct(model.forward(x), y);
    }
    right as f64 / data.len().max(1) as f64
}

/// Covariance accumulators (f64) of the chosen hidden layers over all of `data`, one per layer, from
/// a forward pass in evaluation mode: PROTOCOL §1.2 step 1 and §1.7.
pub fn hidden_covariances(
    model: &impl Network,
    data: &Dataset,
    layers: &[usize],
    batch_size: usize,
    device: &Device,
) -> Result<Vec<CovarianceAccumulator>, TrainError> {
    let widths = model.hidden_widths();
    let mut accumulators: Vec<CovarianceAccumulator> = layers.iter().map(|&k| CovarianceAccumulator::new(widths[k])).collect();
    for (images, labels) in data.chunks(batch_size) {
        let (x, _) = to_tensors(images, labels, device);
        let hidden = model.forward_hidden(x).hidden;
        for (acc, &k) in accumulators.iter_mut().zip(layers) {
            let rows = host_matrix(hidden[k].clone());
            acc.update(rows.view()).map_err(|source| TrainError::Spectrum { layer: k, source })?;
        }
    }
    Ok(accumulators)
}

/// A 2-D tensor copied to the host.
pub fn host_matrix(t: Tensor<2>) -> ndarray::Array2<f32> {
    let [r, c] = t.dims();
    let values: Vec<f32> = t.into_data().try_into_vec_as::<f32>().expect("f32 tensor data");
    ndarray::Array2::from_shape_vec((r, c), values).expect("shape matches")
}
