//! CIFAR-10, binary version: `cifar-10-binary.tar.gz` or its extracted `cifar-10-batches-bin/`.
//! Each batch file is a sequence of 3073-byte records: 1 label byte, then the red, green and blue
//! 32x32 planes, row-major — already the (C, H, W) order the models use.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::dataset::{Dataset, Split};
use crate::error::{DataError, Result};
use crate::mnist::check_labels;
use crate::source::DatasetId;

/// The canonical archive's file name.
pub const CIFAR10_ARCHIVE: &str = "cifar-10-binary.tar.gz";
/// The directory the archive extracts to.
pub const CIFAR10_EXTRACTED_DIR: &str = "cifar-10-batches-bin";
/// The five training batch files.
pub const TRAIN_BATCHES: [&str; 5] = ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"];
/// The test batch file.
pub const TEST_BATCH: &str = "test_batch.bin";
/// Images per canonical batch file.
pub const IMAGES_PER_BATCH: usize = 10_000;

const PIXELS: usize = 3 * 32 * 32;
const RECORD: usize = 1 + PIXELS;
const NUM_CLASSES: usize = 10;

/// Loads CIFAR-10 from `DATA_DIR/cifar10/`, preferring an extracted directory over the archive.
pub fn load_cifar10(data_dir: &Path) -> Result<Split> {
    let dir = DatasetId::Cifar10.dir(data_dir);
    let extracted = dir.join(CIFAR10_EXTRACTED_DIR);
    let archive = dir.join(CIFAR10_ARCHIVE);
    if extracted.is_dir() {
        load_cifar10_dir(&extracted)
    } else if archive.is_file() {
        load_cifar10_archive(&archive)
    } else {
        Err(DataError::Missing { path: archive, hint: DatasetId::Cifar10.fetch_hint() })
    }
}

/// Loads the six batch files from an extracted `cifar-10-batches-bin/` directory.
pub fn load_cifar10_dir(dir: &Path) -> Result<Split> {
    let read = |name: &str| -> Result<(PathBuf, Vec<u8>)> {
        let path = dir.join(name);
        let bytes = std::fs::read(&path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => DataError::Missing { path: path.clone(), hint: DatasetId::Cifar10.fetch_hint() },
            _ => DataError::io(&path, e),
        })?;
        Ok((path, bytes))
    };
    let train: Vec<_> = TRAIN_BATCHES.iter().map(|n| read(n)).collect::<Result<_>>()?;
    let test = read(TEST_BATCH)?;
    Ok(Split { train: assemble(&train)?, test: assemble(&[test])? })
}

/// Loads the six batch files straight out of `cifar-10-binary.tar.gz`, without extracting to disk.
pub fn load_cifar10_archive(archive: &Path) -> Result<Split> {
    let archive_err = |detail: String| DataError::Archive { path: archive.to_path_buf(), detail };
    let file = std::fs::File::open(archive).map_err(|e| DataError::io(archive, e))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(std::io::BufReader::new(file)));
    let wanted: Vec<&str> = TRAIN_BATCHES.iter().copied().chain([TEST_BATCH]).collect();
    let mut found: HashMap<String, Vec<u8>> = HashMap::new();
    for entry in tar.entries().map_err(|e| archive_err(e.to_string()))? {
        let mut entry = entry.map_err(|e| archive_err(e.to_string()))?;
        let path = entry.path().map_err(|e| archive_err(e.to_string()))?.into_owned();
        let Some(name) = path.file_name().and_then(|n| n.to_str()).filter(|n| wanted.contains(n)) else {
            continue;
        };
        let name = name.to_owned();
        let mut bytes = Vec::with_capacity(IMAGES_PER_BATCH * RECORD);
        entry.read_to_end(&mut bytes).map_err(|e| archive_err(format!("reading {name}: {e}")))?;
        found.insert(name, bytes);
    }
    let mut take = |name: &str| -> Result<(PathBuf, Vec<u8>)> {
        let bytes = found.remove(name).ok_or_else(|| archive_err(format!("member {CIFAR10_EXTRACTED_DIR}/{name} is missing")))?;
        Ok((archive.join(name), bytes))
    };
    let train: Vec<_> = TRAIN_BATCHES.iter().map(|n| take(n)).collect::<Result<_>>()?;
    let test = take(TEST_BATCH)?;
    Ok(Split { train: assemble(&train)?, test: assemble(&[test])? })
}

/// Parses one batch file's bytes into (pixels in C,H,W order per image, labels).
pub fn parse_cifar_batch(bytes: &[u8], path: &Path) -> Result<(Vec<u8>, Vec<u8>)> {
    if bytes.is_empty() || !bytes.len().is_multiple_of(RECORD) {
        let whole = bytes.len().div_ceil(RECORD).max(1) * RECORD;
        return Err(DataError::Truncated { path: path.into(), expected: whole as u64, actual: bytes.len() as u64 });
    }
    let n = bytes.len() / RECORD;
    let mut pixels = Vec::with_capacity(n * PIXELS);
    let mut labels = Vec::with_capacity(n);
    for record in bytes.chunks_exact(RECORD) {
        labels.push(record[0]);
        pixels.extend_from_slice(&record[1..]);
    }
    check_labels(&labels, NUM_CLASSES, path)?;
    Ok((pixels, labels))
}

/// Writes images (N x 3072 bytes, C,H,W order) and labels in the CIFAR-10 record format; the inverse of
/// [`parse_cifar_batch`], for writing small test files in the exact format.
pub fn write_cifar_batch(pixels: &[u8], labels: &[u8]) -> Vec<u8> {
    assert_eq!(pixels.len(), labels.len() * PIXELS, "need 3072 pixel bytes per label");
    let mut out = Vec::with_capacity(labels.len() * RECORD);
    for (label, image) in labels.iter().zip(pixels.chunks_exact(PIXELS)) {
        out.push(*label);
        out.extend_from_slice(image);
    }
    out
}

fn assemble(files: &[(PathBuf, Vec<u8>)]) -> Result<Dataset> {
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    for (path, bytes) in files {
        let (p, l) = parse_cifar_batch(bytes, path)?;
        pixels.extend(p);
        labels.extend(l);
    }
    Ok(Dataset::from_bytes([labels.len(), 3, 32, 32], &pixels, labels, NUM_CLASSES))
}
