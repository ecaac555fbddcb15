//! # specreg-data
//!
//! ```toml
//! [dependencies]
//! specreg-data = "0.1"
//!
//! # Numeric code is unusably slow unoptimised: optimise dependencies in dev and test builds too.
//! [profile.dev.package."*"]
//! opt-level = 3
//! ```
//!
//! Invariant: a file is used only if its SHA-256 matches the canonical digest (unless the caller allows
//! otherwise); every dataset loads as f32 images in [0, 1] with u8 labels, or fails with an error naming
//! the file.
//!
//! Dataset loading for the specreg workspace, usable on its own: readers for **MNIST** and
//! **Fashion-MNIST** (IDX files, gzip-compressed or raw) and **CIFAR-10** (binary version, as the
//! `.tar.gz` archive or extracted), checksum verification against the canonical files, downloading from
//! the canonical mirrors (feature `fetch`, on by default), and reproducible minibatching.
//!
//! Images come back as `f32` in [0, 1] with shape (N, C, H, W); labels as `u8`.
//! Every malformed input (wrong magic, truncation, count mismatch, label out of range, corrupt gzip,
//! missing file) is a [`DataError`] naming the file, never a panic.
//!
//! Data lives under one directory with one sub-directory per dataset (`mnist/`, `fashion-mnist/`,
//! `cifar10/`), chosen by [`resolve_data_dir`]: a `--data-dir` flag, else `$SPECREG_DATA_DIR`, else `datasets/`.
//!
//! ```
//! use specreg_data::{idx::write_idx, load_mnist, BatchOrder};
//!
//! // A tiny MNIST-format directory: 20 train and 10 test images of 28x28.
//! let root = std::env::temp_dir().join(format!("specreg-doc-{}", std::process::id()));
//! let dir = root.join("mnist");
//! std::fs::create_dir_all(&dir)?;
//! for (prefix, n) in [("train", 20), ("t10k", 10)] {
//!     let pixels: Vec<u8> = (0..n * 784).map(|i| (i % 256) as u8).collect();
//!     let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
//!     std::fs::write(dir.join(format!("{prefix}-images-idx3-ubyte")), write_idx(&[n, 28, 28], &pixels))?;
//!     std::fs::write(dir.join(format!("{prefix}-labels-idx1-ubyte")), write_idx(&[n], &labels))?;
//! }
//!
//! let mnist = load_mnist(&root)?;
//! assert_eq!(mnist.train.images.dim(), (20, 1, 28, 28));
//! assert_eq!(mnist.test.class_counts(), vec![1; 10]);
//!
//! // Epoch 3 of a run seeded with 7: the same batches on every machine.
//! let order = BatchOrder::new(mnist.train.len(), 8, 7, 3, false)?;
//! let sizes: Vec<usize> = mnist.train.shuffled_batches(&order).map(|b| b.labels.len()).collect();
//! assert_eq!(sizes, vec![8, 8, 4]);
//! # std::fs::remove_dir_all(&root)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod batches;
pub mod cifar;
mod dataset;
mod error;
#[cfg(feature = "fetch")]
pub mod fetch;
pub mod idx;
mod mnist;
pub mod read;
mod source;
pub mod verify;

pub use batches::BatchOrder;
pub use cifar::load_cifar10;
pub use dataset::{Batch, Dataset, Split};
pub use error::{DataError, Result};
pub use mnist::{load_fashion_mnist, load_idx_pair, load_idx_split, load_mnist};
pub use source::{CanonicalFile, DATA_DIR_ENV, DEBIAN_FASHION_MNIST_DIR, DatasetId, Sizes, locate_data_dir, resolve_data_dir};

/// Loads any known dataset from the data directory.
pub fn load(dataset: DatasetId, data_dir: &std::path::Path) -> Result<Split> {
    match dataset {
        DatasetId::Mnist => load_mnist(data_dir),
        DatasetId::FashionMnist => load_fashion_mnist(data_dir),
        DatasetId::Cifar10 => load_cifar10(data_dir),
    }
}
