//! Gradient attacks: FGSM and projected gradient descent (L∞ and L2).

use burn::prelude::*;
use rand::Rng;
use rand_distr::{Distribution, StandardNormal};

use crate::Classifier;
use crate::loss::{cross_entropy_per_example, input_gradient, predictions};
use crate::random::per_example_tensor_at;

/// FGSM: x + ε · sign(∇ₓ loss), clipped to [0, 1].
pub fn fgsm<const D: usize, M: Classifier<D>>(model: &M, x: Tensor<D>, y: Tensor<1, Int>, epsilon: f32) -> Tensor<D> {
    let g = input_gradient(model, x.clone(), y);
    (x + g.sign().mul_scalar(epsilon)).clamp(0.0, 1.0)
}

/// Which ball PGD projects onto.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Norm {
    /// The L∞ ball (the paper's attacks).
    Linf,
    /// The L2 ball.
    L2,
}

/// Settings of one PGD run (see [`pgd`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PgdSettings {
    /// The ball projected onto.
    pub norm: Norm,
    /// Its radius.
    pub epsilon: f32,
    /// Step length per iteration.
    pub step_size: f32,
    /// Iterations per restart.
    pub steps: usize,
    /// Restarts; each example keeps its worst case.
    pub restarts: usize,
    /// Start from a uniform random point of the ball.
    pub random_start: bool,
    /// Seeds the random starts (per example, so batch size never matters).
    pub seed: u64,
}

/// PGD: from a random start in the ε-ball (uniform for L∞; uniform in the ball for L2), `steps` steps of
/// size `step_size` along sign(∇) (L∞) or ∇/‖∇‖ (L2), each followed by projection onto the ε-ball and
/// [0, 1]. With several restarts, each restart attacks the examples no earlier one fooled (as
/// AutoAttack does), and each example keeps its worst case: the first point that fooled the model,
/// else its highest-loss point. `first` is the index of the batch's first example in the evaluated
/// set; random starts depend on it, not on the batching.
pub fn pgd<const D: usize, M: Classifier<D>>(model: &M, x: Tensor<D>, y: Tensor<1, Int>, s: &PgdSettings, first: usize) -> Tensor<D> {
    let n = x.dims()[0];
    if s.restarts == 1 {
        let indices: Vec<usize> = (first..first + n).collect();
        return pgd_run(model, x, y, s, 0, &indices);
    }
    let device = x.device();
    let labels: Vec<i64> = y.clone().into_data().iter::<i64>().collect();
    let (mut best, mut best_loss, mut fooled) = (x.clone(), vec![f32::NEG_INFINITY; n], vec![false; n]);
    for restart in 0..s.restarts {
        let remaining: Vec<usize> = (0..n).filter(|&i| !fooled[i]).collect();
        if remaining.is_empty() {
            break;
        }
        let index = Tensor::<1, Int>::from_data(TensorData::new(remaining.iter().map(|&i| i as i64).collect::<Vec<_>>(), [remaining.len()]), &device);
        let (sub_x, sub_y) = (x.clone().select(0, index.clone()), y.clone().select(0, index.clone()));
        let global: Vec<usize> = remaining.iter().map(|&i| first + i).collect();
        let adv = pgd_run(model, sub_x, sub_y.clone(), s, restart, &global);
        let logits = model.logits(adv.clone());
        let predicted: Vec<i64> = predictions(logits.clone()).into_data().iter::<i64>().collect();
        let losses: Vec<f32> = cross_entropy_per_example(logits, sub_y).into_data().iter::<f32>().collect();
        // Rows of `adv` to take (by position in it), or -1 to keep the current best.
        let mut take = vec![-1i64; n];
        for (k, &i) in remaining.iter().enumerate() {
            let wrong = predicted[k] != labels[i];
            if wrong || restart == 0 || losses[k] > best_loss[i] {
                take[i] = k as i64;
                best_loss[i] = losses[k];
                fooled[i] = wrong;
            }
        }
        let taken: Vec<bool> = take.iter().map(|&k| k >= 0).collect();
        let gathered = adv.select(0, Tensor::<1, Int>::from_data(TensorData::new(take.iter().map(|&k| k.max(0)).collect::<Vec<_>>(), [n]), &device));
        let mask = Tensor::<1, Bool>::from_data(TensorData::new(taken, [n]), &device);
        best = best.mask_where(broadcast_rows(mask, &x.dims()), gathered);
    }
    best
}

