//! One error type for every way a dataset can be missing, malformed or corrupt.

use std::path::PathBuf;

/// Everything that can go wrong while locating, verifying, fetching or parsing a dataset.
///
/// Every variant names the file involved, so a user can act on the message alone.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path}: file not found. {hint}")]
    Missing { path: PathBuf, hint: String },

    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },

    #[error("{path}: corrupt gzip stream: {detail}")]
    CorruptGzip { path: PathBuf, detail: String },

    #[error("{path}: not an IDX file (magic bytes {found:02x?}, expected [00, 00, 08, ndims])")]
    BadMagic { path: PathBuf, found: [u8; 4] },

    #[error("{path}: truncated: expected {expected} bytes, found {actual}")]
    Truncated { path: PathBuf, expected: u64, actual: u64 },

    #[error("{path}: {actual} bytes, but the header describes {expected}; trailing data")]
    TrailingBytes { path: PathBuf, expected: u64, actual: u64 },

    #[error("{path}: unexpected shape {found:?}: {reason}")]
    BadShape { path: PathBuf, found: Vec<usize>, reason: String },

    #[error("{images} holds {n_images} images but {labels} holds {n_labels} labels")]
    CountMismatch { images: PathBuf, n_images: usize, labels: PathBuf, n_labels: usize },

    #[error("{path}: label {label} at example {index} is out of range 0..{num_classes}")]
    LabelOutOfRange { path: PathBuf, index: usize, label: u8, num_classes: usize },

    #[error("{path}: checksum mismatch: expected SHA-256 {expected}, got {actual}")]
    ChecksumMismatch { path: PathBuf, expected: String, actual: String },

    #[error("{path}: archive problem: {detail}")]
    Archive { path: PathBuf, detail: String },

    #[error("download of {url} failed: {detail}")]
    Download { url: String, detail: String },

    #[error("could not download {file} from any mirror: {attempts}")]
    AllMirrorsFailed { file: String, attempts: String },

    #[error("invalid argument: {0}")]
    InvalidArgument(String),
}

/// Shorthand used throughout the crate.
pub type Result<T, E = DataError> = std::result::Result<T, E>;

impl DataError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io { path: path.into(), source }
    }
}
