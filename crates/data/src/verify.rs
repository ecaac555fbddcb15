//! Checking files on disk against the canonical checksums.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::cifar::{CIFAR10_ARCHIVE, CIFAR10_EXTRACTED_DIR, IMAGES_PER_BATCH, TEST_BATCH, TRAIN_BATCHES};
use crate::error::{DataError, Result};
use crate::read::{gunzip, is_gzip};
use crate::source::{CanonicalFile, DatasetId};

/// The outcome of checking one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// The file's SHA-256 equals the canonical file's.
    Verified,
    /// The file differs from the canonical file but its decompressed content is identical
    /// (recompressed, or stored uncompressed).
    VerifiedContent,
    /// No reference digest exists for this form of the file; its size is right.
    SizeOnly,
    /// The file is present but its digest (or size) is wrong.
    Mismatch {
        /// The canonical digest (or size).
        expected: String,
        /// The file's.
        actual: String,
    },
    /// The file is absent.
    Missing,
}

impl Check {
    /// Whether the file checks out (in any accepted form).
    pub fn is_ok(&self) -> bool {
        matches!(self, Check::Verified | Check::VerifiedContent | Check::SizeOnly)
    }

    /// A short word for reports.
    pub fn label(&self) -> &'static str {
        match self {
            Check::Verified => "OK",
            Check::VerifiedContent => "OK (content)",
            Check::SizeOnly => "OK (size only)",
            Check::Mismatch { .. } => "MISMATCH",
            Check::Missing => "MISSING",
        }
    }
}

/// One checked file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileReport {
    /// The file.
    pub path: PathBuf,
    /// Its size, if present.
    pub size: Option<u64>,
    /// Its verdict.
    pub check: Check,
}

/// The outcome of checking one dataset's directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatasetReport {
    /// At least one of the dataset's files is present; every expected file is reported.
    Present {
        /// The dataset.
        dataset: DatasetId,
        /// Every expected file.
        files: Vec<FileReport>,
    },
    /// None of the dataset's files is present.
    Absent {
        /// The dataset.
        dataset: DatasetId,
        /// The command that fetches it.
        hint: String,
    },
}

impl DatasetReport {
    /// True when the dataset is absent or every file checked out.
    pub fn is_ok(&self) -> bool {
        match self {
            DatasetReport::Present { files, .. } => files.iter().all(|f| f.check.is_ok()),
            DatasetReport::Absent { .. } => true,
        }
    }
}

/// Lowercase hex SHA-256 of a file, streamed.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(|e| DataError::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("{:x}", hasher.finalize()))
}

/// Lowercase hex SHA-256 of bytes in memory.
pub fn sha256_bytes(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// Checks one file (canonical, recompressed or uncompressed form) against its canonical entry.
pub fn check_file(path: &Path, canonical: &CanonicalFile) -> Result<Check> {
    if !path.is_file() {
        return Ok(Check::Missing);
    }
    let digest = sha256_file(path)?;
    if digest == canonical.sha256 {
        return Ok(Check::Verified);
    }
    let Some(content_sha256) = canonical.content_sha256 else {
        return Ok(Check::Mismatch { expected: canonical.sha256.into(), actual: digest });
    };
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    let (content_digest, expected) = if is_gzip(&bytes) {
        match gunzip(&bytes, path) {
            Ok(content) => (sha256_bytes(&content), canonical.sha256),
            Err(_) => return Ok(Check::Mismatch { expected: canonical.sha256.into(), actual: digest }),
        }
    } else {
        (digest.clone(), content_sha256)
    };
    Ok(if content_digest == content_sha256 { Check::VerifiedContent } else { Check::Mismatch { expected: expected.into(), actual: digest } })
}

/// Like [`check_file`], but an error naming the file and both digests unless the file checks out.
pub fn require_valid(path: &Path, canonical: &CanonicalFile) -> Result<Check> {
    match check_file(path, canonical)? {
        Check::Mismatch { expected, actual } => Err(DataError::ChecksumMismatch { path: path.into(), expected, actual }),
        Check::Missing => Err(DataError::Missing { path: path.into(), hint: String::new() }),
        ok => Ok(ok),
    }
}

/// Where a canonical file is stored under `dir`: the distributed name, else its uncompressed name.
pub fn stored_path(dir: &Path, canonical: &CanonicalFile) -> Option<PathBuf> {
    std::iter::once(canonical.name).chain(canonical.uncompressed_name()).map(|name| dir.join(name)).find(|p| p.is_file())
}

/// Checks every file of `dataset` under `DATA_DIR/<dataset>/`.
pub fn verify_dataset(data_dir: &Path, dataset: DatasetId) -> Result<DatasetReport> {
    let dir = dataset.dir(data_dir);
    let mut files = Vec::new();
    if dataset == DatasetId::Cifar10 && !dir.join(CIFAR10_ARCHIVE).is_file() && dir.join(CIFAR10_EXTRACTED_DIR).is_dir() {
        files = verify_extracted_cifar(&dir.join(CIFAR10_EXTRACTED_DIR));
    } else {
        for canonical in dataset.files() {
            let report = match stored_path(&dir, canonical) {
                Some(path) => FileReport { size: file_size(&path), check: check_file(&path, canonical)?, path },
                None => FileReport { path: dir.join(canonical.name), size: None, check: Check::Missing },
            };
            files.push(report);
        }
    }
    if files.iter().all(|f| f.check == Check::Missing) {
        return Ok(DatasetReport::Absent { dataset, hint: dataset.fetch_hint() });
    }
    Ok(DatasetReport::Present { dataset, files })
}

/// Extracted CIFAR-10 batches have no published digest: check each is present with the canonical size.
fn verify_extracted_cifar(dir: &Path) -> Vec<FileReport> {
    let expected = (IMAGES_PER_BATCH * (1 + 3 * 32 * 32)) as u64;
    TRAIN_BATCHES
        .iter()
        .chain([&TEST_BATCH])
        .map(|name| {
            let path = dir.join(name);
            let size = file_size(&path);
            let check = match size {
                None => Check::Missing,
                Some(s) if s == expected => Check::SizeOnly,
                Some(s) => Check::Mismatch { expected: format!("{expected} bytes"), actual: format!("{s} bytes") },
            };
            FileReport { path, size, check }
        })
        .collect()
}

fn file_size(path: &Path) -> Option<u64> {
    std::fs::metadata(path).ok().filter(|m| m.is_file()).map(|m| m.len())
}
