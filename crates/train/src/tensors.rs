//! Datasets on a device, and the evaluation passes over them: accuracy and hidden-layer covariances.
//!
//! A dataset is uploaded once ([`DeviceData::upload`]); batches are gathered on the device by index,
//! and passes accumulate on the device, so that a pass reads back once, not once per batch (on a GPU
//! every read drains the queue).

use burn::prelude::*;
use burn::tensor::{DType, Transaction};
use ndarray::{Array1, Array2, ArrayView1, ArrayView4};
use specreg_data::Dataset;
use specreg_models::Network;
use specreg_spectrum::CovarianceAccumulator;

use crate::error::TrainError;

/// Images (batch × C × H × W) and labels of a batch as tensors on `device`.
pub fn to_tensors(images: ArrayView4<'_, f32>, labels: ArrayView1<'_, u8>, device: &Device) -> (Tensor<4>, Tensor<1, Int>) {
    let shape: [usize; 4] = images.dim().into();
    // A contiguous array (every dataset as loaded) is one copy; others are gathered element by element.
    let pixels: Vec<f32> = images.as_slice().map_or_else(|| images.iter().copied().collect(), <[f32]>::to_vec);
    let labels: Vec<i64> = labels.iter().map(|&l| i64::from(l)).collect();
    let n = labels.len();
    (Tensor::from_data(TensorData::new(pixels, shape), device), Tensor::from_data(TensorData::new(labels, [n]), device))
}

/// A labelled dataset uploaded to a device once, on its plain (non-autodiff) side.
#[derive(Debug, Clone)]
pub struct DeviceData {
    /// Images, N × C × H × W.
    pub images: Tensor<4>,
    /// Labels, N.
    pub labels: Tensor<1, Int>,
}

impl DeviceData {
    /// Uploads `data` to `device`.
    pub fn upload(data: &Dataset, device: &Device) -> Self {
        let (images, labels) = to_tensors(data.images.view(), data.labels.view(), &device.clone().inner());
        DeviceData { images, labels }
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.dims()[0]
    }

    /// Whether there is no example.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The examples at `indices` (an Int tensor on the same device), gathered on the device.
    pub fn select(&self, indices: Tensor<1, Int>) -> (Tensor<4>, Tensor<1, Int>) {
        (self.images.clone().select(0, indices.clone()), self.labels.clone().select(0, indices))
    }

    /// The whole dataset in order, in chunks of at most `size` examples (no copy where the backend can narrow).
    pub fn chunks(&self, size: usize) -> impl Iterator<Item = (Tensor<4>, Tensor<1, Int>)> + '_ {
        let n = self.len();
        (0..n).step_by(size.max(1)).map(move |first| {
            let len = size.min(n - first);
            (self.images.clone().narrow(0, first, len), self.labels.clone().narrow(0, first, len))
        })
    }
}

/// Number of correct predictions in a batch, on the device (shape `[1]`).
pub fn correct(logits: Tensor<2>, labels: Tensor<1, Int>) -> Tensor<1, Int> {
    let predicted = logits.argmax(1).squeeze_dim::<1>(1);
    predicted.equal(labels).int().sum()
}

/// Correct predictions of `model` (in evaluation mode) over `data` in batches of `batch_size`,
/// summed on the device (shape `[1]`): nothing is read back.
pub fn correct_count(model: &impl Network, data: &DeviceData, batch_size: usize) -> Tensor<1, Int> {
    let device = data.labels.device();
    data.chunks(batch_size).map(|(x, y)| correct(model.forward(x), y)).fold(Tensor::<1, Int>::zeros([1], &device), |sum, c| sum + c)
}

/// Accuracy of `model` (in evaluation mode) on `data`, in batches of `batch_size`; one read.
pub fn accuracy(model: &impl Network, data: &DeviceData, batch_size: usize) -> f64 {
    correct_count(model, data, batch_size).into_scalar::<i64>() as f64 / data.len().max(1) as f64
}

/// Where work that has both a host and a device implementation runs: the covariances of evaluation
/// passes (protocol §1.2 step 1 and §1.7 ask for f64) and the Jacobian penalty's random projections.
/// Results agree up to rounding (covariances) or are other draws of the same distribution
/// (projections); the choice is about speed, and is made per backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Site {
    /// On the host: activations read back chunk by chunk and accumulated in f64 (faer); projections
    /// drawn from ChaCha and uploaded. Fastest on a CPU backend, where a read is a copy.
    #[default]
    Host,
    /// On the device: covariances accumulated in f64 (shifted by the first chunk's mean) with only the
    /// N × N result read back, or on the host where the device lacks f64; projections drawn by a
    /// counter-based generator. For GPUs, where every read drains the queue.
    Device,
}

