//! Errors of table and figure output.

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{path}: {source}")]
    Io { path: std::path::PathBuf, source: std::io::Error },
    #[error("{path}: {source}")]
    Table { path: std::path::PathBuf, source: polars::error::PolarsError },
    #[error("table: {0}")]
    Frame(#[from] polars::error::PolarsError),
    #[error("{path}: drawing failed: {detail}")]
    Figure { path: std::path::PathBuf, detail: String },
}

pub type Result<T, E = ReportError> = std::result::Result<T, E>;
