//! Which datasets exist, where their files live, and the checksums of the canonical files.

use std::path::{Path, PathBuf};

/// Environment variable naming the data directory when no `--data-dir` flag is given.
pub const DATA_DIR_ENV: &str = "SPECREG_DATA_DIR";

/// Where Debian's `dataset-fashion-mnist` package installs Fashion-MNIST: a named local source for
/// `cargo xtask data fetch fashion-mnist --from debian`.
pub const DEBIAN_FASHION_MNIST_DIR: &str = "/usr/share/datasets/fashion-mnist";

/// The data directory: the explicit flag, else `$SPECREG_DATA_DIR`, else `datasets/`.
pub fn resolve_data_dir(flag: Option<&Path>) -> PathBuf {
    if let Some(dir) = flag {
        return dir.to_path_buf();
    }
    match std::env::var_os(DATA_DIR_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from("datasets"),
    }
}

/// Like [`resolve_data_dir`], but when neither flag nor environment variable is set, looks for a
/// `datasets/` directory in `start` and its ancestors: tests run from a crate's directory then still
/// find the workspace's `datasets/`.
pub fn locate_data_dir(flag: Option<&Path>, start: &Path) -> PathBuf {
    let resolved = resolve_data_dir(flag);
    if flag.is_some() || std::env::var_os(DATA_DIR_ENV).is_some_and(|v| !v.is_empty()) {
        return resolved;
    }
    start.ancestors().map(|dir| dir.join(&resolved)).find(|d| d.is_dir()).unwrap_or(resolved)
}

/// The datasets this project knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DatasetId {
    /// MNIST (LeCun et al.), 28×28 grey digits.
    Mnist,
    /// Fashion-MNIST (Zalando), 28×28 grey clothing, MNIST's format.
    FashionMnist,
    /// CIFAR-10 (Krizhevsky), 32×32 colour, binary version.
    Cifar10,
}

/// The sizes of a dataset's canonical splits: what settings can be checked against before any file
/// is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sizes {
    /// Training examples.
    pub train: usize,
    /// Test examples.
    pub test: usize,
    /// Training examples of its smallest class (MNIST's 5: 5,421).
    pub smallest_train_class: usize,
    /// One image: channels, height, width.
    pub image: [usize; 3],
}

impl DatasetId {
    /// The sizes of its canonical splits.
    pub fn sizes(self) -> Sizes {
        match self {
            DatasetId::Mnist => Sizes { train: 60_000, test: 10_000, smallest_train_class: 5_421, image: [1, 28, 28] },
            DatasetId::FashionMnist => Sizes { train: 60_000, test: 10_000, smallest_train_class: 6_000, image: [1, 28, 28] },
            DatasetId::Cifar10 => Sizes { train: 50_000, test: 10_000, smallest_train_class: 5_000, image: [3, 32, 32] },
        }
    }

    /// Every known dataset.
    pub const ALL: [DatasetId; 3] = [DatasetId::Mnist, DatasetId::FashionMnist, DatasetId::Cifar10];

    /// The name used on the command line and as the sub-directory of the data directory.
    pub fn name(self) -> &'static str {
        match self {
            DatasetId::Mnist => "mnist",
            DatasetId::FashionMnist => "fashion-mnist",
            DatasetId::Cifar10 => "cifar10",
        }
    }

    /// The dataset called `name` (`mnist`, `fashion-mnist`, `cifar10`).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.name() == name)
    }

    /// `DATA_DIR/<name>`.
    pub fn dir(self, data_dir: &Path) -> PathBuf {
        data_dir.join(self.name())
    }

    /// The canonical files of this dataset.
    pub fn files(self) -> &'static [CanonicalFile] {
        match self {
            DatasetId::Mnist => &MNIST_FILES,
            DatasetId::FashionMnist => &FASHION_MNIST_FILES,
            DatasetId::Cifar10 => &CIFAR10_FILES,
        }
    }

    /// Mirrors serving the canonical files, tried in order: base URLs to which a file name is appended.
    pub fn mirrors(self) -> &'static [&'static str] {
        match self {
            DatasetId::Mnist => &["https://ossci-datasets.s3.amazonaws.com/mnist/", "https://storage.googleapis.com/cvdf-datasets/mnist/"],
            DatasetId::FashionMnist => &[
                "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
                "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
            ],
            DatasetId::Cifar10 => &["https://www.cs.toronto.edu/~kriz/"],
        }
    }

    /// What to run to obtain this dataset, for "missing file" messages.
    pub fn fetch_hint(self) -> String {
        let mut hint = format!("Run `cargo xtask data fetch {}` (or add `--from DIR` to copy a local mirror)", self.name());
        if self == DatasetId::FashionMnist {
            hint.push_str(&format!("; on Debian, `apt-get install dataset-fashion-mnist` then `--from {DEBIAN_FASHION_MNIST_DIR}`"));
        }
        hint.push_str(&format!(", or point `--data-dir`/`{DATA_DIR_ENV}` at a directory holding `{}/`.", self.name()));
        hint
    }
}

