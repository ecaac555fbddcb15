//! Parsers on small files written in the exact MNIST (IDX) and CIFAR-10 binary formats.

use std::io::Write;
use std::path::Path;

use specreg_data::cifar::{load_cifar10_archive, load_cifar10_dir, parse_cifar_batch, write_cifar_batch};
use specreg_data::idx::{parse_idx, write_idx};
use specreg_data::{DataError, DatasetId, load, load_idx_pair, load_mnist};

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// Writes a tiny MNIST-format split (n_train, n_test examples of 28x28) into `root/mnist/`.
fn write_mnist(root: &Path, n_train: usize, n_test: usize, compress: bool) {
    let dir = root.join("mnist");
    std::fs::create_dir_all(&dir).unwrap();
    for (prefix, n) in [("train", n_train), ("t10k", n_test)] {
        let pixels: Vec<u8> = (0..n * 784).map(|i| (i * 7 % 256) as u8).collect();
        let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
        for (kind, bytes) in [("images-idx3", write_idx(&[n, 28, 28], &pixels)), ("labels-idx1", write_idx(&[n], &labels))] {
            let name = format!("{prefix}-{kind}-ubyte");
            if compress {
                std::fs::write(dir.join(format!("{name}.gz")), gzip(&bytes)).unwrap();
            } else {
                std::fs::write(dir.join(name), bytes).unwrap();
            }
        }
    }
}

#[test]
fn idx_round_trip() {
    let data: Vec<u8> = (0..24).collect();
    let bytes = write_idx(&[2, 3, 4], &data);
    assert_eq!(&bytes[..4], &[0, 0, 8, 3]);
    let parsed = parse_idx(&bytes, Path::new("x")).unwrap();
    assert_eq!(parsed.dims, vec![2, 3, 4]);
    assert_eq!(parsed.data, data);
}

#[test]
fn mnist_loads_from_gzip_and_raw_files_identically() {
    let gz = tempfile::tempdir().unwrap();
    let raw = tempfile::tempdir().unwrap();
    write_mnist(gz.path(), 30, 20, true);
    write_mnist(raw.path(), 30, 20, false);
    let a = load_mnist(gz.path()).unwrap();
    let b = load(DatasetId::Mnist, raw.path()).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.train.images.dim(), (30, 1, 28, 28));
    assert_eq!(a.test.len(), 20);
    // Pixel bytes map to [0, 1]: byte i*7 % 256 of the first image.
    assert_eq!(a.train.images[[0, 0, 0, 1]], 7.0 / 255.0);
    assert_eq!(a.train.labels[13], 3);
    let max = a.train.images.iter().cloned().fold(f32::MIN, f32::max);
    let min = a.train.images.iter().cloned().fold(f32::MAX, f32::min);
    assert!(min >= 0.0 && max <= 1.0 && max > 0.99);
}

#[test]
fn missing_mnist_names_the_file_and_the_fetch_command() {
    let dir = tempfile::tempdir().unwrap();
    let err = load_mnist(dir.path()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, DataError::Missing { .. }), "{msg}");
    assert!(msg.contains("train-images-idx3-ubyte"), "{msg}");
    assert!(msg.contains("cargo xtask data fetch mnist"), "{msg}");
}

#[test]
fn idx_errors_are_typed() {
    let p = Path::new("f");
    let good = write_idx(&[2, 2], &[1, 2, 3, 4]);
    assert!(matches!(parse_idx(&[0, 0, 9, 1, 0, 0, 0, 0], p), Err(DataError::BadMagic { .. })));
    assert!(matches!(parse_idx(&[0x1f, 0x8b, 8, 0], p), Err(DataError::BadMagic { .. })));
    assert!(matches!(parse_idx(&good[..good.len() - 1], p), Err(DataError::Truncated { expected: 16, actual: 15, .. })));
    assert!(matches!(parse_idx(&good[..6], p), Err(DataError::Truncated { .. })));
    let mut long = good.clone();
    long.push(0);
    assert!(matches!(parse_idx(&long, p), Err(DataError::TrailingBytes { .. })));
    let huge = [0, 0, 8, 3, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255];
    assert!(matches!(parse_idx(&huge, p), Err(DataError::BadShape { .. })));
}

