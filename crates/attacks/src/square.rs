//! The Square Attack (Andriushchenko, Croce, Flammarion & Hein, ECCV 2020), L∞, untargeted.
//!
//! A score-based random search that never looks at gradients: starting from vertical stripes of ±ε,
//! it repeatedly proposes to overwrite one random square window (per channel, ±ε) and keeps the proposal
//! when it lowers the margin logit_y − max_{k≠y} logit_k. The window's area follows the paper's schedule:
//! a fraction p of the image, halved at 10, 50, 200, 500, 1,000, 2,000, 4,000, 6,000 and 8,000 of
//! 10,000 queries (rescaled to the budget). A model that resists PGD but not this attack is masking
//! its gradients.

use burn::prelude::*;
use rand::Rng;

use crate::Classifier;
use crate::loss::margin;
use crate::random::example_rng;

/// Settings of the Square Attack.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SquareSettings {
    /// L∞ radius.
    pub epsilon: f32,
    /// Model evaluations per example, the initial one included.
    pub queries: usize,
    /// Initial fraction of pixels changed per proposal (the paper uses 0.05 on MNIST-size images).
    pub p_init: f32,
    /// Seeds the proposals (per example).
    pub seed: u64,
}

/// Runs the attack on image batches (batch × C × H × W). `first` is the index of the batch's first
/// example in the evaluated set: each example's proposals come from its own random stream.
pub fn square_attack<M: Classifier<4>>(model: &M, x: Tensor<4>, y: Tensor<1, Int>, s: &SquareSettings, first: usize) -> Tensor<4> {
    let indices: Vec<usize> = (first..first + x.dims()[0]).collect();
    square_attack_at(model, x, y, s, &indices)
}

/// [`square_attack`] on examples whose indices in the evaluated set are `indices` (one per row), so
/// that a subset of a batch draws the proposals it would draw in the whole batch.
pub fn square_attack_at<M: Classifier<4>>(model: &M, x: Tensor<4>, y: Tensor<1, Int>, s: &SquareSettings, indices: &[usize]) -> Tensor<4> {
    let dims = x.dims();
    let [n, c, h, w] = dims;
    let device = x.device();
    let clean: Vec<f32> = x.clone().try_into_vec_as::<f32>().expect("f32 images");
    let per = c * h * w;
    let eps = s.epsilon;
    let mut rngs: Vec<_> = indices.iter().take(n).map(|&i| example_rng(s.seed, 0x5351_5541, i)).collect();

    // Start: vertical stripes, one random sign per (channel, column).
    let mut delta = vec![0f32; n * per];
    for (i, rng) in rngs.iter_mut().enumerate() {
        for ch in 0..c {
            for col in 0..w {
                let v = if rng.random_bool(0.5) { eps } else { -eps };
                (0..h).for_each(|row| delta[i * per + ch * h * w + row * w + col] = v);
            }
        }
    }
    let to_input = |delta: &[f32]| {
        let values: Vec<f32> = clean.iter().zip(delta).map(|(x, d)| (x + d).clamp(0.0, 1.0)).collect();
        Tensor::<4>::from_data(TensorData::new(values, dims), &device)
    };
    let margins = |delta: &[f32]| -> Vec<f32> { margin(model.logits(to_input(delta)), y.clone()).try_into_vec_as::<f32>().expect("f32 margins") };
    let mut best = margins(&delta);

    for query in 1..s.queries {
        if best.iter().all(|&m| m < 0.0) {
            break;
        }
        let side = window_side(s.p_init, query, s.queries, h, w);
        let mut proposal = delta.clone();
        for (i, rng) in rngs.iter_mut().enumerate() {
            // Every example draws its proposal, fooled or not, so its random stream never depends on others.
            let (top, left) = (rng.random_range(0..=h - side), rng.random_range(0..=w - side));
            for ch in 0..c {
                let v = if rng.random_bool(0.5) { eps } else { -eps };
                if best[i] < 0.0 {
                    continue;
                }
                for row in top..top + side {
                    let start = i * per + ch * h * w + row * w + left;
                    proposal[start..start + side].iter_mut().for_each(|d| *d = v);
                }
            }
        }
        let candidate = margins(&proposal);
        for i in 0..n {
            if best[i] >= 0.0 && candidate[i] < best[i] {
                best[i] = candidate[i];
                delta[i * per..(i + 1) * per].copy_from_slice(&proposal[i * per..(i + 1) * per]);
            }
        }
    }
    to_input(&delta)
}

/// Side of the square window at `query` of `budget`: √(p·h·w), at least 1 and at most min(h, w) − 1.
fn window_side(p_init: f32, query: usize, budget: usize, h: usize, w: usize) -> usize {
    let scaled = (query as f64 * 10_000.0 / budget as f64) as usize;
    let halvings = [10, 50, 200, 500, 1000, 2000, 4000, 6000, 8000].iter().filter(|&&t| scaled > t).count();
    let p = p_init as f64 / 2f64.powi(halvings as i32);
    let side = (p * (h * w) as f64).sqrt().round() as usize;
    side.clamp(1, h.min(w).saturating_sub(1).max(1))
}