impl std::fmt::Display for DatasetId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

/// A file of a dataset's canonical distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CanonicalFile {
    /// File name as distributed (and as stored under `DATA_DIR/<dataset>/`).
    pub name: &'static str,
    /// Size in bytes of the distributed file.
    pub size: u64,
    /// SHA-256 of the distributed file.
    pub sha256: &'static str,
    /// SHA-256 of the decompressed content, where known: it identifies the data even when a file was
    /// recompressed (Debian's Fashion-MNIST) or stored uncompressed (`train-images-idx3-ubyte`).
    pub content_sha256: Option<&'static str>,
}

impl CanonicalFile {
    /// The name of the same file stored uncompressed, if the canonical file is gzip-compressed.
    pub fn uncompressed_name(&self) -> Option<&'static str> {
        self.name.strip_suffix(".gz")
    }
}

// MNIST: digests of the canonical files (identical to ../shared/datasets/mnist/SHA256SUMS; MD5s match the
// published f68b3c2d…, d53e105e…, 9fb629c4…, ec29112d…); content digests computed from those files.
const MNIST_FILES: [CanonicalFile; 4] = [
    CanonicalFile {
        name: "train-images-idx3-ubyte.gz",
        size: 9_912_422,
        sha256: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
        content_sha256: Some("ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    },
    CanonicalFile {
        name: "train-labels-idx1-ubyte.gz",
        size: 28_881,
        sha256: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
        content_sha256: Some("65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    },
    CanonicalFile {
        name: "t10k-images-idx3-ubyte.gz",
        size: 1_648_877,
        sha256: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
        content_sha256: Some("0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    },
    CanonicalFile {
        name: "t10k-labels-idx1-ubyte.gz",
        size: 4_542,
        sha256: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
        content_sha256: Some("ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
    },
];

// Fashion-MNIST: file digests as published for the upstream release; content digests computed from the
// files of Debian's `dataset-fashion-mnist` (recompressed by Debian, so its .gz digests differ).
const FASHION_MNIST_FILES: [CanonicalFile; 4] = [
    CanonicalFile {
        name: "train-images-idx3-ubyte.gz",
        size: 26_421_880,
        sha256: "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
        content_sha256: Some("c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
    },
    CanonicalFile {
        name: "train-labels-idx1-ubyte.gz",
        size: 29_515,
        sha256: "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
        content_sha256: Some("bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
    },
    CanonicalFile {
        name: "t10k-images-idx3-ubyte.gz",
        size: 4_422_102,
        sha256: "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
        content_sha256: Some("5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
    },
    CanonicalFile {
        name: "t10k-labels-idx1-ubyte.gz",
        size: 5_148,
        sha256: "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
        content_sha256: Some("0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
    },
];

// CIFAR-10 binary version: published size and digest of the archive (official MD5 c32a1d4ab5d03f1284b67883e8d87530).
// No content digest: the archive is verified as a whole; extracted batches are checked by size only.
const CIFAR10_FILES: [CanonicalFile; 1] = [CanonicalFile {
    name: "cifar-10-binary.tar.gz",
    size: 170_052_171,
    sha256: "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
    content_sha256: None,
}];
