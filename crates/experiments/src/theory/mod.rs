//! The theory figures of protocol §2, simulations without training: T1 (spectra of a random deep
//! network) and T2 (smoothness against spectral decay).

pub mod t1;
pub mod t2;

pub use t1::T1Config;
pub use t2::T2Config;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::Result;
use crate::settings::SectionOf;

/// A theory section parsed as `T` and checked by `validate`, returned with every default written out
/// (what manifests record and compare).
pub(crate) fn checked<T: DeserializeOwned + Serialize>(
    section: &serde_json::Value,
    at: SectionOf<'_>,
    validate: fn(&T, SectionOf<'_>) -> Result<()>,
) -> Result<serde_json::Value> {
    let config: T = at.parse(section)?;
    validate(&config, at)?;
    serde_json::to_value(&config).map_err(|e| at.bad(".", e.to_string()))
}

/// A checked theory section as `T`.
pub(crate) fn config<T: DeserializeOwned>(section: &serde_json::Value, name: &str) -> Result<T> {
    SectionOf { file: std::path::Path::new("(checked profile)"), section: name }.parse(section)
}

/// Eigenvalues below this fraction of the largest are not drawn in spectrum figures: a covariance
/// formed in f64 resolves about 1e-16 of its largest eigenvalue, and a few orders above that the values
/// are rounding noise, not spectrum (T1's two-cluster layers reach 1e-17).
pub const SPECTRUM_FLOOR: f64 = 1e-12;

/// Normalised spectrum points (rank, λ/Σλ) of one layer for log-log plots, down to [`SPECTRUM_FLOOR`]
/// × λ₁.
pub(crate) fn normalised_points(eigenvalues: &[f64]) -> Vec<(f64, f64)> {
    let floor = SPECTRUM_FLOOR * eigenvalues.first().copied().unwrap_or(0.0);
    specreg_spectrum::normalized(eigenvalues)
        .into_iter()
        .zip(eigenvalues)
        .enumerate()
        .filter(|(_, (_, raw))| **raw >= floor)
        .map(|(k, (v, _))| ((k + 1) as f64, v))
        .collect()
}
