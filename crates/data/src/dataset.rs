//! In-memory labelled image sets and the ways the experiments slice them.

use ndarray::{Array1, Array4, ArrayView2, ArrayView4, Axis, s};

use crate::error::{DataError, Result};

/// Labelled images: `images` is (N, C, H, W) with pixels in [0, 1]; `labels[i]` < `num_classes`.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Images, N × C × H × W, pixels in [0, 1].
    pub images: Array4<f32>,
    /// One label per image, below `num_classes`.
    pub labels: Array1<u8>,
    /// Number of classes.
    pub num_classes: usize,
}

/// The canonical train/test split of a dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// The training set.
    pub train: Dataset,
    /// The test set.
    pub test: Dataset,
}

/// One minibatch, copied out of a [`Dataset`].
#[derive(Debug, Clone, PartialEq)]
pub struct Batch {
    /// The batch's images.
    pub images: Array4<f32>,
    /// The batch's labels.
    pub labels: Array1<u8>,
}

impl Dataset {
    /// Builds a dataset from raw bytes (0..=255 pixels), scaling pixels to [0, 1].
    pub(crate) fn from_bytes(shape: [usize; 4], pixels: &[u8], labels: Vec<u8>, num_classes: usize) -> Self {
        let scaled: Vec<f32> = pixels.iter().map(|&p| f32::from(p) / 255.0).collect();
        let images = Array4::from_shape_vec(shape, scaled).expect("caller checked the pixel count");
        Dataset { images, labels: Array1::from(labels), num_classes }
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether there is no example.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Values per example, C·H·W (784 for MNIST, 3072 for CIFAR-10).
    pub fn example_len(&self) -> usize {
        let (_, c, h, w) = self.images.dim();
        c * h * w
    }

    /// Images as an (N, C·H·W) matrix, the input of an MLP; no copy.
    pub fn flat_images(&self) -> ArrayView2<'_, f32> {
        let n = self.len();
        self.images.view().into_shape_with_order((n, self.example_len())).expect("images are stored in standard (row-major) layout")
    }

    /// Number of examples of each class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.num_classes];
        for &l in &self.labels {
            counts[l as usize] += 1;
        }
        counts
    }

    /// Copies out the examples at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Batch {
        Batch { images: self.images.select(Axis(0), indices), labels: self.labels.select(Axis(0), indices) }
    }

    /// A deterministic, class-balanced subset: the first `per_class` examples of every class, in file order.
    /// Small profiles use it so that "2,000 examples" means the same 2,000 everywhere.
    pub fn first_per_class(&self, per_class: usize) -> Result<Dataset> {
        let mut taken = vec![0usize; self.num_classes];
        let mut indices = Vec::with_capacity(per_class * self.num_classes);
        for (i, &l) in self.labels.iter().enumerate() {
            if taken[l as usize] < per_class {
                taken[l as usize] += 1;
                indices.push(i);
            }
        }
        if let Some(class) = taken.iter().position(|&t| t < per_class) {
            return Err(DataError::InvalidArgument(format!("asked for {per_class} examples per class, but class {class} has only {}", taken[class])));
        }
        let Batch { images, labels } = self.select(&indices);
        Ok(Dataset { images, labels, num_classes: self.num_classes })
    }

    /// The first `n` examples (or all of them, if fewer), for quick evaluations.
    pub fn head(&self, n: usize) -> Dataset {
        let n = n.min(self.len());
        Dataset { images: self.images.slice(s![..n, .., .., ..]).to_owned(), labels: self.labels.slice(s![..n]).to_owned(), num_classes: self.num_classes }
    }

    /// The whole dataset in order, in views of at most `chunk` examples: the per-epoch pass that
    /// collects activations for the eigenvectors. No copy, no shuffling.
    pub fn chunks(&self, chunk: usize) -> impl Iterator<Item = (ArrayView4<'_, f32>, ndarray::ArrayView1<'_, u8>)> {
        assert!(chunk > 0, "chunk size must be positive");
        self.images.axis_chunks_iter(Axis(0), chunk).zip(self.labels.axis_chunks_iter(Axis(0), chunk))
    }

    /// Minibatches in a shuffled order determined by (`seed`, `epoch`) alone; see [`crate::BatchOrder`].
    pub fn shuffled_batches(&self, order: &crate::BatchOrder) -> impl Iterator<Item = Batch> + '_ {
        order.clone().into_iter().map(move |idx| self.select(&idx))
    }
}
