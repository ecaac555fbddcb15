//! The spectral regulariser (protocol §1.2).
//!
//! Once per epoch the layer's eigenvectors `V` are computed from the whole training set and frozen
//! ([`SpectralPenalty::refresh`]); for every batch, `λ̂_n = v_nᵀ C_B v_n` (the squared column norms of
//! `H̃_B V` over `B − 1`) is ranked in decreasing order and compared with the power law anchored at
//! rank τ: `γ_n = λ̂_τ (τ+1)^α / (n+1)^α` (0-based `n`, anchor without gradient). The penalty is
//! `β/N Σ_{n>τ} [(λ̂_n/γ_n − 1)² + max(0, λ̂_n/γ_n − 1)]`, skipping `λ̂_n ≤ 0`. No eigendecomposition is
//! differentiated: the gradient flows through `λ̂` only.
//!
//! Everything per batch stays on the device: the estimates are ranked by comparison (each λ̂_i's rank
//! is the number of estimates above it, ties broken by index, so results are deterministic) rather
//! than sorted on the host, and the anchor is read from the ranked estimates without leaving the
//! device. A step with the penalty therefore makes no host round-trip, which on a GPU would drain its
//! queue. A degenerate anchor (λ̂_τ ≤ 0) makes the penalty non-finite, which the trainer reports;
//! [`PenaltyValue::checked`] reads it back and names the problem, for tests and debugging.

use burn::prelude::*;
use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use crate::error::PenaltyError;

/// The 1-based ranks a penalty is restricted to (S4: the head or the tail of the spectrum).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RankWindow {
    /// First rank penalised (1-based, as in the tables).
    pub first: usize,
    /// Last rank penalised (inclusive); `None`: to the layer's width.
    #[serde(default)]
    pub last: Option<usize>,
}

impl RankWindow {
    /// Ranks `first..=last`.
    pub fn new(first: usize, last: Option<usize>) -> Self {
        RankWindow { first, last }
    }
}

/// α, τ and β of the spectral penalty, and optionally a window of ranks. Defaults follow the paper:
/// α = 1, τ = 10, all ranks beyond τ.
///
/// A window restricts the sum to the ranks in it (the anchor and the normalisation β/N stay those of
/// the full penalty), so a head window and a tail window that cover the ranks beyond τ add up to the
/// full penalty. Left out of the JSON when absent, so configs written before it existed still match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpectralPenaltyConfig {
    /// Strength β (the paper uses 1, 2 or 5).
    pub beta: f64,
    /// Target decay exponent α.
    #[serde(default = "default_alpha")]
    pub alpha: f64,
    /// Anchor rank τ (0-based): ranks above it are penalised.
    #[serde(default = "default_tau")]
    pub tau: usize,
    /// Restrict the penalty to these 1-based ranks (`None`: every rank beyond τ).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ranks: Option<RankWindow>,
}

fn default_alpha() -> f64 {
    1.0
}
fn default_tau() -> usize {
    10
}

impl burn::config::Config for SpectralPenaltyConfig {}

impl SpectralPenaltyConfig {
    /// The paper's penalty at strength `beta`: α = 1, τ = 10, every rank beyond τ.
    pub fn new(beta: f64) -> Self {
        SpectralPenaltyConfig { beta, alpha: default_alpha(), tau: default_tau(), ranks: None }
    }

