//! The spectral regulariser (PROTOCOL §1.2).
//!
//! Once per epoch the layer's eigenvectors `V` are computed from the whole training set and frozen
//! ([`SpectralPenalty::refresh`]); for every batch, `λ̂_n = v_nᵀ C_B v_n` (the squared column norms of
//! `H̃_B V` over `B − 1`) is sorted in decreasing order and compared with the power law anchored at
//! rank τ: `γ_n = λ̂_τ (τ+1)^α / (n+1)^α` (0-based `n`, anchor without gradient). The penalty is
//! `β/N Σ_{n>τ} [(λ̂_n/γ_n − 1)² + max(0, λ̂_n/γ_n − 1)]`, skipping `λ̂_n ≤ 0`. No eigendecomposition is
//! differentiated: the gradient flows through `λ̂` only.

use burn::prelude::*;
use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use crate::error::PenaltyError;

/// α, τ and β of the spectral penalty. Defaults follow the paper: α = 1, τ = 10.
#[derive(Config, Debug, PartialEq)]
pub struct SpectralPenaltyConfig {
    /// Strength β (the paper uses 1, 2 or 5).
    pub beta: f64,
    /// Target decay exponent α.
    #[config(default = 1.0)]
    pub alpha: f64,
    /// Anchor rank τ (0-based): ranks above it are penalised.
    #[config(default = 10)]
    pub tau: usize,
}

impl SpectralPenaltyConfig {
    /// Checks the settings against a layer of `width` units.
    pub fn validate(&self, width: usize) -> Result<(), PenaltyError> {
        if !(self.beta.is_finite() && self.beta >= 0.0) {
            return Err(PenaltyError::Settings(format!("β must be finite and ≥ 0, got {}", self.beta)));
        }
        if !(self.alpha.is_finite() && self.alpha > 0.0) {
            return Err(PenaltyError::Settings(format!("α must be finite and > 0, got {}", self.alpha)));
        }
        if self.tau + 1 >= width {
            return Err(PenaltyError::Settings(format!("τ = {} leaves no rank to penalise in a layer of {width} units", self.tau)));
        }
        Ok(())
    }

    /// Builds the penalty for a layer of `width` units (eigenvectors still to be set by `refresh`).
    pub fn init(&self, width: usize) -> Result<SpectralPenalty, PenaltyError> {
        self.validate(width)?;
        Ok(SpectralPenalty { config: self.clone(), width, eigenvectors: None })
    }
}

/// The spectral penalty of one hidden layer; see the module documentation.
#[derive(Debug, Clone)]
pub struct SpectralPenalty {
    config: SpectralPenaltyConfig,
    width: usize,
    /// N × N, columns ordered by decreasing full-training-set eigenvalue; no gradient.
    eigenvectors: Option<Tensor<2>>,
}

/// The penalty of one batch with the numbers behind it.
#[derive(Debug, Clone)]
pub struct PenaltyValue {
    /// The differentiable penalty (shape `[1]`).
    pub value: Tensor<1>,
    /// The batch eigenvalue estimates λ̂, sorted in decreasing order (host copy, for logging).
    pub batch_eigenvalues: Vec<f64>,
}

impl SpectralPenalty {
    /// Its α, τ, β.
    pub fn config(&self) -> &SpectralPenaltyConfig {
        &self.config
    }

    /// The width of the layer it was built for.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Sets the frozen eigenvectors from the layer's full-training-set covariance (f64, N × N):
    /// PROTOCOL §1.2 step 1. Call once per epoch.
    pub fn refresh(&mut self, covariance: ArrayView2<'_, f64>, device: &Device) -> Result<(), PenaltyError> {
        if covariance.dim() != (self.width, self.width) {
            return Err(PenaltyError::CovarianceShape { got: covariance.dim(), width: self.width });
        }
        let eigen = specreg_spectrum::eigh(covariance)?;
        let n = self.width;
        let values: Vec<f32> = eigen.vectors.iter().map(|&v| v as f32).collect();
        self.eigenvectors = Some(Tensor::from_data(TensorData::new(values, [n, n]), device));
        Ok(())
    }

    /// λ̂ of one batch of activations (batch × N), unsorted, differentiable: the squared column norms of
    /// `H̃_B V` divided by `B − 1`.
    pub fn batch_eigenvalues(&self, hidden: Tensor<2>) -> Result<Tensor<1>, PenaltyError> {
        let [batch, width] = hidden.dims();
        if width != self.width || batch < 2 {
            return Err(PenaltyError::Shape { got: [batch, width], width: self.width });
        }
        let v = self.eigenvectors.clone().ok_or(PenaltyError::NoEigenvectors)?;
        let centred = hidden.clone() - hidden.mean_dim(0);
        let projected = centred.matmul(v);
        Ok(projected.square().sum_dim(0).squeeze_dim::<1>(0) / (batch as f64 - 1.0))
    }

