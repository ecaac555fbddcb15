//! Typed errors: every invalid input is reported, never a panic.

/// What can go wrong in spectrum analysis.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpectrumError {
    #[error("{0} is empty")]
    Empty(&'static str),

    #[error("shape mismatch: {0}")]
    Shape(String),

    #[error("{what} holds a non-finite value ({value}) at row {row}, column {col}")]
    NonFinite { what: &'static str, row: usize, col: usize, value: f64 },

    #[error("need at least {needed} samples, have {have}")]
    TooFewSamples { needed: usize, have: usize },

    #[error("fit range: {0}")]
    FitRange(String),

    #[error("eigendecomposition failed: {0}")]
    Eigen(String),
}

pub type Result<T, E = SpectrumError> = std::result::Result<T, E>;
