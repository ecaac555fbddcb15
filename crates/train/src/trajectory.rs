//! The spectrum through training: a layer's training-set spectrum summarised at one point of training.
//! The eigenvector refresh computes regularised layers' spectra every epoch anyway; the others are
//! measured every few epochs ([`TrainOptions::spectrum_every`](crate::TrainOptions::spectrum_every)).

use serde::{Deserialize, Serialize};
use specreg_spectrum::{RankRange, fit_power_law, fraction_near_target};

/// One layer's training-set spectrum after some epochs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpectrumPoint {
    /// Epochs completed (0: the initial model).
    pub epoch: usize,
    /// Hidden layer (0-based).
    pub layer: usize,
    /// Whether the spectral penalty acts on the layer.
    pub regularised: bool,
    /// α̂ of protocol §1.7 (ranks 11–500, or to N/2, capped by the examples); `None` when no fit can
    /// be made (a spectrum not positive over the range).
    pub alpha_hat: Option<f64>,
    /// R² of the fit.
    pub r2: Option<f64>,
    /// First rank fitted.
    pub rank_min: usize,
    /// Last rank fitted.
    pub rank_max: usize,
    /// Fraction of ranks n > 10 within a factor 2 of the α = 1 target anchored at rank 10 (`None` when
    /// the layer is too narrow).
    pub near_target: Option<f64>,
    /// The largest eigenvalue.
    pub top_eigenvalue: f64,
}

impl SpectrumPoint {
    /// Summarises `eigenvalues` (decreasing) of `layer` measured over `examples` after `epoch` epochs.
    pub fn new(epoch: usize, layer: usize, regularised: bool, eigenvalues: &[f64], examples: usize) -> Self {
        let range = RankRange::protocol(eigenvalues.len().min(examples));
        let (alpha_hat, r2, rank_min, rank_max) = match fit_power_law(eigenvalues, range) {
            Ok(fit) => (Some(fit.alpha), Some(fit.r2), fit.range.min, fit.range.max),
            Err(_) => (None, None, range.min, range.max),
        };
        SpectrumPoint {
            epoch,
            layer,
            regularised,
            alpha_hat,
            r2,
            rank_min,
            rank_max,
            near_target: fraction_near_target(eigenvalues, 1.0, 10, 2.0).ok(),
            top_eigenvalue: eigenvalues.first().copied().unwrap_or(f64::NAN),
        }
    }
}
