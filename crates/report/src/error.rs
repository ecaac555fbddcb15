//! Errors of table and figure output; each names the file involved.

use specreg_files::FileError;

/// Why a table or figure could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// Creating, writing, renaming or reading a file failed.
    #[error(transparent)]
    File(#[from] FileError),
    /// A Parquet file could not be written or read, or lacks a column of the documented schema.
    #[error("{path}: {source}")]
    Table {
        /// The table file.
        path: std::path::PathBuf,
        /// What polars said.
        #[source]
        source: polars::error::PolarsError,
    },
    /// Rows could not be assembled into a table (columns of different lengths).
    #[error("table: {0}")]
    Frame(#[from] polars::error::PolarsError),
    /// A figure could not be drawn.
    #[error("{path}: drawing failed: {detail}")]
    Figure {
        /// The figure file.
        path: std::path::PathBuf,
        /// What plotters said.
        detail: String,
    },
}

/// Shorthand for this crate's results.
pub type Result<T, E = ReportError> = std::result::Result<T, E>;