    /// With target exponent `alpha`.
    pub fn with_alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }

    /// With anchor rank `tau` (0-based).
    pub fn with_tau(mut self, tau: usize) -> Self {
        self.tau = tau;
        self
    }

    /// Restricted to a window of ranks (`None`: all).
    pub fn with_ranks(mut self, ranks: Option<RankWindow>) -> Self {
        self.ranks = ranks;
        self
    }

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
        if let Some(w) = self.ranks {
            let last = w.last.unwrap_or(width);
            if w.first == 0 || last < w.first || last > width || last <= self.tau + 1 {
                return Err(PenaltyError::Settings(format!(
                    "rank window {}..={last} must satisfy 1 ≤ first ≤ last ≤ {width} (the layer's width) and reach beyond the anchor (rank {})",
                    w.first,
                    self.tau + 1
                )));
            }
        }
        Ok(())
    }

    /// Builds the penalty for a layer of `width` units (eigenvectors still to be set by `refresh`).
    pub fn init(&self, width: usize) -> Result<SpectralPenalty, PenaltyError> {
        self.validate(width)?;
        Ok(SpectralPenalty { config: self.clone(), width, eigenvectors: None })
    }

    /// The 1-based ranks penalised in a layer of `width` units.
    fn window(&self, width: usize) -> (usize, usize) {
        let (first, last) = self.ranks.map_or((1, width), |w| (w.first, w.last.unwrap_or(width)));
        (first.max(self.tau + 2), last.min(width))
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

/// The penalty of one batch, with the numbers behind it (on the device; read them on request).
#[derive(Debug, Clone)]
pub struct PenaltyValue {
    /// The differentiable penalty (shape `[1]`).
    pub value: Tensor<1>,
    /// The batch eigenvalue estimates λ̂ in eigenvector order (detached).
    pub eigenvalues: Tensor<1>,
    /// The anchor eigenvalue λ̂_τ (shape `[1]`, detached).
    pub anchor: Tensor<1>,
    tau: usize,
}

impl PenaltyValue {
    /// The batch eigenvalue estimates in decreasing order, read to the host (a device round-trip:
    /// for tests and debugging, not for the training loop).
    pub fn sorted_eigenvalues(&self) -> Vec<f64> {
        let mut values: Vec<f64> = self.eigenvalues.clone().into_data().iter::<f64>().collect();
        values.sort_by(|a, b| b.total_cmp(a));
        values
    }

    /// This value, or the error a degenerate anchor (λ̂_τ not positive and finite) amounts to; reads
    /// the anchor back to the host.
    pub fn checked(self) -> Result<Self, PenaltyError> {
        let anchor = self.anchor.clone().into_scalar::<f64>();
        if anchor.is_finite() && anchor > 0.0 { Ok(self) } else { Err(PenaltyError::Anchor { value: anchor, tau: self.tau }) }
    }
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
    /// protocol §1.2 step 1. Call once per epoch. They live on `device` without autodiff: a constant
    /// of every batch's graph. Returns the covariance's eigenvalues (decreasing), which the
    /// eigendecomposition yields anyway: the layer's training-set spectrum at this point of training.
    pub fn refresh(&mut self, covariance: ArrayView2<'_, f64>, device: &Device) -> Result<ndarray::Array1<f64>, PenaltyError> {
        if covariance.dim() != (self.width, self.width) {
            return Err(PenaltyError::CovarianceShape { got: covariance.dim(), width: self.width });
        }
        let eigen = specreg_spectrum::eigh(covariance)?;
        check_positive_semidefinite(eigen.values.as_slice().expect("contiguous"))?;
        let n = self.width;
        let values: Vec<f32> = eigen.vectors.iter().map(|&v| v as f32).collect();
        self.eigenvectors = Some(Tensor::from_data(TensorData::new(values, [n, n]), &device.clone().inner()));
        Ok(eigen.values)
    }

    /// λ̂ of one batch of activations (batch × N), in eigenvector order, differentiable: the squared
    /// column norms of `H̃_B V` divided by `B − 1`.
    pub fn batch_eigenvalues(&self, hidden: Tensor<2>) -> Result<Tensor<1>, PenaltyError> {
        let (centred, v, divisor) = self.centred_batch(hidden)?;
        Ok(column_energies(centred.matmul(v), divisor))
    }

    /// What every λ̂ of a batch needs: the batch centred on its own mean, the frozen eigenvectors, and
    /// the divisor B − 1. Checks the batch's shape and that eigenvectors have been set.
    fn centred_batch(&self, hidden: Tensor<2>) -> Result<(Tensor<2>, Tensor<2>, f64), PenaltyError> {
        let [batch, width] = hidden.dims();
        if width != self.width || batch < 2 {
            return Err(PenaltyError::Shape { got: [batch, width], width: self.width });
        }
        let v = self.eigenvectors.clone().ok_or(PenaltyError::NoEigenvectors)?;
        Ok((hidden.clone() - hidden.mean_dim(0), v, batch as f64 - 1.0))
    }

    /// The penalty of one batch of activations (batch × N).
    ///
    /// A window that ends in the head of the spectrum (S4's ranks τ+1..=100 of 2,000) only depends on
    /// the `last` leading ranks. Those are found on estimates taken without gradient, and only their
    /// eigenvectors are differentiated through: the same penalty and gradient, with the backward
    /// product `N × last` instead of `N × N`.
    pub fn value(&self, hidden: Tensor<2>) -> Result<PenaltyValue, PenaltyError> {
        let (_, last) = self.config.window(self.width);
        if 2 * last > self.width {
            let lambda = self.batch_eigenvalues(hidden)?;
            return penalty_of_eigenvalues(lambda, &self.config);
        }
        let (centred, v, divisor) = self.centred_batch(hidden)?;
        let estimates = column_energies(centred.clone().detach().inner().matmul(v.clone()), divisor);
        let rank = descending_ranks(estimates.clone());
        // Ranks are distinct integers, so any sort of them gives the one column order.
        let leading = rank.argsort(0).narrow(0, 0, last);
        let lambda = column_energies(centred.matmul(v.select(1, leading)), divisor);
        let leading_ranks = Tensor::<1, Int>::arange(0..last as i64, &estimates.device()).float();
        Ok(ranked_penalty(lambda, leading_ranks, self.width, &self.config, None, estimates))
    }
}

/// The penalty of an (unsorted) vector of eigenvalue estimates: ranks them in decreasing order,
/// anchors the power law at rank τ (no gradient) and sums the squared-ratio and hinge terms over the
/// ranks beyond τ (within the config's window). Exposed so that users with their own λ̂ (and tests)
/// can apply the formula directly.
pub fn penalty_of_eigenvalues(lambda: Tensor<1>, config: &SpectralPenaltyConfig) -> Result<PenaltyValue, PenaltyError> {
    penalty_with_anchor(lambda, config, None)
}

/// As [`penalty_of_eigenvalues`], with the anchor eigenvalue `λ_τ` given instead of read from the
/// ranked estimates (`None`: read it). With the anchor held fixed the penalty is a smooth function
/// of λ̂ whose derivative is exactly the gradient autodiff computes, which is how it is tested.
pub fn penalty_with_anchor(lambda: Tensor<1>, config: &SpectralPenaltyConfig, anchor_eigenvalue: Option<f64>) -> Result<PenaltyValue, PenaltyError> {
    let [n] = lambda.dims();
    config.validate(n)?;
    let estimates = lambda.clone().detach().inner();
    let rank = descending_ranks(estimates.clone());
    Ok(ranked_penalty(lambda, rank, n, config, anchor_eigenvalue, estimates))
}

/// The penalty of estimates `lambda` whose 0-based ranks among a layer's `width` estimates are `rank`
/// (constants), with β/N taken over `width`; `reported` are the estimates [`PenaltyValue`] carries.
fn ranked_penalty(
    lambda: Tensor<1>,
    rank: Tensor<1>,
    width: usize,
    config: &SpectralPenaltyConfig,
    anchor_eigenvalue: Option<f64>,
    reported: Tensor<1>,
) -> PenaltyValue {
    let estimates = lambda.clone().detach().inner();
    let device = estimates.device();
    let tau = config.tau as f64;
    let anchor = match anchor_eigenvalue {
        Some(value) => Tensor::<1>::from_data(TensorData::new(vec![value as f32], [1]), &device),
        None => (estimates.clone() * rank.clone().equal_elem(tau).float()).sum(),
    };
    // 1/γ_n = (n+1)^α / (λ̂_τ (τ+1)^α) for the penalised ranks, 0 elsewhere (ranks ≤ τ, outside the
    // window, and λ̂_n ≤ 0 are skipped).
    let (first, last) = config.window(width);
    let one_based = rank.add_scalar(1.0);
    let penalised = one_based
        .clone()
        .greater_equal_elem(first as f64)
        .bool_and(one_based.clone().lower_equal_elem(last as f64))
        .bool_and(estimates.greater_elem(0.0))
        .float();
    let inverse_target = one_based.powf_scalar(config.alpha) / (anchor.clone() * (tau + 1.0).powf(config.alpha));
    // The weights are constants of the graph (no autodiff): the gradient flows through λ̂ only.
    let excess = (lambda * (inverse_target * penalised.clone()) - 1.0) * penalised;
    let terms = excess.clone().square() + burn::tensor::activation::relu(excess);
    let value = terms.sum() * (config.beta / width as f64);
    PenaltyValue { value, eigenvalues: reported, anchor, tau: config.tau }
}

/// λ̂ from a centred batch's projections onto eigenvectors: squared column norms over `divisor` (B − 1).
fn column_energies(projected: Tensor<2>, divisor: f64) -> Tensor<1> {
    projected.square().sum_dim(0).squeeze_dim::<1>(0) / divisor
}

/// Each estimate's 0-based rank in decreasing order: the number of estimates strictly above it, plus
/// the number equal to it at a lower index (ties broken by index). An N × N comparison on the device.
fn descending_ranks(values: Tensor<1>) -> Tensor<1> {
    let [n] = values.dims();
    let device = values.device();
    // Element (i, j) compares estimate j (columns) with estimate i (rows).
    let others = values.clone().reshape([1, n]).expand([n, n]);
    let own = values.reshape([n, 1]).expand([n, n]);
    let index = Tensor::<1, Int>::arange(0..n as i64, &device);
    let earlier = index.clone().reshape([1, n]).expand([n, n]).lower(index.reshape([n, 1]).expand([n, n]));
    let above = others.clone().greater(own.clone());
    let tied_earlier = others.equal(own).bool_and(earlier);
    above.bool_or(tied_earlier).float().sum_dim(1).reshape([n])
}

/// A covariance's eigenvalues (decreasing) may dip below zero by rounding, which for a matrix formed in
/// f64 is a few ulps of the largest; this much is allowed.
pub const NEGATIVE_EIGENVALUE_TOLERANCE: f64 = 1e-9;

/// Refuses eigenvalues (of a covariance, decreasing) below −[`NEGATIVE_EIGENVALUE_TOLERANCE`] × the largest.
pub fn check_positive_semidefinite(eigenvalues: &[f64]) -> Result<(), PenaltyError> {
    let largest = eigenvalues.iter().copied().fold(0.0f64, f64::max);
    if let Some(&nan) = eigenvalues.iter().find(|v| v.is_nan()) {
        return Err(PenaltyError::NotPositiveSemidefinite { value: nan, largest });
    }
    match eigenvalues.iter().copied().fold(f64::INFINITY, f64::min) {
        smallest if smallest < -NEGATIVE_EIGENVALUE_TOLERANCE * largest => Err(PenaltyError::NotPositiveSemidefinite { value: smallest, largest }),
        _ => Ok(()),
    }
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
