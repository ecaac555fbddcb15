//! MNIST and Fashion-MNIST: pairs of IDX files (images, labels), gzip-compressed or raw.

use std::path::{Path, PathBuf};

use crate::dataset::{Dataset, Split};
use crate::error::{DataError, Result};
use crate::idx::parse_idx;
use crate::read::read_maybe_gzip;
use crate::source::DatasetId;

const NUM_CLASSES: usize = 10;

/// Loads MNIST from `DATA_DIR/mnist/`.
pub fn load_mnist(data_dir: &Path) -> Result<Split> {
    load_idx_split(&DatasetId::Mnist.dir(data_dir), DatasetId::Mnist)
}

/// Loads Fashion-MNIST from `DATA_DIR/fashion-mnist/`.
pub fn load_fashion_mnist(data_dir: &Path) -> Result<Split> {
    load_idx_split(&DatasetId::FashionMnist.dir(data_dir), DatasetId::FashionMnist)
}

/// Loads an MNIST-format train/test split from the four files in `dir`
/// (`train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-…`, each optionally `.gz`).
/// `dataset` only shapes the "how to obtain it" hint of a missing-file error.
pub fn load_idx_split(dir: &Path, dataset: DatasetId) -> Result<Split> {
    let find = |stem: &str| locate(dir, stem, dataset);
    Ok(Split {
        train: load_idx_pair(&find("train-images-idx3-ubyte")?, &find("train-labels-idx1-ubyte")?)?,
        test: load_idx_pair(&find("t10k-images-idx3-ubyte")?, &find("t10k-labels-idx1-ubyte")?)?,
    })
}

/// Reads one images file and its labels file into a [`Dataset`] of shape (N, 1, H, W).
pub fn load_idx_pair(images_path: &Path, labels_path: &Path) -> Result<Dataset> {
    let images = parse_idx(&read_maybe_gzip(images_path)?, images_path)?;
    let labels = parse_idx(&read_maybe_gzip(labels_path)?, labels_path)?;
    let [n, h, w] = images.dims[..] else {
        return Err(DataError::BadShape {
            path: images_path.into(),
            found: images.dims,
            reason: "an images file has 3 dimensions (count, rows, columns)".into(),
        });
    };
    let [n_labels] = labels.dims[..] else {
        return Err(DataError::BadShape { path: labels_path.into(), found: labels.dims, reason: "a labels file has 1 dimension (count)".into() });
    };
    if n != n_labels {
        return Err(DataError::CountMismatch { images: images_path.into(), n_images: n, labels: labels_path.into(), n_labels });
    }
    check_labels(&labels.data, NUM_CLASSES, labels_path)?;
    Ok(Dataset::from_bytes([n, 1, h, w], &images.data, labels.data, NUM_CLASSES))
}

/// Rejects the first label outside `0..num_classes`.
pub(crate) fn check_labels(labels: &[u8], num_classes: usize, path: &Path) -> Result<()> {
    match labels.iter().position(|&l| l as usize >= num_classes) {
        Some(index) => Err(DataError::LabelOutOfRange { path: path.into(), index, label: labels[index], num_classes }),
        None => Ok(()),
    }
}

/// `dir/stem.gz` if present, else `dir/stem`, else a missing-file error with the fetch command.
fn locate(dir: &Path, stem: &str, dataset: DatasetId) -> Result<PathBuf> {
    let gz = dir.join(format!("{stem}.gz"));
    let raw = dir.join(stem);
    if gz.is_file() {
        Ok(gz)
    } else if raw.is_file() {
        Ok(raw)
    } else {
        Err(DataError::Missing { path: gz, hint: dataset.fetch_hint() })
    }
}
