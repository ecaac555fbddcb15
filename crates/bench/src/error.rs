//! Why a benchmark could not run.

/// What stopped a benchmark.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// The PyTorch reference process failed or answered nonsense.
    #[error("the PyTorch reference: {0}")]
    Reference(String),
    /// The benchmark's data could not be loaded.
    #[error(transparent)]
    Data(#[from] specreg_data::DataError),
    /// A training step failed.
    #[error(transparent)]
    Train(#[from] specreg_train::TrainError),
    /// An attack failed.
    #[error(transparent)]
    Attack(#[from] specreg_attacks::AttackError),
    /// A spectrum could not be computed.
    #[error(transparent)]
    Spectrum(#[from] specreg_spectrum::SpectrumError),
    /// A model could not be loaded (a file that is not a specreg network).
    #[error("{path}: {problem}")]
    Model {
        /// The model file.
        path: String,
        /// What is wrong.
        problem: String,
    },
    /// A result file could not be written.
    #[error(transparent)]
    File(#[from] specreg_files::FileError),
}

/// Shorthand for this crate's results.
pub type Result<T, E = BenchError> = std::result::Result<T, E>;
