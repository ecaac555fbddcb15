//! The Jacobian regulariser (Hoffman, Roberts & Yaida 2019; protocol §1.4): `λ_J · ½ ‖J‖²_F`,
//! averaged over the batch, `J = ∂logits/∂input`.
//!
//! burn's autodiff is first-order, so the paper's double-backward estimator is unavailable. Instead
//! `J·v` is computed in forward mode (a tangent propagated alongside the activations, see
//! `specreg_models::Network::forward_tangent`) with one Gaussian `v ~ N(0, I)` per example:
//! `E_v ‖J v‖² = tr(JᵀJ) = ‖J‖²_F`, an unbiased one-projection estimate that first-order autodiff can
//! differentiate with respect to the weights.

use burn::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::error::PenaltyError;

/// The Jacobian penalty's weight λ_J.
#[derive(Config, Debug, PartialEq)]
pub struct JacobianPenaltyConfig {
    /// λ_J (the paper: 0.01).
    #[config(default = 0.01)]
    pub weight: f64,
}

impl JacobianPenaltyConfig {
    /// Checks λ_J (finite, ≥ 0) and builds the penalty.
    pub fn init(&self) -> Result<JacobianPenalty, PenaltyError> {
        if !(self.weight.is_finite() && self.weight >= 0.0) {
            return Err(PenaltyError::Settings(format!("λ_J must be finite and ≥ 0, got {}", self.weight)));
        }
        Ok(JacobianPenalty { weight: self.weight })
    }
}

/// `λ_J · ½ ‖J‖²_F`, estimated with one forward-mode projection per example.
#[derive(Debug, Clone)]
pub struct JacobianPenalty {
    weight: f64,
}

impl JacobianPenalty {
    /// One standard-normal projection direction per example, drawn on the host from a ChaCha stream
    /// keyed by `seed` and uploaded: the same numbers on every backend. On a CPU backend the host is
    /// the device; on a GPU prefer [`JacobianPenalty::device_projection`].
    pub fn projection<const D: usize>(&self, shape: [usize; D], seed: u64, device: &Device) -> Tensor<D> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let count = shape.iter().product();
        let values: Vec<f32> = (0..count).map(|_| StandardNormal.sample(&mut rng)).collect();
        Tensor::from_data(TensorData::new(values, shape), device)
    }

    /// One standard-normal projection direction per example, drawn on the device from a counter-based
    /// generator keyed by `seed` (see [`crate::device_normal`]): no host work or upload, the same numbers
    /// for the same seed on one backend.
    pub fn device_projection<const D: usize>(&self, shape: [usize; D], seed: u64, device: &Device) -> Tensor<D> {
        crate::random::device_normal(shape, seed, device)
    }

    /// The per-batch estimate of ‖J‖²_F: the batch mean of ‖J v‖² (shape `[1]`).
    pub fn frobenius_estimate(jv: Tensor<2>) -> Tensor<1> {
        jv.square().sum_dim(1).mean()
    }

    /// `λ_J · ½ · mean ‖J v‖²`, to be added to the loss.
    pub fn value(&self, jv: Tensor<2>) -> Tensor<1> {
        Self::frobenius_estimate(jv) * (0.5 * self.weight)
    }
}