/// One PGD run from restart `restart`'s random start, on examples whose indices in the evaluated set
/// are `indices`.
fn pgd_run<const D: usize, M: Classifier<D>>(model: &M, x: Tensor<D>, y: Tensor<1, Int>, s: &PgdSettings, restart: usize, indices: &[usize]) -> Tensor<D> {
    let mut adv = if s.random_start { project(x.clone() + random_start(&x, s, restart, indices), &x, s) } else { x.clone() };
    for _ in 0..s.steps {
        let g = input_gradient(model, adv.clone(), y.clone());
        let step = match s.norm {
            Norm::Linf => g.sign().mul_scalar(s.step_size),
            Norm::L2 => scale_rows(g.clone(), per_example_l2(g).clamp_min(1e-12).recip().mul_scalar(s.step_size)),
        };
        adv = project(adv + step, &x, s);
    }
    adv
}

/// Projection onto the ε-ball around `x` and onto [0, 1].
fn project<const D: usize>(adv: Tensor<D>, x: &Tensor<D>, s: &PgdSettings) -> Tensor<D> {
    let delta = adv - x.clone();
    let delta = match s.norm {
        Norm::Linf => delta.clamp(-s.epsilon, s.epsilon),
        Norm::L2 => {
            let norms = per_example_l2(delta.clone());
            let factor = norms.clamp_min(1e-12).recip().mul_scalar(s.epsilon).clamp_max(1.0);
            scale_rows(delta, factor)
        }
    };
    (x.clone() + delta).clamp(0.0, 1.0)
}

fn random_start<const D: usize>(x: &Tensor<D>, s: &PgdSettings, restart: usize, indices: &[usize]) -> Tensor<D> {
    let eps = s.epsilon;
    let purpose = 0x5047_4400 + restart as u64; // "PGD" + restart
    match s.norm {
        Norm::Linf => per_example_tensor_at(x.dims(), &x.device(), s.seed, purpose, indices, |rng, row| {
            row.iter_mut().for_each(|v| *v = rng.random_range(-eps..=eps));
        }),
        Norm::L2 => per_example_tensor_at(x.dims(), &x.device(), s.seed, purpose, indices, |rng, row| {
            // Uniform in the L2 ball: a Gaussian direction, radius ε·u^(1/d).
            row.iter_mut().for_each(|v| *v = StandardNormal.sample(rng));
            let norm = row.iter().map(|v| v * v).sum::<f32>().sqrt().max(1e-12);
            let radius = eps * rng.random::<f32>().powf(1.0 / row.len() as f32);
            row.iter_mut().for_each(|v| *v *= radius / norm);
        }),
    }
}

/// ‖row‖₂ of each example.
pub(crate) fn per_example_l2<const D: usize>(t: Tensor<D>) -> Tensor<1> {
    t.flatten::<2>(1, D - 1).square().sum_dim(1).squeeze_dim::<1>(1).sqrt()
}

/// ‖row‖_∞ of each example.
pub(crate) fn per_example_linf<const D: usize>(t: Tensor<D>) -> Tensor<1> {
    t.flatten::<2>(1, D - 1).abs().max_dim(1).squeeze_dim::<1>(1)
}

/// Multiplies example i of `t` by `factor[i]`.
fn scale_rows<const D: usize>(t: Tensor<D>, factor: Tensor<1>) -> Tensor<D> {
    let mut shape = [1usize; D];
    shape[0] = factor.dims()[0];
    t * factor.reshape(shape)
}

/// Broadcasts a per-example mask to a tensor of `dims`.
fn broadcast_rows<const D: usize>(mask: Tensor<1, Bool>, dims: &[usize; D]) -> Tensor<D, Bool> {
    let mut shape = [1usize; D];
    shape[0] = dims[0];
    mask.reshape(shape).expand(*dims)
}
