//! The real MNIST files, read from the data directory (`$SPECREG_DATA_DIR`, else `datasets/`).
//! CI points `SPECREG_DATA_DIR` at `../shared/datasets`. Without MNIST this test fails and says how to get it.

use std::path::PathBuf;

use specreg_data::verify::{DatasetReport, verify_dataset};
use specreg_data::{DatasetId, load_mnist, locate_data_dir};

fn data_dir() -> PathBuf {
    let dir = locate_data_dir(None, env!("CARGO_MANIFEST_DIR").as_ref());
    assert!(
        dir.join("mnist").is_dir(),
        "MNIST not found under {}: set SPECREG_DATA_DIR (e.g. ../shared/datasets) or run `cargo xtask data fetch mnist`",
        dir.display()
    );
    dir
}

#[test]
fn real_mnist_has_the_canonical_shape_counts_and_values() {
    let mnist = load_mnist(&data_dir()).expect("MNIST loads");
    assert_eq!(mnist.train.images.dim(), (60_000, 1, 28, 28));
    assert_eq!(mnist.test.images.dim(), (10_000, 1, 28, 28));
    assert_eq!(mnist.train.class_counts(), vec![5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    assert_eq!(mnist.train.labels[0], 5);
    assert_eq!(mnist.test.labels[0], 7);
    for set in [&mnist.train, &mnist.test] {
        let (min, max) = set.images.iter().fold((f32::MAX, f32::MIN), |(lo, hi), &p| (lo.min(p), hi.max(p)));
        assert_eq!((min, max), (0.0, 1.0));
    }
}

#[test]
fn real_mnist_matches_the_canonical_checksums() {
    let report = verify_dataset(&data_dir(), DatasetId::Mnist).unwrap();
    let DatasetReport::Present { files, .. } = &report else { panic!("MNIST reported absent") };
    assert_eq!(files.len(), 4);
    for f in files {
        assert!(f.check.is_ok(), "{}: {:?}", f.path.display(), f.check);
    }
}
