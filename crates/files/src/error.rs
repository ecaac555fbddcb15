//! The one error of this crate: an I/O failure, with the path it happened on.

use std::path::PathBuf;

/// An I/O error and the file or directory it concerns.
#[derive(Debug, thiserror::Error)]
#[error("{}: {source}", path.display())]
pub struct FileError {
    /// The file or directory involved.
    pub path: PathBuf,
    /// What the operating system said.
    #[source]
    pub source: std::io::Error,
}

impl FileError {
    /// An I/O error on `path`.
    pub fn new(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        FileError { path: path.into(), source }
    }
}
