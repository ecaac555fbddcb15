//! Randomness keyed by example, so results do not depend on how examples are batched.

use burn::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The random stream of one example for one purpose: ChaCha8 keyed by (`seed`, `purpose`), stream = the
/// example's index in the evaluated set. The same example gets the same numbers in any batch.
pub fn example_rng(seed: u64, purpose: u64, index: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ purpose.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    rng.set_stream(index as u64);
    rng
}

/// A tensor shaped like `like` whose row `i` (of `per_example` values) is drawn by `draw` from the stream
/// of example `first + i`.
pub fn per_example_tensor<const D: usize>(
    dims: [usize; D],
    device: &Device,
    seed: u64,
    purpose: u64,
    first: usize,
    mut draw: impl FnMut(&mut ChaCha8Rng, &mut [f32]),
) -> Tensor<D> {
    let n = dims[0];
    let per_example: usize = dims[1..].iter().product();
    let mut values = vec![0f32; n * per_example];
    for (i, row) in values.chunks_exact_mut(per_example).enumerate() {
        draw(&mut example_rng(seed, purpose, first + i), row);
    }
    Tensor::from_data(TensorData::new(values, dims), device)
}

/// Like [`per_example_tensor`] for the examples whose indices in the evaluated set are `indices` (one
/// per row): the rows of a subset of a batch draw exactly what they would in the whole batch.
pub fn per_example_tensor_at<const D: usize>(
    dims: [usize; D],
    device: &Device,
    seed: u64,
    purpose: u64,
    indices: &[usize],
    mut draw: impl FnMut(&mut ChaCha8Rng, &mut [f32]),
) -> Tensor<D> {
    let per_example: usize = dims[1..].iter().product();
    let mut values = vec![0f32; dims[0] * per_example];
    for (row, &index) in values.chunks_exact_mut(per_example).zip(indices) {
        draw(&mut example_rng(seed, purpose, index), row);
    }
    Tensor::from_data(TensorData::new(values, dims), device)
}
