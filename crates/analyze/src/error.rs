//! Why a data matrix could not be analysed; each error names the file.

use std::path::PathBuf;

/// Everything that can stop an analysis.
#[derive(Debug, thiserror::Error)]
pub enum AnalyzeError {
    /// The file is not a matrix this crate reads, or holds values it cannot use.
    #[error("{}: {problem}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// Two repeats that do not match (cross-validated PCA needs the same stimuli and units).
    #[error("the repeats differ in shape: {first:?} and {second:?}")]
    Repeats {
        /// The first repeat's shape.
        first: (usize, usize),
        /// The second's.
        second: (usize, usize),
    },
    /// The spectrum could not be computed.
    #[error(transparent)]
    Spectrum(#[from] specreg_spectrum::SpectrumError),
    /// A table or figure could not be written or read.
    #[error(transparent)]
    Report(#[from] specreg_report::ReportError),
    /// A file could not be read.
    #[error(transparent)]
    File(#[from] specreg_files::FileError),
    /// A table could not be assembled.
    #[error("table: {0}")]
    Table(#[from] polars::error::PolarsError),
}

/// Shorthand for this crate's results.
pub type Result<T, E = AnalyzeError> = std::result::Result<T, E>;
