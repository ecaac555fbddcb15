//! Synthetic population responses with a chosen covariance spectrum: for examples, tests and the
//! theory figures.

use faer::Mat;
use ndarray::{Array1, Array2};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// A random orthogonal `dim × dim` matrix (Haar-distributed: QR of a Gaussian matrix, signs fixed by R's diagonal).
pub fn random_rotation(dim: usize, seed: u64) -> Array2<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let g = Mat::<f64>::from_fn(dim, dim, |_, _| StandardNormal.sample(&mut rng));
    let qr = g.qr();
    let (q, r) = (qr.compute_Q(), qr.R());
    Array2::from_shape_fn((dim, dim), |(i, j)| q[(i, j)] * r[(j, j)].signum())
}

/// `samples` Gaussian responses of `variances.len()` units whose covariance has exactly the eigenvalues
/// `variances`, in a random orthonormal basis (seeded).
pub fn gaussian_responses(samples: usize, variances: &[f64], seed: u64) -> Array2<f64> {
    let dim = variances.len();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let scales: Array1<f64> = variances.iter().map(|v| v.sqrt()).collect();
    let latent = Array2::from_shape_fn((samples, dim), |(_, j)| {
        let z: f64 = StandardNormal.sample(&mut rng);
        scales[j] * z
    });
    latent.dot(&random_rotation(dim, seed.wrapping_add(0x9e37_79b9)).t())
}

/// The power-law variances n^(−α) for ranks 1..=dim.
pub fn power_law_variances(dim: usize, alpha: f64) -> Vec<f64> {
    (1..=dim).map(|n| (n as f64).powf(-alpha)).collect()
}