#[test]
fn pair_errors_are_typed() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, bytes: Vec<u8>| {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let images = write("images", write_idx(&[3, 2, 2], &[0; 12]));
    let labels2 = write("labels2", write_idx(&[2], &[0, 1]));
    let err = load_idx_pair(&images, &labels2).unwrap_err();
    assert!(matches!(err, DataError::CountMismatch { n_images: 3, n_labels: 2, .. }), "{err}");

    let bad_label = write("bad_label", write_idx(&[3], &[0, 10, 1]));
    let err = load_idx_pair(&images, &bad_label).unwrap_err();
    assert!(matches!(err, DataError::LabelOutOfRange { index: 1, label: 10, .. }), "{err}");

    let flat = write("flat", write_idx(&[12], &[0; 12]));
    assert!(matches!(load_idx_pair(&flat, &bad_label), Err(DataError::BadShape { .. })));

    let mut corrupt = gzip(&write_idx(&[3], &[0, 1, 2]));
    let mid = corrupt.len() / 2;
    corrupt[mid] ^= 0xff;
    corrupt.truncate(corrupt.len() - 3);
    let corrupt = write("corrupt.gz", corrupt);
    let err = load_idx_pair(&images, &corrupt).unwrap_err();
    assert!(matches!(err, DataError::CorruptGzip { .. } | DataError::Truncated { .. } | DataError::BadMagic { .. }), "{err}");
    assert!(err.to_string().contains("corrupt.gz"));
}

fn cifar_records(n: usize, offset: u8) -> (Vec<u8>, Vec<u8>) {
    let pixels: Vec<u8> = (0..n * 3072).map(|i| ((i / 1024) as u8).wrapping_add(offset)).collect();
    let labels: Vec<u8> = (0..n).map(|i| ((i + offset as usize) % 10) as u8).collect();
    (pixels, labels)
}

const CIFAR_FILES: [&str; 6] = ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin", "test_batch.bin"];

fn write_cifar_dir(dir: &Path, per_file: usize) {
    std::fs::create_dir_all(dir).unwrap();
    for (k, name) in CIFAR_FILES.iter().enumerate() {
        let (p, l) = cifar_records(per_file, k as u8);
        std::fs::write(dir.join(name), write_cifar_batch(&p, &l)).unwrap();
    }
}

#[test]
fn cifar_batch_planes_are_channel_height_width() {
    let mut pixels = vec![0u8; 3072];
    pixels[0] = 255; // red (0, 0)
    pixels[1024 + 31] = 128; // green (0, 31)
    pixels[2048 + 32] = 64; // blue (1, 0)
    let bytes = write_cifar_batch(&pixels, &[7]);
    assert_eq!(bytes.len(), 3073);
    assert_eq!(bytes[0], 7);
    let dir = tempfile::tempdir().unwrap();
    let batches = dir.path().join("b");
    std::fs::create_dir_all(&batches).unwrap();
    for name in CIFAR_FILES {
        std::fs::write(batches.join(name), &bytes).unwrap();
    }
    let split = load_cifar10_dir(&batches).unwrap();
    let img = &split.test.images;
    assert_eq!(img.dim(), (1, 3, 32, 32));
    assert_eq!(img[[0, 0, 0, 0]], 1.0);
    assert_eq!(img[[0, 1, 0, 31]], 128.0 / 255.0);
    assert_eq!(img[[0, 2, 1, 0]], 64.0 / 255.0);
    assert_eq!(split.train.len(), 5);
    assert_eq!(split.test.labels[0], 7);
}