/// The covariance (f64, normalised by the number of examples) of each chosen hidden layer over all of
/// `data`, from a forward pass in evaluation mode: protocol §1.2 step 1 and §1.7.
pub fn hidden_covariances(model: &impl Network, data: &DeviceData, layers: &[usize], batch_size: usize, site: Site) -> Result<Vec<Array2<f64>>, TrainError> {
    let device = data.labels.device();
    // An empty set goes to the host path, which reports it as an error.
    if site == Site::Device && device.supports_dtype(DType::F64) && !data.is_empty() {
        device_covariances(model, data, layers, batch_size)
    } else {
        host_covariances(model, data, layers, batch_size)
    }
}

fn host_covariances(model: &impl Network, data: &DeviceData, layers: &[usize], batch_size: usize) -> Result<Vec<Array2<f64>>, TrainError> {
    let widths = model.hidden_widths();
    let mut accumulators: Vec<CovarianceAccumulator> = layers.iter().map(|&k| CovarianceAccumulator::new(widths[k])).collect();
    for (x, _) in data.chunks(batch_size) {
        // A layer's last read moves its tensor to the host: a read of a tensor held nowhere else takes
        // over its buffer instead of copying it.
        let mut hidden: Vec<Option<Tensor<2>>> = model.forward_hidden(x).hidden.into_iter().map(Some).collect();
        for (i, (acc, &k)) in accumulators.iter_mut().zip(layers).enumerate() {
            let tensor = if layers[i + 1..].contains(&k) { hidden[k].clone() } else { hidden[k].take() };
            let rows = host_matrix(tensor.expect("widths and activations come from the same network"));
            acc.update(rows.view()).map_err(|source| TrainError::Spectrum { layer: k, source })?;
        }
    }
    accumulators.iter().zip(layers).map(|(acc, &k)| acc.covariance().map_err(|source| TrainError::Spectrum { layer: k, source })).collect()
}

/// Σ (x − s)(x − s)ᵀ and Σ (x − s) in f64 on the device, s the first chunk's mean; one read at the end.
fn device_covariances(model: &impl Network, data: &DeviceData, layers: &[usize], batch_size: usize) -> Result<Vec<Array2<f64>>, TrainError> {
    let mut sums: Vec<Option<(Tensor<1>, Tensor<1>, Tensor<2>)>> = vec![None; layers.len()];
    for (x, _) in data.chunks(batch_size) {
        let hidden = model.forward_hidden(x).hidden;
        for (sum, &k) in sums.iter_mut().zip(layers) {
            let h = hidden[k].clone().cast(DType::F64);
            let (shift, total, outer) = sum.take().unwrap_or_else(|| {
                let [_, n] = h.dims();
                let device = h.device();
                let zeros = |shape: [usize; 2]| Tensor::<2>::zeros(shape, (&device, DType::F64));
                (h.clone().mean_dim(0).reshape([n]), zeros([1, n]).reshape([n]), zeros([n, n]))
            });
            let centred = h - shift.clone().unsqueeze_dim::<2>(0);
            *sum = Some((shift, total + centred.clone().sum_dim(0).reshape([centred.dims()[1]]), outer + centred.clone().transpose().matmul(centred)));
        }
    }
    // The shift is not read back: the covariance of the shifted values is the covariance.
    let count = data.len() as f64;
    let mut transaction = Transaction::default();
    for (_, total, outer) in sums.iter().flatten() {
        transaction = transaction.register(total.clone()).register(outer.clone());
    }
    let read = transaction.execute();
    let mut covariances = Vec::new();
    for (parts, &k) in read.chunks(2).zip(layers) {
        let values = |d: &TensorData| d.iter::<f64>().collect::<Vec<f64>>();
        let (total, outer) = (values(&parts[0]), values(&parts[1]));
        if let Some(&value) = outer.iter().chain(&total).find(|v| !v.is_finite()) {
            return Err(TrainError::Spectrum { layer: k, source: specreg_spectrum::SpectrumError::NonFinite { what: "activations", row: 0, col: 0, value } });
        }
        let n = total.len();
        let mean = Array1::from(total) / count;
        let outer = Array2::from_shape_vec((n, n), outer).expect("N × N");
        let mut covariance = outer / count;
        for i in 0..n {
            for j in 0..n {
                covariance[[i, j]] -= mean[i] * mean[j];
            }
        }
        // Symmetrise (the device's matmul need not be bit-symmetric).
        let covariance = (&covariance + &covariance.t()) / 2.0;
        covariances.push(covariance);
    }
    Ok(covariances)
}

/// A 2-D tensor copied to the host as f32. The read takes over the backend's buffer where it can (on
/// the CPU backend an f32 tensor moves without a copy) and converts other dtypes in one pass; an
/// element-by-element read costs a dynamic call per value (with the clone the refresh no longer
/// makes, 0.2–0.35 s of E1's 2.3–2.5 s forward-and-covariance pass on a Zen 5 EPYC).
pub fn host_matrix(t: Tensor<2>) -> Array2<f32> {
    let [r, c] = t.dims();
    let values: Vec<f32> = t.into_data().try_into_vec_as::<f32>().expect("a float tensor converts to f32");
    Array2::from_shape_vec((r, c), values).expect("shape matches")
}
