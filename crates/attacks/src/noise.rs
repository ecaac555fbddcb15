//! Random (non-adversarial) perturbations of the same size: the control every robustness curve needs.

use burn::prelude::*;
use rand::Rng;
use rand_distr::{Distribution, Normal};

use crate::random::per_example_tensor;

/// Which random perturbation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum NoiseKind {
    /// Uniform in [−ε, ε] per pixel.
    Uniform,
    /// Normal with standard deviation ε/2, truncated to [−ε, ε], so it stays inside the same L∞ ball.
    Gaussian,
}

/// x + noise of size ε, clipped to [0, 1]; noise drawn per example (batch-independent).
pub fn noise<const D: usize>(x: Tensor<D>, kind: NoiseKind, epsilon: f32, seed: u64, first: usize) -> Tensor<D> {
    if epsilon == 0.0 {
        return x;
    }
    let noise = match kind {
        NoiseKind::Uniform => per_example_tensor(x.dims(), &x.device(), seed, 0x554E_4946, first, |rng, row| {
            row.iter_mut().for_each(|v| *v = rng.random_range(-epsilon..=epsilon));
        }),
        NoiseKind::Gaussian => {
            let normal = Normal::new(0.0f32, epsilon / 2.0).expect("ε > 0");
            per_example_tensor(x.dims(), &x.device(), seed, 0x4741_5553, first, |rng, row| {
                row.iter_mut().for_each(|v| *v = normal.sample(rng).clamp(-epsilon, epsilon));
            })
        }
    };
    (x + noise).clamp(0.0, 1.0)
}
