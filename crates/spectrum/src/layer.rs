//! One call from a layer's activations to its spectrum and fitted exponent.

use ndarray::{Array1, Array2, ArrayView2};

use crate::covariance::{CovarianceAccumulator, Precision, Sample};
use crate::eigen::{eigh, eigvalsh};
use crate::error::Result;
use crate::powerlaw::{PowerLawFit, RankRange, fit_power_law};

/// A layer's covariance spectrum.
#[derive(Debug, Clone, PartialEq)]
pub struct Spectrum {
    /// Eigenvalues of the activation covariance, decreasing.
    pub eigenvalues: Array1<f64>,
    /// Matching eigenvectors as columns, when asked for.
    pub eigenvectors: Option<Array2<f64>>,
    /// Mean activation per unit.
    pub mean: Array1<f64>,
    /// Power-law fit over the chosen rank range; an error when the spectrum is too short or not positive there.
    pub fit: Result<PowerLawFit>,
}

/// What [`layer_spectrum_with`] computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SpectrumOptions {
    /// Also return eigenvectors (costs about three times the eigenvalues-only solve).
    pub eigenvectors: bool,
    /// Fit range; `None` means protocol §1.7's default ([`RankRange::protocol`]).
    pub fit_range: Option<RankRange>,
    /// Accumulation precision of the covariance.
    pub precision: Precision,
}

/// Eigenvalues and power-law fit of the covariance (/ n) of `activations` (examples × units).
pub fn layer_spectrum<T: Sample>(activations: ArrayView2<'_, T>) -> Result<Spectrum> {
    layer_spectrum_with(activations, &SpectrumOptions::default())
}

/// [`layer_spectrum`] with options.
pub fn layer_spectrum_with<T: Sample>(activations: ArrayView2<'_, T>, options: &SpectrumOptions) -> Result<Spectrum> {
    let mut acc = CovarianceAccumulator::new(activations.ncols()).with_precision(options.precision);
    acc.update(activations)?;
    let cov = acc.covariance()?;
    let (eigenvalues, eigenvectors) = if options.eigenvectors {
        let e = eigh(cov.view())?;
        (e.values, Some(e.vectors))
    } else {
        (eigvalsh(cov.view())?, None)
    };
    let range = options.fit_range.unwrap_or_else(|| RankRange::protocol(eigenvalues.len()));
    let fit = fit_power_law(eigenvalues.as_slice().expect("contiguous"), range);
    Ok(Spectrum { eigenvalues, eigenvectors, mean: acc.mean(), fit })
}
