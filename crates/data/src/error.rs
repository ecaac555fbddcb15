//! One error type for every way a dataset can be missing, malformed or corrupt.

use std::path::PathBuf;

/// Everything that can go wrong while locating, verifying, fetching or parsing a dataset.
///
/// Every variant names the file involved, so a user can act on the message alone.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// A file is absent.
    #[error("{path}: file not found. {hint}")]
    Missing {
        /// The file expected.
        path: PathBuf,
        /// How to obtain it.
        hint: String,
    },

    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the operating system said.
        source: std::io::Error,
    },

    /// A gzip stream is corrupt.
    #[error("{path}: corrupt gzip stream: {detail}")]
    CorruptGzip {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        detail: String,
    },

    /// A file is not in IDX format.
    #[error("{path}: not an IDX file (magic bytes {found:02x?}, expected [00, 00, 08, ndims])")]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// Its first four bytes.
        found: [u8; 4],
    },

    /// A file is shorter than its header says.
    #[error("{path}: truncated: expected {expected} bytes, found {actual}")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Bytes the header implies.
        expected: u64,
        /// Bytes present.
        actual: u64,
    },

    /// A file is longer than its header says.
    #[error("{path}: {actual} bytes, but the header describes {expected}; trailing data")]
    TrailingBytes {
        /// The file.
        path: PathBuf,
        /// Bytes the header implies.
        expected: u64,
        /// Bytes present.
        actual: u64,
    },

    /// The dimensions in a header are not what the dataset has.
    #[error("{path}: unexpected shape {found:?}: {reason}")]
    BadShape {
        /// The file.
        path: PathBuf,
        /// The dimensions found.
        found: Vec<usize>,
        /// What was expected.
        reason: String,
    },

    /// Images and labels differ in number.
    #[error("{images} holds {n_images} images but {labels} holds {n_labels} labels")]
    CountMismatch {
        /// The image file.
        images: PathBuf,
        /// Images in it.
        n_images: usize,
        /// The label file.
        labels: PathBuf,
        /// Labels in it.
        n_labels: usize,
    },

    /// A label is not a class of the dataset.
    #[error("{path}: label {label} at example {index} is out of range 0..{num_classes}")]
    LabelOutOfRange {
        /// The label file.
        path: PathBuf,
        /// The example.
        index: usize,
        /// Its label.
        label: u8,
        /// Number of classes.
        num_classes: usize,
    },

    /// A file's SHA-256 is not the canonical one.
    #[error("{path}: checksum mismatch: expected SHA-256 {expected}, got {actual}")]
    ChecksumMismatch {
        /// The file.
        path: PathBuf,
        /// The canonical digest.
        expected: String,
        /// The file's digest.
        actual: String,
    },

    /// The CIFAR-10 archive lacks a member or is unreadable.
    #[error("{path}: archive problem: {detail}")]
    Archive {
        /// The archive.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },

    /// A download failed.
    #[error("download of {url} failed: {detail}")]
    Download {
        /// The address.
        url: String,
        /// What failed.
        detail: String,
    },

    /// Every mirror failed for one file.
    #[error("could not download {file} from any mirror: {attempts}")]
    AllMirrorsFailed {
        /// The file.
        file: String,
        /// Each mirror's failure.
        attempts: String,
    },

    /// An argument out of range (a batch size of 0, more examples per class than exist, …).
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
