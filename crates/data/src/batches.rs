//! Reproducible minibatch orders.

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::error::{DataError, Result};

/// The minibatch index lists of one epoch: a permutation of `0..n` drawn from a ChaCha8 stream keyed by
/// (`seed`, `epoch`), cut into batches. The same key gives the same order on every machine, and any
/// epoch's order can be recomputed directly, which is what makes resuming a run from a checkpoint exact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchOrder {
    batches: Vec<Vec<usize>>,
}

impl BatchOrder {
    /// Shuffles `n` examples for `epoch` of a run seeded with `seed`. With `drop_last`, a final batch
    /// smaller than `batch_size` is left out (the spectral penalty needs batches at least as large as the layer).
    pub fn new(n: usize, batch_size: usize, seed: u64, epoch: u64, drop_last: bool) -> Result<Self> {
        if batch_size == 0 {
            return Err(DataError::InvalidArgument("batch size must be positive".into()));
        }
        if drop_last && batch_size > n {
            return Err(DataError::InvalidArgument(format!("batch size {batch_size} exceeds the {n} examples available, so every batch would be dropped")));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(epoch);
        let mut perm: Vec<usize> = (0..n).collect();
        perm.shuffle(&mut rng);
        let batches = perm.chunks(batch_size).filter(|b| !drop_last || b.len() == batch_size).map(<[usize]>::to_vec).collect();
        Ok(BatchOrder { batches })
    }

    /// Number of batches.
    pub fn len(&self) -> usize {
        self.batches.len()
    }

    /// Whether there is no batch.
    pub fn is_empty(&self) -> bool {
        self.batches.is_empty()
    }

    /// The batches' example indices, in order.
    pub fn batches(&self) -> &[Vec<usize>] {
        &self.batches
    }
}

impl IntoIterator for BatchOrder {
    type Item = Vec<usize>;
    type IntoIter = std::vec::IntoIter<Vec<usize>>;
    fn into_iter(self) -> Self::IntoIter {
        self.batches.into_iter()
    }
}
