//! Typed errors: every invalid input is reported, never a panic.

/// What can go wrong in spectrum analysis.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpectrumError {
    /// An input (named) has no rows or no columns.
    #[error("{0} is empty")]
    Empty(&'static str),

    /// Shapes that must agree do not.
    #[error("shape mismatch: {0}")]
    Shape(String),

    /// A NaN or infinity in the input.
    #[error("{what} holds a non-finite value ({value}) at row {row}, column {col}")]
    NonFinite {
        /// Which input.
        what: &'static str,
        /// Its row.
        row: usize,
        /// Its column.
        col: usize,
        /// The value.
        value: f64,
    },

    /// Too few samples for the statistic asked for.
    #[error("need at least {needed} samples, have {have}")]
    TooFewSamples {
        /// Samples needed.
        needed: usize,
        /// Samples given.
        have: usize,
    },

    /// A fit range that does not fit the spectrum, or too few positive eigenvalues in it.
    #[error("fit range: {0}")]
    FitRange(String),

    /// The eigensolver or Cholesky factorisation failed.
    #[error("eigendecomposition failed: {0}")]
    Eigen(String),
}

/// Shorthand for this crate's results.
pub type Result<T, E = SpectrumError> = std::result::Result<T, E>;
