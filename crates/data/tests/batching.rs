//! Reproducible minibatches and deterministic subsets.

use specreg_data::idx::write_idx;
use specreg_data::{BatchOrder, load_mnist};

#[test]
fn batch_order_is_a_seeded_permutation() {
    let a = BatchOrder::new(103, 10, 42, 0, false).unwrap();
    let b = BatchOrder::new(103, 10, 42, 0, false).unwrap();
    assert_eq!(a, b, "same seed and epoch give the same order");
    assert_eq!(a.len(), 11);
    assert_eq!(a.batches().last().unwrap().len(), 3);
    let mut all: Vec<usize> = a.batches().concat();
    assert_ne!(all, (0..103).collect::<Vec<_>>(), "shuffled, not in file order");
    all.sort();
    assert_eq!(all, (0..103).collect::<Vec<_>>(), "every example exactly once");

    assert_ne!(a, BatchOrder::new(103, 10, 42, 1, false).unwrap(), "epochs differ");
    assert_ne!(a, BatchOrder::new(103, 10, 43, 0, false).unwrap(), "seeds differ");

    let dropped = BatchOrder::new(103, 10, 42, 0, true).unwrap();
    assert_eq!(dropped.len(), 10);
    assert!(dropped.batches().iter().all(|b| b.len() == 10));
    assert!(BatchOrder::new(5, 10, 0, 0, true).is_err());
    assert!(BatchOrder::new(5, 0, 0, 0, false).is_err());
}

#[test]
fn subsets_and_views() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("mnist");
    std::fs::create_dir_all(&dir).unwrap();
    // 50 examples, labels 0..9 cycling, pixel value = example index.
    let n = 50;
    let pixels: Vec<u8> = (0..n * 784).map(|i| (i / 784) as u8).collect();
    let labels: Vec<u8> = (0..n).map(|i| (i % 10) as u8).collect();
    for prefix in ["train", "t10k"] {
        std::fs::write(dir.join(format!("{prefix}-images-idx3-ubyte")), write_idx(&[n, 28, 28], &pixels)).unwrap();
        std::fs::write(dir.join(format!("{prefix}-labels-idx1-ubyte")), write_idx(&[n], &labels)).unwrap();
    }
    let train = load_mnist(root.path()).unwrap().train;

    let sub = train.first_per_class(3).unwrap();
    assert_eq!(sub.class_counts(), vec![3; 10]);
    // The first three of class 4 are examples 4, 14, 24, kept in file order.
    let class4: Vec<f32> = (0..sub.len()).filter(|&i| sub.labels[i] == 4).map(|i| sub.images[[i, 0, 0, 0]] * 255.0).collect();
    assert_eq!(class4, vec![4.0, 14.0, 24.0]);
    assert!(train.first_per_class(6).is_err(), "only 5 per class exist");

    let chunks: Vec<usize> = train
        .chunks(16)
        .map(|(x, y)| {
            assert_eq!(x.dim().0, y.len());
            y.len()
        })
        .collect();
    assert_eq!(chunks, vec![16, 16, 16, 2]);
    assert_eq!(train.flat_images().dim(), (50, 784));
    assert_eq!(train.head(7).len(), 7);

    let order = BatchOrder::new(train.len(), 20, 1, 0, false).unwrap();
    let batches: Vec<_> = train.shuffled_batches(&order).collect();
    for (batch, idx) in batches.iter().zip(order.batches()) {
        for (row, &i) in idx.iter().enumerate() {
            assert_eq!(batch.labels[row] as usize, i % 10);
            assert_eq!(batch.images[[row, 0, 5, 5]] * 255.0, i as f32);
        }
    }
}
