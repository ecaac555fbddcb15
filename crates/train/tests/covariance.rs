//! The evaluation pass's covariance, accumulated on the host and on the device, against the two-pass
//! f64 reference on activations with a large offset (mean 1e4, spread 1): the case where a naive
//! E[x²] − E[x]² loses every digit (protocol §1.2 asks for f64 accuracy).

use burn::prelude::*;
use ndarray::{Array1, Array2, Array4};
use rand::{Rng, SeedableRng};
use specreg_data::Dataset;
use specreg_models::{HiddenForward, ModelError, Network};
use specreg_train::{DeviceData, Site, hidden_covariances};

/// A "network" whose only hidden layer is its flattened input: the pass sees the data itself.
struct Identity(usize);

impl Network for Identity {
    fn forward_hidden(&self, images: Tensor<4>) -> HiddenForward {
        let flat = images.flatten::<2>(1, 3);
        HiddenForward { logits: flat.clone(), hidden: vec![flat] }
    }
    fn forward_tangent(&self, _: Tensor<4>, _: Tensor<4>) -> Result<(Tensor<2>, Tensor<2>), ModelError> {
        Err(ModelError::TangentUnsupported("a test network"))
    }
    fn hidden_widths(&self) -> Vec<usize> {
        vec![self.0]
    }
    fn uses_batch_statistics(&self) -> bool {
        false
    }
}

fn relative_error(a: &Array2<f64>, reference: &Array2<f64>) -> f64 {
    let diff = (a - reference).mapv(|v| v * v).sum().sqrt();
    diff / reference.mapv(|v| v * v).sum().sqrt()
}

#[test]
fn host_and_device_covariances_match_two_pass_f64_at_a_large_offset() {
    let (rows, units) = (3000, 40);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    // Unit j has spread 1/(j+1) around 1e4 + j: a decaying spectrum far from the origin.
    let values = Array2::from_shape_fn((rows, units), |(_, j)| (1e4 + j as f64 + (rng.random::<f64>() - 0.5) * 3.4 / (j + 1) as f64) as f32);
    let reference = specreg_spectrum::covariance(values.view()).unwrap();
    let images = Array4::from_shape_vec((rows, 1, 1, units), values.iter().copied().collect()).unwrap();
    let data = DeviceData::upload(&Dataset { images, labels: Array1::zeros(rows), num_classes: 1 }, &Device::flex());
    for site in [Site::Host, Site::Device] {
        // Chunks of 700: the device path shifts by the first chunk's mean and merges the rest.
        let covariance = hidden_covariances(&Identity(units), &data, &[0], 700, site).unwrap().remove(0);
        let error = relative_error(&covariance, &reference);
        eprintln!("{site:?}: relative error {error:.2e}");
        assert!(error < 1e-10, "{site:?}: relative error {error:.2e}");
        assert_eq!(covariance, covariance.t(), "{site:?}: symmetric");
    }
}

#[test]
fn a_layer_asked_for_twice_gets_the_same_covariance_twice() {
    let (rows, units) = (900, 12);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let values = Array2::from_shape_fn((rows, units), |(_, j)| (j as f64 + rng.random::<f64>()) as f32);
    let reference = specreg_spectrum::covariance(values.view()).unwrap();
    let images = Array4::from_shape_vec((rows, 1, 1, units), values.iter().copied().collect()).unwrap();
    let data = DeviceData::upload(&Dataset { images, labels: Array1::zeros(rows), num_classes: 1 }, &Device::flex());
    for site in [Site::Host, Site::Device] {
        // The host pass moves a layer's activations to the host on its last read: the first read
        // must leave them in place for the second.
        let covariances = hidden_covariances(&Identity(units), &data, &[0, 0], 400, site).unwrap();
        assert_eq!(covariances.len(), 2, "{site:?}");
        assert_eq!(covariances[0], covariances[1], "{site:?}");
        let error = relative_error(&covariances[0], &reference);
        assert!(error < 1e-10, "{site:?}: relative error {error:.2e}");
    }
}
