//! The theory figures of PROTOCOL §2, simulations without training: T1 (spectra of a random deep
//! network) and T2 (smoothness against spectral decay).

pub mod t1;
pub mod t2;

pub use t1::T1Config;
pub use t2::T2Config;

/// Normalised spectrum points (rank, λ/Σλ) of one layer, for log-log plots.
pub(crate) fn normalised_points(eigenvalues: &[f64]) -> Vec<(f64, f64)> {
    specreg_spectrum::normalized(eigenvalues).into_iter().enumerate().map(|(k, v)| ((k + 1) as f64, v)).collect()
}
