//! Batch whitening (protocol §1.3): `y = L⁻¹ (x − mean)` with `L Lᵀ = X̃ᵀX̃/B + εI`, on batch
//! statistics in training and evaluation alike.
//!
//! burn has no differentiable Cholesky, so the factor `W = L⁻¹` is computed on the host (f64, faer)
//! and the gradient through Σ is supplied by a surrogate that equals the output in value. Since
//! `dW = −Φ(W dΣ Wᵀ) W` (Φ keeps the lower triangle and halves the diagonal) and `W dΣ Wᵀ = d(YᵀY)/B`
//! for `Y = X̃Wᵀ` with `W` held fixed, the whitened output's derivative is `dY − Y Φ(d(YᵀY)/B)ᵀ`.
//! The layer returns `Y − sg(Y) Φ(E + Eᵀ)ᵀ / B` with `E = sg(Y)ᵀY − sg(sg(Y)ᵀY)`: `E` is exactly
//! zero, so the value is `Y` bit for bit, and backpropagating a gradient `G` gives
//! `(G − Y (K + Kᵀ)/B) W` with `K = Φ(GᵀY)`, the true gradient. That costs six `B·N²` products per
//! step (forward and backward), where differentiating `W Δ Wᵀ` with `Δ = Σ − sg(Σ)` cost six `B·N²`
//! and six `N³`.

use burn::prelude::*;
use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

/// Whitening of one hidden layer. No parameters.
#[derive(Module, Debug)]
pub struct Whiten {
    /// Ridge added to the batch covariance.
    #[module(skip)]
    pub epsilon: f64,
}

/// Settings of a [`Whiten`] layer.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WhitenConfig {
    /// Ridge added to the batch covariance (protocol §1.3: 1e-5).
    pub epsilon: f64,
}

impl Default for WhitenConfig {
    fn default() -> Self {
        Self { epsilon: 1e-5 }
    }
}

impl WhitenConfig {
    /// Builds the layer.
    pub fn init(&self) -> Whiten {
        Whiten { epsilon: self.epsilon }
    }
}

impl Whiten {
    /// Whitens a batch (batch × units). A batch whose covariance cannot be factorised (non-finite
    /// activations) yields NaN outputs, which the trainer reports as a non-finite loss.
    pub fn forward(&self, x: Tensor<2>) -> Tensor<2> {
        let [batch, units] = x.dims();
        let device = x.device();
        let w = Tensor::<2>::from_data(TensorData::new(self.host_inverse_factor(x.clone()), [units, units]), &device);
        let tracked = x.is_tracked();
        let centred = x.clone() - x.mean_dim(0);
        let y = centred.matmul(w.transpose());
        if !tracked {
            return y;
        }
        let fixed = y.clone().detach();
        // E: YᵀY with the gradient of its right factor only; the symmetrised Φ supplies the other.
        let gram = fixed.clone().transpose().matmul(y.clone());
        let e = gram.clone() - gram.detach();
        let xi = (e.clone() + e.transpose()) * (lower_half_mask(units, &device) / batch as f64);
        y - fixed.matmul(xi.transpose())
    }

    /// `L⁻¹` of the batch covariance plus the ridge, all in f64 on the host. An f32 covariance
    /// carries rounding of about 1e-6 of its norm, which whitening multiplies by the condition
    /// number (1e6 gave 2.4e-2 off the identity); with the f64 one the output covariance is off by
    /// little more than the ridge's ε/λ_min. NaN when the batch cannot be factorised.
    fn host_inverse_factor(&self, x: Tensor<2>) -> Vec<f32> {
        let [batch, units] = x.dims();
        let values: Vec<f32> = x.detach().into_data().try_into_vec_as::<f32>().unwrap_or_default();
        let factor = || {
            let mut sigma = specreg_spectrum::covariance(ArrayView2::from_shape((batch, units), &values).ok()?).ok()?;
            sigma.diag_mut().mapv_inplace(|v| v + self.epsilon);
            specreg_spectrum::inverse_cholesky(sigma.view()).ok()
        };
        match factor() {
            Some(w) => w.iter().map(|&v| v as f32).collect(),
            None => vec![f32::NAN; units * units],
        }
    }
}

/// Φ's mask: 1 below the diagonal, ½ on it, 0 above.
fn lower_half_mask(n: usize, device: &Device) -> Tensor<2> {
    let values: Vec<f32> = (0..n * n)
        .map(|k| match (k / n).cmp(&(k % n)) {
            std::cmp::Ordering::Greater => 1.0,
            std::cmp::Ordering::Equal => 0.5,
            std::cmp::Ordering::Less => 0.0,
        })
        .collect();
    Tensor::from_data(TensorData::new(values, [n, n]), device)
}