    /// The penalty of one batch of activations (batch × N).
    pub fn value(&self, hidden: Tensor<2>) -> Result<PenaltyValue, PenaltyError> {
        let lambda = self.batch_eigenvalues(hidden)?;
        penalty_of_eigenvalues(lambda, &self.config)
    }
}

/// The penalty of an (unsorted) vector of eigenvalue estimates: sorts them in decreasing order,
/// anchors the power law at rank τ (no gradient) and sums the squared-ratio and hinge terms.
/// Exposed so that users with their own λ̂ (and tests) can apply the formula directly.
pub fn penalty_of_eigenvalues(lambda: Tensor<1>, config: &SpectralPenaltyConfig) -> Result<PenaltyValue, PenaltyError> {
    penalty_with_anchor(lambda, config, None)
}

/// As [`penalty_of_eigenvalues`], with the anchor eigenvalue `λ_τ` given instead of read from the
/// sorted estimates (`None`: read it). With the anchor held fixed the penalty is a smooth function
/// of λ̂ whose derivative is exactly the gradient autodiff computes, which is how it is tested.
pub fn penalty_with_anchor(lambda: Tensor<1>, config: &SpectralPenaltyConfig, anchor_eigenvalue: Option<f64>) -> Result<PenaltyValue, PenaltyError> {
    let [n] = lambda.dims();
    config.validate(n)?;
    let device = lambda.device();
    let host: Vec<f64> = lambda.clone().detach().into_data().try_into_vec_as::<f64>().unwrap_or_default();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| host[b].total_cmp(&host[a]));
    let sorted: Vec<f64> = order.iter().map(|&k| host[k]).collect();

    let tau = config.tau;
    let anchor_eigenvalue = anchor_eigenvalue.unwrap_or(sorted[tau]);
    let anchor = anchor_eigenvalue * ((tau + 1) as f64).powf(config.alpha);
    if !(anchor.is_finite() && anchor > 0.0) {
        return Err(PenaltyError::Anchor { value: anchor_eigenvalue, tau });
    }
    // 1/γ_n for the penalised ranks; 0 elsewhere (ranks ≤ τ and λ̂_n ≤ 0 are skipped).
    let inverse_target: Vec<f32> =
        (0..n).map(|k| if k > tau && sorted[k] > 0.0 { (((k + 1) as f64).powf(config.alpha) / anchor) as f32 } else { 0.0 }).collect();
    let mask: Vec<f32> = inverse_target.iter().map(|&w| if w > 0.0 { 1.0 } else { 0.0 }).collect();
    let indices: Vec<i64> = order.iter().map(|&k| k as i64).collect();

    let sorted_lambda = lambda.select(0, Tensor::<1, Int>::from_data(TensorData::new(indices, [n]), &device));
    let excess = sorted_lambda * Tensor::<1>::from_data(TensorData::new(inverse_target, [n]), &device) - 1.0;
    let excess = excess * Tensor::<1>::from_data(TensorData::new(mask, [n]), &device);
    let terms = excess.clone().square() + burn::tensor::activation::relu(excess);
    let value = terms.sum() * (config.beta / n as f64);
    Ok(PenaltyValue { value, batch_eigenvalues: sorted })
}

/// Which hidden layers a penalty applies to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum LayerSelection {
    /// The last hidden layer only (E1, E2).
    Last,
    /// Every hidden layer (E3).
    All,
    /// These hidden layers (0-based).
    Indices(Vec<usize>),
}

impl LayerSelection {
    /// The selected layer indices of a network with `layers` hidden layers.
    pub fn resolve(&self, layers: usize) -> Result<Vec<usize>, PenaltyError> {
        match self {
            _ if layers == 0 => Err(PenaltyError::Settings("the network has no hidden layer to regularise".into())),
            LayerSelection::Last => Ok(vec![layers - 1]),
            LayerSelection::All => Ok((0..layers).collect()),
            LayerSelection::Indices(ks) => match ks.iter().find(|&&k| k >= layers) {
                Some(k) => Err(PenaltyError::Settings(format!("layer {k} does not exist (the network has {layers} hidden layers)"))),
                None if ks.is_empty() => Err(PenaltyError::Settings("no layer selected".into())),
                None => Ok(ks.clone()),
            },
        }
    }
}