#[test]
fn cifar_archive_and_directory_agree() {
    let root = tempfile::tempdir().unwrap();
    let staging = tempfile::tempdir().unwrap();
    let extracted = staging.path().join("cifar-10-batches-bin");
    write_cifar_dir(&extracted, 4);
    // Archive laid out like the canonical one: a top-level cifar-10-batches-bin/ plus a readme.
    let cifar = root.path().join("cifar10");
    std::fs::create_dir_all(&cifar).unwrap();
    let file = std::fs::File::create(cifar.join("cifar-10-binary.tar.gz")).unwrap();
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(file, flate2::Compression::fast()));
    tar.append_dir_all("cifar-10-batches-bin", &extracted).unwrap();
    tar.into_inner().unwrap().finish().unwrap();

    let from_archive = load(DatasetId::Cifar10, root.path()).unwrap();
    let from_dir = load_cifar10_dir(&extracted).unwrap();
    assert_eq!(from_archive, from_dir);
    assert_eq!(from_dir.train.images.dim(), (20, 3, 32, 32));
    assert_eq!(from_dir.test.len(), 4);
    assert_eq!(from_dir.train.class_counts().iter().sum::<usize>(), 20);
}

#[test]
fn cifar_errors_are_typed() {
    let p = Path::new("batch");
    let (pix, lab) = cifar_records(2, 0);
    let good = write_cifar_batch(&pix, &lab);
    assert!(matches!(parse_cifar_batch(&good[..good.len() - 5], p), Err(DataError::Truncated { .. })));
    assert!(matches!(parse_cifar_batch(&[], p), Err(DataError::Truncated { .. })));
    let mut bad = good.clone();
    bad[3073] = 11;
    assert!(matches!(parse_cifar_batch(&bad, p), Err(DataError::LabelOutOfRange { index: 1, label: 11, .. })));

    // An archive missing a member names it.
    let root = tempfile::tempdir().unwrap();
    let staging = tempfile::tempdir().unwrap();
    write_cifar_dir(staging.path(), 1);
    std::fs::remove_file(staging.path().join("test_batch.bin")).unwrap();
    let archive = root.path().join("c.tar.gz");
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(std::fs::File::create(&archive).unwrap(), flate2::Compression::fast()));
    tar.append_dir_all("cifar-10-batches-bin", staging.path()).unwrap();
    tar.into_inner().unwrap().finish().unwrap();
    let err = load_cifar10_archive(&archive).unwrap_err();
    assert!(err.to_string().contains("test_batch.bin"), "{err}");

    // Not a gzip at all.
    std::fs::write(&archive, b"definitely not a tarball").unwrap();
    assert!(matches!(load_cifar10_archive(&archive), Err(DataError::Archive { .. })));

    // Nothing there: the error says how to fetch it.
    let empty = tempfile::tempdir().unwrap();
    let msg = load(DatasetId::Cifar10, empty.path()).unwrap_err().to_string();
    assert!(msg.contains("cargo xtask data fetch cifar10"), "{msg}");
}

/// Fuzz-style: every prefix and many random corruptions of valid files are rejected or parsed, never a panic.
#[test]
fn parsers_never_panic_on_truncated_or_random_bytes() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let idx = write_idx(&[3, 4, 5], &(0..60).collect::<Vec<u8>>());
    let (pix, lab) = cifar_records(2, 3);
    let cifar = write_cifar_batch(&pix, &lab);
    let gz = gzip(&idx);
    let path = Path::new("fuzz");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("fuzz.gz");

    for cut in 0..idx.len() {
        assert!(parse_idx(&idx[..cut], path).is_err());
    }
    for cut in (0..cifar.len()).step_by(97) {
        assert!(parse_cifar_batch(&cifar[..cut], path).is_err());
    }
    for cut in 0..gz.len() {
        std::fs::write(&file, &gz[..cut]).unwrap();
        assert!(specreg_data::read::read_maybe_gzip(&file).and_then(|b| parse_idx(&b, path)).is_err());
    }
    for _ in 0..2000 {
        let len = rng.random_range(0..200);
        let mut bytes: Vec<u8> = (0..len).map(|_| rng.random()).collect();
        if rng.random_bool(0.5) && bytes.len() >= 4 {
            bytes[..4].copy_from_slice(&[0, 0, 8, rng.random_range(1..4)]);
        }
        let _ = parse_idx(&bytes, path);
        let _ = parse_cifar_batch(&bytes, path);
        let mut mutated = gz.clone();
        let at = rng.random_range(0..mutated.len());
        mutated[at] = rng.random();
        let _ = specreg_data::read::gunzip(&mutated, path).and_then(|b| parse_idx(&b, path));
    }
}
