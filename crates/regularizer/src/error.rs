//! Typed errors of the penalties.

use specreg_spectrum::SpectrumError;

/// Why a penalty could not be built or evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PenaltyError {
    /// Settings out of range (β < 0, α ≤ 0, τ beyond the layer, an empty rank window, …).
    #[error("invalid penalty settings: {0}")]
    Settings(String),
    /// `value` was called before the first `refresh`.
    #[error("the spectral penalty has no eigenvectors yet: call `refresh` (once per epoch) before `value`")]
    NoEigenvectors,
    /// The activations are not batch × width with batch ≥ 2.
    #[error("hidden layer has shape {got:?}, expected batch × {width} with batch ≥ 2")]
    Shape {
        /// The shape received.
        got: [usize; 2],
        /// The layer width the penalty was built for.
        width: usize,
    },
    /// The covariance given to `refresh` is not width × width.
    #[error("covariance is {got:?}, expected {width} × {width}")]
    CovarianceShape {
        /// The shape received.
        got: (usize, usize),
        /// The layer width.
        width: usize,
    },
    /// The anchor eigenvalue is zero, negative or not finite: the batch spectrum is degenerate.
    #[error("anchor eigenvalue λ̂_τ = {value} is not positive and finite (τ = {tau}); the batch spectrum is degenerate")]
    Anchor {
        /// λ̂_τ.
        value: f64,
        /// τ.
        tau: usize,
    },
    /// The covariance has an eigenvalue below zero by more than rounding allows: its activations are
    /// not a real covariance's (the run diverged).
    #[error("the covariance has eigenvalue {value:.3e}, below zero beyond rounding (largest {largest:.3e}): the activations diverged")]
    NotPositiveSemidefinite {
        /// The most negative eigenvalue.
        value: f64,
        /// The largest eigenvalue.
        largest: f64,
    },
    /// The eigendecomposition of the refresh failed.
    #[error("eigenvector refresh failed")]
    Refresh(#[from] SpectrumError),
}
