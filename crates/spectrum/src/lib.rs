//! # specreg-spectrum
//!
//! ```toml
//! [dependencies]
//! specreg-spectrum = "0.1"
//!
//! # Numeric code is unusably slow unoptimised: optimise dependencies in dev and test builds too.
//! [profile.dev.package."*"]
//! opt-level = 3
//! ```
//!
//! Invariant: covariances are accumulated in f64 and eigenvalues come in decreasing order; no deep-learning
//! dependency.
//!
//! Covariance eigenspectra and their power laws, for anyone with a matrix of responses: a layer's
//! activations or a population of recorded neurons (rows = examples or stimuli, columns = units).
//! ndarray in, ndarray out, f64 inside; no deep-learning dependency.
//!
//! - [`CovarianceAccumulator`]: streaming mean and covariance of f32 or f64 row batches, centred per
//!   block and merged pairwise (no cancellation when the mean is large), computing one triangle only.
//! - [`eigh`] / [`eigvalsh`]: symmetric eigendecomposition (faer), eigenvalues in decreasing order.
//! - [`fit_power_law`]: α̂ of λ_n ∝ n^(−α) by least squares in log-log over a rank range, with R²;
//!   [`RankRange::protocol`] is the default rule (ranks 11–500, or to N/2).
//! - [`normalized`], [`reference_curve`], [`participation_ratio`], [`smoothness_threshold`]
//!   (Stringer's α_c = 1 + 2/d), and the spectral regulariser's [`target_spectrum`].
//! - [`cross_validated_spectrum`]: cross-validated PCA (Stringer et al. 2019), the signal spectrum
//!   from two repeats of the same stimuli.
//! - [`layer_spectrum`]: activations → eigenvalues (+ eigenvectors) + fit, in one call.
//!
//! ```
//! use specreg_spectrum::{layer_spectrum, simulate, RankRange, fit_power_law, participation_ratio};
//!
//! // 4,000 responses of 100 units with a 1/n covariance spectrum, in a random basis.
//! let variances = simulate::power_law_variances(100, 1.0);
//! let responses = simulate::gaussian_responses(4_000, &variances, 7).mapv(|v| v as f32);
//!
//! let spectrum = layer_spectrum(responses.view())?;
//! let fit = spectrum.fit?; // default range: ranks 11..=50 for 100 units
//! assert_eq!(fit.range, RankRange::new(11, 50));
//! assert!((fit.alpha - 1.0).abs() < 0.1, "α̂ = {}", fit.alpha);
//!
//! // The same spectrum fitted over ranks 2..=20.
//! let early = fit_power_law(spectrum.eigenvalues.as_slice().unwrap(), RankRange::new(2, 20))?;
//! assert!(early.r2 > 0.95);
//! assert!(participation_ratio(spectrum.eigenvalues.as_slice().unwrap()) > 5.0);
//! # Ok::<(), specreg_spectrum::SpectrumError>(())
//! ```

#![warn(missing_docs)]

mod covariance;
mod cvpca;
mod eigen;
mod error;
mod estimate;
mod layer;
mod powerlaw;
pub mod simulate;

pub use covariance::{CovarianceAccumulator, Precision, Sample, covariance};
pub use cvpca::cross_validated_spectrum;
pub use eigen::{Eigen, eigh, eigvalsh, fix_factorisation_split, inverse_cholesky};
pub use error::{Result, SpectrumError};
pub use estimate::{AlphaFit, FitMethod, Interval, Resampling, fit_alpha, interval_over_examples, interval_over_ranks};
pub use layer::{Spectrum, SpectrumOptions, layer_spectrum, layer_spectrum_with};
pub use powerlaw::{
    PowerLawFit, RankRange, fit_power_law, fit_power_law_default, fraction_near_target, normalized, participation_ratio, reference_curve, smoothness_threshold,
    target_spectrum,
};
