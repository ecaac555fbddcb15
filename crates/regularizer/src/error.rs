//! Typed errors of the penalties.

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PenaltyError {
    #[error("invalid penalty settings: {0}")]
    Settings(String),
    #[error("the spectral penalty has no eigenvectors yet: call `refresh` (once per epoch) before `value`")]
    NoEigenvectors,
    #[error("hidden layer has shape {got:?}, expected batch × {width} with batch ≥ 2")]
    Shape { got: [usize; 2], width: usize },
    #[error("anchor eigenvalue λ̂_τ = {value} is not positive and finite (τ = {tau}); the batch spectrum is degenerate")]
    Anchor { value: f64, tau: usize },
    #[error("eigenvector refresh failed: {0}")]
    Refresh(String),
}
